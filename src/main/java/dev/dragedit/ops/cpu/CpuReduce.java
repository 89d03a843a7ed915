// Reductions (sum, mean over any set of dimensions) and the two mean losses (L1, MSE) with their gradients.
//
// sum/mean (and CpuElementwise.sumTo) go through reduceSum, which first coalesces the input into alternating runs of
// reduced and kept dimensions (size-1 dimensions dropped, neighbours of the same kind merged, which is exact for a
// contiguous tensor). Two shapes of loop then cover every case:
//   - innermost run reduced ([..., K, R]): each output is a sum of contiguous stretches — SIMD sums; when there are
//     too few outputs to feed every thread (a full reduction), each output's stretch is split into pieces whose
//     partial sums are added afterwards;
//   - innermost run kept ([..., R, K], e.g. a bias gradient summed over tokens): each output row accumulates whole
//     input rows — SIMD adds — split into column blocks for the threads.
// Sums are carried in float for at most a block of elements and then added in double, so long reductions keep
// float64-like accuracy while the inner loops stay in float lanes.
package dev.dragedit.ops.cpu;

import dev.dragedit.ops.shape.ReduceShapes;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

import static dev.dragedit.ops.cpu.ElementwiseChecks.f32;
import static dev.dragedit.ops.cpu.ElementwiseChecks.str;

final class CpuReduce {
    private CpuReduce() {}

    private static final int GRAIN = Broadcast.GRAIN;
    /** Columns per block in the kept-innermost case, and input rows added in float before a flush to double. */
    private static final int COL_BLOCK = 512, FLUSH_ROWS = 64;

    public static Tensor sum(Tensor x, int[] dims, boolean keepDim) { return reduce("sum", x, dims, keepDim, false); }

    public static Tensor mean(Tensor x, int[] dims, boolean keepDim) { return reduce("mean", x, dims, keepDim, true); }

    private static Tensor reduce(String op, Tensor x, int[] dims, boolean keepDim, boolean mean) {
        float[] xd = f32(op, "x", x);
        int[] shape = x.shape();
        boolean[] reduced = ReduceShapes.reducedDims(op, shape, dims);
        long count = ReduceShapes.count(shape, reduced);
        int[] outShape = ReduceShapes.outShape(shape, reduced, keepDim);   // reduced dims become 1 (keepDim) or disappear
        double scale = mean ? 1.0 / count : 1.0;
        return Tensor.of(reduceSum(xd, shape, reduced, scale), outShape);
    }

    /**
     * scale·Σ of x (contiguous, of the given shape) over the dimensions flagged in {@code reduced}; the result lists the
     * kept dimensions in row-major order.
     */
    static float[] reduceSum(float[] x, int[] shape, boolean[] reduced, double scale) {
        int outCount = 1;
        for (int i = 0; i < shape.length; i++) if (!reduced[i]) outCount *= shape[i];
        float[] out = new float[outCount];
        if (x.length == 0) {
            Arrays.fill(out, (float) (0 * scale));          // an empty sum: 0, an empty mean: NaN, as in PyTorch
            return out;
        }
        // Coalesced runs from the innermost outwards: size[k], red[k], stride[k] (input strides).
        ReduceShapes.Runs runs = ReduceShapes.coalesce(shape, reduced);
        int[] size = runs.size();
        boolean[] red = runs.red();
        int r = runs.runs();
        int[] stride = new int[r];
        for (int k = 0, acc = 1; k < r; k++) { stride[k] = acc; acc *= size[k]; }
        boolean anyReduced = false;
        for (int k = 0; k < r; k++) anyReduced |= red[k];
        if (!anyReduced) {
            for (int i = 0; i < out.length; i++) out[i] = (float) (x[i] * scale);
            return out;
        }
        if (red[0]) reduceInnermost(x, size, red, stride, r, scale, out);
        else reduceOuter(x, size, red, stride, r, scale, out);
        return out;
    }

    /** Offsets of every combination of the coalesced dimensions k ≥ from with red[k] == which, row-major. */
    private static int[] offsets(int[] size, boolean[] red, int[] stride, int r, int from, boolean which) {
        int n = 1;
        for (int k = from; k < r; k++) if (red[k] == which) n *= size[k];
        int[] off = new int[n];
        for (int idx = 0; idx < n; idx++) {
            int rem = idx, o = 0;
            for (int k = from; k < r; k++) {
                if (red[k] != which) continue;
                o += (rem % size[k]) * stride[k];
                rem /= size[k];
            }
            off[idx] = o;
        }
        return off;
    }

    /** Input offset of output o: o enumerates the kept dimensions k ≥ 1, innermost fastest. */
    private static int keptOffset(int o, int[] size, boolean[] red, int[] stride, int r) {
        int off = 0;
        for (int k = 1; k < r; k++) {
            if (red[k]) continue;
            off += (o % size[k]) * stride[k];
            o /= size[k];
        }
        return off;
    }

    private static double runSum(float[] x, int off, int len) {
        if (Simd.enabled()) return ElementwiseVec.sum(x, off, len);
        double s = 0;
        for (int i = 0; i < len; i++) s += x[off + i];
        return s;
    }

