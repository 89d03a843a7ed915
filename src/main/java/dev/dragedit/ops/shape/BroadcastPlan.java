// NumPy/PyTorch broadcasting, backend-neutral: the result shape of two operands, the strides with which an operand is
// read in the result's index space (0 along broadcast dimensions), and the coalesced plan that both the CPU walk
// (ops.cpu.Broadcast) and the CUDA kernels (cuda.ops.CudaElementwise) iterate. Kept in one place so the two backends
// accept the same shapes with the same messages and merge dimensions the same way.
//
// Coalescing drops size-1 result dimensions and merges a dimension into the kept one inside it whenever both operands
// step through the pair as through one dimension: a same-shape pair becomes a single run, a per-channel [C, 1, 1]
// operand against [N, C, H, W] becomes [N, C, H·W], a trailing vector [D] against [..., D] becomes [rows, D].
package dev.dragedit.ops.shape;

import java.util.Arrays;

public final class BroadcastPlan {
    /** Coalesced sizes and operand strides, innermost first; only the first {@code kept} entries are real dimensions. */
    public final int[] size, sa, sb;
    public final int kept;

    private BroadcastPlan(int[] size, int[] sa, int[] sb, int kept) {
        this.size = size;
        this.sa = sa;
        this.sb = sb;
        this.kept = kept;
    }

    /** The broadcast shape of a and b, or an IllegalArgumentException naming op and both shapes. */
    public static int[] shape(String op, int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)];
            int db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " cannot be broadcast: dimension " + i + " of the result has sizes " + da + " and " + db);
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** True when {@code src} broadcasts to {@code out} (right-aligned, each dimension equal or 1). */
    public static boolean broadcastsTo(int[] src, int[] out) {
        if (src.length > out.length) return false;
        int lead = out.length - src.length;
        for (int i = 0; i < src.length; i++) if (src[i] != out[lead + i] && src[i] != 1) return false;
        return true;
    }

    /** Strides of a contiguous tensor of shape {@code src} read at the indices of {@code out}; 0 where it broadcasts. */
    public static int[] strides(int[] src, int[] out) {
        int[] s = new int[out.length];
        int lead = out.length - src.length, acc = 1;
        for (int i = src.length - 1; i >= 0; i--) {
            s[lead + i] = src[i] == 1 ? 0 : acc;
            acc *= src[i];
        }
        return s;
    }

    /**
     * Coalesces the result shape {@code out} read with operand strides sa and sb (from {@link #strides}). The arrays
     * have at least {@code minLength} entries (a kernel with a fixed rank reads unused ones as size 1, stride 0).
     */
    public static BroadcastPlan of(int[] out, int[] sa, int[] sb, int minLength) {
        int[] size = new int[Math.max(out.length, minLength)], ta = new int[size.length], tb = new int[size.length];
        Arrays.fill(size, 1);
        int r = 0;
        for (int i = out.length - 1; i >= 0; i--) {
            if (out[i] == 1) continue;
            if (r > 0 && sa[i] == ta[r - 1] * size[r - 1] && sb[i] == tb[r - 1] * size[r - 1]) {
                size[r - 1] *= out[i];
            } else {
                size[r] = out[i]; ta[r] = sa[i]; tb[r] = sb[i];
                r++;
            }
        }
        return new BroadcastPlan(size, ta, tb, r);
    }
}
