// NumPy/PyTorch broadcasting for the CPU ops: a walk over the result in contiguous runs. The shape rules, operand
// strides and dimension coalescing are shared with the CUDA backend in dev.dragedit.ops.shape.BroadcastPlan.
//
// The walk first coalesces dimensions: size-1 result dimensions are dropped, and neighbours merge whenever both
// operands step through them as through one dimension. A same-shape pair becomes a single run; a per-channel [C, 1, 1]
// operand against [N, C, H, W] becomes [N, C, H·W] with runs of H·W against one scalar; a trailing vector [D] against
// [..., D] becomes [rows, D]. Inside a run each operand's step is 1 or 0 (the innermost kept dimension of a contiguous
// tensor has stride 1), which is all a SIMD kernel needs. The result is split into flat element ranges for
// Parallel.forRange; a range may start and end inside a run, so no thread ever gets less than the grain of work.
package dev.dragedit.ops.cpu;

import dev.dragedit.ops.shape.BroadcastPlan;
import dev.dragedit.util.Parallel;

final class Broadcast {
    private Broadcast() {}

    /** Elements per parallel chunk: below this, threading costs more than it saves. */
    static final int GRAIN = 1 << 15;

    /** The broadcast shape of a and b, or an IllegalArgumentException naming op and both shapes. */
    static int[] shape(String op, int[] a, int[] b) { return BroadcastPlan.shape(op, a, b); }

    /** True when {@code src} broadcasts to {@code out} (right-aligned, each dimension equal or 1). */
    static boolean broadcastsTo(int[] src, int[] out) { return BroadcastPlan.broadcastsTo(src, out); }

    /** Strides of a contiguous tensor of shape {@code src} read at the indices of {@code out}; 0 where it broadcasts. */
    static int[] strides(int[] src, int[] out) { return BroadcastPlan.strides(src, out); }

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
        BroadcastPlan plan = BroadcastPlan.of(out, sa, sb, 0);
        int[] size = plan.size, ta = plan.sa, tb = plan.sb;
        int r = plan.kept;
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
