package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.dragedit.ops.ElementwiseTest.unravel;
import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** sum and mean over dimension sets, and the L1 / MSE losses with their gradients, against float64 references. */
class ReduceTest {
    private final Ops ops = ops();

    /** Expected output shape of a reduction over dims (all when empty), as torch.sum documents it. */
    static int[] reducedShape(int[] shape, int[] dims, boolean keepDim) {
        boolean[] red = flags(shape.length, dims);
        int[] keep = new int[shape.length];
        int k = 0;
        for (int i = 0; i < shape.length; i++) {
            if (!red[i]) keep[k++] = shape[i];
            else if (keepDim) keep[k++] = 1;
        }
        return Arrays.copyOf(keep, k);
    }

    static boolean[] flags(int rank, int[] dims) {
        boolean[] red = new boolean[rank];
        if (dims.length == 0) Arrays.fill(red, true);
        for (int d : dims) red[d < 0 ? d + rank : d] = true;
        return red;
    }

    /** Σ (or mean) of x over dims: every element adds into the output element with its reduced indices removed. */
    static double[] refReduce(double[] x, int[] shape, int[] dims, boolean mean) {
        boolean[] red = flags(shape.length, dims);
        int[] outShape = reducedShape(shape, dims, true);
        double[] out = new double[(int) Tensor.numel(outShape)];
        long count = 1;
        for (int i = 0; i < shape.length; i++) if (red[i]) count *= shape[i];
        for (int i = 0; i < x.length; i++) {
            int[] idx = unravel(i, shape);
            int o = 0;
            for (int d = 0; d < shape.length; d++) o = o * outShape[d] + (red[d] ? 0 : idx[d]);
            out[o] += x[i];
        }
        if (mean) for (int i = 0; i < out.length; i++) out[i] /= count;
        return out;
    }

    private void checkReductions(Random r, int[] shape, int[][] dimSets) {
        Tensor x = randn(r, shape);
        double[] xd = f64(x);
        for (int[] dims : dimSets) {
            for (boolean keep : new boolean[]{false, true}) {
                String what = Arrays.toString(shape) + " dims " + Arrays.toString(dims) + " keepDim " + keep;
                int[] outShape = reducedShape(shape, dims, keep);
                bothSimdPaths(() -> {
                    assertClose("sum " + what, refReduce(xd, shape, dims, false), outShape, ops.sum(x, dims, keep), F32_ATOL, F32_RTOL);
                    assertClose("mean " + what, refReduce(xd, shape, dims, true), outShape, ops.mean(x, dims, keep), F32_ATOL, F32_RTOL);
                });
            }
        }
    }

    @Test
    void sumAndMeanMatchReferenceOverEveryKindOfDimensionSet() {
        checkReductions(new Random(1), new int[]{3, 5, 7, 9}, new int[][]{
                {}, {0}, {1}, {3}, {-1}, {0, 2}, {1, 3}, {-1, -3}, {0, 1, 2, 3}, {2, 1}, {0, 3}, {1, 2}});
        checkReductions(new Random(2), new int[]{1, 4, 1, 6}, new int[][]{{0}, {2}, {0, 2}, {1}, {}, {1, 3}});
    }

    @Test
    void largeReductionsSplitAcrossThreadsStayAccurate() {
        Random r = new Random(3);
        checkReductions(r, new int[]{1, 70001}, new int[][]{{}, {1}});
        checkReductions(r, new int[]{300, 257}, new int[][]{{0}, {1}});
        checkReductions(r, new int[]{6, 1100, 5}, new int[][]{{1}, {0, 2}});
        checkReductions(r, new int[]{2, 70001}, new int[][]{{1}});
        checkReductions(r, new int[]{3, 2, 40001}, new int[][]{{0, 2}});
        checkReductions(r, new int[]{3, 1300}, new int[][]{{0}});
        checkReductions(r, new int[]{70, 1100}, new int[][]{{0}});
    }

    @Test
    void fullReductionWithoutKeepDimGivesARankZeroTensor() {
        Tensor x = randn(new Random(4), 4, 5);
        double total = Arrays.stream(f64(x)).sum();
        bothSimdPaths(() -> {
            Tensor s = ops.sum(x, new int[0], false);
            assertArrayEquals(new int[0], s.shape());
            assertEquals(1, s.numel());
            assertEquals(total, s.item(), 1e-5);
            assertArrayEquals(new int[]{1, 1}, ops.mean(x, new int[0], true).shape());
            // A rank-0 tensor reduces to itself over dims {} or {0}, like torch.
            Tensor scalar = Tensor.of(new float[]{2.5f}, new int[0]);
            assertEquals(2.5f, ops.sum(scalar, new int[]{0}, false).item());
            assertArrayEquals(new int[0], ops.mean(scalar, new int[0], true).shape());
        });
    }

