package dev.dragedit.bench;

import dev.dragedit.cli.Main;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.BenchmarkException;
import org.openjdk.jmh.runner.Defaults;
import org.openjdk.jmh.runner.NoBenchmarksException;
import org.openjdk.jmh.runner.ProfilersFailedException;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code dragedit bench jmh}: the JMH micro-benchmarks of the CPU kernels ({@code dev.dragedit.bench.jmh}), run by
 * JMH's own runner with JMH's own options, which pass through untouched — the same as {@code java -jar
 * benchmarks.jar} in a JMH project, but from the one runnable jar. This is {@link org.openjdk.jmh.Main} redone so
 * that its output goes to the command's writers (tests capture it), it never calls System.exit, and its failures
 * follow dragedit's exit codes: a bad JMH option or a regex that matches nothing is a usage error (2), a failed
 * benchmark a failure (1). Forked benchmark JVMs get the classpath of this one, which is the jar itself under
 * {@code java -jar}, and its JVM flags plus each benchmark's {@code jvmArgsAppend}.
 */
@Command(name = "jmh", versionProvider = Main.BuildVersion.class,
        synopsisHeading = "Usage: ",
        customSynopsis = "dragedit bench jmh [-hV] [JMH options] [benchmark regex…]",
        description = {"Run the JMH micro-benchmarks of the CPU kernels (sgemm, conv2d, groupNorm,",
                "attention, gridSample, element-wise), each with simd=true and simd=false.",
                "Arguments go to JMH unchanged. Unlike plain JMH, the first failing benchmark",
                "stops the run with exit code 1 (-foe false to go on)."},
        footerHeading = "%nExamples:%n",
        footer = {"  dragedit bench jmh -l                      list them (-lp: with parameters)",
                "  dragedit bench jmh Gemm -f 1 -wi 2 -i 3    1 fork, 2 warm-ups, 3 measured",
                "  dragedit bench jmh Conv2d -p simd=true     one parameter value",
                "  dragedit bench jmh -rf json -rff jmh.json  results as JSON too",
                "  dragedit bench jmh -prof gc GroupNorm      with allocation rates",
                "",
                "JMH options (passed through):"})
