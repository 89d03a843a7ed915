package dev.dragedit.ops;

import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.Conv2dTest.assertGradClose;
import static dev.dragedit.ops.Conv2dTest.assertMessage;
import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * convTranspose2d and its backward against a float64 direct transposed convolution (torch conv_transpose2d: every
 * input pixel scatters its kernel-weighted value into the output; padding crops, output padding extends the bottom
 * and right), with the SIMD paths on and off.
 */
class ConvTranspose2dTest {

    /** x [n, cin, h, w], w [cin, cout/groups, kh, kw], bias [cout] when {@code bias}. */
    record Case(String name, int n, int cin, int h, int w, int cout, int kh, int kw, Conv2dParams p, int opH, int opW,
                boolean bias) {
        int ho() { return (h - 1) * p.strideH() - p.padTop() - p.padBottom() + p.dilationH() * (kh - 1) + 1 + opH; }
        int wo() { return (w - 1) * p.strideW() - p.padLeft() - p.padRight() + p.dilationW() * (kw - 1) + 1 + opW; }
        int[] xShape() { return new int[]{n, cin, h, w}; }
        int[] wShape() { return new int[]{cin, cout / p.groups(), kh, kw}; }
        int[] yShape() { return new int[]{n, cout, ho(), wo()}; }
    }

    private static Conv2dParams params(int sh, int sw, int pt, int pb, int pl, int pr, int dh, int dw, int groups) {
        return new Conv2dParams(sh, sw, pt, pb, pl, pr, dh, dw, groups);
    }

    static final List<Case> CASES = List.of(
            new Case("3x3 stride 2 pad 1 output padding 1", 1, 3, 4, 5, 4, 3, 3, Conv2dParams.of(2, 1), 1, 1, true),
            new Case("4x4 stride 2 pad 1", 2, 3, 3, 4, 2, 4, 4, Conv2dParams.of(2, 1), 0, 0, false),
            new Case("3x2 stride 2x3 asymmetric padding, output padding 1x2", 1, 2, 5, 4, 3, 3, 2,
                    params(2, 3, 2, 0, 0, 1, 1, 1, 1), 1, 2, true),
            new Case("dilation 2, output padding 1 ≥ stride 1", 1, 3, 5, 6, 2, 3, 3, params(1, 1, 1, 2, 0, 1, 2, 2, 1), 1, 1, true),
            new Case("stride 3 dilation 2 with output padding 2", 1, 2, 3, 4, 3, 3, 2, params(3, 3, 1, 0, 2, 1, 2, 2, 1), 2, 1, true),
            new Case("groups 2", 2, 4, 4, 5, 6, 3, 3, params(2, 1, 1, 1, 1, 1, 1, 1, 2), 1, 0, true),
            new Case("depthwise", 1, 4, 5, 4, 4, 3, 3, Conv2dParams.of(2, 1).withGroups(4), 1, 1, true),
            new Case("1x1", 2, 5, 4, 6, 3, 1, 1, Conv2dParams.of(1, 0), 0, 0, true),
            new Case("1x1 stride 2 output padding 1", 1, 4, 3, 5, 3, 1, 1, Conv2dParams.of(2, 0), 1, 1, false),
            new Case("5x5 kernel over a 2x1 input", 2, 2, 2, 1, 3, 5, 5, Conv2dParams.of(1, 0), 0, 0, true),
            new Case("padding crops the output to one row", 1, 2, 1, 2, 2, 3, 3, Conv2dParams.of(1, 1), 0, 0, true),
            new Case("per-sample groups as in StyleGAN's upsampling modulated conv", 1, 2 * 3, 4, 3, 2 * 2, 3, 3,
                    Conv2dParams.of(2, 0).withGroups(2), 0, 0, false));

    static final List<Case> BANDED = List.of(
            new Case("banded 3x3 stride 2 upsampling", 2, 12, 22, 19, 10, 3, 3, Conv2dParams.of(2, 1), 1, 1, true),
            new Case("banded 4x4 stride 2", 1, 16, 25, 17, 8, 4, 4, Conv2dParams.of(2, 1), 0, 0, true),
            new Case("banded 3x3 stride 1", 1, 10, 40, 33, 12, 3, 3, Conv2dParams.of(1, 1), 0, 0, false),
            new Case("banded 1x1", 2, 20, 36, 30, 14, 1, 1, Conv2dParams.of(1, 0), 0, 0, true));

