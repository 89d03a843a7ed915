package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.OpTestSupport.F32_ATOL;
import static dev.dragedit.ops.OpTestSupport.F32_RTOL;
import static dev.dragedit.ops.OpTestSupport.assertClose;
import static dev.dragedit.ops.OpTestSupport.bothSimdPaths;
import static dev.dragedit.ops.OpTestSupport.checkGrad;
import static dev.dragedit.ops.OpTestSupport.f64;
import static dev.dragedit.ops.OpTestSupport.inputs;
import static dev.dragedit.ops.OpTestSupport.ops;
import static dev.dragedit.ops.OpTestSupport.randn;
import static dev.dragedit.ops.OpTestSupport.randomGy;
import static dev.dragedit.ops.OpTestSupport.toTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * matmul (batched, broadcast, transposed operands), linear and linearBackward against float64 references, with
 * SIMD on and off. The matmul gradients are the identities autograd builds from matmul itself
 * (d op(A) = gy·op(B)ᵀ, d op(B) = op(A)ᵀ·gy, summed over broadcast batches), checked by finite differences.
 */
class MatmulTest {

    // ------------------------------------------------------------------ float64 references

    /**
     * torch.matmul on op(a) [..., M, K] and op(b) [..., K, N]: batch dimensions aligned from the right, a size-1
     * (or missing) dimension repeating its operand.
     */
    static double[] refMatmul(double[] a, int[] as, double[] b, int[] bs, boolean ta, boolean tb) {
        int[] out = matmulShape(as, bs, ta, tb);
        int rank = out.length - 2, m = out[rank], n = out[rank + 1];
        int k = ta ? as[as.length - 2] : as[as.length - 1];
        int batches = (int) Tensor.numel(Arrays.copyOf(out, rank));
        double[] y = new double[batches * m * n];
        int[] idx = new int[rank];
        for (int bi = 0; bi < batches; bi++) {
            int rem = bi;
            for (int d = rank - 1; d >= 0; d--) { idx[d] = rem % out[d]; rem /= out[d]; }
            int ab = batchIndex(as, idx), bb = batchIndex(bs, idx);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double av = ta ? a[ab * m * k + p * m + i] : a[ab * m * k + i * k + p];
                        double bv = tb ? b[bb * k * n + j * k + p] : b[bb * k * n + p * n + j];
                        s += av * bv;
                    }
                    y[(bi * m + i) * n + j] = s;
                }
        }
        return y;
    }

    static int[] matmulShape(int[] as, int[] bs, boolean ta, boolean tb) {
        int rank = Math.max(as.length, bs.length) - 2;
        int[] out = new int[rank + 2];
        for (int d = 0; d < rank; d++) {
            int da = d - (rank - (as.length - 2)) < 0 ? 1 : as[d - (rank - (as.length - 2))];
            int db = d - (rank - (bs.length - 2)) < 0 ? 1 : bs[d - (rank - (bs.length - 2))];
            out[d] = Math.max(da, db);
        }
        out[rank] = ta ? as[as.length - 1] : as[as.length - 2];
        out[rank + 1] = tb ? bs[bs.length - 2] : bs[bs.length - 1];
        return out;
    }

    /** Flat matrix index in an operand of the output batch index idx (broadcast dims read index 0). */
    private static int batchIndex(int[] shape, int[] idx) {
        int own = shape.length - 2, lead = idx.length - own, flat = 0;
        for (int d = 0; d < own; d++) flat = flat * shape[d] + (shape[d] == 1 ? 0 : idx[lead + d]);
        return flat;
    }

    /** torch.nn.functional.linear: y[r, o] = Σ_i x[r, i]·w[o, i] + bias[o]. */
    static double[] refLinear(double[] x, double[] w, double[] bias, int rows, int in, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += x[r * in + i] * w[o * in + i];
                y[r * out + o] = s;
            }
        return y;
    }

    // ------------------------------------------------------------------ matmul forward

    private static void checkMatmul(Random r, int[] as, int[] bs, boolean ta, boolean tb) {
        Tensor a = randn(r, as), b = randn(r, bs);
        double[] want = refMatmul(f64(a), as, f64(b), bs, ta, tb);
        int[] shape = matmulShape(as, bs, ta, tb);
        bothSimdPaths(() -> assertClose("matmul " + Arrays.toString(as) + (ta ? "ᵀ" : "") + " · " + Arrays.toString(bs)
                        + (tb ? "ᵀ" : ""), want, shape, ops().matmul(a, b, ta, tb),
                F32_ATOL, F32_RTOL));
    }

    @Test
    void matmulMatchesReferenceForAllTransposesOnOddSizes() {
        Random r = new Random(1);
        for (boolean ta : new boolean[]{false, true})
            for (boolean tb : new boolean[]{false, true}) {
                checkMatmul(r, ta ? new int[]{5, 3} : new int[]{3, 5}, tb ? new int[]{7, 5} : new int[]{5, 7}, ta, tb);
                checkMatmul(r, ta ? new int[]{1, 1} : new int[]{1, 1}, new int[]{1, 1}, ta, tb);
                checkMatmul(r, ta ? new int[]{33, 17} : new int[]{17, 33}, tb ? new int[]{65, 33} : new int[]{33, 65}, ta, tb);
                checkMatmul(r, ta ? new int[]{40, 70} : new int[]{70, 40}, tb ? new int[]{50, 40} : new int[]{40, 50}, ta, tb);
            }
    }

    @Test
    void matmulBroadcastsBatchDimensions() {
        Random r = new Random(2);
        for (boolean ta : new boolean[]{false, true})
            for (boolean tb : new boolean[]{false, true}) {
                int[] a2 = ta ? new int[]{5, 3} : new int[]{3, 5}, b2 = tb ? new int[]{7, 5} : new int[]{5, 7};
                checkMatmul(r, prepend(new int[]{2, 1}, a2), prepend(new int[]{4}, b2), ta, tb);    // → [2, 4, 3, 7]
                checkMatmul(r, a2, prepend(new int[]{3, 2}, b2), ta, tb);                          // shared a
                checkMatmul(r, prepend(new int[]{4, 3}, a2), b2, ta, tb);                          // shared b
                checkMatmul(r, prepend(new int[]{1, 3}, a2), prepend(new int[]{2, 1}, b2), ta, tb); // → [2, 3, 3, 7]
                checkMatmul(r, prepend(new int[]{3}, a2), prepend(new int[]{3}, b2), ta, tb);
                checkMatmul(r, prepend(new int[]{6}, ta ? new int[]{40, 30} : new int[]{30, 40}),
                        tb ? new int[]{50, 40} : new int[]{40, 50}, ta, tb);                          // folded rows
            }
    }

    @Test
    void matmulWithEmptyDimensionsGivesEmptyOrZeroOutput() {
        Tensor y = ops().matmul(Tensor.zeros(0, 3, 4), Tensor.zeros(4, 5), false, false);
        assertArrayEquals(new int[]{0, 3, 5}, y.shape());
        Tensor z = ops().matmul(Tensor.full(1f, 2, 3, 0), Tensor.full(1f, 0, 5), false, false);
        assertArrayEquals(new int[]{2, 3, 5}, z.shape());
        for (float v : z.data()) assertTrue(v == 0f, "K = 0 gives zeros");
    }

    private static int[] prepend(int[] batch, int[] mat) {
        int[] s = Arrays.copyOf(batch, batch.length + mat.length);
        System.arraycopy(mat, 0, s, batch.length, mat.length);
        return s;
    }

    // ------------------------------------------------------------------ matmul backward identities

    /** The gradients of L = Σ gy·matmul(a, b), built as autograd does, with broadcast batches summed in the test. */
    private static void checkMatmulGrad(Random r, int[] as, int[] bs, boolean ta, boolean tb) {
        Tensor a = randn(r, as), b = randn(r, bs);
        int[] ys = matmulShape(as, bs, ta, tb);
        double[] gyd = randomGy(r, (int) Tensor.numel(ys));
        Tensor gy = toTensor(gyd, ys);
        Function<double[][], double[]> ref = in -> refMatmul(in[0], as, in[1], bs, ta, tb);
        bothSimdPaths(() -> {
            Tensor ga = ta ? ops().matmul(b, gy, tb, true) : ops().matmul(gy, b, false, !tb);
            Tensor gb = tb ? ops().matmul(gy, a, true, ta) : ops().matmul(a, gy, !ta, false);
            String what = "matmul grad " + Arrays.toString(as) + (ta ? "ᵀ" : "") + " · " + Arrays.toString(bs) + (tb ? "ᵀ" : "");
            checkGrad(what + " da", ref, inputs(a, b), 0, gyd, sumToTest(ga, as));
            checkGrad(what + " db", ref, inputs(a, b), 1, gyd, sumToTest(gb, bs));
        });
    }

    /** Sums a gradient with broadcast batch dimensions down to an operand's shape (what sumTo does for autograd). */
    private static Tensor sumToTest(Tensor g, int[] shape) {
        int[] gs = g.shape();
        if (Arrays.equals(gs, shape)) return g;
        int rank = gs.length - 2, mat = gs[rank] * gs[rank + 1];
        float[] out = new float[(int) Tensor.numel(shape)];
        int batches = (int) Tensor.numel(Arrays.copyOf(gs, rank));
        int[] idx = new int[rank];
        for (int bi = 0; bi < batches; bi++) {
            int rem = bi;
            for (int d = rank - 1; d >= 0; d--) { idx[d] = rem % gs[d]; rem /= gs[d]; }
            int target = batchIndex(shape, idx);
            for (int e = 0; e < mat; e++) out[target * mat + e] += g.data()[bi * mat + e];
        }
        return Tensor.of(out, shape);
    }

    @Test
    void matmulGradientIdentitiesMatchFiniteDifferences() {
        Random r = new Random(3);
        for (boolean ta : new boolean[]{false, true})
            for (boolean tb : new boolean[]{false, true}) {
                int[] a2 = ta ? new int[]{4, 3} : new int[]{3, 4}, b2 = tb ? new int[]{5, 4} : new int[]{4, 5};
                checkMatmulGrad(r, a2, b2, ta, tb);
                checkMatmulGrad(r, prepend(new int[]{2}, a2), prepend(new int[]{2}, b2), ta, tb);
                checkMatmulGrad(r, prepend(new int[]{2, 1}, a2), prepend(new int[]{3}, b2), ta, tb);
                checkMatmulGrad(r, a2, prepend(new int[]{3}, b2), ta, tb);
            }
    }

    // ------------------------------------------------------------------ linear

    private static void checkLinear(Random r, int[] xs, int out, boolean withBias) {
        int in = xs[xs.length - 1];
        Tensor x = randn(r, xs), w = randn(r, out, in), bias = withBias ? randn(r, out) : null;
        int rows = (int) (Tensor.numel(xs) / Math.max(1, in));
        int[] ys = xs.clone();
        ys[ys.length - 1] = out;
        double[] want = refLinear(f64(x), f64(w), withBias ? f64(bias) : null, rows, in, out);
        bothSimdPaths(() -> assertClose("linear x" + Arrays.toString(xs) + " out=" + out + " bias=" + withBias,
                want, ys, ops().linear(x, w, bias), F32_ATOL, F32_RTOL));
    }

    @Test
    void linearMatchesReferenceWithAndWithoutBias() {
        Random r = new Random(4);
        for (boolean bias : new boolean[]{true, false}) {
            checkLinear(r, new int[]{3, 5, 7}, 4, bias);
            checkLinear(r, new int[]{7}, 9, bias);
            checkLinear(r, new int[]{1, 1}, 1, bias);
            checkLinear(r, new int[]{2, 37, 70}, 51, bias);
            checkLinear(r, new int[]{1, 300}, 200, bias);
        }
    }

    @Test
    void linearBackwardMatchesFiniteDifferences() {
        Random r = new Random(5);
        int[][] xShapes = {{2, 3, 5}, {4}, {1, 6}};
        for (int[] xs : xShapes) {
            int in = xs[xs.length - 1], out = 3, rows = (int) (Tensor.numel(xs) / in);
            Tensor x = randn(r, xs), w = randn(r, out, in), bias = randn(r, out);
            int[] ys = xs.clone();
            ys[ys.length - 1] = out;
            double[] gyd = randomGy(r, rows * out);
            Tensor gy = toTensor(gyd, ys);
            Function<double[][], double[]> ref = v -> refLinear(v[0], v[1], v[2], rows, in, out);
            bothSimdPaths(() -> {
                Tensor[] g = ops().linearBackward(gy, x, w, true, true, true);
                String what = "linearBackward x" + Arrays.toString(xs);
                assertArrayEquals(xs, g[0].shape(), what + " dx shape");
                checkGrad(what + " dx", ref, inputs(x, w, bias), 0, gyd, g[0]);
                checkGrad(what + " dw", ref, inputs(x, w, bias), 1, gyd, g[1]);
                checkGrad(what + " dbias", ref, inputs(x, w, bias), 2, gyd, g[2]);
            });
        }
    }

    @Test
    void linearBackwardOnLargeInputsMatchesReference() {
        // Big enough for the packed multithreaded GEMM on every gradient; the references are the plain sums.
        Random r = new Random(6);
        int rows = 130, in = 70, out = 90;
        Tensor x = randn(r, 2, 65, in), w = randn(r, out, in), gy = randn(r, 2, 65, out);
        double[] xd = f64(x), wd = f64(w), g = f64(gy);
        double[] dx = new double[rows * in], dw = new double[out * in], db = new double[out];
        for (int q = 0; q < rows; q++)
            for (int o = 0; o < out; o++) {
                db[o] += g[q * out + o];
                for (int i = 0; i < in; i++) {
                    dx[q * in + i] += g[q * out + o] * wd[o * in + i];
                    dw[o * in + i] += g[q * out + o] * xd[q * in + i];
                }
            }
        bothSimdPaths(() -> {
            Tensor[] d = ops().linearBackward(gy, x, w, true, true, true);
            assertClose("dx", dx, new int[]{2, 65, in}, d[0], F32_ATOL, F32_RTOL);
            assertClose("dw", dw, new int[]{out, in}, d[1], F32_ATOL, F32_RTOL);
            assertClose("db", db, new int[]{out}, d[2], F32_ATOL, F32_RTOL);
        });
    }

    @Test
    void linearBackwardSkipsGradientsThatAreNotNeeded() {
        Random r = new Random(7);
        Tensor x = randn(r, 2, 4), w = randn(r, 3, 4), gy = randn(r, 2, 3);
        Tensor[] g = ops().linearBackward(gy, x, w, false, true, false);
        assertNull(g[0]);
        assertNull(g[2]);
        assertArrayEquals(new int[]{3, 4}, g[1].shape());
        Tensor[] onlyX = ops().linearBackward(gy, null, w, true, false, false);
        assertArrayEquals(new int[]{2, 4}, onlyX[0].shape());
        assertNull(onlyX[1]);
    }

    // ------------------------------------------------------------------ validation

    @Test
    void badShapesAndDtypesAreRejectedWithUsefulMessages() {
        Random r = new Random(8);
        expectMessage(() -> ops().matmul(randn(r, 3, 4), randn(r, 5, 6), false, false), "K = 4", "[5, 6]");
        expectMessage(() -> ops().matmul(randn(r, 2, 3, 4), randn(r, 3, 4, 6), false, false), "do not broadcast", "2 vs 3");
        expectMessage(() -> ops().matmul(randn(r, 4), randn(r, 4, 6), false, false), "a has shape [4]", "at least 2");
        expectMessage(() -> ops().matmul(randn(r, 3, 4), Tensor.zeros(DType.F64, 4, 6), false, false), "b is F64", "expected F32");
        expectMessage(() -> ops().linear(randn(r, 2, 5), randn(r, 3, 4), null), "x has shape [2, 5]", "in=4");
        expectMessage(() -> ops().linear(randn(r, 2, 4), randn(r, 3, 4, 1), null), "w has shape [3, 4, 1]", "[out, in]");
        expectMessage(() -> ops().linear(randn(r, 2, 4), randn(r, 3, 4), randn(r, 4)), "bias has shape [4]", "out=3");
        expectMessage(() -> ops().linearBackward(randn(r, 2, 5), randn(r, 2, 4), randn(r, 3, 4), true, true, true),
                "gy has shape [2, 5]", "out=3");
        expectMessage(() -> ops().linearBackward(randn(r, 2, 3), randn(r, 2, 5), randn(r, 3, 4), true, true, true),
                "x has shape [2, 5]", "[2, 4]");
    }

    private static void expectMessage(Runnable body, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, body::run);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' should mention '" + p + "'");
    }
}
