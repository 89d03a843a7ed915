package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * upfirdn2d and its backward against a float64 transcription of StyleGAN2-ADA's {@code _upfirdn2d_ref}
 * (zero-insert, pad, crop, flipped-filter correlation, subsample), with SIMD on and off.
 */
class UpfirdnTest {

    /** One call's geometry: input [n, c, h, w], filter [fh, fw], factors and pads in the op's argument order. */
    record Cfg(int n, int c, int h, int w, int fh, int fw, int upX, int upY, int downX, int downY,
               int padX0, int padX1, int padY0, int padY1) {
        int outH() { return (h * upY + padY0 + padY1 - fh) / downY + 1; }
        int outW() { return (w * upX + padX0 + padX1 - fw) / downX + 1; }
        int[] xShape() { return new int[]{n, c, h, w}; }
        int[] outShape() { return new int[]{n, c, outH(), outW()}; }
    }

    /** The reference, step by step as in upfirdn2d.py: upsample, pad, crop, flip, correlate, downsample. */
    static double[] ref(Cfg g, double[] x, double[] f) {
        int hu = g.h * g.upY, wu = g.w * g.upX;
        // Zero-insert: sample (iy, ix) lands at (iy·upY, ix·upX); the up − 1 zeros follow it.
        double[][][] up = new double[g.n * g.c][hu][wu];
        for (int p = 0; p < g.n * g.c; p++)
            for (int iy = 0; iy < g.h; iy++)
                for (int ix = 0; ix < g.w; ix++) up[p][iy * g.upY][ix * g.upX] = x[(p * g.h + iy) * g.w + ix];
        // Pad by the positive parts, then crop by the negative parts.
        int ph = hu + Math.max(g.padY0, 0) + Math.max(g.padY1, 0), pw = wu + Math.max(g.padX0, 0) + Math.max(g.padX1, 0);
        double[][][] padded = new double[g.n * g.c][ph][pw];
        for (int p = 0; p < g.n * g.c; p++)
            for (int y = 0; y < hu; y++)
                for (int xx = 0; xx < wu; xx++) padded[p][y + Math.max(g.padY0, 0)][xx + Math.max(g.padX0, 0)] = up[p][y][xx];
        int y0 = Math.max(-g.padY0, 0), y1 = ph - Math.max(-g.padY1, 0);
        int x0 = Math.max(-g.padX0, 0), x1 = pw - Math.max(-g.padX1, 0);
        // flip_filter=False: the filter is flipped, then applied as conv2d (a correlation).
        double[][] ff = new double[g.fh][g.fw];
        for (int ky = 0; ky < g.fh; ky++)
            for (int kx = 0; kx < g.fw; kx++) ff[ky][kx] = f[(g.fh - 1 - ky) * g.fw + (g.fw - 1 - kx)];
        int ch = (y1 - y0) - g.fh + 1, cw = (x1 - x0) - g.fw + 1;
        int oh = (ch + g.downY - 1) / g.downY, ow = (cw + g.downX - 1) / g.downX;
        double[] out = new double[g.n * g.c * oh * ow];
        for (int p = 0; p < g.n * g.c; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double s = 0;
                    for (int ky = 0; ky < g.fh; ky++)
                        for (int kx = 0; kx < g.fw; kx++)
                            s += padded[p][y0 + oy * g.downY + ky][x0 + ox * g.downX + kx] * ff[ky][kx];
                    out[(p * oh + oy) * ow + ox] = s;
                }
        return out;
    }

    static Tensor run(Cfg g, Tensor x, Tensor f) {
        return ops().upfirdn2d(x, f, g.upX, g.upY, g.downX, g.downY, g.padX0, g.padX1, g.padY0, g.padY1);
    }

    static Tensor runBack(Cfg g, Tensor gy, Tensor f) {
        return ops().upfirdn2dBackward(gy, g.xShape(), f, g.upX, g.upY, g.downX, g.downY, g.padX0, g.padX1, g.padY0, g.padY1);
    }

    static void checkForward(Cfg g, long seed) {
        Random r = new Random(seed);
        Tensor x = randn(r, g.xShape());
        Tensor f = randn(r, g.fh, g.fw);
        double[] expected = ref(g, f64(x), f64(f));
        bothSimdPaths(() -> assertClose("upfirdn2d " + g, expected, g.outShape(),
                run(g, x, f), F32_ATOL, F32_RTOL));
    }

    static void checkBackward(Cfg g, long seed) {
        Random r = new Random(seed);
        Tensor x = randn(r, g.xShape());
        Tensor f = randn(r, g.fh, g.fw);
        double[] gy = randomGy(r, g.n * g.c * g.outH() * g.outW());
        double[] fd = f64(f);
        Function<double[][], double[]> fn = in -> ref(g, in[0], fd);
        bothSimdPaths(() -> checkGrad("upfirdn2dBackward " + g, fn, inputs(x), 0, gy,
                runBack(g, toTensor(gy, g.outShape()), f)));
    }

    // The generator's cases: the FIR blur after the stride-2 transposed conv, the image upsample.
    static final Cfg BLUR = new Cfg(2, 3, 9, 9, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1);
    static final Cfg IMAGE_UP = new Cfg(1, 3, 5, 6, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1);
    static final Cfg DOWN = new Cfg(2, 2, 9, 8, 4, 4, 1, 1, 2, 2, 1, 1, 1, 1);
    static final Cfg MIXED = new Cfg(1, 2, 5, 6, 3, 5, 3, 2, 2, 3, 1, 2, 2, 0);
    static final Cfg CROP = new Cfg(2, 1, 7, 6, 3, 3, 1, 2, 1, 1, -1, 2, 0, -2);
    static final Cfg ANISO = new Cfg(1, 2, 6, 7, 2, 5, 2, 1, 1, 2, 0, 3, 1, 1);

