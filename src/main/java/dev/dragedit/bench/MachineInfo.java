package dev.dragedit.bench;

import dev.dragedit.ops.cpu.Simd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a benchmark number depends on: CPU model and the SIMD extensions it advertises (from /proc/cpuinfo, since
 * Java has no API for either), the cores the JVM may use, the Java runtime and whether the Vector API is on.
 * Shown by {@code dragedit version} and recorded with every {@code bench} run.
 */
public record MachineInfo(String cpuModel, int cores, List<String> simdFlags, String os, String javaVersion,
                          String javaVendor, String javaVm, boolean vectorAvailable, boolean vectorEnabled,
                          int floatLanes) {

    /** The flags that matter for float kernels, in order of capability; the rest of /proc/cpuinfo is noise here. */
    private static final List<String> INTERESTING = List.of(
            "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni",
            "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "asimd", "sve", "sve2");

    public static MachineInfo read() {
        String model = null;
        Set<String> flags = new LinkedHashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon < 0) continue;
                String key = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                if (model == null && (key.equals("model name") || key.equals("Model") || key.equals("cpu model"))) model = value;
                if (flags.isEmpty() && (key.equals("flags") || key.equals("Features"))) {
                    for (String f : value.split("\\s+")) flags.add(f);
                }
            }
        } catch (IOException | RuntimeException e) {
            model = null;
        }
        List<String> simd = new ArrayList<>();
        for (String f : INTERESTING) if (flags.contains(f)) simd.add(f);
        if (model == null) model = "unknown (" + System.getProperty("os.arch") + ", no /proc/cpuinfo)";
        return new MachineInfo(model, Runtime.getRuntime().availableProcessors(), List.copyOf(simd),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " (" + System.getProperty("os.arch") + ")",
                System.getProperty("java.version"), System.getProperty("java.vendor"),
                System.getProperty("java.vm.name"), Simd.available(), Simd.enabled(), Simd.floatLanes());
    }

    /** Whether any SIMD flag was found; without one, "no avx512f" would be a guess (no /proc/cpuinfo, or an odd CPU). */
    public boolean flagsKnown() { return !simdFlags.isEmpty(); }

    /** Why SIMD is off, when it is: the user's switch or a JVM started without the incubator module. */
    public String vectorState() {
        if (!vectorAvailable) {
            return "not available (start java with --add-modules jdk.incubator.vector; ./dragedit does): every op takes its scalar path";
        }
        String width = floatLanes + " float lanes (" + floatLanes * 32 + "-bit)";
        if (vectorEnabled) return "available and enabled; preferred vector " + width;
        String why = System.getProperty("dragedit.simd") != null ? "-Ddragedit.simd=" + System.getProperty("dragedit.simd")
                : System.getenv("DRAGEDIT_SIMD") != null ? "DRAGEDIT_SIMD=" + System.getenv("DRAGEDIT_SIMD") : "Simd.set(false)";
        return "available but disabled by " + why + " (scalar paths); preferred vector " + width;
    }
}
