package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.OpTestSupport;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.HALF_TYPES;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.assertMatchesHalf;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.onDevice;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.rounded;

/**
 * The resampling kernels (kernels/sampling.cu through {@link CudaSampling}) against the CPU op set on
 * {@link Devices#best()} — the emulation where there is no GPU — on random inputs with odd sizes: nearest 2× of
 * rank 2 to 4, bilinear resize up (7×5→12×9), down (13×11→4×6), from and to 1×1 and to the same size, and grid
 * sampling with points inside, exactly on pixel centres and the border (±1), outside the image and NaN, with
 * align_corners both ways. Outputs are poisoned with NaN before every launch, so an element a kernel does not write
 * fails the comparison (gridSampleBackward's dx is zeroed by design: it accumulates atomics).
 * <p>
 * Tolerance: |gpu − cpu| ≤ atol + rtol·|cpu| with atol = rtol = 1e-5. The sums here are short (a 2×2 block, the
 * bilinear taps, a resize gather of at most a few dozen terms) except dgrid, a sum over C channels; for it atol
 * grows as 1e-5·max(1, √C / 4) (float32 rounding of a length-C sum grows like √C).
 * <p>
 * F16/BF16: every op and backward against the CPU op on the inputs rounded to the dtype, within
 * {@link CudaOpTestSupport#assertMatchesHalf}'s 1e-2·(|want| + rms(want)) (F32 arithmetic, one rounding per result;
 * gridSampleBackward's dx accumulates in F32 and is converted once). Mixed dtypes are refused.
 */
class CudaSamplingTest {
    private static final double TOL = 1e-5;
    private static final CpuOps CPU = CpuOps.INSTANCE;
    private static KernelDevice dev;

    @BeforeAll static void open() { dev = CudaOpTestSupport.open("CudaSamplingTest"); }

    @AfterAll static void close() { CudaOpTestSupport.close(dev); }



    private static Tensor d(Tensor t) { return t.toDevice(dev); }

    /** Close within tolerance, with NaN allowed only exactly where the CPU result is NaN. */
    private static void close(String what, Tensor cpu, Tensor gpu, double atol) {
        assertNotNull(gpu, what + ": missing on the device");
        assertTrue(gpu.onDevice(), what + ": expected a device tensor");
        double[] e = OpTestSupport.f64(cpu), a = OpTestSupport.f64(gpu.toCpu());
        assertArrayEquals(cpu.shape(), gpu.shape(), what + ": shape");
        for (int i = 0; i < e.length; i++) {
            if (Double.isNaN(e[i])) {
                assertTrue(Double.isNaN(a[i]), what + ": [" + i + "] got " + a[i] + ", expected NaN");
                e[i] = a[i] = 0;
            }
        }
        OpTestSupport.assertClose(what, e, a, atol, TOL);
    }

    private static void close(String what, Tensor cpu, Tensor gpu) { close(what, cpu, gpu, TOL); }

    // ---------------------------------------------------------------- nearest 2×

    @Test
    void nearest2xAndBackwardMatchCpuOnOddShapes() {
        Random r = new Random(1);
        for (int[] s : new int[][]{{7, 5}, {2, 3, 7, 5}, {1, 1}, {3, 1, 9}, {2, 1, 1, 13}}) {
            String what = "upsampleNearest2x " + Arrays.toString(s);
            Tensor x = OpTestSupport.randn(r, s);
            close(what, CPU.upsampleNearest2x(x), CudaSampling.upsampleNearest2x(d(x)));
            int[] gs = s.clone();
            gs[gs.length - 2] *= 2;
            gs[gs.length - 1] *= 2;
            Tensor gy = OpTestSupport.randn(r, gs);
            close(what + " backward", CPU.upsampleNearest2xBackward(gy), CudaSampling.upsampleNearest2xBackward(d(gy)));
        }
    }

    // ---------------------------------------------------------------- bilinear resize

    /** {planes..., inH, inW, outH, outW}. */
    private static final int[][] RESIZE_CASES = {
            {2, 3, 7, 5, 12, 9},    // upsample, non-integer factors
            {1, 2, 13, 11, 4, 6},   // downsample: some input pixels get no gradient
            {3, 1, 1, 3, 4},        // from 1×1
            {2, 5, 6, 1, 1},        // to 1×1
            {1, 7, 5, 7, 5},        // same size: the identity
            {2, 4, 3, 16, 13},      // large factors: many output pixels per input pixel
            {1, 9, 2, 3, 8},        // down in one axis, up in the other
    };

