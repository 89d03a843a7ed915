package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * conv2d and its backward against a float64 direct convolution (torch.nn.functional.conv2d semantics), over kernel
 * sizes, strides, asymmetric padding, dilation and groups, with the SIMD paths on and off.
 */
class Conv2dTest {

    /** One convolution: x [n, cin, h, w], w [cout, cin/groups, kh, kw], bias [cout] when {@code bias}. */
    record Case(String name, int n, int cin, int h, int w, int cout, int kh, int kw, Conv2dParams p, boolean bias) {
        int ho() { return p.outH(h, kh); }
        int wo() { return p.outW(w, kw); }
        int[] xShape() { return new int[]{n, cin, h, w}; }
        int[] wShape() { return new int[]{cout, cin / p.groups(), kh, kw}; }
        int[] yShape() { return new int[]{n, cout, ho(), wo()}; }
    }

    private static Conv2dParams params(int sh, int sw, int pt, int pb, int pl, int pr, int dh, int dw, int groups) {
        return new Conv2dParams(sh, sw, pt, pb, pl, pr, dh, dw, groups);
    }

    /** Small enough for finite differences. */
    static final List<Case> CASES = List.of(
            new Case("3x3 pad 1", 1, 3, 7, 9, 4, 3, 3, Conv2dParams.of(1, 1), true),
            new Case("3x3 stride 2", 2, 4, 8, 7, 5, 3, 3, Conv2dParams.of(2, 1), true),
            new Case("3x2 asymmetric padding, stride 1x2", 2, 3, 9, 8, 2, 3, 2, params(1, 2, 2, 0, 1, 3, 1, 1, 1), false),
            new Case("dilation 2", 1, 4, 11, 10, 3, 3, 3, params(1, 1, 2, 2, 2, 2, 2, 2, 1), true),
            new Case("asymmetric 'same' padding", 2, 3, 6, 7, 2, 3, 3, params(1, 1, 0, 2, 2, 0, 1, 1, 1), true),
            new Case("asymmetric 'same' padding, dilation 3x3 2-wide kernel", 1, 2, 8, 9, 3, 2, 2, params(1, 1, 2, 1, 1, 2, 3, 3, 1), false),
            new Case("stride 3x2 dilation 3x2 asymmetric", 1, 3, 17, 14, 2, 3, 2, params(3, 2, 1, 2, 0, 3, 3, 2, 1), true),
            new Case("groups 2", 2, 6, 7, 7, 4, 3, 3, Conv2dParams.of(1, 1).withGroups(2), true),
            new Case("depthwise stride 2", 1, 5, 9, 8, 5, 3, 3, Conv2dParams.of(2, 1).withGroups(5), true),
            new Case("depthwise multiplier 2", 1, 4, 6, 10, 8, 3, 3, Conv2dParams.of(1, 1).withGroups(4), false),
            new Case("1x1", 2, 6, 7, 5, 8, 1, 1, Conv2dParams.of(1, 0), true),
            new Case("1x1 groups 3", 1, 6, 5, 7, 9, 1, 1, Conv2dParams.of(1, 0).withGroups(3), true),
            new Case("1x1 stride 2", 1, 6, 9, 7, 3, 1, 1, Conv2dParams.of(2, 0), true),
            new Case("1x1 pad 1", 1, 3, 5, 6, 2, 1, 1, Conv2dParams.of(1, 1), false),
            new Case("5x5 pad 2", 1, 3, 13, 11, 4, 5, 5, Conv2dParams.of(1, 2), true),
            new Case("5x5 kernel larger than the 2x3 input", 2, 2, 2, 3, 3, 5, 5, Conv2dParams.of(1, 2), true),
            new Case("kernel as large as the input", 1, 2, 4, 4, 2, 4, 4, Conv2dParams.of(1, 0), true),
            new Case("1x5 kernel, 5x1 stride", 1, 2, 11, 6, 3, 1, 5, params(5, 1, 0, 0, 2, 2, 1, 1, 1), true),
            new Case("per-sample groups as in StyleGAN's modulated conv", 1, 3 * 4, 6, 5, 3 * 2, 3, 3,
                    Conv2dParams.of(1, 1).withGroups(3), false));

