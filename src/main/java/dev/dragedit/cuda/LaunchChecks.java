package dev.dragedit.cuda;

import java.util.Objects;
import java.util.Set;

/**
 * The argument checks every device makes before a launch or a copy, in one place so that the GPU and the emulation
 * reject the same mistakes with the same messages: a wrong kernel name, a block over CUDA's limits, a pointer
 * argument that is not inside a live buffer (a freed tensor, a host address), an array range out of bounds.
 */
final class LaunchChecks {
    private LaunchChecks() {}

    /** CUDA's limits for every architecture since sm_30. */
    static final int MAX_THREADS_PER_BLOCK = 1024;
    static final int MAX_BLOCK_Z = 64;
    static final int MAX_GRID_YZ = 65535;

    static String describe(String kernel, Dim3 grid, Dim3 block, int sharedBytes) {
        return "kernel " + kernel + " grid " + grid + " block " + block + (sharedBytes > 0 ? " dynamic shared " + sharedBytes + " B" : "");
    }

    static void checkKnown(String device, Set<String> kernels, String kernel) {
        Objects.requireNonNull(kernel, "kernel");
        if (!kernels.contains(kernel)) throw new IllegalArgumentException(unknownKernel(device, kernels, kernel));
    }

    static void checkLaunch(String device, Allocations live, String kernel, Dim3 grid, Dim3 block, int sharedBytes,
                            KernelArgs args) {
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(grid, "grid");
        Objects.requireNonNull(block, "block");
        Objects.requireNonNull(args, "args");
        String what = describe(kernel, grid, block, sharedBytes);
        if (block.volume() > MAX_THREADS_PER_BLOCK || block.x() > MAX_THREADS_PER_BLOCK || block.y() > MAX_THREADS_PER_BLOCK
                || block.z() > MAX_BLOCK_Z) {
            throw new IllegalArgumentException(what + ": a block may have at most " + MAX_THREADS_PER_BLOCK
                    + " threads (z at most " + MAX_BLOCK_Z + "), found " + block.volume());
        }
        if (grid.y() > MAX_GRID_YZ || grid.z() > MAX_GRID_YZ) {
            throw new IllegalArgumentException(what + ": grid y and z may be at most " + MAX_GRID_YZ);
        }
        if (sharedBytes < 0) throw new IllegalArgumentException(what + ": negative dynamic shared memory");
        for (int i = 0; i < args.size(); i++) {
            if (args.kind(i) == KernelArgs.POINTER && !live.pointsIntoLive(args.bits(i))) {
                throw new IllegalArgumentException(what + ": argument " + i + " (pointer 0x" + Long.toHexString(args.bits(i))
                        + ") is not inside a live buffer of " + device + " (freed, or from another device?)");
            }
        }
    }

    static void checkArray(String op, int arrayLength, int off, int n) {
        if (off < 0 || n < 0 || off > arrayLength - n) {
            throw new IllegalArgumentException(op + ": range [" + off + ", " + off + "+" + n + ") is outside an array of length " + arrayLength);
        }
    }

    static String unknownKernel(String device, Set<String> kernels, String kernel) {
        String near = null;
        int best = Integer.MAX_VALUE;
        for (String k : kernels) {
            int d = editDistance(kernel, k);
            if (d < best) { best = d; near = k; }
        }
        String hint = near != null && best <= Math.max(3, kernel.length() / 3) ? "; did you mean '" + near + "'?" : "";
        return "unknown kernel '" + kernel + "': not among the " + kernels.size() + " kernels of " + device + hint;
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }
}
