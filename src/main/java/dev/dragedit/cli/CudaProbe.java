package dev.dragedit.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether an NVIDIA driver is visible to this process, found without the (not yet built) CUDA backend: a loadable
 * libcuda.so.1, the /dev/nvidia0 device node, and the kernel module's version from /proc/driver/nvidia/version.
 * Loading libcuda does not initialise the GPU (that is cuInit), so this is safe to run on any machine. Each missing
 * piece is named, because "no GPU" and "a GPU the container cannot see" need different fixes.
 */
final class CudaProbe {
    private CudaProbe() {}

    /** The first line of the driver's answer and the lines explaining it. */
    record Result(boolean driverVisible, List<String> lines) {}

    /** PTX from nvcc 13 is CUDA 13, which drivers before the 580 series cannot JIT. */
    static final int MIN_DRIVER_FOR_PTX = 580;

    private static final List<String> KNOWN_DIRS = List.of(
            "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib",
            "/usr/lib/wsl/lib", "/usr/local/cuda/compat", "/usr/lib/aarch64-linux-gnu");

    static Result probe() {
        List<String> lines = new ArrayList<>();
        String lib = null;
        String libError = null;
        List<Path> candidates = candidates();
        for (Path p : candidates) {
            if (!Files.isRegularFile(p)) continue;
            try {
                System.load(p.toAbsolutePath().toString());
                lib = p.toString();
                break;
            } catch (UnsatisfiedLinkError | SecurityException e) {
                if (libError == null) libError = p + ": " + e.getMessage();
            }
        }
        boolean dev = Files.exists(Path.of("/dev/nvidia0"));
        String module = kernelModuleVersion();

        if (lib != null) {
            String real = realName(Path.of(lib));
            lines.add("libcuda: loads from " + lib + (real != null ? " (" + real + ")" : ""));
        } else if (libError != null) {
            lines.add("libcuda: found but does not load: " + libError);
        } else {
            lines.add("libcuda: libcuda.so.1 not found (looked in LD_LIBRARY_PATH, java.library.path and " + String.join(", ", KNOWN_DIRS) + ")");
        }
        lines.add("device: /dev/nvidia0 " + (dev ? "present" : "absent"));
        if (module != null) {
            lines.add("kernel module: NVIDIA " + module + driverNote(module));
        } else {
            lines.add("kernel module: none loaded (no /proc/driver/nvidia/version)");
        }

        boolean visible = lib != null && dev;
        String verdict;
        if (visible) {
            verdict = "NVIDIA driver visible";
        } else if (lib == null && !dev && module == null) {
            verdict = "no NVIDIA driver visible: this machine (or container) has no NVIDIA GPU driver";
        } else if (lib == null) {
            verdict = "no NVIDIA driver visible: the GPU device/module is there but libcuda.so.1 is not"
                    + " (inside a container, start it with the NVIDIA container toolkit, e.g. --gpus all)";
        } else {
            verdict = "no NVIDIA driver visible: libcuda.so.1 is installed but /dev/nvidia0 is absent"
                    + " (no GPU, or a container started without access to it)";
        }
        lines.add(0, verdict);
        return new Result(visible, lines);
    }

    private static List<Path> candidates() {
        Set<String> dirs = new LinkedHashSet<>();
        for (String var : new String[] {System.getenv("LD_LIBRARY_PATH"), System.getProperty("java.library.path")}) {
            if (var == null) continue;
            for (String d : var.split(java.io.File.pathSeparator)) if (!d.isBlank()) dirs.add(d);
        }
        dirs.addAll(KNOWN_DIRS);
        List<Path> out = new ArrayList<>();
        for (String d : dirs) {
            out.add(Path.of(d, "libcuda.so.1"));
            out.add(Path.of(d, System.mapLibraryName("cuda")));
        }
        return out;
    }

    /** libcuda.so.1 is a link to libcuda.so.&lt;driver version&gt;: the version without initialising anything. */
    private static String realName(Path p) {
        try {
            String name = p.toRealPath().getFileName().toString();
            return name.equals(p.getFileName().toString()) ? null : name;
        } catch (IOException e) {
            return null;
        }
    }

    private static String kernelModuleVersion() {
        try {
            String text = Files.readString(Path.of("/proc/driver/nvidia/version"));
            Matcher m = Pattern.compile("Kernel Module(?: for [^ ]+)?\\s+([0-9]+(?:\\.[0-9]+)+)").matcher(text);
            if (m.find()) return m.group(1);
            String first = text.lines().findFirst().orElse("").trim();
            return first.isEmpty() ? null : first;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static String driverNote(String version) {
        try {
            int major = Integer.parseInt(version.substring(0, version.indexOf('.')));
            return major >= MIN_DRIVER_FOR_PTX ? " (new enough for PTX from nvcc 13, which needs ≥ " + MIN_DRIVER_FOR_PTX + ")"
                    : " (older than " + MIN_DRIVER_FOR_PTX + ": PTX from nvcc 13 will not load; only the sm_80/sm_90 cubins could)";
        } catch (RuntimeException e) {
            return "";
        }
    }
}
