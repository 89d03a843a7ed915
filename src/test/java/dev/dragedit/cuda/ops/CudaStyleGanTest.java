package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.OpTestSupport;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The StyleGAN2 kernels (kernels/stylegan.cu through {@link CudaStyleGan}) against the CPU op set on
 * {@link Devices#best()} — the emulation where there is no GPU — on random odd-sized inputs: the modulated
 * convolution with N = 2, k = 1 and 3, demodulation on and off (the convolution itself runs in {@link CudaConv});
 * upfirdn2d as a blur, an
 * up=2 with the generator's padding, a down=2, a non-square filter with different factors per axis and a cropping
 * (negative) pad, and both up and down at once; bias_act with and without clamp, with and without bias. Outputs are
 * poisoned with NaN before every launch, so an element a kernel does not write fails the comparison.
 * <p>
 * Tolerance: |gpu − cpu| ≤ atol + rtol·|cpu| with atol = rtol = 1e-5; upfirdn2d sums at most fh·fw products per
 * output, so the plain bound holds. The modulated convolution's outputs are sums of Cin·k² (conv, dstyles: Cout·k²)
 * products on top of the weights' own Cin·k² demodulation sum; they use the reduction-length-aware bound with
 * L = that length (the plain bound for the sizes here). dbias is a float32 tree over N·inner elements against the CPU's float64 sum; its
 * rounding error grows like √L·2⁻²⁴ of the summed magnitude, so it uses atol = 1e-5·max(1, √L / 16).
 */
class CudaStyleGanTest {
    private static final double TOL = 1e-5;
    private static final CpuOps CPU = CpuOps.INSTANCE;
    private static KernelDevice dev;

    @BeforeAll static void open() { dev = CudaOpTestSupport.open("CudaStyleGanTest"); }

    @AfterAll static void close() { CudaOpTestSupport.close(dev); }

    private static Tensor d(Tensor t) { return t == null ? null : t.toDevice(dev); }

    private static void close(String what, Tensor cpu, Tensor gpu, int reductionLength) {
        CudaOpTestSupport.assertMatchesReduced(what, cpu, gpu, reductionLength);
    }

    // ---------------------------------------------------------------- modulated convolution

    /** {N, Cin, H, W, Cout, k, padding}. */
    private static final int[][] MOD_CASES = {
            {2, 3, 5, 7, 4, 3, 1},     // 3×3 "same" convolution, odd sizes
            {2, 5, 4, 3, 3, 1, 0},     // 1×1 (toRGB-like)
            {2, 2, 6, 5, 3, 3, 0},     // 3×3 without padding: smaller output
    };

    @Test
    void modulatedConv2dMatchesCpuWithAndWithoutDemodulation() {
        Random r = new Random(31);
        for (int[] c : MOD_CASES) {
            for (boolean demod : new boolean[]{true, false}) {
                Tensor x = OpTestSupport.randn(r, c[0], c[1], c[2], c[3]);
                Tensor w = OpTestSupport.randn(r, c[4], c[1], c[5], c[5]);
                Tensor s = OpTestSupport.uniform(r, 0.5f, 1.5f, c[0], c[1]);
                String what = "modulatedConv2d " + Arrays.toString(c) + " demod=" + demod;
                int len = c[1] * c[5] * c[5];
                close(what, CPU.modulatedConv2d(x, w, s, demod, c[6]), CudaStyleGan.modulatedConv2d(d(x), d(w), d(s), demod, c[6]), len);
            }
        }
    }

    @Test
    void modulatedConv2dBackwardMatchesCpuForDxDwAndDstyles() {
        Random r = new Random(32);
        for (int[] c : MOD_CASES) {
            for (boolean demod : new boolean[]{true, false}) {
                Tensor x = OpTestSupport.randn(r, c[0], c[1], c[2], c[3]);
                Tensor w = OpTestSupport.randn(r, c[4], c[1], c[5], c[5]);
                Tensor s = OpTestSupport.uniform(r, 0.5f, 1.5f, c[0], c[1]);
                Tensor y = CPU.modulatedConv2d(x, w, s, demod, c[6]);
                Tensor gy = OpTestSupport.randn(r, y.shape());
                String what = "modulatedConv2dBackward " + Arrays.toString(c) + " demod=" + demod;
                Tensor[] ref = CPU.modulatedConv2dBackward(gy, x, w, s, demod, c[6]);
                Tensor[] got = CudaStyleGan.modulatedConv2dBackward(d(gy), d(x), d(w), d(s), demod, c[6]);
                int plane = y.dim(2) * y.dim(3);
                close(what + " dx", ref[0], got[0], c[4] * c[5] * c[5]);
                close(what + " dw", ref[1], got[1], c[0] * plane);
                close(what + " dstyles", ref[2], got[2], c[4] * c[5] * c[5] * plane);
            }
        }
    }

    @Test
    void modulatedConv2dRejectsBadShapesWithUsefulMessages() {
        Tensor x = d(Tensor.zeros(2, 3, 5, 5)), w = d(Tensor.zeros(4, 3, 3, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CudaStyleGan.modulatedConv2d(x, w, d(Tensor.zeros(2, 4)), true, 1));
        assertTrue(e.getMessage().contains("styles has shape [2, 4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CudaStyleGan.modulatedConv2d(x, d(Tensor.zeros(4, 2, 3, 3)), d(Tensor.zeros(2, 3)), true, 1));
        assertTrue(e.getMessage().contains("w has shape [4, 2, 3, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CudaStyleGan.modulatedConv2dBackward(d(Tensor.zeros(2, 4, 3, 3)), x, w, d(Tensor.zeros(2, 3)), true, 1));
        assertTrue(e.getMessage().contains("gy has shape"), e.getMessage());
    }

    // ---------------------------------------------------------------- upfirdn2d

    /** {N, C, H, W, fh, fw, upX, upY, downX, downY, padX0, padX1, padY0, padY1}. */
    private static final int[][] FIR_CASES = {
            {2, 3, 7, 9, 4, 4, 1, 1, 1, 1, 2, 1, 2, 1},      // blur (the FIR after a transposed conv)
            {1, 3, 5, 6, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1},      // up = 2 with the generator's padding
            {2, 2, 9, 8, 4, 4, 1, 1, 2, 2, 1, 1, 1, 1},      // down = 2
            {1, 2, 6, 7, 3, 5, 2, 1, 1, 3, -1, 3, 2, 0},     // non-square filter, per-axis factors, a cropping pad
            {2, 1, 5, 5, 3, 3, 2, 2, 2, 2, 1, 2, 0, 1},      // up and down at once
            {1, 2, 3, 4, 1, 1, 3, 1, 1, 2, 0, 0, 0, 0},      // 1×1 filter: pure zero insertion / decimation
    };

    private static String firName(int[] c) {
        return "upfirdn2d x=" + Arrays.toString(Arrays.copyOf(c, 4)) + " f=" + c[4] + "x" + c[5] + " up=(" + c[6] + "," + c[7]
                + ") down=(" + c[8] + "," + c[9] + ") pad=" + Arrays.toString(Arrays.copyOfRange(c, 10, 14));
    }

    @Test
    void upfirdn2dMatchesCpuForBlurUpDownAndNonSquareFilters() {
        Random r = new Random(11);
        for (int[] c : FIR_CASES) {
            Tensor x = OpTestSupport.randn(r, c[0], c[1], c[2], c[3]);
            Tensor f = OpTestSupport.uniform(r, -1f, 1f, c[4], c[5]);
            Tensor ref = CPU.upfirdn2d(x, f, c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13]);
            Tensor got = CudaStyleGan.upfirdn2d(d(x), d(f), c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13]);
            close(firName(c), ref, got, 1);
        }
    }

    @Test
    void upfirdn2dBackwardMatchesCpuAdjoint() {
        Random r = new Random(12);
        for (int[] c : FIR_CASES) {
            int[] xShape = Arrays.copyOf(c, 4);
            Tensor f = OpTestSupport.uniform(r, -1f, 1f, c[4], c[5]);
            int[] yShape = CPU.upfirdn2d(Tensor.zeros(xShape), f, c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13]).shape();
            Tensor gy = OpTestSupport.randn(r, yShape);
            Tensor ref = CPU.upfirdn2dBackward(gy, xShape, f, c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13]);
            Tensor got = CudaStyleGan.upfirdn2dBackward(d(gy), xShape, d(f), c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13]);
            assertArrayEquals(xShape, got.shape(), firName(c) + " backward shape");
            close(firName(c) + " backward", ref, got, 1);
        }
    }

    @Test
    void upfirdn2dRejectsBadShapesWithUsefulMessages() {
        Tensor x = d(Tensor.zeros(1, 2, 3, 3)), f = d(Tensor.zeros(4, 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CudaStyleGan.upfirdn2d(d(Tensor.zeros(2, 3, 3)), f, 1, 1, 1, 1, 0, 0, 0, 0));
        assertTrue(e.getMessage().contains("[N, C, H, W]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaStyleGan.upfirdn2d(x, f, 1, 1, 1, 1, 0, 0, 0, 0));
        assertTrue(e.getMessage().contains("smaller than the filter"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaStyleGan.upfirdn2d(x, f, 0, 1, 1, 1, 2, 2, 2, 2));
        assertTrue(e.getMessage().contains("upX"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CudaStyleGan.upfirdn2dBackward(d(Tensor.zeros(1, 2, 5, 4)), new int[]{1, 2, 3, 3}, f, 1, 1, 1, 1, 2, 2, 2, 2));
        assertTrue(e.getMessage().contains("gy has shape"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaStyleGan.upfirdn2d(Tensor.zeros(1, 2, 3, 3), f, 1, 1, 1, 1, 2, 2, 2, 2));
        assertTrue(e.getMessage().contains("kernel device"), e.getMessage());
    }

    // ---------------------------------------------------------------- bias_act

    /** {alpha, gain, clamp}: lrelu with the networks' gain and clamp, linear, lrelu without clamp. */
    private static final float[][] ACT_CASES = {
            {0.2f, (float) Math.sqrt(2), 0.8f},
            {1f, 1f, -1f},
            {0.2f, (float) Math.sqrt(2), -1f},
            {1f, 1f, 0.5f},
    };

    private static final int[][] ACT_SHAPES = {{2, 5, 7, 3}, {3, 4}, {1, 3, 33, 35}};

    @Test
    void biasActMatchesCpuWithAndWithoutBiasAndClamp() {
        Random r = new Random(21);
        for (int[] shape : ACT_SHAPES) {
            for (float[] a : ACT_CASES) {
                Tensor x = OpTestSupport.uniform(r, -2f, 2f, shape);
                Tensor b = OpTestSupport.randn(r, shape[1]);
                String what = "biasAct " + Arrays.toString(shape) + " " + Arrays.toString(a);
                close(what + " bias", CPU.biasAct(x, b, a[0], a[1], a[2]), CudaStyleGan.biasAct(d(x), d(b), a[0], a[1], a[2]), 1);
                close(what + " no bias", CPU.biasAct(x, null, a[0], a[1], a[2]), CudaStyleGan.biasAct(d(x), null, a[0], a[1], a[2]), 1);
            }
        }
    }

    @Test
    void biasActBackwardMatchesCpuIncludingValuesOnTheClampBound() {
        Random r = new Random(22);
        for (int[] shape : ACT_SHAPES) {
            for (float[] a : ACT_CASES) {
                Tensor x = OpTestSupport.uniform(r, -2f, 2f, shape);
                Tensor b = OpTestSupport.randn(r, shape[1]);
                Tensor y = CPU.biasAct(x, b, a[0], a[1], a[2]);   // clamped values sit exactly on ±clamp
                Tensor gy = OpTestSupport.randn(r, shape);
                String what = "biasActBackward " + Arrays.toString(shape) + " " + Arrays.toString(a);
                for (boolean needBias : new boolean[]{true, false}) {
                    Tensor[] ref = CPU.biasActBackward(gy, y, needBias, a[0], a[1], a[2]);
                    Tensor[] got = CudaStyleGan.biasActBackward(d(gy), d(y), needBias, a[0], a[1], a[2]);
                    close(what + " dx", ref[0], got[0], 1);
                    if (needBias) close(what + " dbias", ref[1], got[1], y.numel() / shape[1]);
                    else assertNull(got[1], what + ": dbias must be null when not needed");
                }
            }
        }
    }

    @Test
    void biasActRejectsBadShapesWithUsefulMessages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CudaStyleGan.biasAct(d(Tensor.zeros(2, 3, 4)), d(Tensor.zeros(4)), 0.2f, 1f, -1f));
        assertTrue(e.getMessage().contains("bias has shape [4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CudaStyleGan.biasActBackward(d(Tensor.zeros(2, 3)), d(Tensor.zeros(3, 2)), true, 0.2f, 1f, -1f));
        assertTrue(e.getMessage().contains("gy has shape"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CudaStyleGan.biasAct(d(Tensor.zeros(5)), d(Tensor.zeros(5)), 0.2f, 1f, -1f));
        assertTrue(e.getMessage().contains("rank ≥ 2"), e.getMessage());
    }
}
