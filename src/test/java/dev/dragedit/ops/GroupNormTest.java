package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GroupNorm forward against a float64 loop written from the torch.nn.GroupNorm docs (per sample and group:
 * (x − mean)/sqrt(biased var + eps)·γ + β), and every backward output against central differences of it.
 * Each check runs with the Vector API on and off.
 */
class GroupNormTest {
    private static final float EPS = 1e-5f;

    /** x [N, C, *spatial]; gamma/beta [C] or null. */
    static double[] ref(double[] x, double[] gamma, double[] beta, int[] shape, int groups, double eps) {
        int n = shape[0], c = shape[1], s = 1;
        for (int i = 2; i < shape.length; i++) s *= shape[i];
        int cg = c / groups, m = cg * s;
        double[] y = new double[x.length];
        for (int i = 0; i < n; i++)
            for (int g = 0; g < groups; g++) {
                int base = (i * c + g * cg) * s;
                double mean = 0;
                for (int e = 0; e < m; e++) mean += x[base + e];
                mean /= m;
                double var = 0;
                for (int e = 0; e < m; e++) var += (x[base + e] - mean) * (x[base + e] - mean);
                var /= m;
                for (int e = 0; e < m; e++) {
                    int ch = g * cg + e / s;
                    double v = (x[base + e] - mean) / Math.sqrt(var + eps);
                    if (gamma != null) v *= gamma[ch];
                    if (beta != null) v += beta[ch];
                    y[base + e] = v;
                }
            }
        return y;
    }