    /** Large enough that the work is split into bands of output rows, shared among threads. */
    static final List<Case> BANDED = List.of(
            new Case("banded 3x3 batch 2", 2, 16, 40, 37, 12, 3, 3, Conv2dParams.of(1, 1), true),
            new Case("banded 3x3 batch 1", 1, 16, 45, 30, 8, 3, 3, Conv2dParams.of(1, 1), true),
            new Case("banded 5x5 dilation 2 stride 2", 1, 8, 70, 53, 6, 5, 5, params(2, 2, 4, 3, 4, 1, 2, 2, 1), false),
            new Case("banded 1x1", 2, 24, 48, 40, 16, 1, 1, Conv2dParams.of(1, 0), true),
            new Case("banded depthwise", 2, 12, 33, 41, 12, 3, 3, Conv2dParams.of(1, 1).withGroups(12), true));

    // ---------------------------------------------------------------- float64 references

    /** The definition: y[n, co, oh, ow] = b[co] + Σ_{ci in co's group, ki, kj} x[n, ci, oh·s − pad + ki·d, …]·w[co, ci, ki, kj]. */
    static double[] refConv(Case c, double[] x, double[] w, double[] b) {
        Conv2dParams p = c.p();
        int ho = c.ho(), wo = c.wo(), cg = c.cin() / p.groups(), coutg = c.cout() / p.groups();
        double[] y = new double[c.n() * c.cout() * ho * wo];
        for (int n = 0; n < c.n(); n++)
            for (int co = 0; co < c.cout(); co++)
                for (int oh = 0; oh < ho; oh++)
                    for (int ow = 0; ow < wo; ow++) {
                        double s = b == null ? 0 : b[co];
                        int group = co / coutg;
                        for (int ci = 0; ci < cg; ci++)
                            for (int ki = 0; ki < c.kh(); ki++)
                                for (int kj = 0; kj < c.kw(); kj++) {
                                    int ih = oh * p.strideH() - p.padTop() + ki * p.dilationH();
                                    int iw = ow * p.strideW() - p.padLeft() + kj * p.dilationW();
                                    if (ih < 0 || ih >= c.h() || iw < 0 || iw >= c.w()) continue;
                                    s += x[((n * c.cin() + group * cg + ci) * c.h() + ih) * c.w() + iw]
                                            * w[((co * cg + ci) * c.kh() + ki) * c.kw() + kj];
                                }
                        y[((n * c.cout() + co) * ho + oh) * wo + ow] = s;
                    }
        return y;
    }

    /** {dx, dw, db} of Σ gy·y by the chain rule through the same loops (for shapes too large for finite differences). */
    static double[][] refConvGrads(Case c, double[] x, double[] w, double[] gy) {
        Conv2dParams p = c.p();
        int ho = c.ho(), wo = c.wo(), cg = c.cin() / p.groups(), coutg = c.cout() / p.groups();
        double[] dx = new double[x.length], dw = new double[w.length], db = new double[c.cout()];
        for (int n = 0; n < c.n(); n++)
            for (int co = 0; co < c.cout(); co++)
                for (int oh = 0; oh < ho; oh++)
                    for (int ow = 0; ow < wo; ow++) {
                        double g = gy[((n * c.cout() + co) * ho + oh) * wo + ow];
                        db[co] += g;
                        int group = co / coutg;
                        for (int ci = 0; ci < cg; ci++)
                            for (int ki = 0; ki < c.kh(); ki++)
                                for (int kj = 0; kj < c.kw(); kj++) {
                                    int ih = oh * p.strideH() - p.padTop() + ki * p.dilationH();
                                    int iw = ow * p.strideW() - p.padLeft() + kj * p.dilationW();
                                    if (ih < 0 || ih >= c.h() || iw < 0 || iw >= c.w()) continue;
                                    int xi = ((n * c.cin() + group * cg + ci) * c.h() + ih) * c.w() + iw;
                                    int wi = ((co * cg + ci) * c.kh() + ki) * c.kw() + kj;
                                    dx[xi] += g * w[wi];
                                    dw[wi] += g * x[xi];
                                }
                    }
        return new double[][]{dx, dw, db};
    }