    @Test
    void emptyReductionsGiveZeroSumAndNaNMean() {
        Tensor x = Tensor.zeros(0, 3);
        bothSimdPaths(() -> {
            assertClose("sum of empty", new double[3], new int[]{3}, ops.sum(x, new int[]{0}, false), 0, 0);
            Tensor m = ops.mean(x, new int[]{0}, false);
            for (int i = 0; i < 3; i++) assertTrue(Float.isNaN(m.getFloat(i)), "mean of nothing is NaN");
            assertArrayEquals(new int[]{0}, ops.sum(x, new int[]{1}, false).shape());
        });
    }

    @Test
    void reductionsRejectBadDims() {
        Random r = new Random(5);
        Tensor x = randn(r, 2, 3, 4, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.sum(x, new int[]{4}, false));
        assertTrue(e.getMessage().contains("sum") && e.getMessage().contains("4") && e.getMessage().contains("rank 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.mean(x, new int[]{1, -3}, false));
        assertTrue(e.getMessage().contains("mean") && e.getMessage().contains("more than once"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.sum(x.to(DType.F64), new int[]{0}, false));
        assertTrue(e.getMessage().contains("F64"), e.getMessage());
    }

    // ------------------------------------------------------------------ losses

    static double[] refL1(double[][] v) {
        double s = 0;
        for (int i = 0; i < v[0].length; i++) s += Math.abs(v[0][i] - v[1][i]);
        return new double[]{s / v[0].length};
    }

    static double[] refMse(double[][] v) {
        double s = 0;
        for (int i = 0; i < v[0].length; i++) s += (v[0][i] - v[1][i]) * (v[0][i] - v[1][i]);
        return new double[]{s / v[0].length};
    }

    @Test
    void lossesMatchReferenceAsRankZeroTensors() {
        Random r = new Random(6);
        for (int[] shape : new int[][]{{3, 1031}, {70001}, {1}}) {
            Tensor a = randn(r, shape), b = randn(r, shape);
            double[][] in = inputs(a, b);
            bothSimdPaths(() -> {
                assertClose("l1Loss " + Arrays.toString(shape), refL1(in), new int[0], ops.l1Loss(a, b), F32_ATOL, F32_RTOL);
                assertClose("mseLoss " + Arrays.toString(shape), refMse(in), new int[0], ops.mseLoss(a, b), F32_ATOL, F32_RTOL);
            });
        }
    }

    @Test
    void lossBackwardsMatchFiniteDifferences() {
        Random r = new Random(7);
        for (int[] shape : new int[][]{{4, 5}, {3, 1031}}) {
            Tensor a = randn(r, shape), b = randn(r, shape);
            double[][] in = inputs(a, b);
            double[] gy = {0.7};
            Tensor gyT = Tensor.of(new float[]{0.7f}, new int[0]);
            if (a.numel() <= 100) {
                bothSimdPaths(() -> {
                    checkGrad("l1LossBackward", ReduceTest::refL1, in, 0, gy, ops.l1LossBackward(gyT, a, b));
                    checkGrad("mseLossBackward", ReduceTest::refMse, in, 0, gy, ops.mseLossBackward(gyT, a, b));
                });
            }
            // The closed forms on a size large enough for the SIMD and threaded paths.
            double[] l1 = new double[a.numel()], mse = new double[a.numel()];
            for (int i = 0; i < l1.length; i++) {
                double d = in[0][i] - in[1][i];
                l1[i] = 0.7 * Math.signum(d) / l1.length;
                mse[i] = 0.7 * 2 * d / l1.length;
            }
            bothSimdPaths(() -> {
                assertClose("l1LossBackward closed form", l1, shape, ops.l1LossBackward(gyT, a, b), F32_ATOL, F32_RTOL);
                assertClose("mseLossBackward closed form", mse, shape, ops.mseLossBackward(gyT, a, b), F32_ATOL, F32_RTOL);
            });
        }
        // Where a == b the L1 gradient is 0, as torch's sign(0).
        Tensor same = Tensor.full(1.5f, 9);
        bothSimdPaths(() -> assertClose("l1 gradient at a == b", new double[9], new int[]{9},
                ops.l1LossBackward(Tensor.scalar(1f), same, same), 0, 0));
    }

    @Test
    void lossesRejectMismatchedShapesAndNonScalarGradient() {
        Random r = new Random(8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.mseLoss(randn(r, 3, 4), randn(r, 4, 3)));
        assertTrue(e.getMessage().contains("mseLoss") && e.getMessage().contains("[4, 3]") && e.getMessage().contains("[3, 4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.l1LossBackward(randn(r, 2), randn(r, 3), randn(r, 3)));
        assertTrue(e.getMessage().contains("gy") && e.getMessage().contains("one element"), e.getMessage());
    }
}