    @Test
    void blurAfterTransposedConvMatchesReference() {
        checkForward(BLUR, 1);
    }

    @Test
    void blurOnWideRowsMatchesReferenceThroughVectorTails() {
        checkForward(new Cfg(2, 3, 37, 41, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1), 2);
    }

    @Test
    void zeroInsertUpsampleMatchesReference() {
        checkForward(IMAGE_UP, 3);
        checkForward(new Cfg(1, 3, 19, 23, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1), 4);
    }

    @Test
    void downsampleKeepsEveryDownthSampleFromZero() {
        checkForward(DOWN, 5);
    }

    @Test
    void unequalUpAndDownFactorsUsePolyphaseTaps() {
        checkForward(MIXED, 6);
        checkForward(new Cfg(1, 1, 13, 17, 5, 4, 4, 3, 3, 2, 3, 1, 2, 2), 7);
    }

    @Test
    void negativePaddingCrops() {
        checkForward(CROP, 8);
        checkForward(new Cfg(1, 2, 8, 9, 2, 2, 2, 2, 1, 1, -3, -2, -1, -4), 9);
    }

    @Test
    void nonSquareFilterAndDifferentAxesMatchReference() {
        checkForward(ANISO, 10);
    }

    @Test
    void singleTapFilterIsAScaledResample() {
        checkForward(new Cfg(1, 2, 5, 5, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0), 11);
        checkForward(new Cfg(1, 2, 5, 5, 1, 1, 1, 1, 2, 2, 0, 0, 0, 0), 12);
    }

    @Test
    void filterIsFlippedAsATrueConvolution() {
        // An impulse through the asymmetric filter [[1, 2]] lands as f itself, not its mirror image.
        Tensor x = Tensor.of(new float[]{0, 1, 0}, 1, 1, 1, 3);
        Tensor f = Tensor.of(new float[]{1, 2}, 1, 2);
        Tensor y = ops().upfirdn2d(x, f, 1, 1, 1, 1, 1, 0, 0, 0);
        assertClose("impulse response", new double[]{0, 1, 2}, new int[]{1, 1, 1, 3}, y, 0, 0);
    }

    @Test
    void backwardIsTheAdjointOfTheBlur() {
        checkBackward(new Cfg(1, 2, 5, 6, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1), 21);
    }

    @Test
    void backwardIsTheAdjointOfTheUpsample() {
        checkBackward(new Cfg(1, 2, 4, 5, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1), 22);
    }

    @Test
    void backwardIsTheAdjointOfTheDownsample() {
        checkBackward(new Cfg(2, 1, 7, 6, 4, 4, 1, 1, 2, 2, 1, 1, 1, 1), 23);
        checkBackward(new Cfg(1, 1, 8, 9, 3, 3, 1, 1, 2, 3, 0, 1, 1, 0), 24);
    }

    @Test
    void backwardIsTheAdjointWithPolyphaseCropAndAnisotropy() {
        checkBackward(new Cfg(1, 2, 4, 5, 3, 5, 3, 2, 2, 3, 1, 2, 2, 0), 25);
        checkBackward(CROP, 26);
        checkBackward(ANISO, 27);
    }

    @Test
    void inputsAreNotModified() {
        Random r = new Random(30);
        Tensor x = randn(r, 1, 2, 5, 5), f = randn(r, 4, 4);
        double[] x0 = f64(x), f0 = f64(f);
        run(IMAGE_UP, x, f);
        Tensor gy = randn(r, 1, 2, 5, 5);
        double[] gy0 = f64(gy);
        ops().upfirdn2dBackward(gy, new int[]{1, 2, 5, 5}, f, 1, 1, 1, 1, 1, 2, 1, 2);
        assertClose("x", x0, f64(x), 0, 0);
        assertClose("f", f0, f64(f), 0, 0);
        assertClose("gy", gy0, f64(gy), 0, 0);
    }

    @Test
    void badArgumentsAreRejectedWithUsefulMessages() {
        Random r = new Random(40);
        Tensor x = randn(r, 1, 2, 5, 5), f = randn(r, 4, 4);
        expectMessage(() -> ops().upfirdn2d(randn(r, 2, 5, 5), f, 1, 1, 1, 1, 0, 0, 0, 0), "x has shape [2, 5, 5]");
        expectMessage(() -> ops().upfirdn2d(x, randn(r, 4), 1, 1, 1, 1, 0, 0, 0, 0), "f has shape [4]");
        expectMessage(() -> ops().upfirdn2d(x, f, 0, 1, 1, 1, 0, 0, 0, 0), "upX must be ≥ 1");
        expectMessage(() -> ops().upfirdn2d(x, f, 1, 1, 1, 1, -2, 0, 0, 0), "smaller than the filter");
        expectMessage(() -> ops().upfirdn2d(x.to(DType.F64), f, 1, 1, 1, 1, 0, 0, 0, 0), "x has dtype F64");
        expectMessage(() -> ops().upfirdn2dBackward(randn(r, 1, 2, 5, 4), new int[]{1, 2, 5, 5}, f, 1, 1, 1, 1, 1, 2, 1, 2),
                "gy has shape [1, 2, 5, 4], expected [N, C, outH, outW]=[1, 2, 5, 5]");
        expectMessage(() -> ops().upfirdn2dBackward(randn(r, 1, 2, 5, 5), new int[]{2, 5, 5}, f, 1, 1, 1, 1, 1, 2, 1, 2),
                "xShape");
    }

    static void expectMessage(Runnable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }
}
