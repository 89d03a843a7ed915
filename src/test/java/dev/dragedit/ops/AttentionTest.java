package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.GroupNormTest.assertMessage;
import static dev.dragedit.ops.OpTestSupport.*;

/**
 * Scaled dot-product attention against a float64 loop written like torch's scaled_dot_product_attention docs:
 * softmax(q·kᵀ·scale + mask)·v, the causal mask being tril(ones(Lq, Lk)) aligned top-left (key j > query i masked),
 * also for cross-attention shapes. Forward on odd sizes, D not a multiple of 8, Lq ≠ Lk, B·H > 1 and several query
 * blocks; dq, dk and dv against central differences; Vector API on and off.
 */
class AttentionTest {

    /** q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    static double[] ref(double[] q, double[] k, double[] v, int bh, int lq, int lk, int d, int dv, double scale, boolean causal) {
        double[] out = new double[bh * lq * dv];
        double[] s = new double[lk];
        for (int h = 0; h < bh; h++)
            for (int i = 0; i < lq; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < lk; j++) {
                    double dot = 0;
                    for (int e = 0; e < d; e++) dot += q[(h * lq + i) * d + e] * k[(h * lk + j) * d + e];
                    s[j] = causal && j > i ? Double.NEGATIVE_INFINITY : dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < lk; j++) sum += (s[j] = Math.exp(s[j] - max));
                for (int j = 0; j < lk; j++)
                    for (int e = 0; e < dv; e++) out[(h * lq + i) * dv + e] += s[j] / sum * v[(h * lk + j) * dv + e];
            }
        return out;
    }

    private record Case(int b, int h, int lq, int lk, int d, int dv, float scale, boolean causal) {
        String name() {
            return "attention B=" + b + " H=" + h + " Lq=" + lq + " Lk=" + lk + " D=" + d + " Dv=" + dv + " causal=" + causal;
        }
    }

    private static void checkForward(Random r, Case c) {
        Tensor q = randn(r, c.b, c.h, c.lq, c.d), k = randn(r, c.b, c.h, c.lk, c.d), v = randn(r, c.b, c.h, c.lk, c.dv);
        double[] expected = ref(f64(q), f64(k), f64(v), c.b * c.h, c.lq, c.lk, c.d, c.dv, c.scale, c.causal);
        assertClose(c.name(), expected, new int[]{c.b, c.h, c.lq, c.dv}, ops().attention(q, k, v, c.scale, c.causal),
                F32_ATOL, F32_RTOL);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void attentionMatchesReferenceOnOddSelfAttentionShapes(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(1);
            checkForward(r, new Case(2, 3, 9, 9, 13, 11, (float) (1 / Math.sqrt(13)), false));
            checkForward(r, new Case(1, 1, 1, 1, 5, 3, 0.4f, false));
            checkForward(r, new Case(2, 2, 150, 150, 40, 40, (float) (1 / Math.sqrt(40)), false));   // several query blocks
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void attentionMatchesReferenceOnCrossAttention(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(2);
            checkForward(r, new Case(1, 2, 7, 12, 8, 5, 0.35f, false));
            checkForward(r, new Case(2, 1, 131, 77, 40, 24, 0.158f, false));   // SD text cross-attention, Lk = 77
            checkForward(r, new Case(1, 3, 12, 5, 3, 7, 0.6f, false));
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void causalAttentionMasksLaterKeysAlignedTopLeft(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(3);
            checkForward(r, new Case(2, 2, 11, 11, 6, 9, 0.4f, true));
            checkForward(r, new Case(1, 2, 7, 12, 5, 4, 0.5f, true));    // Lq < Lk: keys ≥ Lq never seen
            checkForward(r, new Case(1, 1, 12, 5, 5, 4, 0.5f, true));    // Lq > Lk: late queries see every key
            checkForward(r, new Case(1, 2, 150, 140, 19, 10, 0.2f, true));
        });
    }

    private static void checkBackward(Random r, Case c) {
        Tensor q = randn(r, c.b, c.h, c.lq, c.d), k = randn(r, c.b, c.h, c.lk, c.d), v = randn(r, c.b, c.h, c.lk, c.dv);
        double[] gy = randomGy(r, c.b * c.h * c.lq * c.dv);
        Tensor[] g = ops().attentionBackward(toTensor(gy, c.b, c.h, c.lq, c.dv), q, k, v, c.scale, c.causal);
        Function<double[][], double[]> f = a -> ref(a[0], a[1], a[2], c.b * c.h, c.lq, c.lk, c.d, c.dv, c.scale, c.causal);
        double[][] in = inputs(q, k, v);
        checkGrad(c.name() + " dq", f, in, 0, gy, g[0]);
        checkGrad(c.name() + " dk", f, in, 1, gy, g[1]);
        checkGrad(c.name() + " dv", f, in, 2, gy, g[2]);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void attentionBackwardMatchesFiniteDifferences(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(4);
            checkBackward(r, new Case(1, 2, 5, 4, 3, 2, 0.7f, false));
            checkBackward(r, new Case(2, 1, 4, 6, 5, 3, 0.45f, false));
            checkBackward(r, new Case(1, 1, 150, 7, 3, 2, 0.6f, false));   // several query blocks share dk, dv
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void causalAttentionBackwardMatchesFiniteDifferences(boolean simd) {
        withSimd(simd, () -> {
            Random r = new Random(5);
            checkBackward(r, new Case(1, 2, 5, 5, 3, 2, 0.7f, true));
            checkBackward(r, new Case(1, 1, 4, 7, 3, 3, 0.5f, true));
            checkBackward(r, new Case(1, 1, 7, 3, 2, 3, 0.5f, true));
            checkBackward(r, new Case(1, 1, 100, 40, 2, 2, 0.8f, true));   // several query blocks
        });
    }

    @Test
    void attentionRejectsBadShapes() {
        Random r = new Random(6);
        Tensor q = randn(r, 2, 3, 4, 8), k = randn(r, 2, 3, 5, 8), v = randn(r, 2, 3, 5, 6);
        assertMessage(() -> ops().attention(q, randn(r, 2, 3, 5, 7), v, 1f, false), "k has shape [2, 3, 5, 7]", "D=8");
        assertMessage(() -> ops().attention(q, randn(r, 2, 2, 5, 8), v, 1f, false), "k has shape", "H=3");
        assertMessage(() -> ops().attention(q, k, randn(r, 2, 3, 4, 6), 1f, false), "v has shape [2, 3, 4, 6]", "Lk=5");
        assertMessage(() -> ops().attention(randn(r, 3, 4, 8), k, v, 1f, false), "q has shape [3, 4, 8]", "[B, H, Lq, D]");
        assertMessage(() -> ops().attention(q, k.to(DType.F64), v, 1f, false), "k must be an F32", "F64");
        assertMessage(() -> ops().attentionBackward(randn(r, 2, 3, 4, 8), q, k, v, 1f, false), "gy has shape [2, 3, 4, 8]", "[2, 3, 4, 6]");
    }
}
