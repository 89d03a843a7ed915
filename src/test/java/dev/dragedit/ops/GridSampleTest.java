package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gridSample (torch grid_sample, mode='bilinear', padding_mode='zeros', both align_corners) and its backward,
 * against a float64 reference written from the torch documentation: points inside, exactly on pixel centres, on
 * the border, partly and far outside the image; SIMD on and off. dgrid is checked at points away from integer pixel
 * coordinates, where the function is differentiable.
 */
class GridSampleTest {

    /** Pixel coordinate of a normalised coordinate g along an axis of the given size. */
    static double unnormalize(double g, int size, boolean alignCorners) {
        return alignCorners ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2;
    }

    /** The inverse of {@link #unnormalize}; with alignCorners a size-1 axis maps every point to pixel 0. */
    static double normalize(double pixel, int size, boolean alignCorners) {
        if (alignCorners && size == 1) return 0;
        return alignCorners ? 2 * pixel / (size - 1) - 1 : (2 * pixel + 1) / size - 1;
    }

    static double[] ref(double[] x, int[] xs, double[] grid, int ho, int wo, boolean alignCorners) {
        int n = xs[0], c = xs[1], h = xs[2], w = xs[3];
        double[] out = new double[n * c * ho * wo];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < ho * wo; i++) {
                double ix = unnormalize(grid[2 * (b * ho * wo + i)], w, alignCorners);
                double iy = unnormalize(grid[2 * (b * ho * wo + i) + 1], h, alignCorners);
                int x0 = (int) Math.floor(ix), y0 = (int) Math.floor(iy);
                double fx = ix - x0, fy = iy - y0;
                for (int ch = 0; ch < c; ch++) {
                    int base = (b * c + ch) * h * w;
                    double v = (1 - fx) * (1 - fy) * pixel(x, base, h, w, y0, x0) + fx * (1 - fy) * pixel(x, base, h, w, y0, x0 + 1)
                             + (1 - fx) * fy * pixel(x, base, h, w, y0 + 1, x0) + fx * fy * pixel(x, base, h, w, y0 + 1, x0 + 1);
                    out[(b * c + ch) * ho * wo + i] = v;
                }
            }
        return out;
    }

    /** Zero padding: pixels outside the image read as 0. */
    static double pixel(double[] x, int base, int h, int w, int y, int xx) {
        return y >= 0 && y < h && xx >= 0 && xx < w ? x[base + y * w + xx] : 0;
    }

    /**
     * Grid points of every kind: random over a range wider than the image, exact pixel centres, the four borders and
     * corners, half a pixel outside (one row of taps inside), far outside.
     */
    static Tensor mixedGrid(Random r, int n, int ho, int wo, int h, int w, boolean alignCorners) {
        float[] g = new float[n * ho * wo * 2];
        for (int i = 0; i < n * ho * wo; i++) {
            float gx, gy;
            switch (i % 6) {
                case 0 -> { gx = -1.3f + 2.6f * r.nextFloat(); gy = -1.3f + 2.6f * r.nextFloat(); }
                case 1 -> { gx = (float) normalize(r.nextInt(w), w, alignCorners); gy = (float) normalize(r.nextInt(h), h, alignCorners); }
                case 2 -> { gx = r.nextBoolean() ? -1f : 1f; gy = -1f + 2f * r.nextFloat(); }
                case 3 -> { gx = -1f + 2f * r.nextFloat(); gy = r.nextBoolean() ? -1f : 1f; }
                case 4 -> {
                    gx = (float) normalize(r.nextBoolean() ? -0.5 : w - 0.5, w, alignCorners);
                    gy = (float) normalize(r.nextBoolean() ? -0.5 - r.nextFloat() : h - 1 + r.nextFloat() * 1.5, h, alignCorners);
                }
                default -> { gx = r.nextBoolean() ? 3.5f : -1e6f; gy = -1f + 2f * r.nextFloat(); }
            }
            g[2 * i] = gx;
            g[2 * i + 1] = gy;
        }
        return Tensor.of(g, n, ho, wo, 2);
    }

    /** Points whose pixel coordinates are at least 0.1 from an integer, inside and up to one pixel outside. */
    static Tensor smoothGrid(Random r, int n, int ho, int wo, int h, int w, boolean alignCorners) {
        float[] g = new float[n * ho * wo * 2];
        for (int i = 0; i < n * ho * wo; i++) {
            g[2 * i] = (float) normalize(r.nextInt(w + 1) - 1 + 0.1 + 0.8 * r.nextDouble(), w, alignCorners);
            g[2 * i + 1] = (float) normalize(r.nextInt(h + 1) - 1 + 0.1 + 0.8 * r.nextDouble(), h, alignCorners);
        }
        return Tensor.of(g, n, ho, wo, 2);
    }

    static void checkForward(int[] xs, int ho, int wo, boolean alignCorners, long seed) {
        Random r = new Random(seed);
        Tensor x = randn(r, xs);
        Tensor grid = mixedGrid(r, xs[0], ho, wo, xs[2], xs[3], alignCorners);
        double[] expected = ref(f64(x), xs, f64(grid), ho, wo, alignCorners);
        bothSimdPaths(() -> assertClose("gridSample x=" + Arrays.toString(xs) + " grid " + ho + "×" + wo + " align=" + alignCorners,
                expected, new int[]{xs[0], xs[1], ho, wo}, ops().gridSample(x, grid, alignCorners), F32_ATOL, F32_RTOL));
    }

    static void checkBackward(int[] xs, int ho, int wo, boolean alignCorners, Tensor grid, long seed) {
        Random r = new Random(seed);
        Tensor x = randn(r, xs);
        double[] gy = randomGy(r, xs[0] * xs[1] * ho * wo);
        Tensor gyT = toTensor(gy, xs[0], xs[1], ho, wo);
        double[][] in = inputs(x, grid);
        Function<double[][], double[]> fn = v -> ref(v[0], xs, v[1], ho, wo, alignCorners);
        String what = "gridSampleBackward x=" + Arrays.toString(xs) + " grid " + ho + "×" + wo + " align=" + alignCorners;
        bothSimdPaths(() -> {
            Tensor[] g = ops().gridSampleBackward(gyT, x, grid, alignCorners, true, true);
            checkGrad(what + " dx", fn, in, 0, gy, g[0]);
            checkGrad(what + " dgrid", fn, in, 1, gy, g[1]);
        });
    }

    @Test
    void samplesInsideOnCentresOnBordersAndOutsideMatchReference() {
        for (boolean align : new boolean[]{true, false}) {
            checkForward(new int[]{2, 3, 7, 5}, 3, 7, align, 1);
            checkForward(new int[]{1, 5, 4, 6}, 9, 11, align, 2);
            checkForward(new int[]{3, 2, 5, 8}, 1, 1, align, 3);
            checkForward(new int[]{1, 1, 13, 11}, 2, 50, align, 4);
        }
    }

    @Test
    void oneByOneAndOneWideInputs() {
        for (boolean align : new boolean[]{true, false}) {
            checkForward(new int[]{2, 3, 1, 1}, 3, 5, align, 5);
            checkForward(new int[]{1, 2, 1, 7}, 4, 9, align, 6);
            checkForward(new int[]{1, 2, 6, 1}, 2, 3, align, 7);
        }
    }

    /** Values torch.nn.functional.grid_sample gives for x = [[1, 2], [3, 4]]. */
    @Test
    void knownTorchOutputsAtCentreAndCorners() {
        Tensor x = Tensor.of(new float[]{1, 2, 3, 4}, 1, 1, 2, 2);
        Tensor grid = Tensor.of(new float[]{0, 0, -1, -1, 1, 1, 1, -1, -1, 0.5f}, 1, 1, 5, 2);
        bothSimdPaths(() -> {
            assertClose("align_corners=True", new double[]{2.5, 1, 4, 2, 2.5}, new int[]{1, 1, 1, 5},
                    ops().gridSample(x, grid, true), F32_ATOL, F32_RTOL);
            assertClose("align_corners=False", new double[]{2.5, 0.25, 1, 0.5, 1.5}, new int[]{1, 1, 1, 5},
                    ops().gridSample(x, grid, false), F32_ATOL, F32_RTOL);
        });
    }

    @Test
    void nanCoordinatesGiveNanAndFarPointsGiveZeroWithoutErrors() {
        Tensor x = randn(new Random(8), 1, 2, 3, 4);
        Tensor grid = Tensor.of(new float[]{Float.NaN, 0, 1e30f, -1e30f, -3e9f, 0.2f, 0.1f, Float.POSITIVE_INFINITY}, 1, 2, 2, 2);
        bothSimdPaths(() -> {
            Tensor y = ops().gridSample(x, grid, false);
            for (int ch = 0; ch < 2; ch++) {
                assertTrue(Float.isNaN(y.data()[ch * 4]), "NaN coordinate");
                assertTrue(y.data()[ch * 4 + 1] == 0 && y.data()[ch * 4 + 2] == 0, "far outside");
            }
            Tensor[] g = ops().gridSampleBackward(Tensor.full(1f, 1, 2, 2, 2), x, grid, false, true, true);
            float[] dg = g[1].data();
            for (int i = 2; i < 6; i++) assertTrue(dg[i] == 0, "dgrid far outside [" + i + "] = " + dg[i]);
            for (float v : g[0].data()) assertTrue(v == 0, "dx from points outside the image");
        });
    }

    @Test
    void backwardMatchesFiniteDifferencesAwayFromPixelCoordinates() {
        for (boolean align : new boolean[]{true, false}) {
            Random r = new Random(align ? 9 : 10);
            checkBackward(new int[]{2, 3, 5, 4}, 3, 5, align, smoothGrid(r, 2, 3, 5, 5, 4, align), 11);
            checkBackward(new int[]{1, 2, 3, 6}, 2, 11, align, smoothGrid(r, 1, 2, 11, 3, 6, align), 12);
            checkBackward(new int[]{1, 2, 7, 3}, 1, 2, align, smoothGrid(r, 1, 1, 2, 7, 3, align), 13);
            checkBackward(new int[]{1, 37, 4, 3}, 2, 3, align, smoothGrid(r, 1, 2, 3, 4, 3, align), 14);
        }
    }

    /**
     * The adjoint of {@link #ref} written out: dx spreads gy onto the four taps; dgrid is the derivative of the
     * bilinear form in ix, iy (floor convention) times the unnormalisation factor.
     */
    static double[][] refBackward(double[] gy, double[] x, int[] xs, double[] grid, int ho, int wo, boolean alignCorners) {
        int n = xs[0], c = xs[1], h = xs[2], w = xs[3];
        double[] dx = new double[x.length], dgrid = new double[grid.length];
        double sx = alignCorners ? (w - 1) / 2.0 : w / 2.0, sy = alignCorners ? (h - 1) / 2.0 : h / 2.0;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < ho * wo; i++) {
                int gi = 2 * (b * ho * wo + i);
                double ix = unnormalize(grid[gi], w, alignCorners), iy = unnormalize(grid[gi + 1], h, alignCorners);
                int x0 = (int) Math.floor(ix), y0 = (int) Math.floor(iy);
                double fx = ix - x0, fy = iy - y0;
                for (int ch = 0; ch < c; ch++) {
                    int base = (b * c + ch) * h * w;
                    double g = gy[(b * c + ch) * ho * wo + i];
                    double[][] taps = {{y0, x0, (1 - fx) * (1 - fy)}, {y0, x0 + 1, fx * (1 - fy)}, {y0 + 1, x0, (1 - fx) * fy}, {y0 + 1, x0 + 1, fx * fy}};
                    for (double[] t : taps) {
                        int ty = (int) t[0], tx = (int) t[1];
                        if (ty >= 0 && ty < h && tx >= 0 && tx < w) dx[base + ty * w + tx] += t[2] * g;
                    }
                    double nw = pixel(x, base, h, w, y0, x0), ne = pixel(x, base, h, w, y0, x0 + 1);
                    double sw = pixel(x, base, h, w, y0 + 1, x0), se = pixel(x, base, h, w, y0 + 1, x0 + 1);
                    dgrid[gi] += ((1 - fy) * (ne - nw) + fy * (se - sw)) * g * sx;
                    dgrid[gi + 1] += ((1 - fx) * (sw - nw) + fx * (se - ne)) * g * sy;
                }
            }
        return new double[][]{dx, dgrid};
    }

    static double maxAbs(double[] v) {
        double m = 0;
        for (double d : v) m = Math.max(m, Math.abs(d));
        return m;
    }

    /** Large enough that every kernel splits its work over threads, with two dgrid channel groups. */
    @Test
    void largeInputsSplitAcrossThreadsMatchReference() {
        for (boolean align : new boolean[]{true, false}) {
            Random r = new Random(align ? 18 : 19);
            int[] xs = {2, 40, 20, 24};
            int ho = 48, wo = 64;
            Tensor x = randn(r, xs);
            Tensor mixed = mixedGrid(r, 2, ho, wo, 20, 24, align), smooth = smoothGrid(r, 2, ho, wo, 20, 24, align);
            Tensor gy = randn(r, 2, 40, ho, wo);
            double[] expected = ref(f64(x), xs, f64(mixed), ho, wo, align);
            double[] dxMixed = refBackward(f64(gy), f64(x), xs, f64(mixed), ho, wo, align)[0];
            double[] dgridSmooth = refBackward(f64(gy), f64(x), xs, f64(smooth), ho, wo, align)[1];
            String what = "large align=" + align;
            bothSimdPaths(() -> {
                assertClose("gridSample " + what, expected, new int[]{2, 40, ho, wo},
                        ops().gridSample(x, mixed, align), F32_ATOL, F32_RTOL);
                assertClose("gridSampleBackward dx " + what, dxMixed, xs,
                        ops().gridSampleBackward(gy, x, mixed, align, true, false)[0], F32_ATOL, F32_RTOL);
                // dgrid sums 40 channels of terms up to ~300 that cancel: judged like checkGrad, relative to the largest.
                assertClose("gridSampleBackward dgrid " + what, dgridSmooth, new int[]{2, ho, wo, 2},
                        ops().gridSampleBackward(gy, x, smooth, align, false, true)[1], GRAD_ATOL * Math.max(1, maxAbs(dgridSmooth)), GRAD_RTOL);
            });
        }
    }

    @Test
    void inputGradientIsRightOnPixelCentresBordersAndOutside() {
        for (boolean align : new boolean[]{true, false}) {
            Random r = new Random(align ? 14 : 15);
            int[] xs = {2, 2, 4, 5};
            Tensor grid = mixedGrid(r, 2, 3, 4, 4, 5, align);
            Tensor x = randn(r, xs);
            double[] gy = randomGy(r, 2 * 2 * 3 * 4);
            Tensor gyT = toTensor(gy, 2, 2, 3, 4);
            Function<double[][], double[]> fn = v -> ref(v[0], xs, v[1], 3, 4, align);
            bothSimdPaths(() -> {
                Tensor[] g = ops().gridSampleBackward(gyT, x, grid, align, true, false);
                checkGrad("gridSampleBackward dx mixed points align=" + align, fn, inputs(x, grid), 0, gy, g[0]);
                assertNull(g[1], "dgrid when not needed");
            });
        }
    }

    @Test
    void onePixelInputHasZeroGridGradientWithAlignCorners() {
        Random r = new Random(16);
        Tensor x = randn(r, 1, 3, 1, 1);
        Tensor grid = uniform(r, -0.9f, 0.9f, 1, 2, 3, 2);
        Tensor gy = randn(r, 1, 3, 2, 3);
        bothSimdPaths(() -> {
            Tensor[] g = ops().gridSampleBackward(gy, x, grid, true, false, true);
            assertNull(g[0], "dx when not needed");
            assertClose("dgrid 1×1 align", new double[12], new int[]{1, 2, 3, 2}, g[1], 0, 0);
        });
    }

    @Test
    void inputsAreNotModified() {
        Random r = new Random(17);
        Tensor x = randn(r, 1, 2, 5, 6);
        Tensor grid = mixedGrid(r, 1, 3, 4, 5, 6, false);
        Tensor gy = randn(r, 1, 2, 3, 4);
        float[] xb = x.data().clone(), gb = grid.data().clone(), gyb = gy.data().clone();
        ops().gridSample(x, grid, false);
        ops().gridSampleBackward(gy, x, grid, false, true, true);
        assertArrayEquals(xb, x.data());
        assertArrayEquals(gb, grid.data());
        assertArrayEquals(gyb, gy.data());
    }

    @Test
    void badArgumentsAreRejectedWithUsefulMessages() {
        Tensor x = Tensor.zeros(2, 3, 4, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops().gridSample(Tensor.zeros(3, 4, 5), Tensor.zeros(3, 1, 1, 2), true));
        assertTrue(e.getMessage().contains("[3, 4, 5]") && e.getMessage().contains("[N, C, H, W]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().gridSample(x, Tensor.zeros(2, 3, 3, 3), true));
        assertTrue(e.getMessage().contains("grid") && e.getMessage().contains("[2, 3, 3, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().gridSample(x, Tensor.zeros(1, 3, 3, 2), true));
        assertTrue(e.getMessage().contains("[1, 3, 3, 2]") && e.getMessage().contains("N=2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().gridSample(x, Tensor.zeros(DType.F64, 2, 3, 3, 2), true));
        assertTrue(e.getMessage().contains("grid") && e.getMessage().contains("F64"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().gridSample(Tensor.zeros(2, 3, 0, 5), Tensor.zeros(2, 3, 3, 2), true));
        assertTrue(e.getMessage().contains("[2, 3, 0, 5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ops().gridSampleBackward(Tensor.zeros(2, 3, 3, 4), x, Tensor.zeros(2, 3, 3, 2), true, true, true));
        assertTrue(e.getMessage().contains("gy") && e.getMessage().contains("[2, 3, 3, 3]"), e.getMessage());
    }
}
