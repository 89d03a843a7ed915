package dev.dragedit.bench;

import dev.dragedit.bench.KernelBenchCases.Shapes;
import dev.dragedit.cli.Main;
import dev.dragedit.cuda.CudaUnavailableException;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.EmulatedCudaDevice;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * {@code dragedit bench kernels}: runs {@link KernelBench} on a GPU or the CUDA emulation, prints the table on
 * stdout (one line per case on stderr as it runs) and appends one JSON line per kernel and case: to
 * docs/perf/kernels.jsonl on a GPU, to target/kernels-emulated.jsonl under the emulation (whose times say nothing
 * about a GPU; the run only checks the plumbing), or to {@code --out}. All lines of a run are appended with one write
 * at the end, so a run that fails halfway leaves the file as it was. Exit 1 when a case failed or no device opened.
 */
@Command(name = "kernels", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Time every CUDA kernel at the shapes of SD 1.5 at 512² (and DragGAN-like shapes for the kernels SD 1.5 does not use).",
                "Median device time per kernel (CUDA events), the op's GFLOP/s or GB/s and its % of the GPU's datasheet peak;",
                "one JSON line per kernel and case appended to docs/perf/kernels.jsonl (emulation: target/kernels-emulated.jsonl)."})
final class KernelBenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--device", paramLabel = "auto|cuda|emulated",
            description = "Where the kernels run: auto (the GPU if one opens, else the emulation; default), cuda, emulated. "
                    + "Without it, a global --device cuda|emulated given before 'bench' applies.")
    String device;

    @Option(names = "--shapes", paramLabel = "SET",
            description = "Shape set: sd15-512 (default on a GPU) or tiny (default under the emulation: the same cases at toy sizes).")
    String shapes;

    @Option(names = "--dtype", paramLabel = "f32|f16|bf16|all", split = ",",
            description = "Storage dtypes to run, comma-separated (default all; an op without kernels of a dtype is skipped).")
    List<String> dtypes;

    @Option(names = "--repeats", paramLabel = "N", description = "Timed runs per case (default 20 on a GPU, 3 emulated).")
    Integer repeats;

    @Option(names = "--warmup", paramLabel = "N", description = "Untimed runs first (default 3 on a GPU, 1 emulated).")
    Integer warmup;

    @Option(names = "--filter", paramLabel = "REGEX", description = "Only cases whose name, or one of whose kernels' names, contains a match.")
    String filter;

    @Option(names = "--out", paramLabel = "FILE", description = "Append the JSON lines here instead of the default file.")
    Path out;

    /**
     * The run-wide --device (dragedit --device X bench kernels), which this command's own option shadows: cuda and
     * emulated carry over, auto is this command's auto (the emulation when there is no GPU), cpu has no kernels.
     */
    private String globalDevice() {
        if (!(spec.root().userObject() instanceof dev.dragedit.cli.Main main)) return "auto";
        return switch (main.runOptions().device()) {
            case CUDA -> "cuda";
            case EMULATED -> "emulated";
            case AUTO -> "auto";
            case CPU -> throw new ParameterException(spec.commandLine(),
                    "bench kernels times the CUDA kernels; --device cpu has none (use auto, cuda or emulated)");
        };
    }

    @Override
    public Integer call() throws Exception {
        if (device == null) device = globalDevice();
        String which = device.trim().toLowerCase(Locale.ROOT);
        if (!List.of("auto", "cuda", "emulated").contains(which))
            throw new ParameterException(spec.commandLine(), "--device must be auto, cuda or emulated, found '" + device + "'");
        Shapes shapeSet = null;
        if (shapes != null) {
            shapeSet = Shapes.named(shapes.trim());
            if (shapeSet == null)
                throw new ParameterException(spec.commandLine(), "--shapes must be one of " + Shapes.names() + ", found '" + shapes + "'");
        }
        List<DType> dts = parseDtypes();
        if (repeats != null && repeats < 1) throw new ParameterException(spec.commandLine(), "--repeats must be at least 1, found " + repeats);
        if (warmup != null && warmup < 0) throw new ParameterException(spec.commandLine(), "--warmup must be at least 0, found " + warmup);
        Pattern pattern = null;
        if (filter != null) {
            try {
                pattern = Pattern.compile(filter);
            } catch (PatternSyntaxException e) {
                throw new ParameterException(spec.commandLine(), "--filter is not a regular expression: " + e.getDescription()
                        + " in '" + filter + "'");
            }
        }
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();

        KernelDevice dev;
        try {
            dev = switch (which) {
                case "cuda" -> Devices.openCuda();
                case "emulated" -> new EmulatedCudaDevice();
                default -> Devices.best();
            };
        } catch (CudaUnavailableException e) {
            err.println("dragedit: bench kernels: --device cuda: " + e.getMessage());
            return 1;
        } catch (IllegalStateException e) {
            err.println("dragedit: bench kernels: no device: " + e.getMessage());
            return 1;
        }
        try (dev) {
            boolean emu = dev.emulated();
            Shapes set = shapeSet != null ? shapeSet : emu ? Shapes.TINY : Shapes.SD15_512;
            int r = repeats != null ? repeats : emu ? 3 : 20;
            int w = warmup != null ? warmup : emu ? 1 : 3;
            Path file = out != null ? out : emu ? emulatedDefault() : PerfLog.defaultFile("kernels");
            stdout.println("bench kernels on " + dev.name() + "; shapes " + set.name()
                    + (shapeSet == null ? (emu ? " (the default under the emulation; --shapes sd15-512 for the real sizes)" : " (default)") : "")
                    + "; dtypes " + dts.stream().map(d -> d.name().toLowerCase(Locale.ROOT)).toList());
            if (emu) stdout.println("emulated: the times measure the CPU emulation, not a GPU; results go to " + file
                    + (out == null ? " (not docs/perf)" : ""));
            stdout.flush();

            KernelBench.Report report = KernelBench.run(dev, new KernelBench.Options(set, dts, w, r, pattern), err);
            KernelBench.printTable(report, stdout);

            if (report.rows().isEmpty()) {
                stdout.println("nothing measured" + (pattern != null ? ": no case or kernel matches --filter " + filter : "") + "; " + file + " unchanged");
                stdout.flush();
                return report.failed().isEmpty() && pattern == null ? 0 : 1;
            }
            String commit = PerfLog.commit(PerfLog.home());
            if (commit == null) commit = "version " + Main.buildVersion();
            List<String> lines = KernelBench.jsonLines(report, commit, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
            appendAll(file, lines);
            stdout.println("appended " + lines.size() + " line(s) to " + file);
            stdout.flush();
            if (!report.failed().isEmpty()) {
                for (KernelBench.Failure f : report.failed())
                    err.println("dragedit: bench kernels: " + f.caseName() + " " + f.dtype() + ": " + f.error());
                return 1;
            }
            return 0;
        }
    }

    private List<DType> parseDtypes() {
        List<DType> all = List.of(DType.F32, DType.F16, DType.BF16);
        if (dtypes == null || dtypes.isEmpty()) return all;
        List<DType> picked = new ArrayList<>();
        for (String d : dtypes) {
            String v = d.trim().toLowerCase(Locale.ROOT);
            switch (v) {
                case "all" -> { for (DType t : all) if (!picked.contains(t)) picked.add(t); }
                case "f32", "f16", "bf16" -> {
                    DType t = DType.valueOf(v.toUpperCase(Locale.ROOT));
                    if (!picked.contains(t)) picked.add(t);
                }
                default -> throw new ParameterException(spec.commandLine(), "--dtype must be f32, f16, bf16 or all (comma-separated), found '" + d + "'");
            }
        }
        return picked;
    }

    /** target/ of the repository (or of the working directory): out of docs/perf, where GPU numbers live. */
    private static Path emulatedDefault() {
        Path home = PerfLog.home();
        return (home != null ? home : Path.of("").toAbsolutePath()).resolve("target").resolve("kernels-emulated.jsonl");
    }

    /** One append of every line: a failed run adds nothing, and readers never see a partial batch of ours. */
    static void appendAll(Path file, List<String> lines) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            if (l.indexOf('\n') >= 0) throw new IllegalArgumentException("a perf log line must not contain a newline");
            sb.append(l).append('\n');
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Files.writeString(file, sb, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