final class JmhBenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    // Not picocli's usageHelp: the help adds JMH's option list after the usage, which call() prints.
    @Option(names = {"-h", "--help"}, description = "Show this help message and JMH's options, then exit.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Print version information and exit.")
    boolean version;

    @Unmatched
    List<String> jmhArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (help) {
            spec.commandLine().usage(out);
            // JMH's first line is its own synopsis ("java -jar ..."), which the usage above replaces.
            String jmhHelp = captureStdout(() -> new CommandLineOptions("-h").showHelp());
            out.print(jmhHelp.startsWith("Usage:") ? jmhHelp.substring(jmhHelp.indexOf('\n') + 1) : jmhHelp);
            out.flush();
            return Main.EXIT_OK;
        }

        CommandLineOptions cli;
        try {
            cli = new CommandLineOptions(jmhArgs.toArray(String[]::new));
        } catch (CommandLineOptionException e) {
            throw new ParameterException(spec.commandLine(), "bench jmh: " + jmhMessage(e));
        }
        // JMH's listings write to System.out themselves.
        if (cli.shouldHelp()) {
            out.print(captureStdout(cli::showHelp));
            out.flush();
            return Main.EXIT_OK;
        }
        if (cli.shouldListProfilers()) {
            out.print(captureStdout(cli::listProfilers));
            out.flush();
            return Main.EXIT_OK;
        }
        if (cli.shouldListResultFormats()) {
            out.print(captureStdout(cli::listResultFormats));
            out.flush();
            return Main.EXIT_OK;
        }

        Options options = cli.shouldFailOnError().hasValue() ? cli
                : new OptionsBuilder().parent(cli).shouldFailOnError(true).build();
        Runner runner = new Runner(options, outputFormat(options, out));
        if (cli.shouldList()) {
            runner.list();
            out.flush();
            return Main.EXIT_OK;
        }
        if (cli.shouldListWithParams()) {
            runner.listWithParams(cli);
            out.flush();
            return Main.EXIT_OK;
        }
        return run(runner, options);
    }

    private int run(Runner runner, Options options) {
        Collection<RunResult> results;
        try {
            results = runner.run();
        } catch (NoBenchmarksException e) {
            if (options.getIncludes().isEmpty() && options.getExcludes().isEmpty()) {
                throw new IllegalStateException("bench jmh: this build has no benchmarks (META-INF/BenchmarkList is"
                        + " empty: was the engine compiled without JMH's annotation processor?)", e);
            }
            throw new ParameterException(spec.commandLine(), "bench jmh: no benchmark matches "
                    + (options.getIncludes().isEmpty() ? ".*" : String.join(" ", options.getIncludes()))
                    + (options.getExcludes().isEmpty() ? "" : " minus " + String.join(" ", options.getExcludes()))
                    + "; 'dragedit bench jmh -l' lists them");
        } catch (ProfilersFailedException e) {
            throw profilerFailure(e);
        } catch (RunnerException | BenchmarkException e) {
            throw runFailure(e);
        }
        if (results.isEmpty()) {
            spec.commandLine().getErr().println("dragedit: bench jmh: no benchmark produced a result (their errors are above)");
            return Main.EXIT_FAILURE;
        }
        return Main.EXIT_OK;
    }

    /** JMH's text output on the command's writer, or on the file of {@code -o}, as JMH's own Runner would. */
    private static OutputFormat outputFormat(Options options, PrintWriter out) throws FileNotFoundException {
        VerboseMode mode = options.verbosity().orElse(Defaults.VERBOSITY);
        PrintStream stream = options.getOutput().hasValue()
                ? new PrintStream(options.getOutput().get())
                : new PrintStream(new WriterOutputStream(out), true, StandardCharsets.UTF_8);
        return OutputFormatFactory.createFormatInstance(stream, mode);
    }

    /**
     * A failed benchmark reaches here as JMH's BenchmarkException (wrapped in a RunnerException when it stops the
     * run), carrying the benchmark's own exceptions as suppressed ones; JMH has already printed their stack traces
     * in the run's output, so one line names the first.
     */
    private static RuntimeException runFailure(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BenchmarkException && t.getSuppressed().length > 0) {
                return new IllegalStateException("bench jmh: a benchmark failed (details above): "
                        + firstLine(t.getSuppressed()[0].toString()), e);
            }
        }
        return new IllegalStateException("bench jmh: " + firstLine(String.valueOf(e.getMessage())), e);
    }

    /**
     * JMH wraps each profiler's failure in one exception (the first as the cause, the others suppressed); a name
     * that is no profiler shows up as a ClassNotFoundException, which is the user's typo, not a failure.
     */
    private RuntimeException profilerFailure(ProfilersFailedException e) {
        List<Throwable> failures = new ArrayList<>();
        if (e.getCause() != null) failures.add(e.getCause());
        failures.addAll(List.of(e.getSuppressed()));
        List<String> unknown = new ArrayList<>(), reasons = new ArrayList<>();
        for (Throwable f : failures) {
            Throwable root = f;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            if (root instanceof ClassNotFoundException) unknown.add("'" + root.getMessage() + "'");
            else reasons.add(firstLine(f.getMessage() != null ? f.getMessage() : f.toString()));
        }
        if (reasons.isEmpty() && !unknown.isEmpty()) {
            return new ParameterException(spec.commandLine(), "bench jmh: unknown profiler " + String.join(", ", unknown)
                    + "; 'dragedit bench jmh -lprof' lists them");
        }
        for (String u : unknown) reasons.add("unknown profiler " + u);
        return new IllegalStateException("bench jmh: a profiler cannot run: " + String.join("; ", reasons), e);
    }

    /** JMH's message, or its cause's when JMH only wraps a parser error. */
    private static String jmhMessage(CommandLineOptionException e) {
        String m = e.getMessage();
        if ((m == null || m.isBlank()) && e.getCause() != null) m = e.getCause().getMessage();
        return m == null ? e.getClass().getSimpleName() : m.strip().replace('\n', ' ');
    }

    private static String firstLine(String text) {
        String m = text.strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private interface StdoutPrinter { void print() throws Exception; }

    /**
     * What {@code body} prints on System.out, for JMH's help and listings, which print nowhere else. The swap is
     * process-wide, but these run before any benchmark and print in milliseconds.
     */
    private static synchronized String captureStdout(StdoutPrinter body) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            body.print();
        } finally {
            System.out.flush();
            System.setOut(saved);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }
}