    /** The definition: x[n, ci, i, j]·w[ci, co, ki, kj] lands on y[n, co, i·s − pad + ki·d, j·s − pad + kj·d] (when inside). */
    static double[] refConvTranspose(Case c, double[] x, double[] w, double[] b) {
        Conv2dParams p = c.p();
        int ho = c.ho(), wo = c.wo(), cg = c.cin() / p.groups(), coutg = c.cout() / p.groups();
        double[] y = new double[c.n() * c.cout() * ho * wo];
        for (int n = 0; n < c.n(); n++) {
            if (b != null)
                for (int co = 0; co < c.cout(); co++)
                    for (int q = 0; q < ho * wo; q++) y[(n * c.cout() + co) * ho * wo + q] = b[co];
            for (int ci = 0; ci < c.cin(); ci++) {
                int group = ci / cg;
                for (int i = 0; i < c.h(); i++)
                    for (int j = 0; j < c.w(); j++) {
                        double xv = x[((n * c.cin() + ci) * c.h() + i) * c.w() + j];
                        for (int col = 0; col < coutg; col++)
                            for (int ki = 0; ki < c.kh(); ki++)
                                for (int kj = 0; kj < c.kw(); kj++) {
                                    int oh = i * p.strideH() - p.padTop() + ki * p.dilationH();
                                    int ow = j * p.strideW() - p.padLeft() + kj * p.dilationW();
                                    if (oh < 0 || oh >= ho || ow < 0 || ow >= wo) continue;
                                    int co = group * coutg + col;
                                    y[((n * c.cout() + co) * ho + oh) * wo + ow] += xv * w[((ci * coutg + col) * c.kh() + ki) * c.kw() + kj];
                                }
                    }
            }
        }
        return y;
    }

    private static Tensor[] randomInputs(Case c, long seed) {
        Random r = new Random(seed);
        return new Tensor[]{randn(r, c.xShape()), randn(r, c.wShape()), c.bias() ? randn(r, c.cout()) : null};
    }

    private static void checkForward(Case c, long seed) {
        Tensor[] in = randomInputs(c, seed);
        double[] expected = refConvTranspose(c, f64(in[0]), f64(in[1]), in[2] == null ? null : f64(in[2]));
        bothSimdPaths(() -> assertClose(c.name(), expected, c.yShape(),
                ops().convTranspose2d(in[0], in[1], in[2], c.p(), c.opH(), c.opW()), F32_ATOL, F32_RTOL));
    }

    @Test
    void convTranspose2dMatchesDirectReferenceOnManyConfigurations() {
        long seed = 1;
        for (Case c : CASES) checkForward(c, seed++);
        for (Case c : BANDED) checkForward(c, seed++);
    }

    @Test
    void convTranspose2dOutputSizeFollowsTorchWithOutputPadding() {
        Tensor x = Tensor.zeros(1, 2, 5, 7);
        assertArrayEquals(new int[]{1, 3, 10, 14}, ops().convTranspose2d(x, Tensor.zeros(2, 3, 3, 3), null, Conv2dParams.of(2, 1), 1, 1).shape());
        assertArrayEquals(new int[]{1, 3, 9, 13}, ops().convTranspose2d(x, Tensor.zeros(2, 3, 3, 3), null, Conv2dParams.of(2, 1), 0, 0).shape());
        assertArrayEquals(new int[]{1, 6, 10, 14}, ops().convTranspose2d(x, Tensor.zeros(2, 3, 4, 4), null, Conv2dParams.of(2, 1).withGroups(2), 0, 0).shape());
        assertArrayEquals(new int[]{1, 3, 9, 11}, ops().convTranspose2d(x, Tensor.zeros(2, 3, 3, 3), null, params(1, 1, 0, 0, 0, 0, 2, 2, 1), 0, 0).shape());
    }

    @Test
    void convTranspose2dBackwardMatchesFiniteDifferences() {
        long seed = 100;
        for (Case c : CASES) {
            Tensor[] in = randomInputs(c, seed++);
            double[][] inputs = in[2] == null ? inputs(in[0], in[1]) : inputs(in[0], in[1], in[2]);
            double[] gy = randomGy(new Random(seed++), (int) Tensor.numel(c.yShape()));
            Tensor gyT = toTensor(gy, c.yShape());
            Function<double[][], double[]> ref = v -> refConvTranspose(c, v[0], v[1], v.length > 2 ? v[2] : null);
            bothSimdPaths(() -> {
                Tensor[] g = ops().convTranspose2dBackward(gyT, in[0], in[1], c.p(), c.opH(), c.opW(), true, true, c.bias());
                String tag = c.name();
                checkGrad(tag + " dx", ref, inputs, 0, gy, g[0]);
                checkGrad(tag + " dw", ref, inputs, 1, gy, g[1]);
                if (c.bias()) checkGrad(tag + " dbias", ref, inputs, 2, gy, g[2]);
                else assertNull(g[2], tag + ": dbias must be null when needBias is false");
            });
        }
    }