    // ---------------------------------------------------------------- helpers

    private static Tensor[] randomInputs(Case c, long seed) {
        Random r = new Random(seed);
        return new Tensor[]{randn(r, c.xShape()), randn(r, c.wShape()), c.bias() ? randn(r, c.cout()) : null};
    }

    private static void checkForward(Case c, long seed) {
        Tensor[] in = randomInputs(c, seed);
        double[] expected = refConv(c, f64(in[0]), f64(in[1]), in[2] == null ? null : f64(in[2]));
        bothSimdPaths(() -> assertClose(c.name(), expected, c.yShape(),
                ops().conv2d(in[0], in[1], in[2], c.p()), F32_ATOL, F32_RTOL));
    }

    // ---------------------------------------------------------------- tests

    @Test
    void conv2dMatchesDirectReferenceOnManyConfigurations() {
        long seed = 1;
        for (Case c : CASES) checkForward(c, seed++);
    }

    @Test
    void conv2dBackwardMatchesFiniteDifferences() {
        long seed = 100;
        for (Case c : CASES) {
            Tensor[] in = randomInputs(c, seed++);
            double[][] inputs = in[2] == null ? inputs(in[0], in[1]) : inputs(in[0], in[1], in[2]);
            double[] gy = randomGy(new Random(seed++), (int) Tensor.numel(c.yShape()));
            Tensor gyT = toTensor(gy, c.yShape());
            java.util.function.Function<double[][], double[]> ref = v -> refConv(c, v[0], v[1], v.length > 2 ? v[2] : null);
            bothSimdPaths(() -> {
                Tensor[] g = ops().conv2dBackward(gyT, in[0], in[1], c.p(), true, true, c.bias());
                String tag = c.name();
                checkGrad(tag + " dx", ref, inputs, 0, gy, g[0]);
                checkGrad(tag + " dw", ref, inputs, 1, gy, g[1]);
                if (c.bias()) checkGrad(tag + " dbias", ref, inputs, 2, gy, g[2]);
                else assertNull(g[2], tag + ": dbias must be null when needBias is false");
            });
        }
    }

    @Test
    void conv2dAndBackwardMatchReferenceWhenSplitIntoBandsAcrossThreads() {
        long seed = 200;
        for (Case c : BANDED) {
            checkForward(c, seed++);
            Tensor[] in = randomInputs(c, seed++);
            double[] gy = randomGy(new Random(seed++), (int) Tensor.numel(c.yShape()));
            double[][] ref = refConvGrads(c, f64(in[0]), f64(in[1]), gy);
            bothSimdPaths(() -> {
                Tensor[] g = ops().conv2dBackward(toTensor(gy, c.yShape()), in[0], in[1], c.p(), true, true, true);
                String tag = c.name();
                assertGradClose(tag + " dx", ref[0], c.xShape(), g[0]);
                assertGradClose(tag + " dw", ref[1], c.wShape(), g[1]);
                assertGradClose(tag + " dbias", ref[2], new int[]{c.cout()}, g[2]);
            });
        }
    }

    /** An F32 gradient against an exact float64 one, with checkGrad's tolerance (scaled by the gradient's size). */
    static void assertGradClose(String what, double[] expected, int[] shape, Tensor actual) {
        double scale = 0;
        for (double v : expected) scale = Math.max(scale, Math.abs(v));
        assertClose(what, expected, shape, actual, GRAD_ATOL * Math.max(1, scale), GRAD_RTOL);
    }

