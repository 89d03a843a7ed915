package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.OpTestSupport.*;

/**
 * modulatedConv2d and its backward against a float64 transcription of StyleGAN2-ADA's {@code modulated_conv2d}
 * (fused_modconv): per-sample weights w·s, optional demodulation, stride-1 correlation with zero padding.
 * Gradients of x, w and styles are checked by finite differences, with SIMD on and off.
 */
class ModulatedConv2dTest {

    record Cfg(int n, int cin, int cout, int h, int w, int k, boolean demodulate, int padding) {
        int outH() { return h + 2 * padding - k + 1; }
        int outW() { return w + 2 * padding - k + 1; }
        int[] outShape() { return new int[]{n, cout, outH(), outW()}; }
    }

    static double[] ref(Cfg g, double[] x, double[] w, double[] s) {
        int k2 = g.k * g.k, oh = g.outH(), ow = g.outW();
        double[] y = new double[g.n * g.cout * oh * ow];
        for (int n = 0; n < g.n; n++)
            for (int o = 0; o < g.cout; o++) {
                // Modulate the weights of output channel o by sample n's styles, then demodulate.
                double[] v = new double[g.cin * k2];
                double sq = 0;
                for (int i = 0; i < g.cin; i++)
                    for (int k = 0; k < k2; k++) {
                        v[i * k2 + k] = w[(o * g.cin + i) * k2 + k] * s[n * g.cin + i];
                        sq += v[i * k2 + k] * v[i * k2 + k];
                    }
                double dcoef = g.demodulate ? 1 / Math.sqrt(sq + 1e-8) : 1;
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        double acc = 0;
                        for (int i = 0; i < g.cin; i++)
                            for (int ky = 0; ky < g.k; ky++)
                                for (int kx = 0; kx < g.k; kx++) {
                                    int iy = oy + ky - g.padding, ix = ox + kx - g.padding;
                                    if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                                    acc += x[((n * g.cin + i) * g.h + iy) * g.w + ix] * v[(i * g.k + ky) * g.k + kx];
                                }
                        y[((n * g.cout + o) * oh + oy) * ow + ox] = acc * dcoef;
                    }
            }
        return y;
    }

    static Tensor[] randomInputs(Cfg g, long seed) {
        Random r = new Random(seed);
        Tensor x = randn(r, g.n, g.cin, g.h, g.w);
        Tensor w = randn(r, g.cout, g.cin, g.k, g.k);
        // Styles come from an affine layer whose bias starts at 1: mostly positive, some spread.
        Tensor s = uniform(r, -0.5f, 2f, g.n, g.cin);
        return new Tensor[]{x, w, s};
    }

    static void checkForward(Cfg g, long seed) {
        Tensor[] in = randomInputs(g, seed);
        double[] expected = ref(g, f64(in[0]), f64(in[1]), f64(in[2]));
        bothSimdPaths(() -> assertClose("modulatedConv2d " + g, expected, g.outShape(),
                ops().modulatedConv2d(in[0], in[1], in[2], g.demodulate, g.padding), F32_ATOL, F32_RTOL));
    }

    static void checkBackward(Cfg g, long seed) {
        Tensor[] in = randomInputs(g, seed);
        double[] gy = randomGy(new Random(seed + 1000), g.n * g.cout * g.outH() * g.outW());
        Tensor gyT = toTensor(gy, g.outShape());
        double[][] vals = inputs(in);
        Function<double[][], double[]> fn = v -> ref(g, v[0], v[1], v[2]);
        String[] names = {"dx", "dw", "dstyles"};
        bothSimdPaths(() -> {
            Tensor[] grads = ops().modulatedConv2dBackward(gyT, in[0], in[1], in[2], g.demodulate, g.padding);
            for (int j = 0; j < 3; j++)
                checkGrad("modulatedConv2dBackward " + names[j] + " " + g, fn, vals, j, gy, grads[j]);
        });
    }

    @Test
    void demodulatedThreeByThreeMatchesReference() {
        checkForward(new Cfg(2, 3, 4, 5, 6, 3, true, 1), 1);
        checkForward(new Cfg(2, 5, 7, 9, 9, 3, true, 1), 2);
    }

    @Test
    void withoutDemodulationItIsAPerSampleModulatedConv() {
        checkForward(new Cfg(2, 3, 4, 5, 6, 3, false, 1), 3);
        checkForward(new Cfg(2, 5, 7, 9, 8, 3, false, 0), 4);
    }

    @Test
    void toRgbStyleOneByOneMatchesReference() {
        checkForward(new Cfg(2, 7, 3, 6, 5, 1, false, 0), 5);
        checkForward(new Cfg(2, 9, 5, 4, 7, 1, true, 0), 6);
    }

    @Test
    void paddingZeroShrinksTheOutput() {
        checkForward(new Cfg(2, 3, 4, 6, 7, 3, true, 0), 7);
    }

    @Test
    void backwardMatchesFiniteDifferencesWhenDemodulating() {
        checkBackward(new Cfg(2, 3, 4, 5, 6, 3, true, 1), 11);
        checkBackward(new Cfg(2, 3, 4, 5, 6, 3, true, 0), 12);
        checkBackward(new Cfg(2, 5, 3, 4, 5, 1, true, 0), 13);
        checkBackward(new Cfg(2, 5, 3, 4, 5, 1, true, 1), 14);
    }

    @Test
    void backwardMatchesFiniteDifferencesWithoutDemodulation() {
        checkBackward(new Cfg(2, 3, 4, 5, 6, 3, false, 1), 15);
        checkBackward(new Cfg(2, 3, 4, 5, 6, 3, false, 0), 16);
        checkBackward(new Cfg(2, 5, 3, 4, 5, 1, false, 0), 17);
        checkBackward(new Cfg(2, 5, 3, 4, 5, 1, false, 1), 18);
    }

    @Test
    void inputsAreNotModified() {
        Cfg g = new Cfg(2, 3, 4, 5, 5, 3, true, 1);
        Tensor[] in = randomInputs(g, 20);
        double[][] before = inputs(in);
        Tensor gy = randn(new Random(21), g.outShape());
        double[] gy0 = f64(gy);
        ops().modulatedConv2d(in[0], in[1], in[2], true, 1);
        ops().modulatedConv2dBackward(gy, in[0], in[1], in[2], true, 1);
        String[] names = {"x", "w", "styles"};
        for (int j = 0; j < 3; j++) assertClose(names[j], before[j], f64(in[j]), 0, 0);
        assertClose("gy", gy0, f64(gy), 0, 0);
    }

    @Test
    void badArgumentsAreRejectedWithUsefulMessages() {
        Random r = new Random(30);
        Tensor x = randn(r, 2, 3, 5, 5), w = randn(r, 4, 3, 3, 3), s = randn(r, 2, 3);
        UpfirdnTest.expectMessage(() -> ops().modulatedConv2d(x, randn(r, 4, 5, 3, 3), s, true, 1),
                "w has shape [4, 5, 3, 3], expected [Cout, Cin, k, k]=[4, 3, 3, 3]");
        UpfirdnTest.expectMessage(() -> ops().modulatedConv2d(x, w, randn(r, 1, 3), true, 1),
                "styles has shape [1, 3], expected [N, Cin]=[2, 3]");
        UpfirdnTest.expectMessage(() -> ops().modulatedConv2d(randn(r, 3, 5, 5), w, s, true, 1), "x has shape [3, 5, 5]");
        UpfirdnTest.expectMessage(() -> ops().modulatedConv2d(randn(r, 2, 3, 2, 2), w, s, true, 0), "smaller than the kernel");
        UpfirdnTest.expectMessage(() -> ops().modulatedConv2d(x, w, s.to(DType.F64), true, 1), "styles has dtype F64");
        UpfirdnTest.expectMessage(() -> ops().modulatedConv2dBackward(randn(r, 2, 4, 3, 3), x, w, s, true, 1),
                "gy has shape [2, 4, 3, 3], expected [N, Cout, Ho, Wo]=[2, 4, 5, 5]");
    }
}