    private static void reduceInnermost(float[] x, int[] size, boolean[] red, int[] stride, int r, double scale, float[] out) {
        int len = size[0];
        int[] redOff = offsets(size, red, stride, r, 1, true);
        long perOut = (long) redOff.length * len;
        int outCount = out.length;
        // Split each output's work into pieces only when the outputs alone cannot keep every thread busy.
        int pieces = outCount >= 4 * Parallel.THREADS ? 1
                : (int) Math.max(1, Math.min(perOut / GRAIN, 4L * Parallel.THREADS / outCount));
        double[] partial = new double[outCount * pieces];
        Parallel.forRange(outCount * pieces, (int) Math.max(1, GRAIN / Math.max(1, perOut / pieces)), (u0, u1) -> {
            for (int u = u0; u < u1; u++) {
                int o = u / pieces, p = u % pieces;
                int base = keptOffset(o, size, red, stride, r);
                long from = perOut * p / pieces, to = perOut * (p + 1) / pieces;
                int q = (int) (from / len), in = (int) (from % len);
                double s = 0;
                for (long pos = from; pos < to; ) {
                    int n = (int) Math.min(len - in, to - pos);
                    s += runSum(x, base + redOff[q] + in, n);
                    pos += n;
                    in = 0;
                    q++;
                }
                partial[u] = s;
            }
        });
        for (int o = 0; o < outCount; o++) {
            double s = 0;
            for (int p = 0; p < pieces; p++) s += partial[o * pieces + p];
            out[o] = (float) (s * scale);
        }
    }

    private static void reduceOuter(float[] x, int[] size, boolean[] red, int[] stride, int r, double scale, float[] out) {
        int cols = size[0];
        int[] redOff = offsets(size, red, stride, r, 0, true);
        int rows = out.length / cols;                      // combinations of the outer kept dimensions
        int blocks = (cols + COL_BLOCK - 1) / COL_BLOCK;
        long work = (long) redOff.length * Math.min(cols, COL_BLOCK);
        Parallel.forRange(rows * blocks, (int) Math.max(1, GRAIN / work), (u0, u1) -> {
            float[] tmp = new float[COL_BLOCK];
            double[] acc = new double[COL_BLOCK];
            for (int u = u0; u < u1; u++) {
                int row = u / blocks, c0 = (u % blocks) * COL_BLOCK, n = Math.min(COL_BLOCK, cols - c0);
                int base = keptOffset(row, size, red, stride, r) + c0;
                Arrays.fill(acc, 0, n, 0);
                if (Simd.enabled()) {
                    Arrays.fill(tmp, 0, n, 0f);
                    for (int q = 0; q < redOff.length; q++) {
                        ElementwiseVec.addInto(tmp, 0, x, base + redOff[q], n);
                        if ((q + 1) % FLUSH_ROWS == 0 || q == redOff.length - 1) {
                            for (int j = 0; j < n; j++) { acc[j] += tmp[j]; tmp[j] = 0f; }
                        }
                    }
                } else {
                    for (int q = 0; q < redOff.length; q++) {
                        int off = base + redOff[q];
                        for (int j = 0; j < n; j++) acc[j] += x[off + j];
                    }
                }
                int o = row * cols + c0;
                for (int j = 0; j < n; j++) out[o + j] = (float) (acc[j] * scale);
            }
        });
    }

    // ------------------------------------------------------------------ losses

    public static Tensor l1Loss(Tensor a, Tensor b) { return loss("l1Loss", a, b, false); }

    public static Tensor mseLoss(Tensor a, Tensor b) { return loss("mseLoss", a, b, true); }

    private static Tensor loss(String op, Tensor a, Tensor b, boolean squared) {
        float[] ad = f32(op, "a", a), bd = f32(op, "b", b);
        ElementwiseChecks.sameShape(op, "a", a, "b", b);
        int n = ad.length;
        int pieces = Math.max(1, Math.min(n / GRAIN, 4 * Parallel.THREADS));
        double[] partial = new double[pieces];
        Parallel.forRange(pieces, 1, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int from = (int) ((long) n * p / pieces), to = (int) ((long) n * (p + 1) / pieces);
                if (Simd.enabled()) {
                    partial[p] = ElementwiseVec.diffSum(ad, bd, from, to, squared);
                } else {
                    double s = 0;
                    for (int i = from; i < to; i++) { double d = ad[i] - bd[i]; s += squared ? d * d : Math.abs(d); }
                    partial[p] = s;
                }
            }
        });
        double s = 0;
        for (double v : partial) s += v;
        return Tensor.of(new float[]{(float) (s / n)}, new int[0]);   // [] — a mean of nothing is NaN, as in PyTorch
    }

    public static Tensor l1LossBackward(Tensor gy, Tensor a, Tensor b) { return lossBackward("l1LossBackward", gy, a, b, true); }

    public static Tensor mseLossBackward(Tensor gy, Tensor a, Tensor b) { return lossBackward("mseLossBackward", gy, a, b, false); }

    /** d/da of gy·mean(|a − b|) = gy·sign(a − b)/n, or of gy·mean((a − b)²) = 2·gy·(a − b)/n. */
    private static Tensor lossBackward(String op, Tensor gy, Tensor a, Tensor b, boolean l1) {
        float[] g = f32(op, "gy", gy), ad = f32(op, "a", a), bd = f32(op, "b", b);
        if (g.length != 1)
            throw new IllegalArgumentException(op + ": gy has shape " + str(gy.shape()) + ", expected one element (the loss is a scalar)");
        ElementwiseChecks.sameShape(op, "a", a, "b", b);
        float c = (float) ((l1 ? 1.0 : 2.0) * g[0] / ad.length);
        Tensor out = Tensor.zeros(a.shape());
        float[] o = out.data();
        Parallel.forRange(ad.length, GRAIN, (from, to) -> {
            if (Simd.enabled()) ElementwiseVec.diffGrad(ad, bd, c, l1, o, from, to);
            else for (int i = from; i < to; i++) { float d = ad[i] - bd[i]; o[i] = c * (l1 ? ElementwiseMath.sign(d) : d); }
        });
        return out;
    }
}
