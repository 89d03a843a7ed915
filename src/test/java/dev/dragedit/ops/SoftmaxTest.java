package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Random;

import static dev.dragedit.ops.GroupNormTest.assertMessage;
import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Softmax over the last dimension against a float64 loop (exp(x − max)/Σ), its edge cases (−inf entries, huge
 * logits, a row of all −inf, which comes out NaN as in torch), and its backward against central differences;
 * Vector API on and off.
 */
class SoftmaxTest {

    static double[] ref(double[] x, int n) {
        double[] y = new double[x.length];
        for (int row = 0; row < x.length / n; row++) {
            int base = row * n;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) max = Math.max(max, x[base + i]);
            double sum = 0;
            for (int i = 0; i < n; i++) sum += Math.exp(x[base + i] - max);
            for (int i = 0; i < n; i++) y[base + i] = Math.exp(x[base + i] - max) / sum;
        }
        return y;
    }

    private static void checkForward(Tensor x) {
        int[] shape = x.shape();
        int n = shape.length == 0 ? 1 : shape[shape.length - 1];
        assertClose("softmax " + Arrays.toString(shape), ref(f64(x), n), shape, ops().softmax(x), F32_ATOL, F32_RTOL);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void softmaxMatchesReferenceOverTheLastDimension(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(1);
            checkForward(randn(r, 4, 5, 13));
            checkForward(uniform(r, -20f, 20f, 3, 37));
            checkForward(uniform(r, -5f, 5f, 2, 4096));
            checkForward(randn(r, 7));
            checkForward(randn(r, 3, 1));
            checkForward(Tensor.scalar(3.5f));
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void softmaxIsStableForHugeAndWidelySpreadLogits(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(2);
            checkForward(uniform(r, 1000f, 1010f, 3, 41));
            checkForward(uniform(r, -100f, 0f, 5, 67));   // many weights underflow towards 0
            checkForward(uniform(r, -3e4f, 3e4f, 2, 19));
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void minusInfinityGetsZeroWeightAndAnAllMinusInfinityRowIsNaN(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(3);
            int n = 21;
            float[] d = randn(r, 3, n).data();
            for (int i = 0; i < n; i += 3) d[i] = Float.NEGATIVE_INFINITY;                 // row 0: some masked
            for (int i = n; i < 2 * n; i++) d[i] = Float.NEGATIVE_INFINITY;               // row 1: all masked
            Tensor y = ops().softmax(Tensor.of(d, 3, n));
            double[] expected = ref(f64(Tensor.of(d, 3, n)), n);
            double sum = 0;
            for (int i = 0; i < n; i++) {
                if (i % 3 == 0) assertEquals(0f, y.getFloat(i), "weight of a −inf logit");
                sum += y.getFloat(i);
            }
            assertEquals(1.0, sum, 1e-5);
            for (int i = n; i < 2 * n; i++) assertTrue(Float.isNaN(y.getFloat(i)), "all −inf row gives NaN, as torch");
            double[] third = Arrays.copyOfRange(expected, 2 * n, 3 * n);
            assertClose("unmasked row", third, Arrays.copyOfRange(f64(y), 2 * n, 3 * n), F32_ATOL, F32_RTOL);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void softmaxBackwardMatchesFiniteDifferences(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(4);
            for (int[] shape : new int[][]{{3, 11}, {2, 3, 17}, {5}, {2, 1}}) {
                Tensor x = randn(r, shape);
                int n = shape[shape.length - 1];
                double[] gy = randomGy(r, x.numel());
                Tensor dx = ops().softmaxBackward(toTensor(gy, shape), ops().softmax(x));
                checkGrad("softmaxBackward " + Arrays.toString(shape), a -> ref(a[0], n), inputs(x), 0, gy, dx);
            }
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void softmaxRejectsBadArguments(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(5);
            assertMessage(() -> ops().softmax(Tensor.zeros(DType.F64, 2, 3)), "softmax", "x must be an F32", "F64");
            assertMessage(() -> ops().softmaxBackward(randn(r, 2, 3), randn(r, 3, 2)), "gy has shape [2, 3]", "[3, 2]");
            assertMessage(() -> ops().softmaxBackward(randn(r, 2, 3), null), "y is null");
        });
    }
}
