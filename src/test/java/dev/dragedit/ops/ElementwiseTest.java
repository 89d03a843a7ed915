package dev.dragedit.ops;

import dev.dragedit.ops.cpu.ElementwiseMath;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Broadcasting arithmetic, affine, expand/sumTo, clamp, the Unary functions and GEGLU against float64 references. */
class ElementwiseTest {
    private final Ops ops = ops();

    // ------------------------------------------------------------------ references

    /** Row-major multi-index of flat index i in shape. */
    static int[] unravel(int i, int[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) { idx[d] = i % shape[d]; i /= shape[d]; }
        return idx;
    }

    /** Flat index in src of the element that broadcasting maps to output index idx (right-aligned, size 1 repeats). */
    static int broadcastIndex(int[] idx, int[] src) {
        int flat = 0, lead = idx.length - src.length;
        for (int d = 0; d < src.length; d++) flat = flat * src[d] + (src[d] == 1 ? 0 : idx[lead + d]);
        return flat;
    }

    static double[] refBinary(double[] a, int[] as, double[] b, int[] bs, int[] out, DoubleBinaryOperator f) {
        double[] r = new double[(int) Tensor.numel(out)];
        for (int i = 0; i < r.length; i++) {
            int[] idx = unravel(i, out);
            r[i] = f.applyAsDouble(a[broadcastIndex(idx, as)], b[broadcastIndex(idx, bs)]);
        }
        return r;
    }

    static double[] refExpand(double[] x, int[] xs, int[] out) {
        double[] r = new double[(int) Tensor.numel(out)];
        for (int i = 0; i < r.length; i++) r[i] = x[broadcastIndex(unravel(i, out), xs)];
        return r;
    }

