// NumPy/PyTorch broadcasting for the CPU ops: the result shape of two operands, the strides with which an operand is
// read in the result's index space (0 along broadcast dimensions), and a walk over the result in contiguous runs.
//
// The walk first coalesces dimensions: size-1 result dimensions are dropped, and neighbours merge whenever both
// operands step through them as through one dimension. A same-shape pair becomes a single run; a per-channel [C, 1, 1]
// operand against [N, C, H, W] becomes [N, C, H·W] with runs of H·W against one scalar; a trailing vector [D] against
// [..., D] becomes [rows, D]. Inside a run each operand's step is 1 or 0 (the innermost kept dimension of a contiguous
// tensor has stride 1), which is all a SIMD kernel needs. The result is split into flat element ranges for
// Parallel.forRange; a range may start and end inside a run, so no thread ever gets less than the grain of work.
package dev.dragedit.ops.cpu;

import dev.dragedit.util.Parallel;

final class Broadcast {
    private Broadcast() {}

    /** Elements per parallel chunk: below this, threading costs more than it saves. */
    static final int GRAIN = 1 << 15;

    /** The broadcast shape of a and b, or an IllegalArgumentException naming op and both shapes. */
    static int[] shape(String op, int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)];
            int db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException(op + ": shapes " + ElementwiseChecks.str(a) + " and " + ElementwiseChecks.str(b)
                        + " cannot be broadcast: dimension " + i + " of the result has sizes " + da + " and " + db);
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** True when {@code src} broadcasts to {@code out} (right-aligned, each dimension equal or 1). */
    static boolean broadcastsTo(int[] src, int[] out) {
        if (src.length > out.length) return false;
        int lead = out.length - src.length;
        for (int i = 0; i < src.length; i++) if (src[i] != out[lead + i] && src[i] != 1) return false;
        return true;
    }

    /** Strides of a contiguous tensor of shape {@code src} read at the indices of {@code out}; 0 where it broadcasts. */
    static int[] strides(int[] src, int[] out) {
        int[] s = new int[out.length];
        int lead = out.length - src.length, acc = 1;
        for (int i = src.length - 1; i >= 0; i--) {
            s[lead + i] = src[i] == 1 ? 0 : acc;
            acc *= src[i];
        }
        return s;
    }

    /** One contiguous stretch of the result: len elements from oOff, operands from aOff/bOff stepping aStep/bStep (0 or 1). */
    interface Run {
        void run(int aOff, int aStep, int bOff, int bStep, int oOff, int len);
    }

    /**
     * Calls {@code body} for every run of the contiguous result of shape {@code out}, operands read with strides sa and
     * sb (from {@link #strides}); runs in parallel chunks of at least {@link #GRAIN} elements.
     */
    static void forEachRun(int[] out, int[] sa, int[] sb, Run body) {
        long total = 1;
        for (int d : out) total *= d;
        if (total == 0) return;
        // Coalesce: keep non-1 dimensions, merging a dimension into the kept one inside it when both operands allow.
        int[] size = new int[out.length], ta = new int[out.length], tb = new int[out.length];
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
        if (r == 0) { body.run(0, 0, 0, 0, 0, 1); return; }
        // Dimension k of the coalesced walk is size[k], counted from the innermost (k = 0).
        final int rank = r;
        final int inner = size[0], aStep = ta[0], bStep = tb[0];
        Parallel.forRange((int) total, GRAIN, (start, end) -> {
            int[] coord = new int[rank];
            int rem = start / inner, aOff = 0, bOff = 0;
            for (int k = 1; k < rank; k++) {
                coord[k] = rem % size[k];
                rem /= size[k];
                aOff += coord[k] * ta[k];
                bOff += coord[k] * tb[k];
            }
            int pos = start, in = start % inner;
            while (pos < end) {
                int len = Math.min(inner - in, end - pos);
                body.run(aOff + in * aStep, aStep, bOff + in * bStep, bStep, pos, len);
                pos += len;
                in += len;
                if (in == inner && pos < end) {
                    in = 0;
                    for (int k = 1; k < rank; k++) {
                        aOff += ta[k];
                        bOff += tb[k];
                        if (++coord[k] < size[k]) break;
                        aOff -= coord[k] * ta[k];
                        bOff -= coord[k] * tb[k];
                        coord[k] = 0;
                    }
                }
            }
        });
    }
}
