package dev.dragedit.cli;

import dev.dragedit.bench.MachineInfo;
import dev.dragedit.util.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code dragedit version}: the build and everything about this machine that decides how fast (and on what) the
 * engine runs — the first thing to paste into a bug report or next to a benchmark number.
 */
@Command(name = "version", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = "Print the version, Java runtime, CPU and SIMD support, and CUDA status.")
final class VersionCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        MachineInfo m = MachineInfo.read();
        row(out, "dragedit", Main.buildVersion());
        Runtime rt = Runtime.getRuntime();
        row(out, "java", m.javaVersion() + " (" + m.javaVendor() + ", " + m.javaVm() + "), max heap "
                + String.format("%.1f GiB", rt.maxMemory() / (1024.0 * 1024 * 1024)));
        row(out, "os", m.os());
        row(out, "cpu", m.cpuModel() + ", " + m.cores() + " cores available, " + threads());
        row(out, "cpu flags", cpuFlags(m));
        row(out, "vector api", m.vectorState());
        CudaProbe.Result cuda = CudaProbe.probe();
        row(out, "cuda", dev.dragedit.cuda.Devices.cudaStatus());
        row(out, "", cuda.lines().get(0));
        for (String line : cuda.lines().subList(1, cuda.lines().size())) row(out, "", "  " + line);
        row(out, "emulation", emulationStatus());
        row(out, "cuda ops", "every op in F32 (CudaOps), F16/BF16 storage with tensor cores for matmul, conv, attention, norms "
                + "and element-wise ops; tested against the CPU ops through the emulation and on an H200");
        out.flush();
        return Main.EXIT_OK;
    }

    /** Whether the CPU emulation of CUDA (the same kernel sources built by g++) loads, and how many kernels it has. */
    private static String emulationStatus() {
        try (dev.dragedit.cuda.KernelDevice d = new dev.dragedit.cuda.EmulatedCudaDevice()) {
            return d.name();
        } catch (RuntimeException | LinkageError e) {
            return "unavailable: " + e.getMessage();
        }
    }

    private static String threads() {
        String src = System.getProperty("dragedit.threads") != null ? "-Ddragedit.threads"
                : System.getenv("DRAGEDIT_THREADS") != null ? "DRAGEDIT_THREADS" : "one per core; DRAGEDIT_THREADS overrides";
        return Parallel.THREADS + " worker threads (" + src + ")";
    }

    private static String cpuFlags(MachineInfo m) {
        if (!m.flagsKnown()) return "unknown (no SIMD flags found in /proc/cpuinfo)";
        List<String> f = m.simdFlags();
        String missing = f.contains("avx512f") || f.contains("asimd") ? "" : f.contains("avx2") ? "; no avx512f" : "; no avx2, no avx512f";
        return String.join(" ", f) + missing;
    }

    private static void row(PrintWriter out, String key, String value) {
        out.printf("%-11s %s%n", key, value);
    }
}
