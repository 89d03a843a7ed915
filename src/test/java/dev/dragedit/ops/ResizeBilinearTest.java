package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * resizeBilinear (torch interpolate(size=…, mode='bilinear', align_corners=False, antialias=False) of the last two
 * dims) and its backward, against a float64 reference written from torch's CPU kernel, for upsampling,
 * downsampling, mixed, identity and 1×1 sizes, SIMD on and off.
 */
class ResizeBilinearTest {

    /** Source index pair and weights along one axis: src = max(0, in/out·(d + ½) − ½), top tap clamped at in − 1. */
    static double[][] axis(int in, int out) {
        double[][] t = new double[out][];
        for (int d = 0; d < out; d++) {
            double src = Math.max(0, (double) in / out * (d + 0.5) - 0.5);
            int i0 = Math.min((int) Math.floor(src), in - 1);
            int i1 = Math.min(i0 + 1, in - 1);
            double lambda = Math.min(Math.max(src - i0, 0), 1);
            t[d] = new double[]{i0, i1, 1 - lambda, lambda};
        }
        return t;
    }

    static double[] ref(double[] x, int[] shape, int outH, int outW) {
        int r = shape.length, h = shape[r - 2], w = shape[r - 1];
        int planes = x.length / (h * w);
        double[][] ay = axis(h, outH), ax = axis(w, outW);
        double[] out = new double[planes * outH * outW];
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++) {
                    int y0 = (int) ay[oy][0], y1 = (int) ay[oy][1], x0 = (int) ax[ox][0], x1 = (int) ax[ox][1];
                    double v = ay[oy][2] * (ax[ox][2] * x[(p * h + y0) * w + x0] + ax[ox][3] * x[(p * h + y0) * w + x1])
                             + ay[oy][3] * (ax[ox][2] * x[(p * h + y1) * w + x0] + ax[ox][3] * x[(p * h + y1) * w + x1]);
                    out[(p * outH + oy) * outW + ox] = v;
                }
        return out;
    }

    static int[] resized(int[] shape, int outH, int outW) {
        int[] o = shape.clone();
        o[o.length - 2] = outH;
        o[o.length - 1] = outW;
        return o;
    }

    static void checkForward(int[] shape, int outH, int outW, long seed) {
        Tensor x = randn(new Random(seed), shape);
        double[] expected = ref(f64(x), shape, outH, outW);
        bothSimdPaths(() -> assertClose("resizeBilinear " + Arrays.toString(shape) + " → " + outH + "×" + outW,
                expected, resized(shape, outH, outW), ops().resizeBilinear(x, outH, outW), F32_ATOL, F32_RTOL));
    }

    static void checkBackward(int[] shape, int outH, int outW, long seed) {
        Random r = new Random(seed);
        Tensor x = randn(r, shape);
        int[] os = resized(shape, outH, outW);
        double[] gy = randomGy(r, (int) Tensor.numel(os));
        Tensor gyT = toTensor(gy, os);
        int inH = shape[shape.length - 2], inW = shape[shape.length - 1];
        Function<double[][], double[]> fn = v -> ref(v[0], shape, outH, outW);
        bothSimdPaths(() -> {
            Tensor dx = ops().resizeBilinearBackward(gyT, inH, inW);
            assertArrayEquals(shape, dx.shape(), "resizeBilinearBackward shape");
            checkGrad("resizeBilinearBackward " + Arrays.toString(shape) + " → " + outH + "×" + outW,
                    fn, inputs(x), 0, gy, dx);
        });
    }

    @Test
    void upsamplingMatchesReferenceOnOddSizes() {
        checkForward(new int[]{2, 3, 7, 5}, 12, 9, 1);
        checkForward(new int[]{1, 2, 8, 16}, 16, 32, 2);
        checkForward(new int[]{1, 1, 5, 9}, 13, 41, 3);
    }

    @Test
    void downsamplingTakesTwoTapsWithoutAntialiasing() {
        checkForward(new int[]{2, 3, 13, 11}, 4, 6, 4);
        checkForward(new int[]{1, 2, 32, 40}, 5, 17, 5);
        checkForward(new int[]{1, 1, 5, 6}, 1, 1, 6);
    }

    @Test
    void mixedIdentityAndOneByOneSizes() {
        checkForward(new int[]{2, 2, 6, 3}, 2, 11, 7);
        checkForward(new int[]{1, 3, 4, 7}, 4, 7, 8);
        checkForward(new int[]{2, 3, 1, 1}, 3, 4, 9);
        checkForward(new int[]{1, 1, 1, 1}, 1, 1, 10);
        checkForward(new int[]{1, 1, 1, 5}, 3, 9, 11);
    }

    @Test
    void anyRankOfAtLeastTwoIsResizedInItsLastTwoDims() {
        checkForward(new int[]{7, 5}, 12, 9, 12);
        checkForward(new int[]{4, 13, 11}, 4, 6, 13);
        checkForward(new int[]{2, 1, 2, 3, 5}, 8, 4, 14);
    }

    /** Values printed by torch.nn.functional.interpolate for these inputs. */
    @Test
    void knownTorchOutputs() {
        Tensor x = Tensor.of(new float[]{1, 2, 3, 4}, 1, 1, 2, 2);
        bothSimdPaths(() -> assertClose("2×2 → 4×4", new double[]{
                1.0, 1.25, 1.75, 2.0,
                1.5, 1.75, 2.25, 2.5,
                2.5, 2.75, 3.25, 3.5,
                3.0, 3.25, 3.75, 4.0}, new int[]{1, 1, 4, 4}, ops().resizeBilinear(x, 4, 4), F32_ATOL, F32_RTOL));
        float[] ramp = new float[16];
        for (int i = 0; i < 16; i++) ramp[i] = i;
        Tensor y = Tensor.of(ramp, 4, 4);
        bothSimdPaths(() -> assertClose("4×4 → 2×2", new double[]{2.5, 4.5, 10.5, 12.5}, new int[]{2, 2},
                ops().resizeBilinear(y, 2, 2), F32_ATOL, F32_RTOL));
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        checkBackward(new int[]{2, 3, 7, 5}, 12, 9, 15);
        checkBackward(new int[]{1, 2, 13, 11}, 4, 6, 16);
        checkBackward(new int[]{1, 1, 6, 3}, 2, 11, 17);
        checkBackward(new int[]{2, 1, 1, 1}, 3, 4, 18);
        checkBackward(new int[]{1, 2, 5, 6}, 1, 1, 19);
        checkBackward(new int[]{1, 1, 4, 7}, 4, 7, 20);
        checkBackward(new int[]{3, 8}, 6, 19, 21);
    }

    /** The adjoint of {@link #ref}: each gy element spread onto its four taps. */
    static double[] refBackward(double[] gy, int planes, int inH, int inW, int outH, int outW) {
        double[][] ay = axis(inH, outH), ax = axis(inW, outW);
        double[] dx = new double[planes * inH * inW];
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++) {
                    double g = gy[(p * outH + oy) * outW + ox];
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++)
                            dx[(p * inH + (int) ay[oy][a]) * inW + (int) ax[ox][b]] += ay[oy][2 + a] * ax[ox][2 + b] * g;
                }
        return dx;
    }

    /** Large enough that the op splits the planes over threads; 4× upsampling as DragDiffusion does with features. */
    @Test
    void largeInputsSplitAcrossThreadsMatchReference() {
        checkForward(new int[]{1, 64, 24, 20}, 48, 40, 24);
        checkForward(new int[]{2, 16, 16, 16}, 64, 64, 25);
        int[][] cases = {{64, 24, 20, 48, 40}, {32, 16, 16, 64, 64}, {64, 40, 44, 13, 9}};
        for (int[] c : cases) {
            Random r = new Random(26);
            Tensor gy = randn(r, 1, c[0], c[3], c[4]);
            double[] expected = refBackward(f64(gy), c[0], c[1], c[2], c[3], c[4]);
            bothSimdPaths(() -> assertClose("resizeBilinearBackward large " + Arrays.toString(c), expected,
                    new int[]{1, c[0], c[1], c[2]}, ops().resizeBilinearBackward(gy, c[1], c[2]), F32_ATOL, F32_RTOL));
        }
    }

    @Test
    void inputIsNotModified() {
        Tensor x = randn(new Random(22), 2, 7, 5);
        float[] before = x.data().clone();
        ops().resizeBilinear(x, 12, 9);
        Tensor gy = randn(new Random(23), 2, 12, 9);
        float[] gyBefore = gy.data().clone();
        ops().resizeBilinearBackward(gy, 7, 5);
        assertArrayEquals(before, x.data());
        assertArrayEquals(gyBefore, gy.data());
    }

    @Test
    void badArgumentsAreRejectedWithUsefulMessages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops().resizeBilinear(Tensor.zeros(5), 2, 2));
        assertTrue(e.getMessage().contains("resizeBilinear") && e.getMessage().contains("[5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().resizeBilinear(Tensor.zeros(1, 3, 4), 0, 2));
        assertTrue(e.getMessage().contains("(0, 2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().resizeBilinear(Tensor.zeros(1, 0, 4), 2, 2));
        assertTrue(e.getMessage().contains("[1, 0, 4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().resizeBilinearBackward(Tensor.zeros(2, 3), 0, 5));
        assertTrue(e.getMessage().contains("resizeBilinearBackward") && e.getMessage().contains("(0, 5)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().resizeBilinear(Tensor.zeros(DType.F64, 2, 2), 3, 3));
        assertTrue(e.getMessage().contains("F64") && e.getMessage().contains("F32"), e.getMessage());
    }
}
