package dev.dragedit.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line's contract: help, version sections, exit codes and messages, and command providers. */
class MainTest {

    /** stdout, stderr and the exit code of one run. */
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        return run(Main.commandLine(), args);
    }

    static Run run(CommandLine cl, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(cl, args, new PrintWriter(out), new PrintWriter(err));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void helpListsEverySubcommand() {
        Run r = run("--help");
        assertEquals(0, r.code(), r.err());
        for (String cmd : List.of("version", "demo", "bench", "help")) {
            assertTrue(r.out().lines().anyMatch(l -> l.trim().startsWith(cmd + " ")), "--help should list '" + cmd + "':\n" + r.out());
        }
        assertTrue(r.out().contains("--debug"), r.out());
    }

    @Test
    void benchHelpListsTheCpuBenchmarkAndItsOptions() {
        Run r = run("bench", "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("cpu"), r.out());
        Run cpu = run("bench", "cpu", "--help");
        assertEquals(0, cpu.code(), cpu.err());
        for (String opt : List.of("--repeats", "--warmup", "--no-numpy", "--json", "--quick")) {
            assertTrue(cpu.out().contains(opt), "bench cpu --help should mention " + opt + ":\n" + cpu.out());
        }
    }

    @Test
    void versionPrintsBuildJavaCpuSimdAndCudaSections() {
        Run r = run("version");
        assertEquals(0, r.code(), r.err());
        for (String section : List.of("dragedit", "java", "os", "cpu", "cpu flags", "vector api", "cuda", "emulation", "cuda ops")) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(section + " ")), "missing section '" + section + "':\n" + r.out());
        }
        assertFalse(r.out().contains("${"), "the version must come from the filtered build.properties:\n" + r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("cuda ") && (l.contains("CUDA available") || l.contains("CUDA unavailable: "))),
                "the CUDA line must say whether CUDA is usable, and why not:\n" + r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("emulation ") && l.contains("kernels")), r.out());
        assertTrue(r.out().contains("NVIDIA driver"), "the CUDA line must say whether a driver is visible:\n" + r.out());
        assertTrue(r.out().contains("/dev/nvidia0"), r.out());
    }

    @Test
    void unknownFlagIsAUsageErrorWithOneClearMessage() {
        Run r = run("--frobnicate");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("dragedit: Unknown option: '--frobnicate'"), r.err());
        assertTrue(r.err().contains("Try 'dragedit --help'"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void unknownFlagOfASubcommandPointsAtThatSubcommandsHelp() {
        Run r = run("bench", "cpu", "--fast");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Unknown option: '--fast'"), r.err());
        assertTrue(r.err().contains("Try 'dragedit bench cpu --help'"), r.err());
    }

    @Test
    void unknownCommandIsAUsageErrorWithASuggestion() {
        Run r = run("demoo");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("dragedit: unknown command 'demoo' (commands: version, demo, bench, forward, tokenize, drag-trace, invert, edit, eval, train-tiny, help)"), r.err());
        assertTrue(r.err().contains("Did you mean: demo?"), "a typo should get a suggestion:\n" + r.err());
        assertFalse(run("nosuch").err().contains("Did you mean"), "no far-fetched suggestions");
        Run option = run("bench", "cpu", "--repeat", "3");
        assertEquals(2, option.code());
        assertTrue(option.err().contains("Did you mean: --repeats?"), option.err());
        Run nested = run("bench", "gpu");
        assertEquals(2, nested.code());
        assertTrue(nested.err().startsWith("dragedit: bench: unknown command 'gpu' (commands: cpu"), nested.err());
    }

    @Test
    void badOptionValueIsAUsageError() {
        Run r = run("bench", "cpu", "--repeats", "many");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--repeats"), r.err());
        Run zero = run("bench", "cpu", "--repeats", "0");
        assertEquals(2, zero.code());
        assertTrue(zero.err().contains("--repeats must be at least 1, found 0"), zero.err());
    }

    @Test
    void strayArgumentIsAUsageError() {
        Run r = run("version", "extra");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("dragedit: version: unexpected argument 'extra'"), r.err());
    }

    @Test
    void everyCommandAnswersDashVWithTheBuildVersion() {
        for (String[] args : new String[][] {{"-V"}, {"version", "-V"}, {"demo", "-V"}, {"bench", "-V"}, {"bench", "cpu", "-V"}}) {
            Run r = run(args);
            assertEquals(0, r.code(), r.err());
            assertEquals("dragedit " + Main.buildVersion(), r.out().strip(), String.join(" ", args));
        }
    }

    @Test
    void missingCommandIsAUsageErrorThatShowsUsage() {
        Run r = run();
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("dragedit: missing command"), r.err());
        assertTrue(r.err().contains("Usage: dragedit"), r.err());
        Run bench = run("bench");
        assertEquals(2, bench.code());
        assertTrue(bench.err().startsWith("dragedit: bench: missing benchmark name"), bench.err());
    }

    @Command(name = "explode")
    static final class Explode implements Callable<Integer> {
        @Override public Integer call() { throw new IllegalStateException("weights file x.safetensors: key y missing"); }
    }

    @Test
    void runtimeFailureIsOneLineAndExitCode1() {
        CommandLine cl = Main.commandLine(List.of(() -> List.of(new Explode())));
        Run r = run(cl, "explode");
        assertEquals(1, r.code());
        assertEquals(1, r.err().lines().count(), "one line only, no stack trace:\n" + r.err());
        assertTrue(r.err().startsWith("dragedit: weights file x.safetensors: key y missing"), r.err());
    }

    @Test
    void debugFlagAddsTheStackTraceAnywhereOnTheLine() {
        for (String[] args : new String[][] {{"--debug", "explode"}, {"explode", "--debug"}}) {
            CommandLine cl = Main.commandLine(List.of(() -> List.of(new Explode())));
            Run r = run(cl, args);
            assertEquals(1, r.code());
            assertTrue(r.err().contains("at dev.dragedit.cli.MainTest$Explode.call"), String.join(" ", args) + ":\n" + r.err());
        }
    }

    @Command(name = "probe", description = "A provided command.")
    static final class Probe implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Override public Integer call() { spec.commandLine().getOut().print("probe ran"); return 0; }
    }

    @Test
    void providersAddTopLevelAndNestedCommands() {
        CommandProvider top = () -> List.of(new Probe());
        CommandProvider nested = new CommandProvider() {
            @Override public List<Object> commands() { return List.of(new Probe()); }
            @Override public String parent() { return "bench"; }
        };
        CommandLine cl = Main.commandLine(List.of(top, nested));
        assertEquals("probe ran", run(cl, "probe").out());
        assertEquals("probe ran", run(Main.commandLine(List.of(top, nested)), "bench", "probe").out());
        assertTrue(run(Main.commandLine(List.of(top)), "--help").out().contains("probe"));
    }

    @Test
    void providerWithUnknownParentOrClashingNameFailsClearly() {
        CommandProvider lost = new CommandProvider() {
            @Override public List<Object> commands() { return List.of(new Probe()); }
            @Override public String parent() { return "nosuch"; }
        };
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Main.commandLine(List.of(lost)));
        assertTrue(e.getMessage().contains("'nosuch', which is not a dragedit command"), e.getMessage());

        @Command(name = "demo") final class FakeDemo implements Runnable { @Override public void run() { } }
        IllegalStateException clash = assertThrows(IllegalStateException.class,
                () -> Main.commandLine(List.of(() -> List.of(new FakeDemo()))));
        assertTrue(clash.getMessage().contains("demo"), clash.getMessage());
    }

    @Test
    void demoSelfCheckRunsTheEngineSelfCheck() {
        Run r = run("demo", "--self-check");
        assertTrue(r.out().contains("Engine self-check"), r.out());
        if (r.code() == 0) {
            assertTrue(r.out().contains("self-check passed"), r.out());
        } else {
            assertEquals(1, r.code());
            assertTrue(r.err().startsWith("dragedit: demo: self-check failed at "), r.err());
        }
    }

    @Test
    void oneLineMessagesSkipWrappersWithoutTheirOwnText() {
        Throwable wrapped = new RuntimeException(new IllegalArgumentException("conv2d: w has shape [3], expected [Cout, Cin, kh, kw]"));
        assertEquals("conv2d: w has shape [3], expected [Cout, Cin, kh, kw]", Main.oneLine(wrapped));
        assertEquals("NullPointerException", Main.oneLine(new NullPointerException()));
        assertTrue(Main.oneLine(new OutOfMemoryError("Java heap space")).contains("DRAGEDIT_JAVA_OPTS=-Xmx"));
        assertTrue(Main.oneLine(new NoClassDefFoundError("jdk/incubator/vector/FloatVector")).contains("--add-modules jdk.incubator.vector"));
    }
}