    @Test
    void resizeBilinearAndBackwardMatchCpuUpDownAndOneByOne() {
        Random r = new Random(2);
        for (int[] c : RESIZE_CASES) {
            int[] in = Arrays.copyOf(c, c.length - 2);
            int outH = c[c.length - 2], outW = c[c.length - 1];
            int inH = in[in.length - 2], inW = in[in.length - 1];
            String what = "resizeBilinear " + Arrays.toString(in) + " -> " + outH + "x" + outW;
            Tensor x = OpTestSupport.randn(r, in);
            close(what, CPU.resizeBilinear(x, outH, outW), CudaSampling.resizeBilinear(d(x), outH, outW));
            int[] os = in.clone();
            os[os.length - 2] = outH;
            os[os.length - 1] = outW;
            Tensor gy = OpTestSupport.randn(r, os);
            close(what + " backward", CPU.resizeBilinearBackward(gy, inH, inW),
                    CudaSampling.resizeBilinearBackward(d(gy), inH, inW));
        }
    }

    /**
     * A NaN in gy reaches every input pixel whose taps include it, even with weight 0 (the clamped source at the
     * upper-left border of a strong upsample): the gather must visit the same taps as the CPU scatter.
     */
    @Test
    void resizeBilinearBackwardSpreadsNaNToTheSameInputsAsCpu() {
        Random r = new Random(7);
        Tensor gy = OpTestSupport.randn(r, 1, 15, 14);
        gy.data()[0] = Float.NaN;
        Tensor cpu = CPU.resizeBilinearBackward(gy, 2, 2);
        assertTrue(Double.isNaN(cpu.getDouble(1)), "the CPU op reaches input column 1 from output column 0");
        close("resizeBilinearBackward NaN 15x14 -> 2x2", cpu, CudaSampling.resizeBilinearBackward(d(gy), 2, 2));
    }

    // ---------------------------------------------------------------- grid sample

    /**
     * A grid [n, ho, wo, 2] mixing random points in [−1.3, 1.3], points on pixel centres of both conventions, the
     * border ±1, points far outside and, when {@code withNaN}, a NaN coordinate.
     */
    private static Tensor grid(Random r, int n, int ho, int wo, int h, int w, boolean withNaN) {
        float[] g = new float[n * ho * wo * 2];
        for (int i = 0; i < g.length; i += 2) {
            int kind = r.nextInt(6);
            for (int k = 0; k < 2; k++) {
                int size = k == 0 ? w : h;
                int pix = r.nextInt(size);
                g[i + k] = switch (kind) {
                    case 0 -> size == 1 ? 0f : 2f * pix / (size - 1) - 1f;   // a pixel centre, align_corners=True
                    case 1 -> (2f * pix + 1f) / size - 1f;                   // a pixel centre, align_corners=False
                    case 2 -> r.nextBoolean() ? 1f : -1f;                    // the border
                    case 3 -> r.nextBoolean() ? 2.5f : -3f;                  // outside
                    default -> -1.3f + 2.6f * r.nextFloat();
                };
            }
        }
        if (withNaN && g.length >= 4) g[2] = Float.NaN;
        return Tensor.of(g, n, ho, wo, 2);
    }

    /** {N, C, H, W, Ho, Wo}. */
    private static final int[][] GRID_CASES = {
            {2, 3, 7, 5, 4, 6},
            {1, 11, 5, 9, 3, 3},    // channels split over two forward threads (8 per thread)
            {1, 2, 1, 1, 2, 3},     // a 1×1 image
            {2, 1, 4, 6, 1, 1},     // one location
            {1, 40, 3, 4, 5, 7},    // dgrid summed over many channels
    };

    @Test
    void gridSampleMatchesCpuInsideOnEdgesAndOutsideBothAlignments() {
        Random r = new Random(3);
        for (int[] c : GRID_CASES) {
            for (boolean align : new boolean[]{false, true}) {
                String what = "gridSample " + Arrays.toString(c) + " alignCorners=" + align;
                Tensor x = OpTestSupport.randn(r, c[0], c[1], c[2], c[3]);
                Tensor g = grid(r, c[0], c[4], c[5], c[2], c[3], false);
                close(what, CPU.gridSample(x, g, align), CudaSampling.gridSample(d(x), d(g), align));
            }
        }
    }