    private static void checkForward(Random r, int[] shape, int groups, boolean affine, float offset) {
        Tensor x = uniform(r, offset - 2f, offset + 2f, shape);
        int c = shape[1];
        Tensor gamma = affine ? uniform(r, 0.5f, 1.5f, c) : null, beta = affine ? randn(r, c) : null;
        double[] expected = ref(f64(x), affine ? f64(gamma) : null, affine ? f64(beta) : null, shape, groups, EPS);
        Tensor y = ops().groupNorm(x, groups, gamma, beta, EPS);
        assertClose("groupNorm " + Arrays.toString(shape) + " groups=" + groups + " affine=" + affine,
                expected, shape, y, F32_ATOL, F32_RTOL);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void groupNormMatchesReferenceWithOddGroupSizes(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(1);
            checkForward(r, new int[]{3, 6, 5, 7}, 3, true, 0f);
            checkForward(r, new int[]{2, 15, 3, 11}, 5, true, 0.5f);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void groupNormWithOneGroupAndWithOneGroupPerChannel(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(2);
            checkForward(r, new int[]{2, 6, 4, 5}, 1, true, 0f);
            checkForward(r, new int[]{2, 6, 4, 5}, 6, true, 0f);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void groupNormAcceptsRank2Rank3AndRank5Inputs(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(3);
            checkForward(r, new int[]{4, 9, 13}, 3, true, 0f);
            checkForward(r, new int[]{5, 6}, 2, true, 0f);
            checkForward(r, new int[]{2, 4, 3, 2, 5}, 2, true, 0f);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void groupNormWithoutAffineIsPlainNormalisation(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(4);
            checkForward(r, new int[]{2, 8, 7, 3}, 4, false, 0f);
            checkForward(r, new int[]{3, 5, 17}, 5, false, 0f);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void groupNormKeepsPrecisionOnSdSizedGroupsWithLargeMean(boolean simd) {
        // SD's GroupNorm: 32 groups of 10 channels × 32×32 here (10×64×64 in the UNet), shifted far from zero.
        withSimd(simd, () -> {
            Random r = new Random(5);
            checkForward(r, new int[]{1, 320, 32, 32}, 32, true, 30f);
            checkForward(r, new int[]{1, 64, 48, 48}, 1, false, -100f);
        });
    }

    @Test
    void groupNormOfAConstantGroupIsBetaAndDoesNotModifyItsInput() {
        float[] xs = new float[2 * 4 * 3];
        Arrays.fill(xs, 7.25f);
        Tensor x = Tensor.of(xs.clone(), 2, 4, 3);
        Tensor beta = Tensor.of(new float[]{1, 2, 3, 4}, 4), gamma = Tensor.of(new float[]{5, 6, 7, 8}, 4);
        Tensor y = ops().groupNorm(x, 2, gamma, beta, EPS);
        double[] expected = new double[24];
        for (int i = 0; i < 24; i++) expected[i] = (i / 3) % 4 + 1;
        assertClose("constant groupNorm", expected, new int[]{2, 4, 3}, y, F32_ATOL, F32_RTOL);
        assertClose("input unchanged", f64(Tensor.of(xs, 2, 4, 3)), new int[]{2, 4, 3}, x, 0, 0);
    }

    private static void checkBackward(Random r, int[] shape, int groups, boolean affine) {
        Tensor x = randn(r, shape);
        int c = shape[1];
        Tensor gamma = affine ? uniform(r, 0.5f, 1.5f, c) : null, beta = affine ? randn(r, c) : null;
        double[] gy = randomGy(r, x.numel());
        Tensor[] g = ops().groupNormBackward(toTensor(gy, shape), x, groups, gamma, EPS, true);
        String what = "groupNormBackward " + Arrays.toString(shape) + " groups=" + groups;
        if (affine) {
            double[][] in = inputs(x, gamma, beta);
            Function<double[][], double[]> f = a -> ref(a[0], a[1], a[2], shape, groups, EPS);
            checkGrad(what + " dx", f, in, 0, gy, g[0]);
            checkGrad(what + " dgamma", f, in, 1, gy, g[1]);
            checkGrad(what + " dbeta", f, in, 2, gy, g[2]);
        } else {
            double[][] in = inputs(x);
            checkGrad(what + " dx", a -> ref(a[0], null, null, shape, groups, EPS), in, 0, gy, g[0]);
            assertNull(g[1], "dgamma without gamma");
            double[] colSums = new double[c];
            int s = x.numel() / (shape[0] * c);
            for (int i = 0; i < gy.length; i++) colSums[(i / s) % c] += gy[i];
            assertClose(what + " dbeta = Σ gy", colSums, new int[]{c}, g[2], F32_ATOL, F32_RTOL);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void groupNormBackwardMatchesFiniteDifferences(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(6);
            checkBackward(r, new int[]{2, 6, 3, 3}, 3, true);
            checkBackward(r, new int[]{2, 4, 11}, 1, true);
            checkBackward(r, new int[]{3, 4, 5}, 4, true);
            checkBackward(r, new int[]{3, 6}, 2, true);
            checkBackward(r, new int[]{2, 4, 2, 5}, 2, false);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void groupNormBackwardOnALargeGroupWithLargeMean(boolean simd) {
        // 2×35 elements per group, far from zero: checks the centred gradient sums.
        withSimd(simd, () -> {
            Random r = new Random(7);
            int[] shape = {1, 4, 5, 7};
            Tensor x = uniform(r, 40f, 44f, shape);
            Tensor gamma = uniform(r, 0.5f, 1.5f, 4), beta = randn(r, 4);
            double[] gy = randomGy(r, x.numel());
            Tensor[] g = ops().groupNormBackward(toTensor(gy, shape), x, 2, gamma, EPS, true);
            double[][] in = inputs(x, gamma, beta);
            checkGrad("dx", a -> ref(a[0], a[1], a[2], shape, 2, EPS), in, 0, gy, g[0]);
            checkGrad("dgamma", a -> ref(a[0], a[1], a[2], shape, 2, EPS), in, 1, gy, g[1]);
        });
    }

    @Test
    void groupNormBackwardSkipsParameterGradientsWhenNotNeeded() {
        Random r = new Random(8);
        Tensor x = randn(r, 2, 4, 3);
        Tensor[] g = ops().groupNormBackward(randn(r, 2, 4, 3), x, 2, uniform(r, 0.5f, 1.5f, 4), EPS, false);
        assertTrue(g[0] != null && g[1] == null && g[2] == null);
    }

    @Test
    void groupNormRejectsBadArguments() {
        Random r = new Random(9);
        Tensor x = randn(r, 2, 6, 3);
        assertMessage(() -> ops().groupNorm(x, 4, null, null, EPS), "groups=4", "C=6");
        assertMessage(() -> ops().groupNorm(x, 0, null, null, EPS), "groups=0");
        assertMessage(() -> ops().groupNorm(randn(r, 6), 2, null, null, EPS), "x has shape [6]", "rank ≥ 2");
        assertMessage(() -> ops().groupNorm(x, 3, randn(r, 5), null, EPS), "gamma has shape [5]", "[C=6]");
        assertMessage(() -> ops().groupNorm(x, 3, null, randn(r, 6, 1), EPS), "beta has shape [6, 1]");
        assertMessage(() -> ops().groupNorm(x.to(DType.F64), 3, null, null, EPS), "x must be an F32 CPU tensor", "F64");
        assertMessage(() -> ops().groupNormBackward(randn(r, 2, 6, 4), x, 3, null, EPS, true), "gy has shape [2, 6, 4]", "[2, 6, 3]");
    }

    static void assertMessage(org.junit.jupiter.api.function.Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String p : parts)
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' should contain '" + p + "'");
    }
}
