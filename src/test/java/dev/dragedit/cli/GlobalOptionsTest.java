package dev.dragedit.cli;

import dev.dragedit.cuda.Devices;
import dev.dragedit.engine.Engine;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.List;
import java.util.concurrent.Callable;

import static dev.dragedit.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --device and --validate: parsing anywhere on the line, their errors, and the engine a command gets from them. */
class GlobalOptionsTest {

    /** Prints what the run's engine resolved to. */
    @Command(name = "probe-engine")
    static final class EngineProbe implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Override public Integer call() {
            Engine e = Main.engine(spec);
            spec.commandLine().getOut().print(e.kind() + " " + e.validation().isPresent() + " " + e.ops().name());
            return 0;
        }
    }

    private static MainTest.Run probe(String... args) {
        return run(Main.commandLine(List.of(() -> List.of(new EngineProbe()))), args);
    }

    @Test
    void helpListsTheGlobalOptions() {
        MainTest.Run r = run("--help");
        assertTrue(r.out().contains("--device=auto|cpu|cuda|emulated"), r.out());
        assertTrue(r.out().contains("--validate"), r.out());
        assertTrue(run("demo", "--help").out().contains("--validate"), "inherited by every command");
    }

    @Test
    void deviceAndValidateWorkBeforeOrAfterTheCommand() {
        assertEquals("CPU false cpu", probe("--device", "cpu", "probe-engine").out());
        assertEquals("CPU false cpu", probe("probe-engine", "--device=CPU").out());
        assertEquals("EMULATED true cuda+validate", probe("--validate", "probe-engine", "--device", "emulated").out());
        assertEquals("EMULATED true cuda+validate", probe("--device", "emulated", "probe-engine", "--validate").out());
        assertEquals("EMULATED false cuda", probe("probe-engine", "--device", "emulated").out());
        CommandLine one = Main.commandLine(List.of(() -> List.of(new EngineProbe())));
        assertEquals("EMULATED true cuda+validate", run(one, "--validate", "--device", "emulated", "probe-engine").out());
        assertEquals("CPU false cpu", run(one, "--device", "cpu", "probe-engine").out(), "a second run of one tree starts afresh");
    }

    @Test
    void aBadDeviceIsAUsageErrorListingTheChoices() {
        MainTest.Run r = run("--device", "gpu", "version");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("dragedit: Invalid value for option '--device': expected auto, cpu, cuda or emulated, found 'gpu'"), r.err());
    }

    @Test
    void validatingTheCpuIsAUsageErrorWhateverTheCommand() {
        for (String[] args : new String[][] {{"--device", "cpu", "--validate", "demo", "--self-check"}, {"demo", "--self-check", "--validate", "--device", "cpu"},
                {"version", "--device", "cpu", "--validate"}}) {
            MainTest.Run r = run(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            assertTrue(r.err().startsWith("dragedit: --validate shadows the CUDA op set; use --device cuda or emulated\n"), r.err());
            assertTrue(r.err().contains("Try 'dragedit " + args[args[0].startsWith("-") ? 3 : 0] + " --help'"), r.err());
            assertEquals("", r.out(), "nothing ran");
        }
    }

    @Test
    void withoutAGpuCudaIsOneLineAndAutoValidateIsAUsageError() {
        if (Devices.cudaAvailable()) return;
        MainTest.Run r = probe("--device", "cuda", "probe-engine");
        assertEquals(1, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("dragedit: --device cuda: "), r.err());
        MainTest.Run demo = run("--device", "cuda", "demo", "--self-check");
        assertEquals(1, demo.code());
        assertEquals("", demo.out(), "the failure is the only thing said");
        MainTest.Run v = probe("--validate", "probe-engine");
        assertEquals(2, v.code(), v.err());
        assertTrue(v.err().startsWith("dragedit: --validate shadows the CUDA op set; use --device cuda or emulated (--device auto found no GPU: "), v.err());
        assertEquals("CPU false cpu", probe("probe-engine").out(), "auto without a GPU is the CPU, never the emulation");
    }

    @Test
    void demoOnTheEmulationWithValidatePrintsTheSummary() {
        MainTest.Run r = run("demo", "--self-check", "--device", "emulated", "--validate");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("Engine self-check (CudaOps on CUDA emulation on the CPU"), r.out());
        assertTrue(r.out().contains("every op validated against CpuOps"), r.out());
        assertTrue(r.out().contains("self-check passed: 4 ops"), r.out());
        assertTrue(r.err().matches("(?s)dragedit: --validate: validated 4 ops against cpu, worst rel error \\S+ \\((matmul|conv2d|groupNorm|unary)\\)\\R"), r.err());
    }

    @Test
    void demoOnTheCpuSaysWhatItAlwaysSaid() {
        MainTest.Run r = run("--device", "cpu", "demo", "--self-check");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Engine self-check (CpuOps, "), r.out());
        assertEquals("", r.err());
    }
}