    /** erf from its Maclaurin series (|x| ≤ 3, where it is accurate to ~1e-14). */
    static double erfSeries(double x) {
        double sum = 0, term = x;   // term = (−1)ⁿ x^(2n+1) / n!
        for (int n = 0; n < 120; n++) {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    /** erfc(z) for z ≥ 3 from Laplace's continued fraction, evaluated bottom-up from a fixed depth. */
    static double erfcFraction(double z) {
        double k = 0;
        for (int n = 300; n >= 1; n--) k = (n / 2.0) / (z + k);
        return Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + k);
    }

    static double refPhi(double x) {
        double z = -x / Math.sqrt(2);   // Φ(x) = erfc(z)/2
        if (z >= 3) return 0.5 * erfcFraction(z);
        if (z <= -3) return 1 - 0.5 * erfcFraction(-z);
        return 0.5 * (1 - erfSeries(z));
    }

    static double refSigmoid(double x) { return 1 / (1 + Math.exp(-x)); }

    static DoubleUnaryOperator refUnary(Unary f) {
        return switch (f) {
            case NEG -> x -> -x;
            case ABS -> Math::abs;
            case SQUARE -> x -> x * x;
            case SQRT -> Math::sqrt;
            case RSQRT -> x -> 1 / Math.sqrt(x);
            case EXP -> Math::exp;
            case LOG -> Math::log;
            case SIGN -> Math::signum;
            case RELU -> x -> Math.max(x, 0);
            case SIGMOID -> ElementwiseTest::refSigmoid;
            case TANH -> Math::tanh;
            case SILU -> x -> x * refSigmoid(x);
            case GELU -> x -> x * refPhi(x);
            case QUICK_GELU -> x -> x * refSigmoid(1.702 * x);
        };
    }

    static boolean positiveDomain(Unary f) { return f == Unary.SQRT || f == Unary.RSQRT || f == Unary.LOG; }

    static double[] map(double[] x, DoubleUnaryOperator f) {
        double[] r = new double[x.length];
        for (int i = 0; i < x.length; i++) r[i] = f.applyAsDouble(x[i]);
        return r;
    }

    // ------------------------------------------------------------------ broadcasting arithmetic

    private static final int[][][] BROADCAST_CASES = {
            {{3, 5, 67}, {3, 5, 67}, {3, 5, 67}},
            {{2, 7, 9, 11}, {7, 1, 1}, {2, 7, 9, 11}},
            {{7, 1, 1}, {2, 7, 9, 11}, {2, 7, 9, 11}},
            {{5, 3, 33}, {33}, {5, 3, 33}},
            {{4, 1, 5}, {1, 6, 1}, {4, 6, 5}},
            {{}, {3, 4}, {3, 4}},
            {{3, 4}, {}, {3, 4}},
            {{1}, {2, 3}, {2, 3}},
            {{3, 1, 37}, {3, 19, 1}, {3, 19, 37}},
            {{2, 3, 1, 5}, {2, 1, 4, 1}, {2, 3, 4, 5}},
            {{0, 3}, {3}, {0, 3}},
            // Large enough to run in parallel, with chunk boundaries falling inside a run.
            {{3, 7, 53, 61}, {7, 1, 1}, {3, 7, 53, 61}},
            {{3, 7, 53, 61}, {3, 7, 53, 61}, {3, 7, 53, 61}},
            {{71, 1031}, {1031}, {71, 1031}},
            {{67, 1}, {1, 1031}, {67, 1031}},
    };

    @Test
    void binaryOpsMatchReferenceUnderNumpyBroadcasting() {
        Random r = new Random(1);
        for (int[][] c : BROADCAST_CASES) {
            Tensor a = randn(r, c[0]);
            // The divisor stays away from 0 so float rounding of the quotient is the only error.
            Tensor b = uniform(r, 0.5f, 2f, c[1]);
            float[] bd = b.data();
            for (int i = 0; i < bd.length; i++) if (r.nextBoolean()) bd[i] = -bd[i];
            double[][] in = inputs(a, b);
            String cs = Arrays.toString(c[0]) + " with " + Arrays.toString(c[1]);
            bothSimdPaths(() -> {
                assertClose("add " + cs, refBinary(in[0], c[0], in[1], c[1], c[2], Double::sum), c[2], ops.add(a, b), F32_ATOL, F32_RTOL);
                assertClose("sub " + cs, refBinary(in[0], c[0], in[1], c[1], c[2], (x, y) -> x - y), c[2], ops.sub(a, b), F32_ATOL, F32_RTOL);
                assertClose("mul " + cs, refBinary(in[0], c[0], in[1], c[1], c[2], (x, y) -> x * y), c[2], ops.mul(a, b), F32_ATOL, F32_RTOL);
                assertClose("div " + cs, refBinary(in[0], c[0], in[1], c[1], c[2], (x, y) -> x / y), c[2], ops.div(a, b), F32_ATOL, F32_RTOL);
                assertClose("div reversed " + cs, refBinary(in[1], c[1], in[0], c[0], c[2], (x, y) -> x / y), c[2], ops.div(b, a), F32_ATOL, F32_RTOL * 10);
            });
        }
    }

    @Test
    void binaryOpsDoNotModifyInputs() {
        Random r = new Random(2);
        Tensor a = randn(r, 4, 33), b = randn(r, 33);
        float[] a0 = a.data().clone(), b0 = b.data().clone();
        ops.add(a, b); ops.sub(a, b); ops.mul(a, b); ops.div(a, b);
        assertArrayEquals(a0, a.data());
        assertArrayEquals(b0, b.data());
    }

    @Test
    void binaryOpsRejectIncompatibleShapesAndNonF32() {
        Random r = new Random(3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.add(randn(r, 3, 4), randn(r, 5)));
        assertTrue(e.getMessage().contains("add") && e.getMessage().contains("[3, 4]") && e.getMessage().contains("[5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.mul(randn(r, 2, 3), randn(r, 2, 3).to(DType.F64)));
        assertTrue(e.getMessage().contains("mul") && e.getMessage().contains("b") && e.getMessage().contains("F64"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.sub(null, randn(r, 2)));
        assertTrue(e.getMessage().contains("sub") && e.getMessage().contains("a"), e.getMessage());
    }

    @Test
    void affineMatchesReference() {
        Random r = new Random(4);
        for (int[] shape : new int[][]{{3, 1001}, {70001}, {}}) {
            Tensor a = randn(r, shape);
            double[] x = f64(a);
            bothSimdPaths(() -> assertClose("affine " + Arrays.toString(shape), map(x, v -> v * -1.7f + 0.3f), shape,
                    ops.affine(a, -1.7f, 0.3f), F32_ATOL, F32_RTOL));
        }
    }

    // ------------------------------------------------------------------ expand and sumTo

    @Test
    void expandMatchesReference() {
        Random r = new Random(5);
        int[][][] cases = {{{3, 1, 5}, {2, 3, 4, 5}}, {{}, {2, 3}}, {{5}, {4, 5}}, {{1, 1}, {1, 1}}, {{2, 1, 41}, {2, 900, 41}},
                {{4, 1}, {3, 4, 9}}, {{2, 3}, {2, 3}}};
        for (int[][] c : cases) {
            Tensor x = randn(r, c[0]);
            double[] xd = f64(x);
            bothSimdPaths(() -> assertClose("expand " + Arrays.toString(c[0]) + " → " + Arrays.toString(c[1]),
                    refExpand(xd, c[0], c[1]), c[1], ops.expand(x, c[1]), 0, 0));
        }
    }

    @Test
    void expandRejectsShapesThatDoNotBroadcast() {
        Random r = new Random(6);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.expand(randn(r, 3), new int[]{4}));
        assertTrue(e.getMessage().contains("expand") && e.getMessage().contains("[3]") && e.getMessage().contains("[4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ops.expand(randn(r, 2, 3), new int[]{3}));
    }

    /** Σ of g over the elements that broadcasting maps onto each element of a tensor of shape target. */
    static double[] refSumTo(double[] g, int[] gs, int[] target) {
        double[] r = new double[(int) Tensor.numel(target)];
        int lead = Math.max(0, target.length - gs.length);
        int[] t = Arrays.copyOfRange(target, lead, target.length);
        for (int i = 0; i < g.length; i++) r[broadcastIndex(unravel(i, gs), t)] += g[i];
        return r;
    }

    @Test
    void sumToUndoesBroadcastingIncludingDroppedLeadingDims() {
        Random r = new Random(7);
        int[][][] cases = {{{2, 3, 4, 5}, {3, 1, 5}}, {{2, 3, 4, 5}, {5}}, {{2, 3, 4, 5}, {1, 4, 1}}, {{2, 3, 4, 5}, {}},
                {{2, 3, 4, 5}, {1, 1, 1, 1, 1}}, {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{64, 40, 33}, {40, 1}}, {{600, 77}, {77}},
                {{3, 1100}, {1100}}, {{70001}, {1}}, {{2, 5, 1}, {5, 1}}, {{5, 6000}, {5, 1}}, {{}, {}}, {{0, 3}, {3}}};
        for (int[][] c : cases) {
            Tensor g = randn(r, c[0]);
            double[] gd = f64(g);
            bothSimdPaths(() -> assertClose("sumTo " + Arrays.toString(c[0]) + " → " + Arrays.toString(c[1]),
                    refSumTo(gd, c[0], c[1]), c[1], ops.sumTo(g, c[1]), F32_ATOL, F32_RTOL));
        }
    }

    @Test
    void sumToIsTheBackwardOfExpand() {
        Random r = new Random(8);
        int[][][] cases = {{{3, 1, 5}, {2, 3, 4, 5}}, {{4}, {3, 4}}, {{}, {2, 3}}, {{2, 1}, {2, 7}}};
        for (int[][] c : cases) {
            Tensor x = randn(r, c[0]);
            double[][] in = inputs(x);
            double[] gy = randomGy(r, (int) Tensor.numel(c[1]));
            bothSimdPaths(() -> checkGrad("sumTo as expand backward " + Arrays.toString(c[0]),
                    v -> refExpand(v[0], c[0], c[1]), in, 0, gy, ops.sumTo(toTensor(gy, c[1]), c[0])));
        }
    }

    @Test
    void sumToRejectsShapesThatDoNotBroadcastToTheGradient() {
        Random r = new Random(9);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.sumTo(randn(r, 2, 3), new int[]{4}));
        assertTrue(e.getMessage().contains("sumTo") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ops.sumTo(randn(r, 3), new int[]{2, 3}));
    }

    // ------------------------------------------------------------------ clamp

    @Test
    void clampMatchesReferenceIncludingInvertedBounds() {
        Random r = new Random(10);
        Tensor x = randn(r, 7, 1031);
        double[] xd = f64(x);
        bothSimdPaths(() -> {
            assertClose("clamp", map(xd, v -> Math.min(Math.max(v, -0.5f), 0.8f)), x.shape(), ops.clamp(x, -0.5f, 0.8f), 0, 0);
            // torch.clamp with min > max gives max everywhere.
            assertClose("clamp lo > hi", map(xd, v -> Math.min(Math.max(v, 1), -1)), x.shape(), ops.clamp(x, 1, -1), 0, 0);
        });
    }

    @Test
    void clampBackwardPassesGradientInsideInclusiveBounds() {
        Random r = new Random(11);
        Tensor x = randn(r, 3, 7);
        double[][] in = inputs(x);
        double[] gy = randomGy(r, x.numel());
        bothSimdPaths(() -> checkGrad("clampBackward", v -> map(v[0], e -> Math.min(Math.max(e, -0.5), 0.8)), in, 0, gy,
                ops.clampBackward(toTensor(gy, 3, 7), x, -0.5f, 0.8f)));
        // Exactly at a bound the gradient passes, as torch's (x >= min) & (x <= max) mask.
        Tensor edge = Tensor.of(new float[]{-0.5f, 0.8f, -0.50001f, 0.80001f, 0f, Float.NaN, -0.5f, 0.8f, 0.1f}, 9);
        bothSimdPaths(() -> assertClose("clampBackward at the bounds", new double[]{1, 1, 0, 0, 1, 0, 1, 1, 1}, new int[]{9},
                ops.clampBackward(Tensor.full(1f, 9), edge, -0.5f, 0.8f), 0, 0));
    }

    // ------------------------------------------------------------------ unary functions

    @Test
    void everyUnaryFunctionMatchesReference() {
        Random r = new Random(12);
        for (Unary f : Unary.values()) {
            for (int[] shape : new int[][]{{3, 1031}, {20011}}) {
                Tensor x = positiveDomain(f) ? uniform(r, 0.05f, 4f, shape) : uniform(r, -6f, 6f, shape);
                double[] expected = map(f64(x), refUnary(f));
                bothSimdPaths(() -> assertClose("unary " + f + " " + Arrays.toString(shape), expected, shape, ops.unary(f, x), F32_ATOL, F32_RTOL));
            }
        }
    }

    @Test
    void everyUnaryBackwardMatchesFiniteDifferences() {
        Random r = new Random(13);
        for (Unary f : Unary.values()) {
            Tensor x = positiveDomain(f) ? uniform(r, 0.2f, 3f, 3, 7) : randn(r, 3, 7);
            double[][] in = inputs(x);
            double[] gy = randomGy(r, x.numel());
            DoubleUnaryOperator ref = refUnary(f);
            bothSimdPaths(() -> checkGrad("unaryBackward " + f, v -> map(v[0], ref), in, 0, gy,
                    ops.unaryBackward(f, toTensor(gy, 3, 7), x)));
        }
    }

    @Test
    void unaryBackwardFollowsTorchConventionsAtKinks() {
        Tensor zeros = Tensor.zeros(11), ones = Tensor.full(1f, 11);
        bothSimdPaths(() -> {
            assertClose("abs'(0)", new double[11], new int[]{11}, ops.unaryBackward(Unary.ABS, ones, zeros), 0, 0);
            assertClose("relu'(0)", new double[11], new int[]{11}, ops.unaryBackward(Unary.RELU, ones, zeros), 0, 0);
            assertClose("sign'", new double[11], new int[]{11}, ops.unaryBackward(Unary.SIGN, ones, Tensor.full(2f, 11)), 0, 0);
            assertClose("sign(0)", new double[11], new int[]{11}, ops.unary(Unary.SIGN, zeros), 0, 0);
        });
    }

    @Test
    void erfMatchesTabulatedValuesToDoublePrecision() {
        double[][] table = {  // x, erf(x), erfc(x)
                {0.5, 0.5204998778130465377, 0.4795001221869534623},
                {1.0, 0.8427007929497148693, 0.1572992070502851307},
                {2.0, 0.9953222650189527342, 4.677734981047265838e-3},
                {3.0, 0.9999779095030014146, 2.209049699858544137e-5},
                {5.0, 1 - 1.537459794428034850e-12, 1.537459794428034850e-12},
                {10.0, 1.0, 2.088487583762544757e-45},
        };
        for (double[] row : table) {
            assertEquals(row[1], ElementwiseMath.erf(row[0]), 1e-15, "erf(" + row[0] + ")");
            assertEquals(-row[1], ElementwiseMath.erf(-row[0]), 1e-15, "erf(" + -row[0] + ")");
            assertEquals(row[2], ElementwiseMath.erfc(row[0]), 1e-13 * row[2], "erfc(" + row[0] + ")");
            assertEquals(2 - row[2], ElementwiseMath.erfc(-row[0]), 1e-15, "erfc(" + -row[0] + ")");
        }
        assertEquals(0.0, ElementwiseMath.erf(0.0));
        assertEquals(1.0, ElementwiseMath.erf(Double.POSITIVE_INFINITY));
        assertEquals(0.0, ElementwiseMath.erfc(Double.POSITIVE_INFINITY));
        assertTrue(Double.isNaN(ElementwiseMath.erf(Double.NaN)));
    }

    @Test
    void fastNormalCdfKeepsRelativeAccuracyDeepIntoTheTail() {
        for (double x = -37; x <= 8; x += 0.00731) {
            double exact = ElementwiseMath.normalCdf(x), fast = ElementwiseMath.normalCdfFast(x);
            assertEquals(exact, fast, 1e-8 * exact, "Φ(" + x + ")");
            // The test's alternating series loses ~1e-14 absolute near z = 3, hence 1e-8 relative here.
            assertEquals(refPhi(x), exact, 1e-8 * exact, "accurate Φ(" + x + ") against the series/continued-fraction reference");
        }
    }

    @Test
    void geluIsAccurateToAFewUlpsAcrossTheWholeRangeIncludingTheNegativeTail() {
        int n = 4801;
        float[] xs = new float[n];
        for (int i = 0; i < n; i++) xs[i] = -12f + 24f * i / (n - 1) + 1e-3f;
        Tensor x = Tensor.of(xs, n);
        double[] ref = map(f64(x), v -> v * refPhi(v));
        double[] refGrad = map(f64(x), v -> refPhi(v) + v * Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI));
        bothSimdPaths(() -> {
            // Relative to the value itself, with only a subnormal-sized absolute allowance: a stricter test than F32_RTOL.
            assertClose("gelu relative accuracy", ref, new int[]{n}, ops.unary(Unary.GELU, x), 1e-37, 2e-6);
            assertClose("gelu' accuracy", refGrad, new int[]{n}, ops.unaryBackward(Unary.GELU, Tensor.full(1f, n), x), 1e-7, 2e-6);
        });
        Tensor big = Tensor.of(new float[]{-30f, -15f, 15f, 30f, 1e20f, -1e20f, 0f, -0f}, 8);
        bothSimdPaths(() -> assertClose("gelu far tails", new double[]{0, 0, 15, 30, 1e20, 0, 0, 0}, new int[]{8},
                ops.unary(Unary.GELU, big), 0, 1e-7));
    }

    @Test
    void unaryRejectsNonF32AndMismatchedGradient() {
        Random r = new Random(14);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ops.unary(Unary.EXP, randn(r, 4).to(DType.F16)));
        assertTrue(e.getMessage().contains("EXP") && e.getMessage().contains("F16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.unaryBackward(Unary.TANH, randn(r, 4), randn(r, 5)));
        assertTrue(e.getMessage().contains("gy") && e.getMessage().contains("[4]") && e.getMessage().contains("[5]"), e.getMessage());
    }

    // ------------------------------------------------------------------ GEGLU

    static double[] refGeglu(double[] x, int n) {
        int rows = x.length / (2 * n);
        double[] out = new double[rows * n];
        for (int row = 0; row < rows; row++)
            for (int j = 0; j < n; j++) {
                double a = x[row * 2 * n + j], g = x[row * 2 * n + n + j];
                out[row * n + j] = a * g * refPhi(g);
            }
        return out;
    }

    @Test
    void gegluMatchesReference() {
        Random r = new Random(15);
        for (int[] shape : new int[][]{{2, 5, 74}, {3, 2060}, {2}, {4, 0}}) {
            Tensor x = randn(r, shape);
            int n = shape[shape.length - 1] / 2;
            int[] outShape = shape.clone();
            outShape[outShape.length - 1] = n;
            double[] expected = refGeglu(f64(x), Math.max(n, 1));
            bothSimdPaths(() -> assertClose("geglu " + Arrays.toString(shape), n == 0 ? new double[0] : expected, outShape,
                    ops.geglu(x), F32_ATOL, F32_RTOL));
        }
    }

    @Test
    void gegluBackwardMatchesFiniteDifferences() {
        Random r = new Random(16);
        for (int[] shape : new int[][]{{2, 3, 10}, {1, 22}}) {
            Tensor x = randn(r, shape);
            int n = shape[shape.length - 1] / 2;
            int[] yShape = shape.clone();
            yShape[yShape.length - 1] = n;
            double[][] in = inputs(x);
            double[] gy = randomGy(r, (int) Tensor.numel(yShape));
            bothSimdPaths(() -> checkGrad("gegluBackward " + Arrays.toString(shape), v -> refGeglu(v[0], n), in, 0, gy,
                    ops.gegluBackward(toTensor(gy, yShape), x)));
        }
    }

    @Test
    void gegluRejectsOddLastDimensionAndWrongGradientShape() {
        Random r = new Random(17);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.geglu(randn(r, 2, 5)));
        assertTrue(e.getMessage().contains("geglu") && e.getMessage().contains("[2, 5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.gegluBackward(randn(r, 2, 4), randn(r, 2, 6)));
        assertTrue(e.getMessage().contains("[2, 4]") && e.getMessage().contains("[2, 3]"), e.getMessage());
    }
}