    @Test
    void gridSampleBackwardMatchesCpuForDxAndDgrid() {
        Random r = new Random(4);
        for (int[] c : GRID_CASES) {
            for (boolean align : new boolean[]{false, true}) {
                String what = "gridSampleBackward " + Arrays.toString(c) + " alignCorners=" + align;
                Tensor x = OpTestSupport.randn(r, c[0], c[1], c[2], c[3]);
                Tensor g = grid(r, c[0], c[4], c[5], c[2], c[3], false);
                Tensor gy = OpTestSupport.randn(r, c[0], c[1], c[4], c[5]);
                Tensor[] cpu = CPU.gridSampleBackward(gy, x, g, align, true, true);
                Tensor[] gpu = CudaSampling.gridSampleBackward(d(gy), d(x), d(g), align, true, true);
                close(what + " dx", cpu[0], gpu[0]);
                close(what + " dgrid", cpu[1], gpu[1], TOL * Math.max(1, Math.sqrt(c[1]) / 4));
                Tensor[] onlyX = CudaSampling.gridSampleBackward(d(gy), d(x), d(g), align, true, false);
                close(what + " dx alone", cpu[0], onlyX[0]);
                assertNull(onlyX[1], what + ": dgrid not requested");
                Tensor[] onlyGrid = CudaSampling.gridSampleBackward(d(gy), d(x), d(g), align, false, true);
                assertNull(onlyGrid[0], what + ": dx not requested");
                close(what + " dgrid alone", cpu[1], onlyGrid[1], TOL * Math.max(1, Math.sqrt(c[1]) / 4));
            }
        }
    }

    @Test
    void gridSampleNaNCoordinateGivesNaNLikeCpu() {
        Random r = new Random(5);
        for (boolean align : new boolean[]{false, true}) {
            Tensor x = OpTestSupport.randn(r, 1, 2, 5, 4);
            Tensor g = grid(r, 1, 3, 3, 5, 4, true);
            Tensor gy = OpTestSupport.randn(r, 1, 2, 3, 3);
            String what = "gridSample NaN alignCorners=" + align;
            Tensor cpuY = CPU.gridSample(x, g, align);
            assertTrue(Double.isNaN(cpuY.getDouble(1)), "the CPU op gives NaN at a NaN coordinate");
            close(what, cpuY, CudaSampling.gridSample(d(x), d(g), align));
            Tensor[] cpu = CPU.gridSampleBackward(gy, x, g, align, true, true);
            Tensor[] gpu = CudaSampling.gridSampleBackward(d(gy), d(x), d(g), align, true, true);
            close(what + " dx", cpu[0], gpu[0]);
            close(what + " dgrid", cpu[1], gpu[1]);
        }
    }

    // ---------------------------------------------------------------- 16-bit storage