    @Test
    void conv2dBackwardReturnsOnlyTheRequestedGradients() {
        Case c = CASES.get(0);
        Tensor[] in = randomInputs(c, 7);
        Tensor gy = randn(new Random(8), c.yShape());
        Tensor[] onlyW = ops().conv2dBackward(gy, in[0], in[1], c.p(), false, true, false);
        assertNull(onlyW[0]);
        assertArrayEquals(c.wShape(), onlyW[1].shape());
        assertNull(onlyW[2]);
        Tensor[] onlyX = ops().conv2dBackward(gy, in[0], in[1], c.p(), true, false, true);
        assertArrayEquals(c.xShape(), onlyX[0].shape());
        assertNull(onlyX[1]);
        assertArrayEquals(new int[]{c.cout()}, onlyX[2].shape());
    }

    @Test
    void conv2dLeavesItsInputsUnchanged() {
        for (Case c : List.of(CASES.get(1), CASES.get(8), BANDED.get(0))) {
            Tensor[] in = randomInputs(c, 11);
            Tensor gy = randn(new Random(12), c.yShape());
            double[] x0 = f64(in[0]), w0 = f64(in[1]), b0 = f64(in[2]), gy0 = f64(gy);
            ops().conv2d(in[0], in[1], in[2], c.p());
            ops().conv2dBackward(gy, in[0], in[1], c.p(), true, true, true);
            assertArrayEquals(x0, f64(in[0]), c.name() + ": x modified");
            assertArrayEquals(w0, f64(in[1]), c.name() + ": w modified");
            assertArrayEquals(b0, f64(in[2]), c.name() + ": bias modified");
            assertArrayEquals(gy0, f64(gy), c.name() + ": gy modified");
        }
    }

    @Test
    void conv2dRejectsAKernelLargerThanThePaddedInput() {
        Tensor x = Tensor.zeros(1, 2, 2, 6), w = Tensor.zeros(3, 2, 5, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops().conv2d(x, w, null, Conv2dParams.of(1, 1)));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("4×8") && e.getMessage().contains("5×3"), e.getMessage());
    }

    @Test
    void conv2dRejectsBadShapesWithUsefulMessages() {
        Tensor x = Tensor.zeros(2, 6, 5, 5);
        Conv2dParams p = Conv2dParams.of(1, 1);
        assertMessage("conv2d: w has shape [3, 4, 3, 3], expected [Cout, Cin/groups=3",
                () -> ops().conv2d(x, Tensor.zeros(3, 4, 3, 3), null, p.withGroups(2)));
        assertMessage("conv2d: x has 6 input channels", () -> ops().conv2d(x, Tensor.zeros(4, 1, 3, 3), null, p.withGroups(4)));
        assertMessage("conv2d: w has 3 output channels", () -> ops().conv2d(x, Tensor.zeros(3, 3, 3, 3), null, p.withGroups(2)));
        assertMessage("conv2d: x has shape [6, 5, 5], expected [N, Cin, H, W]",
                () -> ops().conv2d(Tensor.zeros(6, 5, 5), Tensor.zeros(3, 6, 3, 3), null, p));
        assertMessage("conv2d: bias has shape [4], expected [Cout=3]",
                () -> ops().conv2d(x, Tensor.zeros(3, 6, 3, 3), Tensor.zeros(4), p));
        assertMessage("conv2d: x must be an F32 CPU tensor, found F64",
                () -> ops().conv2d(Tensor.zeros(DType.F64, 2, 6, 5, 5), Tensor.zeros(3, 6, 3, 3), null, p));
        assertMessage("conv2dBackward: gy has shape [2, 3, 4, 5], expected [N, Cout, Ho, Wo] = [2, 3, 5, 5]",
                () -> ops().conv2dBackward(Tensor.zeros(2, 3, 4, 5), x, Tensor.zeros(3, 6, 3, 3), p, true, true, true));
    }

    static void assertMessage(String expectedStart, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(expectedStart), "message '" + e.getMessage() + "' should start with '" + expectedStart + "'");
    }
}