    /** Shapes too large for finite differences: against the chain rule through the reference's loops. */
    @Test
    void convTranspose2dBackwardMatchesReferenceWhenSplitIntoBandsAcrossThreads() {
        long seed = 200;
        for (Case c : BANDED) {
            Tensor[] in = randomInputs(c, seed++);
            double[] gy = randomGy(new Random(seed++), (int) Tensor.numel(c.yShape()));
            double[][] ref = refGrads(c, f64(in[0]), f64(in[1]), gy);
            bothSimdPaths(() -> {
                Tensor[] g = ops().convTranspose2dBackward(toTensor(gy, c.yShape()), in[0], in[1], c.p(), c.opH(), c.opW(), true, true, true);
                String tag = c.name();
                assertGradClose(tag + " dx", ref[0], c.xShape(), g[0]);
                assertGradClose(tag + " dw", ref[1], c.wShape(), g[1]);
                assertGradClose(tag + " dbias", ref[2], new int[]{c.cout()}, g[2]);
            });
        }
    }

    /** {dx, dw, db} of Σ gy·y by the chain rule through the reference's loops. */
    private static double[][] refGrads(Case c, double[] x, double[] w, double[] gy) {
        Conv2dParams p = c.p();
        int ho = c.ho(), wo = c.wo(), cg = c.cin() / p.groups(), coutg = c.cout() / p.groups();
        double[] dx = new double[x.length], dw = new double[w.length], db = new double[c.cout()];
        for (int n = 0; n < c.n(); n++) {
            for (int co = 0; co < c.cout(); co++)
                for (int q = 0; q < ho * wo; q++) db[co] += gy[(n * c.cout() + co) * ho * wo + q];
            for (int ci = 0; ci < c.cin(); ci++)
                for (int i = 0; i < c.h(); i++)
                    for (int j = 0; j < c.w(); j++)
                        for (int col = 0; col < coutg; col++)
                            for (int ki = 0; ki < c.kh(); ki++)
                                for (int kj = 0; kj < c.kw(); kj++) {
                                    int oh = i * p.strideH() - p.padTop() + ki * p.dilationH();
                                    int ow = j * p.strideW() - p.padLeft() + kj * p.dilationW();
                                    if (oh < 0 || oh >= ho || ow < 0 || ow >= wo) continue;
                                    int xi = ((n * c.cin() + ci) * c.h() + i) * c.w() + j;
                                    int wi = ((ci * coutg + col) * c.kh() + ki) * c.kw() + kj;
                                    double g = gy[((n * c.cout() + (ci / cg) * coutg + col) * ho + oh) * wo + ow];
                                    dx[xi] += g * w[wi];
                                    dw[wi] += g * x[xi];
                                }
        }
        return new double[][]{dx, dw, db};
    }

    @Test
    void convTranspose2dRejectsBadArgumentsWithUsefulMessages() {
        Tensor x = Tensor.zeros(1, 4, 5, 5);
        Conv2dParams p = Conv2dParams.of(2, 1);
        assertMessage("convTranspose2d: output padding 2×0 must be ≥ 0 and smaller than either stride (2×2) or dilation (1×1)",
                () -> ops().convTranspose2d(x, Tensor.zeros(4, 3, 3, 3), null, p, 2, 0));
        assertMessage("convTranspose2d: w has shape [3, 3, 3, 3], expected [Cin=4, Cout/groups, kh ≥ 1, kw ≥ 1]",
                () -> ops().convTranspose2d(x, Tensor.zeros(3, 3, 3, 3), null, p, 0, 0));
        assertMessage("convTranspose2d: x has 4 input channels", () -> ops().convTranspose2d(x, Tensor.zeros(4, 3, 3, 3), null, p.withGroups(3), 0, 0));
        assertMessage("convTranspose2d: bias has shape [3], expected [Cout=6]",
                () -> ops().convTranspose2d(x, Tensor.zeros(4, 3, 3, 3), Tensor.zeros(3), p.withGroups(2), 0, 0));
        assertMessage("convTranspose2d: output size -1×-1",
                () -> ops().convTranspose2d(Tensor.zeros(1, 4, 1, 1), Tensor.zeros(4, 3, 1, 1), null, Conv2dParams.of(1, 1), 0, 0));
        assertMessage("convTranspose2dBackward: gy has shape [1, 3, 9, 9], expected [N, Cout, Ho, Wo] = [1, 3, 10, 10]",
                () -> ops().convTranspose2dBackward(Tensor.zeros(1, 3, 9, 9), x, Tensor.zeros(4, 3, 3, 3), p, 1, 1, true, true, true));
    }
}