    @Test
    void halfPrecisionNearestAndResizeMatchCpuOnRoundedInputs() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(31);
            Tensor x = OpTestSupport.randn(r, 2, 3, 7, 5), xr = rounded(x, dt), xd = onDevice(x, dt, dev);
            assertMatchesHalf("upsampleNearest2x", CPU.upsampleNearest2x(xr), CudaSampling.upsampleNearest2x(xd), dt);
            Tensor gy = OpTestSupport.randn(r, 2, 3, 14, 10);
            assertMatchesHalf("upsampleNearest2xBackward", CPU.upsampleNearest2xBackward(rounded(gy, dt)),
                    CudaSampling.upsampleNearest2xBackward(onDevice(gy, dt, dev)), dt);
            for (int[] o : new int[][]{{12, 9}, {4, 3}, {1, 1}}) {
                String what = "resizeBilinear [7, 5] -> " + Arrays.toString(o);
                assertMatchesHalf(what, CPU.resizeBilinear(xr, o[0], o[1]), CudaSampling.resizeBilinear(xd, o[0], o[1]), dt);
                Tensor g = OpTestSupport.randn(r, 2, 3, o[0], o[1]);
                assertMatchesHalf(what + " backward", CPU.resizeBilinearBackward(rounded(g, dt), 7, 5),
                        CudaSampling.resizeBilinearBackward(onDevice(g, dt, dev), 7, 5), dt);
            }
        }
    }

    @Test
    void halfPrecisionGridSampleAndBackwardMatchCpuOnRoundedInputs() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(32);
            for (int[] c : new int[][]{{2, 3, 7, 5, 4, 6}, {1, 11, 5, 9, 3, 3}}) {
                for (boolean align : new boolean[]{false, true}) {
                    String what = "gridSample " + Arrays.toString(c) + " alignCorners=" + align;
                    Tensor x = OpTestSupport.randn(r, c[0], c[1], c[2], c[3]);
                    Tensor g = grid(r, c[0], c[4], c[5], c[2], c[3], false);
                    Tensor gy = OpTestSupport.randn(r, c[0], c[1], c[4], c[5]);
                    Tensor xr = rounded(x, dt), gr = rounded(g, dt), gyr = rounded(gy, dt);
                    Tensor xd = onDevice(x, dt, dev), gd = onDevice(g, dt, dev), gyd = onDevice(gy, dt, dev);
                    assertMatchesHalf(what, CPU.gridSample(xr, gr, align), CudaSampling.gridSample(xd, gd, align), dt);
                    Tensor[] cpu = CPU.gridSampleBackward(gyr, xr, gr, align, true, true);
                    Tensor[] gpu = CudaSampling.gridSampleBackward(gyd, xd, gd, align, true, true);
                    assertMatchesHalf(what + " dx", cpu[0], gpu[0], dt);
                    assertMatchesHalf(what + " dgrid", cpu[1], gpu[1], dt);
                    Tensor[] onlyX = CudaSampling.gridSampleBackward(gyd, xd, gd, align, true, false);
                    assertMatchesHalf(what + " dx alone", cpu[0], onlyX[0], dt);
                    assertNull(onlyX[1], what + ": dgrid not requested");
                }
            }
        }
    }

    @Test
    void mixedDtypeArgumentsAreRefused() {
        Random r = new Random(33);
        Tensor x = onDevice(OpTestSupport.randn(r, 1, 2, 3, 4), DType.F16, dev);
        Tensor g = onDevice(OpTestSupport.randn(r, 1, 2, 2, 2), DType.BF16, dev);
        assertMessage(() -> CudaSampling.gridSample(x, g, false), "gridSample: grid is BF16 but the first input is F16");
        Tensor g16 = onDevice(OpTestSupport.randn(r, 1, 2, 2, 2), DType.F16, dev);
        Tensor gy = d(OpTestSupport.randn(r, 1, 2, 2, 2));
        assertMessage(() -> CudaSampling.gridSampleBackward(gy, x, g16, false, true, true),
                "gridSampleBackward: gy is F32 but the first input is F16");
    }

    // ---------------------------------------------------------------- argument checks

    @Test
    void badShapesAndHostTensorsAreRejectedWithClearMessages() {
        Random r = new Random(6);
        Tensor v = d(OpTestSupport.randn(r, 5));
        assertMessage(() -> CudaSampling.upsampleNearest2x(v), "upsampleNearest2x: x has shape [5]");
        Tensor odd = d(OpTestSupport.randn(r, 3, 4));
        assertMessage(() -> CudaSampling.upsampleNearest2xBackward(odd), "expected even sizes");
        Tensor x = d(OpTestSupport.randn(r, 2, 3, 4, 5));
        assertMessage(() -> CudaSampling.resizeBilinear(x, 0, 3), "resizeBilinear: output size (0, 3) must be positive");
        assertMessage(() -> CudaSampling.resizeBilinearBackward(x, 2, -1), "resizeBilinearBackward: input size (2, -1)");
        Tensor badGrid = d(OpTestSupport.randn(r, 2, 3, 3, 3));
        assertMessage(() -> CudaSampling.gridSample(x, badGrid, false), "gridSample: grid has shape [2, 3, 3, 3], expected [N=2, Ho, Wo, 2]");
        Tensor g = d(OpTestSupport.randn(r, 2, 3, 3, 2));
        Tensor badGy = d(OpTestSupport.randn(r, 2, 3, 3, 4));
        assertMessage(() -> CudaSampling.gridSampleBackward(badGy, x, g, false, true, true), "gridSampleBackward: gy has shape [2, 3, 3, 4]");
        Tensor host = OpTestSupport.randn(r, 2, 3, 4, 5);
        assertMessage(() -> CudaSampling.resizeBilinear(host, 3, 3), "resizeBilinear: x is on the CPU, expected an F32, F16 or BF16 tensor on a kernel device");
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), "message \"" + e.getMessage() + "\" should contain \"" + fragment + "\"");
    }
}
