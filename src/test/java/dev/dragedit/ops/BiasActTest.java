package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * biasAct (StyleGAN2 bias_act, lrelu) and its backward, which sees only the output y, against a float64 reference
 * of {@code _bias_act_ref}: x + bias along dim 1, leaky ReLU, gain, clamp. SIMD on and off.
 */
class BiasActTest {

    /** y = clamp(lrelu_alpha(x + b[c]) · gain, ±clamp); b may be null; clamp ≤ 0 means none. */
    static double[] ref(int[] shape, double[] x, double[] b, double alpha, double gain, double clamp) {
        int c = shape.length > 1 ? shape[1] : 1;
        int inner = 1;
        for (int d = 2; d < shape.length; d++) inner *= shape[d];
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double v = x[i] + (b == null ? 0 : b[(i / inner) % c]);
            v = v > 0 ? v : alpha * v;
            v *= gain;
            if (clamp > 0) v = Math.min(Math.max(v, -clamp), clamp);
            y[i] = v;
        }
        return y;
    }

    static void checkForward(int[] shape, boolean withBias, float alpha, float gain, float clamp, long seed) {
        Random r = new Random(seed);
        Tensor x = randn(r, shape);
        Tensor b = withBias ? randn(r, shape[1]) : null;
        double[] expected = ref(shape, f64(x), b == null ? null : f64(b), alpha, gain, clamp);
        String what = "biasAct " + Arrays.toString(shape) + " bias=" + withBias + " alpha=" + alpha + " gain=" + gain + " clamp=" + clamp;
        bothSimdPaths(() -> assertClose(what, expected, shape,
                ops().biasAct(x, b, alpha, gain, clamp), F32_ATOL, F32_RTOL));
    }

    static void checkBackward(int[] shape, boolean withBias, float alpha, float gain, float clamp, long seed) {
        Random r = new Random(seed);
        Tensor x = randn(r, shape);
        Tensor b = withBias ? randn(r, shape[1]) : null;
        Tensor y = ops().biasAct(x, b, alpha, gain, clamp);
        double[] gy = randomGy(r, x.numel());
        Tensor gyT = toTensor(gy, shape);
        double[][] in = withBias ? inputs(x, b) : inputs(x);
        Function<double[][], double[]> fn = v -> ref(shape, v[0], withBias ? v[1] : null, alpha, gain, clamp);
        String what = "biasActBackward " + Arrays.toString(shape) + " alpha=" + alpha + " gain=" + gain + " clamp=" + clamp;
        bothSimdPaths(() -> {
            Tensor[] g = ops().biasActBackward(gyT, y, withBias, alpha, gain, clamp);
            checkGrad(what + " dx", fn, in, 0, gy, g[0]);
            if (withBias) checkGrad(what + " dbias", fn, in, 1, gy, g[1]);
            else assertNull(g[1], "dbias without needBias");
        });
    }

    static final float SQRT2 = (float) Math.sqrt(2);

    @Test
    void synthesisLayerActivationMatchesReference() {
        checkForward(new int[]{2, 5, 7, 9}, true, 0.2f, SQRT2, 256f, 1);
    }

    @Test
    void clampCutsBothTails() {
        checkForward(new int[]{2, 3, 11, 13}, true, 0.2f, SQRT2, 0.7f, 2);
        checkForward(new int[]{3, 17}, false, 0.2f, 1f, 0.5f, 3);
    }

    @Test
    void fullyConnectedShapesCarryBiasAlongDimOne() {
        checkForward(new int[]{3, 19}, true, 0.2f, SQRT2, 0f, 4);
        checkForward(new int[]{2, 5, 3}, true, 0.2f, SQRT2, -1f, 5);
    }

    @Test
    void linearActivationIsBiasTimesGain() {
        checkForward(new int[]{2, 4, 5, 5}, true, 1f, 1f, 0f, 6);
        checkForward(new int[]{2, 4, 5, 5}, true, 1f, 0.5f, 3f, 7);
    }

    @Test
    void withoutBiasAnyShapeWorksAcrossBlocks() {
        checkForward(new int[]{10007}, false, 0.2f, SQRT2, 1.5f, 8);
        checkForward(new int[]{3, 2, 1001}, false, 0.1f, 2f, 0f, 9);
    }

    @Test
    void backwardMatchesFiniteDifferencesWithBiasAndClamp() {
        checkBackward(new int[]{2, 3, 5, 7}, true, 0.2f, SQRT2, 0.8f, 11);
        checkBackward(new int[]{2, 5, 4, 3}, true, 0.2f, SQRT2, 256f, 12);
    }

    @Test
    void backwardMatchesFiniteDifferencesWithoutClampOrBias() {
        checkBackward(new int[]{3, 9}, true, 0.2f, SQRT2, 0f, 13);
        checkBackward(new int[]{2, 3, 23}, false, 0.3f, 1.5f, -1f, 14);
        checkBackward(new int[]{2, 4, 3, 3}, true, 1f, 1f, 0f, 15);
    }

    @Test
    void backwardTreatsOutputsAtTheClampBoundAsClamped() {
        // From y alone, |y| = clamp means the value was clamped: gradient 0 there (bias_act's abs(y) < clamp test).
        float clamp = 2f;
        Tensor y = Tensor.of(new float[]{2f, -2f, 1.999f, -1.999f, 0f, 0.5f, -0.5f, 3f, -3f}, 1, 1, 9);
        Tensor gy = Tensor.full(1f, 1, 1, 9);
        bothSimdPaths(() -> {
            Tensor[] g = ops().biasActBackward(gy, y, true, 0.2f, 4f, clamp);
            assertClose("dx at the clamp bound",
                    new double[]{0, 0, 4, 0.8, 0.8, 4, 0.8, 0, 0}, new int[]{1, 1, 9}, g[0], F32_ATOL, F32_RTOL);
            assertClose("dbias", new double[]{10.4}, new int[]{1}, g[1], F32_ATOL, F32_RTOL);
        });
    }

    @Test
    void dbiasSumsOverBatchAndSpaceOnWideTensors() {
        checkBackward(new int[]{3, 4, 6, 7}, true, 0.2f, SQRT2, 1.2f, 16);
    }

    @Test
    void inputsAreNotModified() {
        Random r = new Random(20);
        Tensor x = randn(r, 2, 3, 4, 5), b = randn(r, 3);
        double[] x0 = f64(x), b0 = f64(b);
        Tensor y = ops().biasAct(x, b, 0.2f, SQRT2, 1f);
        double[] y0 = f64(y);
        Tensor gy = randn(r, 2, 3, 4, 5);
        double[] gy0 = f64(gy);
        ops().biasActBackward(gy, y, true, 0.2f, SQRT2, 1f);
        assertClose("x", x0, f64(x), 0, 0);
        assertClose("bias", b0, f64(b), 0, 0);
        assertClose("y", y0, f64(y), 0, 0);
        assertClose("gy", gy0, f64(gy), 0, 0);
    }

    @Test
    void badArgumentsAreRejectedWithUsefulMessages() {
        Random r = new Random(30);
        Tensor x = randn(r, 2, 3, 4, 4);
        UpfirdnTest.expectMessage(() -> ops().biasAct(x, randn(r, 4), 0.2f, 1f, 0f),
                "bias has shape [4], expected [C = x.shape[1]]=[3]");
        UpfirdnTest.expectMessage(() -> ops().biasAct(randn(r, 5), randn(r, 5), 0.2f, 1f, 0f), "x has shape [5], expected rank ≥ 2");
        UpfirdnTest.expectMessage(() -> ops().biasAct(x.to(DType.F64), null, 0.2f, 1f, 0f), "x has dtype F64");
        UpfirdnTest.expectMessage(() -> ops().biasActBackward(randn(r, 2, 3, 4, 5), x, true, 0.2f, 1f, 0f),
                "gy has shape [2, 3, 4, 5], expected the shape of y [2, 3, 4, 4]");
        UpfirdnTest.expectMessage(() -> ops().biasActBackward(randn(r, 6), randn(r, 6), true, 0.2f, 1f, 0f),
                "y has shape [6], expected rank ≥ 2");
    }
}
