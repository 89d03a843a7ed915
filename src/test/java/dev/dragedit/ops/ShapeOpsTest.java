package dev.dragedit.ops;

import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.dragedit.ops.ElementwiseTest.unravel;
import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** concat, slice, permute and pad (with the backwards of slice and pad) against index-by-index references. */
class ShapeOpsTest {
    private final Ops ops = ops();

    static int ravel(int[] idx, int[] shape) {
        int flat = 0;
        for (int d = 0; d < shape.length; d++) flat = flat * shape[d] + idx[d];
        return flat;
    }

    // ------------------------------------------------------------------ concat

    static double[] refConcat(double[][] xs, int[][] shapes, int dim, int[] outShape) {
        double[] out = new double[(int) Tensor.numel(outShape)];
        for (int i = 0; i < out.length; i++) {
            int[] idx = unravel(i, outShape);
            int k = 0;
            while (idx[dim] >= shapes[k][dim]) { idx[dim] -= shapes[k][dim]; k++; }
            out[i] = xs[k][ravel(idx, shapes[k])];
        }
        return out;
    }

    @Test
    void concatMatchesReferenceAlongAnyDim() {
        Random r = new Random(1);
        Object[][] cases = {
                {new int[][]{{2, 3, 4}, {2, 5, 4}, {2, 1, 4}}, 1, new int[]{2, 9, 4}},
                {new int[][]{{3, 2}, {3, 7}}, -1, new int[]{3, 9}},
                {new int[][]{{1, 5, 3}, {4, 5, 3}}, 0, new int[]{5, 5, 3}},
                {new int[][]{{2, 300, 70}, {2, 300, 50}}, 2, new int[]{2, 300, 120}},
                {new int[][]{{4, 0}, {4, 3}}, 1, new int[]{4, 3}},
                {new int[][]{{6}}, 0, new int[]{6}},
        };
        for (Object[] c : cases) {
            int[][] shapes = (int[][]) c[0];
            int dim = (int) c[1];
            int[] outShape = (int[]) c[2];
            Tensor[] xs = new Tensor[shapes.length];
            for (int i = 0; i < xs.length; i++) xs[i] = randn(r, shapes[i]);
            double[][] in = inputs(xs);
            int d = dim < 0 ? dim + outShape.length : dim;
            bothSimdPaths(() -> assertClose("concat " + Arrays.deepToString(shapes) + " dim " + dim,
                    refConcat(in, shapes, d, outShape), outShape, ops.concat(xs, dim), 0, 0));
        }
    }

