package dev.dragedit.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.cli.Main;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Callable;

/**
 * {@code dragedit bench cpu}: runs {@link CpuBench}, prints the table on stdout (progress on stderr) and appends
 * the run to the perf log. Exit code 1 when a kernel failed or computed wrong numbers; a kernel that is not
 * written yet is reported but does not fail the run.
 */
@Command(name = "cpu", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Benchmark sgemm and 3×3 conv2d (forward, backward) on the CPU.",
                "Median time, GFLOP/s, share of the measured FMA peak, and numpy/OpenBLAS on the same arithmetic side by side."})
final class CpuBenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--repeats", paramLabel = "N", description = "Timed runs per measurement (default 10; 3 with --quick).")
    Integer repeats;

    @Option(names = "--warmup", paramLabel = "N", description = "Untimed runs first, at least (default 3, and at least 2 s of them; 1 with --quick).")
    Integer warmup;

    @Option(names = "--no-numpy", description = "Skip the numpy/OpenBLAS comparison.")
    boolean noNumpy;

    @Option(names = "--quick", description = "Small shapes (sgemm 192³, conv 16 channels 16×16) and a short peak measurement: checks the plumbing in seconds.")
    boolean quick;

    @Option(names = "--json", paramLabel = "FILE", description = "Append the JSON line here instead of docs/perf/cpu.jsonl.")
    Path json;

    @Override
    public Integer call() throws Exception {
        int r = repeats != null ? repeats : quick ? 3 : 10;
        int w = warmup != null ? warmup : quick ? 1 : 3;
        if (r < 1) throw new ParameterException(spec.commandLine(), "--repeats must be at least 1, found " + r);
        if (w < 0) throw new ParameterException(spec.commandLine(), "--warmup must be at least 0, found " + w);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();

        CpuBench.Report report = CpuBench.run(new CpuBench.Options(w, r, !noNumpy, quick), err);
        BenchReport.printTable(report, out);

        Path file = json != null ? json : PerfLog.defaultFile("cpu");
        ObjectNode node = BenchReport.json(report, PerfLog.commit(PerfLog.home()),
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        PerfLog.append(file, BenchReport.jsonLine(node));
        out.println("appended to " + file);
        out.flush();

        if (report.failed()) {
            for (CpuBench.Row row : report.rows()) {
                if (row.status() == CpuBench.Status.WRONG || row.status() == CpuBench.Status.FAILED) {
                    err.println("dragedit: bench cpu: " + row.label() + ": " + (row.error() != null ? row.error() : row.check()));
                }
            }
            return 1;
        }
        return 0;
    }
}
