package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.GroupNormTest.assertMessage;
import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LayerNorm over the last dimension (torch layer_norm with normalized_shape = [D]) against a float64 loop, and its
 * backward against central differences; Vector API on and off.
 */
class LayerNormTest {
    private static final float EPS = 1e-5f;

    /** x [..., D]; gamma/beta [D] or null. */
    static double[] ref(double[] x, double[] gamma, double[] beta, int dim, double eps) {
        double[] y = new double[x.length];
        for (int row = 0; row < x.length / dim; row++) {
            int base = row * dim;
            double mean = 0;
            for (int i = 0; i < dim; i++) mean += x[base + i];
            mean /= dim;
            double var = 0;
            for (int i = 0; i < dim; i++) var += (x[base + i] - mean) * (x[base + i] - mean);
            var /= dim;
            for (int i = 0; i < dim; i++) {
                double v = (x[base + i] - mean) / Math.sqrt(var + eps);
                if (gamma != null) v *= gamma[i];
                if (beta != null) v += beta[i];
                y[base + i] = v;
            }
        }
        return y;
    }

    private static void checkForward(Random r, int[] shape, boolean withGamma, boolean withBeta, float offset) {
        int dim = shape[shape.length - 1];
        Tensor x = uniform(r, offset - 2f, offset + 2f, shape);
        Tensor gamma = withGamma ? uniform(r, 0.5f, 1.5f, dim) : null, beta = withBeta ? randn(r, dim) : null;
        double[] expected = ref(f64(x), withGamma ? f64(gamma) : null, withBeta ? f64(beta) : null, dim, EPS);
        assertClose("layerNorm " + Arrays.toString(shape) + " gamma=" + withGamma + " beta=" + withBeta,
                expected, shape, ops().layerNorm(x, gamma, beta, EPS), F32_ATOL, F32_RTOL);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void layerNormMatchesReferenceOverTheLastDimension(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(1);
            checkForward(r, new int[]{3, 5, 7}, true, true, 0f);
            checkForward(r, new int[]{2, 9, 37}, true, true, 0.5f);
            checkForward(r, new int[]{4, 320}, true, true, 0f);
            checkForward(r, new int[]{13}, true, true, 0f);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void layerNormWithEitherOrNoAffineParameter(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(2);
            checkForward(r, new int[]{5, 19}, false, false, 0f);
            checkForward(r, new int[]{5, 19}, true, false, 0f);
            checkForward(r, new int[]{5, 19}, false, true, 0f);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void layerNormKeepsPrecisionWithALargeMean(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(3);
            checkForward(r, new int[]{6, 1280}, true, true, 100f);
            checkForward(r, new int[]{3, 77, 768}, false, false, -40f);
        });
    }

    private static void checkBackward(Random r, int[] shape, boolean affine, float offset) {
        int dim = shape[shape.length - 1];
        Tensor x = uniform(r, offset - 2f, offset + 2f, shape);
        Tensor gamma = affine ? uniform(r, 0.5f, 1.5f, dim) : null, beta = affine ? randn(r, dim) : null;
        double[] gy = randomGy(r, x.numel());
        Tensor[] g = ops().layerNormBackward(toTensor(gy, shape), x, gamma, EPS, true);
        String what = "layerNormBackward " + Arrays.toString(shape);
        if (affine) {
            double[][] in = inputs(x, gamma, beta);
            Function<double[][], double[]> f = a -> ref(a[0], a[1], a[2], dim, EPS);
            checkGrad(what + " dx", f, in, 0, gy, g[0]);
            checkGrad(what + " dgamma", f, in, 1, gy, g[1]);
            checkGrad(what + " dbeta", f, in, 2, gy, g[2]);
        } else {
            checkGrad(what + " dx", a -> ref(a[0], null, null, dim, EPS), inputs(x), 0, gy, g[0]);
            assertNull(g[1], "dgamma without gamma");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void layerNormBackwardMatchesFiniteDifferences(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(4);
            checkBackward(r, new int[]{3, 2, 11}, true, 0f);
            checkBackward(r, new int[]{4, 17}, true, 10f);
            checkBackward(r, new int[]{70, 3}, true, 0f);   // more rows than one parameter-gradient block
            checkBackward(r, new int[]{9}, true, 0f);
            checkBackward(r, new int[]{5, 9}, false, 0f);
        });
    }

    @Test
    void layerNormBackwardSkipsParameterGradientsWhenNotNeeded() {
        Random r = new Random(5);
        Tensor[] g = ops().layerNormBackward(randn(r, 3, 8), randn(r, 3, 8), randn(r, 8), EPS, false);
        assertTrue(g[0] != null && g[1] == null && g[2] == null);
    }

    @Test
    void layerNormRejectsBadArguments() {
        Random r = new Random(6);
        Tensor x = randn(r, 2, 6);
        assertMessage(() -> ops().layerNorm(x, randn(r, 5), null, EPS), "gamma has shape [5]", "[D=6]");
        assertMessage(() -> ops().layerNorm(x, null, randn(r, 2), EPS), "beta has shape [2]");
        assertMessage(() -> ops().layerNorm(Tensor.zeros(DType.F64, 2, 6), null, null, EPS), "F32", "F64");
        assertMessage(() -> ops().layerNorm(null, null, null, EPS), "x is null");
        assertMessage(() -> ops().layerNormBackward(randn(r, 2, 5), x, null, EPS, true), "gy has shape [2, 5]", "[2, 6]");
    }
}