    @Test
    void concatRejectsMismatchedShapes() {
        Random r = new Random(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ops.concat(new Tensor[]{randn(r, 2, 3), randn(r, 3, 3)}, 1));
        assertTrue(e.getMessage().contains("concat") && e.getMessage().contains("xs[1]") && e.getMessage().contains("[3, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ops.concat(new Tensor[]{randn(r, 2, 3), randn(r, 2, 3, 1)}, 0));
        assertThrows(IllegalArgumentException.class, () -> ops.concat(new Tensor[0], 0));
        e = assertThrows(IllegalArgumentException.class, () -> ops.concat(new Tensor[]{randn(r, 2, 3)}, 2));
        assertTrue(e.getMessage().contains("dim 2"), e.getMessage());
    }

    // ------------------------------------------------------------------ slice

    /** x[..., start:end, ...] with Python's bounds (negative from the end, clamped). */
    static double[] refSlice(double[] x, int[] shape, int dim, int start, int end, int[] outShape) {
        int size = shape[dim];
        int s = Math.max(0, Math.min(start < 0 ? start + size : start, size));
        double[] out = new double[(int) Tensor.numel(outShape)];
        for (int i = 0; i < out.length; i++) {
            int[] idx = unravel(i, outShape);
            idx[dim] += s;
            out[i] = x[ravel(idx, shape)];
        }
        return out;
    }

    private static final int[][] SLICE_CASES = {  // dim, start, end, resulting size along dim (x is [4, 7, 9])
            {1, 2, 5, 3}, {-1, -4, 9, 4}, {2, -4, 100, 4}, {0, 3, 1, 0}, {0, 0, 4, 4}, {2, 0, 1, 1}, {1, -100, 2, 2}};

    @Test
    void sliceMatchesReferenceWithPythonBounds() {
        Random r = new Random(3);
        int[] shape = {4, 7, 9};
        Tensor x = randn(r, shape);
        double[] xd = f64(x);
        for (int[] c : SLICE_CASES) {
            int d = c[0] < 0 ? c[0] + 3 : c[0];
            int[] outShape = shape.clone();
            outShape[d] = c[3];
            bothSimdPaths(() -> assertClose("slice " + Arrays.toString(c), refSlice(xd, shape, d, c[1], c[2], outShape), outShape,
                    ops.slice(x, c[0], c[1], c[2]), 0, 0));
        }
        Tensor big = randn(r, 3, 500, 61);
        int[] bigOut = {3, 400, 61};
        bothSimdPaths(() -> assertClose("slice large", refSlice(f64(big), big.shape(), 1, 50, 450, bigOut), bigOut,
                ops.slice(big, 1, 50, 450), 0, 0));
    }

    @Test
    void sliceBackwardMatchesFiniteDifferences() {
        Random r = new Random(4);
        int[] shape = {3, 5, 4};
        Tensor x = randn(r, shape);
        double[][] in = inputs(x);
        for (int[] c : new int[][]{{1, 1, 4, 3}, {-1, -3, 4, 3}, {0, 2, 3, 1}, {2, 0, 1, 1}}) {
            int d = c[0] < 0 ? c[0] + 3 : c[0];
            int[] outShape = shape.clone();
            outShape[d] = c[3];
            double[] gy = randomGy(r, (int) Tensor.numel(outShape));
            bothSimdPaths(() -> checkGrad("sliceBackward " + Arrays.toString(c), v -> refSlice(v[0], shape, d, c[1], c[2], outShape),
                    in, 0, gy, ops.sliceBackward(toTensor(gy, outShape), shape, c[0], c[1], c[2])));
        }
    }

    @Test
    void sliceRejectsBadDimAndSliceBackwardRejectsWrongGradientShape() {
        Random r = new Random(5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.slice(randn(r, 2, 3), 2, 0, 1));
        assertTrue(e.getMessage().contains("slice") && e.getMessage().contains("rank 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.sliceBackward(randn(r, 2, 2), new int[]{2, 5}, 1, 0, 3));
        assertTrue(e.getMessage().contains("[2, 2]") && e.getMessage().contains("[2, 3]"), e.getMessage());
    }

    // ------------------------------------------------------------------ permute

    /** out[i0, …] = x[…] with out dimension k being input dimension perm[k]. */
    static double[] refPermute(double[] x, int[] shape, int[] perm) {
        int[] outShape = new int[shape.length];
        for (int k = 0; k < perm.length; k++) outShape[k] = shape[perm[k]];
        double[] out = new double[x.length];
        for (int i = 0; i < out.length; i++) {
            int[] o = unravel(i, outShape), idx = new int[shape.length];
            for (int k = 0; k < perm.length; k++) idx[perm[k]] = o[k];
            out[i] = x[ravel(idx, shape)];
        }
        return out;
    }

    @Test
    void permuteMatchesReferenceForRunsAndTransposes() {
        Random r = new Random(6);
        int[][] shapes = {{2, 3, 4, 5}, {2, 67, 45, 33}, {1, 5, 1, 7}, {3, 64, 64, 2}};
        int[][] perms = {{0, 1, 2, 3}, {3, 2, 1, 0}, {0, 2, 3, 1}, {0, 2, 1, 3}, {1, 0, 3, 2}, {0, 3, 1, 2}, {2, 3, 0, 1}};
        for (int[] shape : shapes) {
            Tensor x = randn(r, shape);
            double[] xd = f64(x);
            for (int[] perm : perms) {
                int[] outShape = new int[4];
                for (int k = 0; k < 4; k++) outShape[k] = shape[perm[k]];
                bothSimdPaths(() -> assertClose("permute " + Arrays.toString(shape) + " by " + Arrays.toString(perm),
                        refPermute(xd, shape, perm), outShape, ops.permute(x, perm), 0, 0));
            }
        }
        Tensor x = randn(r, 3, 4, 5);
        bothSimdPaths(() -> assertClose("permute with negative entries", refPermute(f64(x), x.shape(), new int[]{2, 0, 1}),
                new int[]{5, 3, 4}, ops.permute(x, new int[]{-1, 0, 1}), 0, 0));
    }

    @Test
    void permuteRejectsNonPermutations() {
        Random r = new Random(7);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.permute(randn(r, 2, 3, 4), new int[]{0, 0, 1}));
        assertTrue(e.getMessage().contains("permute") && e.getMessage().contains("twice"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.permute(randn(r, 2, 3, 4), new int[]{1, 0}));
        assertTrue(e.getMessage().contains("expected 3"), e.getMessage());
    }

    // ------------------------------------------------------------------ pad

    /** torch.nn.functional.pad(mode='constant'): out index j reads x[j − before] where that exists, else value. */
    static int[] paddedShape(int[] shape, int[] pads) {
        int[] out = shape.clone();
        for (int i = 0; i < pads.length / 2; i++) out[shape.length - 1 - i] += pads[2 * i] + pads[2 * i + 1];
        return out;
    }

    static double[] refPad(double[] x, int[] shape, int[] pads, double value) {
        int[] outShape = paddedShape(shape, pads);
        double[] out = new double[(int) Tensor.numel(outShape)];
        for (int i = 0; i < out.length; i++) {
            int[] idx = unravel(i, outShape);
            boolean inside = true;
            for (int p = 0; p < pads.length / 2; p++) {
                int d = shape.length - 1 - p;
                idx[d] -= pads[2 * p];
                inside &= idx[d] >= 0 && idx[d] < shape[d];
            }
            out[i] = inside ? x[ravel(idx, shape)] : value;
        }
        return out;
    }

    private static final int[][] PADS = {{1, 2}, {1, 2, 0, 3}, {-1, 2, 3, -2}, {2, 2, 1, 1, 1, 0}, {-1, -1, -1, -1}, {0, 0}, {}};

    @Test
    void padMatchesReferenceIncludingNegativeCrops() {
        Random r = new Random(8);
        int[] shape = {2, 3, 5, 6};
        Tensor x = randn(r, shape);
        double[] xd = f64(x);
        for (int[] pads : PADS) {
            for (float value : new float[]{0f, 0.5f}) {
                bothSimdPaths(() -> assertClose("pad " + Arrays.toString(pads) + " value " + value, refPad(xd, shape, pads, value),
                        paddedShape(shape, pads), ops.pad(x, pads, value), 0, 0));
            }
        }
        Tensor v = randn(r, 7);
        bothSimdPaths(() -> assertClose("pad rank 1", refPad(f64(v), new int[]{7}, new int[]{3, -2}, -1), new int[]{8},
                ops.pad(v, new int[]{3, -2}, -1f), 0, 0));
        Tensor big = randn(r, 2, 64, 130, 33);
        int[] bigPads = {1, 1, 1, 1};
        bothSimdPaths(() -> assertClose("pad large", refPad(f64(big), big.shape(), bigPads, 0), paddedShape(big.shape(), bigPads),
                ops.pad(big, bigPads, 0f), 0, 0));
    }

    @Test
    void padBackwardMatchesFiniteDifferences() {
        Random r = new Random(9);
        int[] shape = {2, 3, 4};
        Tensor x = randn(r, shape);
        double[][] in = inputs(x);
        for (int[] pads : new int[][]{{1, 2}, {-1, 2, 1, -1}, {1, 0, 0, 1, 2, 1}, {-2, -1}}) {
            int[] outShape = paddedShape(shape, pads);
            double[] gy = randomGy(r, (int) Tensor.numel(outShape));
            bothSimdPaths(() -> checkGrad("padBackward " + Arrays.toString(pads), v -> refPad(v[0], shape, pads, 0.25), in, 0, gy,
                    ops.padBackward(toTensor(gy, outShape), pads)));
        }
    }

    @Test
    void padRejectsBadPadLists() {
        Random r = new Random(10);
        Tensor x = randn(r, 2, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.pad(x, new int[]{1, 2, 3}, 0f));
        assertTrue(e.getMessage().contains("pad") && e.getMessage().contains("even"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ops.pad(x, new int[]{1, 1, 1, 1, 1, 1}, 0f));
        e = assertThrows(IllegalArgumentException.class, () -> ops.pad(x, new int[]{-2, -2}, 0f));
        assertTrue(e.getMessage().contains("size -1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ops.padBackward(x, new int[]{2, 2}));
    }
}
