package dev.dragedit.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which compiled form of kernels/*.cu a GPU loads, from the jar resources written by kernels/build.sh:
 * {@code /cuda/kernels_sm<major><minor>.cubin} (machine code, loads on any driver of its CUDA major version, no JIT)
 * and {@code /cuda/kernels.ptx} (compute_80 PTX, JIT-compiled by the driver for newer GPUs, but PTX from nvcc 13
 * needs a driver ≥ 580). A cubin runs on GPUs of its major architecture with an equal or higher minor (sm_80 code
 * runs on sm_86), so the order of preference is: the exact cubin, the same major's lower minors, then the PTX.
 */
final class CudaKernelImages {
    private CudaKernelImages() {}

    static final String PTX = "/cuda/kernels.ptx";

    static String cubin(int major, int minor) { return "/cuda/kernels_sm" + major + minor + ".cubin"; }

    /** Resource names to try for a device of compute capability major.minor, best first. */
    static List<String> candidates(int major, int minor) {
        List<String> out = new ArrayList<>();
        for (int m = minor; m >= 0; m--) out.add(cubin(major, m));
        out.add(PTX);
        return out;
    }

    /** The resource's bytes, or null when the jar does not have it. */
    static byte[] read(String resource) {
        try (InputStream in = CudaKernelImages.class.getResourceAsStream(resource)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource + " from the classpath", e);
        }
    }

    /** cuModuleLoadData reads PTX as a C string: it must end with a NUL byte. */
    static byte[] nulTerminated(byte[] ptx) {
        if (ptx.length > 0 && ptx[ptx.length - 1] == 0) return ptx;
        return Arrays.copyOf(ptx, ptx.length + 1);
    }

    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+([A-Za-z_$][A-Za-z0-9_$]*)\\s*\\(");

    /** The kernel entry points a PTX file defines (its {@code .entry NAME(} lines). */
    static Set<String> entryNames(String ptx) {
        Set<String> names = new LinkedHashSet<>();
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) names.add(m.group(1));
        return Collections.unmodifiableSet(names);
    }

    /** The kernel names of the jar's PTX, or null when there is none (a build without nvcc). */
    static Set<String> entryNamesOfJar(Function<String, byte[]> reader) {
        byte[] ptx = reader.apply(PTX);
        return ptx == null ? null : entryNames(new String(ptx, StandardCharsets.US_ASCII));
    }
}
