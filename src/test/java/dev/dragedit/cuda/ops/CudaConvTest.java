package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.Conv2dParams;
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
import static dev.dragedit.cuda.ops.CudaOpTestSupport.abs;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.HALF_TYPES;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.assertMatchesHalf;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.assertMatchesSummed;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.onDevice;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.rounded;

/**
 * CudaConv (kernels/conv.cu + the SGEMM of kernels/matmul.cu) on {@link Devices#best()} against the CPU op set:
 * conv2d and conv_transpose2d with every backward output (dx, dw, dbias) on odd sizes, stride 2, asymmetric padding,
 * dilation 2, groups 2, depthwise, 1×1 (the workspace-free path) and 5×5 and non-square kernels, per-sample groups
 * (the StyleGAN layout [1, N·C, H, W] with groups = N), output padding for the transpose, sample tiling of the
 * im2col workspace, and shape errors. Outputs are NaN-poisoned before the kernels run, so an element a kernel skips
 * fails the comparison. The F16/BF16 entry points run the same kinds of cases (strides, asymmetric padding,
 * dilation, groups, depthwise, 1×1 with a bias, sample tiling with the weight gradient summed over launches) against
 * the CPU op on the inputs rounded to the storage type, within {@link CudaOpTestSupport#assertMatchesHalf}'s
 * 1e-2·(|want| + rms(want)), and mixed-dtype arguments are rejected.
 *
 * <p>Tolerance: the GPU and the CPU sum each output's L products in different orders, each within γ_L·Σ|terms| of
 * the exact value (γ_L ≈ L·2⁻²⁴). So element i passes when |gpu − cpu| ≤ 1e-5 + 1e-5·|cpu| + 2·L·2⁻²⁴·Σ|terms|_i,
 * the Σ|terms| computed by the same CPU op on |x|, |w|, |gy|, and L the reduction length of that output (forward:
 * Cin/groups·kh·kw; dx: Cout/groups·kh·kw; dw: N·Ho·Wo; dbias: N·Ho·Wo).
 */
class CudaConvTest {
    static KernelDevice dev;
    static final CpuOps CPU = CpuOps.INSTANCE;

    @BeforeAll static void open() { dev = CudaOpTestSupport.open("CudaConvTest"); }

    @AfterAll static void close() { CudaOpTestSupport.close(dev); }



    private static Conv2dParams params(int sh, int sw, int pt, int pb, int pl, int pr, int dh, int dw, int groups) {
        return new Conv2dParams(sh, sw, pt, pb, pl, pr, dh, dw, groups);
    }

    @Test
    void conv2dAndBackwardMatchCpuOnStridesPaddingsAndDilations() {
        Random r = new Random(1);
        // {n, cin, h, w, cout, kh, kw}, params
        checkConv("3x3 pad 1", r, new int[]{2, 3, 7, 6, 4, 3, 3}, Conv2dParams.of(1, 1), true);
        checkConv("3x3 stride 2, asymmetric pads", r, new int[]{2, 3, 9, 8, 5, 3, 3}, params(2, 2, 1, 0, 2, 1, 1, 1, 1), true);
        checkConv("3x3 dilation 2", r, new int[]{1, 2, 9, 7, 3, 3, 3}, params(1, 1, 2, 2, 2, 2, 2, 2, 1), false);
        checkConv("3x2 stride (2,1) dilation (1,2)", r, new int[]{2, 2, 8, 9, 3, 3, 2}, params(2, 1, 0, 1, 1, 0, 1, 2, 1), true);
        checkConv("5x5 pad 2", r, new int[]{1, 3, 7, 9, 2, 5, 5}, Conv2dParams.of(1, 2), true);
        checkConv("1x5 stride 3", r, new int[]{2, 2, 5, 11, 3, 1, 5}, params(3, 3, 0, 0, 1, 1, 1, 1, 1), false);
    }

    @Test
    void pointwiseConvolutionsMatchCpuWithAndWithoutTheWorkspace() {
        Random r = new Random(2);
        checkConv("1x1", r, new int[]{3, 5, 4, 7, 6, 1, 1}, Conv2dParams.of(1, 0), true);
        checkConv("1x1 grouped", r, new int[]{2, 4, 5, 3, 6, 1, 1}, Conv2dParams.of(1, 0).withGroups(2), true);
        checkConv("1x1 stride 2", r, new int[]{2, 3, 5, 7, 2, 1, 1}, Conv2dParams.of(2, 0), true);
        checkConv("1x1 pad 1", r, new int[]{1, 3, 3, 4, 2, 1, 1}, Conv2dParams.of(1, 1), false);
    }

    @Test
    void groupedAndDepthwiseConvolutionsMatchCpu() {
        Random r = new Random(3);
        checkConv("groups 2", r, new int[]{2, 4, 7, 5, 6, 3, 3}, Conv2dParams.of(1, 1).withGroups(2), true);
        checkConv("depthwise", r, new int[]{3, 5, 6, 7, 5, 3, 3}, params(2, 1, 1, 1, 0, 2, 1, 1, 5), true);
        checkConv("depthwise multiplier 2", r, new int[]{2, 3, 5, 5, 6, 3, 3}, params(1, 1, 1, 1, 1, 1, 2, 2, 3), false);
        // StyleGAN's per-sample weights: the batch folded into channels, one group per sample.
        checkConv("per-sample groups", r, new int[]{1, 4 * 3, 6, 5, 4 * 2, 3, 3}, Conv2dParams.of(1, 1).withGroups(4), true);
    }

    @Test
    void samplesAreTiledWhenTheWorkspaceBoundIsSmall() {
        long saved = CudaConv.maxWorkspaceFloats;
        try {
            Random r = new Random(4);
            CudaConv.maxWorkspaceFloats = 2 * 3 * 9 * 35 + 1;  // two samples of the first case per tile (5 in all)
            checkConv("tiled, groups < samples", r, new int[]{5, 3, 7, 5, 4, 3, 3}, Conv2dParams.of(1, 1), true);
            CudaConv.maxWorkspaceFloats = 1;                  // one sample per tile
            checkConv("tiled, grouped", r, new int[]{3, 4, 6, 5, 4, 3, 3}, Conv2dParams.of(2, 1).withGroups(2), true);
            checkTranspose("tiled transpose", r, new int[]{3, 4, 4, 5, 2, 3, 3}, Conv2dParams.of(2, 1).withGroups(2), 1, 1, true);
        } finally {
            CudaConv.maxWorkspaceFloats = saved;
        }
    }

    @Test
    void convTranspose2dAndBackwardMatchCpuWithOutputPadding() {
        Random r = new Random(5);
        // {n, cin, h, w, coutPerGroup, kh, kw}
        checkTranspose("3x3 stride 2 pad 1 outpad 1", r, new int[]{2, 3, 4, 5, 2, 3, 3}, Conv2dParams.of(2, 1), 1, 1, true);
        checkTranspose("4x4 stride 2 pad 1", r, new int[]{1, 2, 3, 4, 3, 4, 4}, Conv2dParams.of(2, 1), 0, 0, true);
        checkTranspose("asymmetric pads, outpad (1,0)", r, new int[]{2, 2, 5, 4, 3, 3, 3}, params(2, 3, 1, 0, 0, 2, 1, 1, 1), 1, 0, false);
        checkTranspose("dilation 2, outpad 1 < dilation", r, new int[]{1, 3, 4, 4, 2, 3, 3}, params(1, 1, 1, 1, 1, 1, 2, 2, 1), 1, 1, true);
        checkTranspose("groups 2", r, new int[]{2, 4, 3, 5, 3, 3, 3}, Conv2dParams.of(2, 0).withGroups(2), 1, 0, true);
        checkTranspose("depthwise", r, new int[]{2, 3, 4, 3, 1, 3, 3}, Conv2dParams.of(1, 1).withGroups(3), 0, 0, true);
        checkTranspose("1x1", r, new int[]{2, 3, 4, 5, 4, 1, 1}, Conv2dParams.of(1, 0), 0, 0, true);
        checkTranspose("5x5 stride 3", r, new int[]{1, 2, 3, 3, 2, 5, 5}, params(3, 3, 2, 1, 1, 2, 1, 1, 1), 2, 1, false);
    }

    @Test
    void backwardReturnsOnlyTheRequestedGradients() {
        Random r = new Random(6);
        Tensor x = OpTestSupport.randn(r, 2, 3, 5, 5), w = OpTestSupport.randn(r, 4, 3, 3, 3), gy = OpTestSupport.randn(r, 2, 4, 5, 5);
        Tensor[] g = CudaConv.conv2dBackward(gy.toDevice(dev), x.toDevice(dev), w.toDevice(dev), Conv2dParams.of(1, 1), false, true, false);
        assertNull(g[0]);
        assertNotNull(g[1]);
        assertNull(g[2]);
    }

    @Test
    void everyKernelOfTheFamilyRunsOnAGeneralConvolution() {
        String[] kernels = {"im2col_fwd_f32", "col2im_fwd_f32", "conv_bias_fwd_f32", "conv_bias_bwd_f32"};
        long[] before = new long[kernels.length];
        for (int i = 0; i < kernels.length; i++) before[i] = dev.launchCount(kernels[i]);
        checkConv("coverage", new Random(7), new int[]{1, 2, 5, 4, 3, 3, 3}, Conv2dParams.of(2, 1), true);
        for (int i = 0; i < kernels.length; i++)
            assertTrue(dev.launchCount(kernels[i]) > before[i], kernels[i] + " was not launched");
    }

    @Test
    void badShapesGiveClearMessages() {
        Tensor x = Tensor.zeros(2, 4, 5, 5).toDevice(dev);
        assertMessage(() -> CudaConv.conv2d(x, Tensor.zeros(3, 3, 3, 3).toDevice(dev), null, Conv2dParams.of(1, 1)),
                "conv2d: w has shape [3, 3, 3, 3]", "Cin/groups=4");
        assertMessage(() -> CudaConv.conv2d(x, Tensor.zeros(3, 2, 3, 3).toDevice(dev), null, Conv2dParams.of(1, 1).withGroups(2)),
                "conv2d: w has 3 output channels", "groups=2");
        assertMessage(() -> CudaConv.conv2d(x, Tensor.zeros(3, 4, 3, 3).toDevice(dev), Tensor.zeros(4).toDevice(dev), Conv2dParams.of(1, 1)),
                "conv2d: bias has shape [4]", "Cout=3");
        assertMessage(() -> CudaConv.conv2d(x, Tensor.zeros(3, 4, 7, 7).toDevice(dev), null, Conv2dParams.of(1, 0)),
                "smaller than the dilated kernel");
        assertMessage(() -> CudaConv.conv2d(x, Tensor.zeros(3, 4, 3, 3), null, Conv2dParams.of(1, 1)), "conv2d: w is on");
        assertMessage(() -> CudaConv.conv2dBackward(Tensor.zeros(2, 3, 4, 5).toDevice(dev), x, Tensor.zeros(3, 4, 3, 3).toDevice(dev),
                Conv2dParams.of(1, 1), true, true, true), "conv2dBackward: gy has shape [2, 3, 4, 5]", "[2, 3, 5, 5]");
        assertMessage(() -> CudaConv.convTranspose2d(x, Tensor.zeros(4, 2, 3, 3).toDevice(dev), null, Conv2dParams.of(2, 1), 2, 0),
                "convTranspose2d: output padding 2×0");
        assertMessage(() -> CudaConv.convTranspose2d(x, Tensor.zeros(3, 2, 3, 3).toDevice(dev), null, Conv2dParams.of(2, 1), 0, 0),
                "convTranspose2d: w has shape [3, 2, 3, 3]", "Cin=4");
    }

    // ---------------------------------------------------------------------------------------------- helpers

    /** conv2d (with and without bias) and its full backward against the CPU. s = {n, cin, h, w, cout, kh, kw}. */
    private static void checkConv(String what, Random r, int[] s, Conv2dParams p, boolean bias) {
        int n = s[0], cin = s[1], cout = s[4], kh = s[5], kw = s[6], gr = p.groups();
        Tensor x = OpTestSupport.randn(r, n, cin, s[2], s[3]);
        Tensor w = OpTestSupport.randn(r, cout, cin / gr, kh, kw);
        Tensor b = bias ? OpTestSupport.randn(r, cout) : null;
        Tensor want = CPU.conv2d(x, w, b, p);
        Tensor absSum = CPU.conv2d(abs(x), abs(w), b == null ? null : abs(b), p);
        Tensor got = CudaConv.conv2d(x.toDevice(dev), w.toDevice(dev), b == null ? null : b.toDevice(dev), p);
        assertMatchesSummed(what + " forward", want, absSum, cin / gr * kh * kw + 1, got);

        Tensor gy = OpTestSupport.randn(r, want.shape());
        Tensor[] ref = CPU.conv2dBackward(gy, x, w, p, true, true, true);
        Tensor[] abs = CPU.conv2dBackward(abs(gy), abs(x), abs(w), p, true, true, true);
        Tensor[] g = CudaConv.conv2dBackward(gy.toDevice(dev), x.toDevice(dev), w.toDevice(dev), p, true, true, true);
        int plane = want.dim(2) * want.dim(3);
        assertMatchesSummed(what + " dx", ref[0], abs[0], cout / gr * kh * kw, g[0]);
        assertMatchesSummed(what + " dw", ref[1], abs[1], n * plane, g[1]);
        assertMatchesSummed(what + " dbias", ref[2], abs[2], n * plane, g[2]);
    }

    /** convTranspose2d and its full backward against the CPU. s = {n, cin, h, w, cout/groups, kh, kw}. */
    private static void checkTranspose(String what, Random r, int[] s, Conv2dParams p, int oph, int opw, boolean bias) {
        int n = s[0], cin = s[1], coutg = s[4], kh = s[5], kw = s[6], gr = p.groups();
        Tensor x = OpTestSupport.randn(r, n, cin, s[2], s[3]);
        Tensor w = OpTestSupport.randn(r, cin, coutg, kh, kw);
        Tensor b = bias ? OpTestSupport.randn(r, coutg * gr) : null;
        Tensor want = CPU.convTranspose2d(x, w, b, p, oph, opw);
        Tensor absSum = CPU.convTranspose2d(abs(x), abs(w), b == null ? null : abs(b), p, oph, opw);
        Tensor got = CudaConv.convTranspose2d(x.toDevice(dev), w.toDevice(dev), b == null ? null : b.toDevice(dev), p, oph, opw);
        assertMatchesSummed(what + " forward", want, absSum, cin / gr * kh * kw + 1, got);

        Tensor gy = OpTestSupport.randn(r, want.shape());
        Tensor[] ref = CPU.convTranspose2dBackward(gy, x, w, p, oph, opw, true, true, true);
        Tensor[] abs = CPU.convTranspose2dBackward(abs(gy), abs(x), abs(w), p, oph, opw, true, true, true);
        Tensor[] g = CudaConv.convTranspose2dBackward(gy.toDevice(dev), x.toDevice(dev), w.toDevice(dev), p, oph, opw, true, true, true);
        int outPlane = want.dim(2) * want.dim(3), inPlane = s[2] * s[3];
        assertMatchesSummed(what + " dx", ref[0], abs[0], coutg * kh * kw, g[0]);
        assertMatchesSummed(what + " dw", ref[1], abs[1], n * inPlane, g[1]);
        assertMatchesSummed(what + " dbias", ref[2], abs[2], n * outPlane, g[2]);
    }

    // ---------------------------------------------------------------------------------------------- 16-bit storage

    @Test
    void halfPrecisionConv2dAndBackwardMatchCpuOnRoundedInputs() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(11);
            checkConvHalf("3x3 stride 2, asymmetric pads", r, new int[]{2, 3, 9, 8, 5, 3, 3}, params(2, 2, 1, 0, 2, 1, 1, 1, 1), true, dt);
            checkConvHalf("3x3 dilation 2, groups 2", r, new int[]{2, 4, 9, 7, 6, 3, 3}, params(1, 1, 2, 2, 2, 2, 2, 2, 2), true, dt);
            checkConvHalf("3x2 stride (2,1) dilation (1,2), no bias", r, new int[]{1, 2, 8, 9, 3, 3, 2}, params(2, 1, 0, 1, 1, 0, 1, 2, 1), false, dt);
            checkConvHalf("1x1 with bias (workspace-free)", r, new int[]{3, 5, 4, 7, 6, 1, 1}, Conv2dParams.of(1, 0), true, dt);
            checkConvHalf("depthwise", r, new int[]{2, 3, 5, 5, 6, 3, 3}, params(1, 1, 1, 1, 1, 1, 1, 1, 3), true, dt);
        }
    }

    @Test
    void halfPrecisionConvTranspose2dAndBackwardMatchCpuOnRoundedInputs() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(12);
            checkTransposeHalf("3x3 stride 2 pad 1 outpad 1", r, new int[]{2, 3, 4, 5, 2, 3, 3}, Conv2dParams.of(2, 1), 1, 1, true, dt);
            checkTransposeHalf("groups 2, dilation 2", r, new int[]{2, 4, 3, 5, 3, 3, 3}, params(2, 2, 1, 1, 0, 1, 2, 2, 2), 1, 0, true, dt);
            checkTransposeHalf("1x1 with bias (workspace-free)", r, new int[]{2, 3, 4, 5, 4, 1, 1}, Conv2dParams.of(1, 0), 0, 0, true, dt);
            checkTransposeHalf("5x5 stride 3, no bias", r, new int[]{1, 2, 3, 3, 2, 5, 5}, params(3, 3, 2, 1, 1, 2, 1, 1, 1), 2, 1, false, dt);
        }
    }

    @Test
    void halfPrecisionWeightGradientAccumulatesSampleTilesInF32() {
        long saved = CudaConv.maxWorkspaceFloats;
        try {
            CudaConv.maxWorkspaceFloats = 1;                  // one sample per tile: dw sums 7 launches with beta = 1
            for (DType dt : HALF_TYPES) {
                Random r = new Random(13);
                checkConvHalf("tiled", r, new int[]{7, 3, 6, 5, 4, 3, 3}, Conv2dParams.of(1, 1), true, dt);
                checkConvHalf("tiled, groups 2", r, new int[]{3, 4, 6, 5, 4, 3, 3}, Conv2dParams.of(2, 1).withGroups(2), true, dt);
                checkTransposeHalf("tiled transpose", r, new int[]{5, 2, 4, 3, 3, 3, 3}, Conv2dParams.of(2, 1), 1, 1, true, dt);
            }
        } finally {
            CudaConv.maxWorkspaceFloats = saved;
        }
    }

    @Test
    void everyHalfPrecisionKernelOfTheFamilyRuns() {
        for (DType dt : HALF_TYPES) {
            String sfx = dt == DType.F16 ? "f16" : "bf16";
            String[] kernels = {"im2col_fwd_" + sfx, "col2im_fwd_" + sfx, "conv_bias_fwd_" + sfx, "conv_bias_bwd_" + sfx};
            long[] before = new long[kernels.length];
            for (int i = 0; i < kernels.length; i++) before[i] = dev.launchCount(kernels[i]);
            checkConvHalf("coverage", new Random(14), new int[]{1, 2, 5, 4, 3, 3, 3}, Conv2dParams.of(2, 1), true, dt);
            for (int i = 0; i < kernels.length; i++)
                assertTrue(dev.launchCount(kernels[i]) > before[i], kernels[i] + " was not launched");
        }
    }

    @Test
    void mixedDtypeArgumentsAreRejected() {
        Tensor x = Tensor.zeros(2, 4, 5, 5), w = Tensor.zeros(3, 4, 3, 3), b = Tensor.zeros(3), gy = Tensor.zeros(2, 3, 5, 5);
        Conv2dParams p = Conv2dParams.of(1, 1);
        assertMessage(() -> CudaConv.conv2d(onDevice(x, DType.F16, dev), w.toDevice(dev), null, p),
                "conv2d: w is F32 but the first input is F16", "CudaOps.cast");
        assertMessage(() -> CudaConv.conv2d(onDevice(x, DType.F16, dev), onDevice(w, DType.F16, dev), onDevice(b, DType.BF16, dev), p),
                "conv2d: bias is BF16 but the first input is F16");
        assertMessage(() -> CudaConv.conv2dBackward(onDevice(gy, DType.BF16, dev), onDevice(x, DType.BF16, dev), w.toDevice(dev), p,
                true, true, true), "conv2dBackward: w is F32 but the first input is BF16");
        assertMessage(() -> CudaConv.convTranspose2d(onDevice(x, DType.BF16, dev), onDevice(Tensor.zeros(4, 2, 3, 3), DType.F16, dev),
                null, p, 0, 0), "convTranspose2d: w is F16 but the first input is BF16");
        assertMessage(() -> CudaConv.convTranspose2dBackward(onDevice(Tensor.zeros(2, 2, 5, 5), DType.F16, dev), x.toDevice(dev),
                onDevice(Tensor.zeros(4, 2, 3, 3), DType.F16, dev), p, 0, 0, true, true, true),
                "convTranspose2dBackward: x is F32 but the first input is F16");
    }

    /**
     * conv2d in dtype (all arguments of that dtype) and its full backward against the CPU op on the rounded inputs.
     * s = {n, cin, h, w, cout, kh, kw}.
     */
    private static void checkConvHalf(String what, Random r, int[] s, Conv2dParams p, boolean bias, DType dt) {
        int n = s[0], cin = s[1], cout = s[4], kh = s[5], kw = s[6], gr = p.groups();
        Tensor x = OpTestSupport.randn(r, n, cin, s[2], s[3]);
        Tensor w = OpTestSupport.randn(r, cout, cin / gr, kh, kw);
        Tensor b = bias ? OpTestSupport.randn(r, cout) : null;
        Tensor want = CPU.conv2d(rounded(x, dt), rounded(w, dt), rounded(b, dt), p);
        Tensor got = CudaConv.conv2d(onDevice(x, dt, dev), onDevice(w, dt, dev), onDevice(b, dt, dev), p);
        assertMatchesHalf(what + " forward", want, got, dt);

        Tensor gy = OpTestSupport.randn(r, want.shape());
        Tensor[] ref = CPU.conv2dBackward(rounded(gy, dt), rounded(x, dt), rounded(w, dt), p, true, true, true);
        Tensor[] g = CudaConv.conv2dBackward(onDevice(gy, dt, dev), onDevice(x, dt, dev), onDevice(w, dt, dev), p, true, true, true);
        assertMatchesHalf(what + " dx", ref[0], g[0], dt);
        assertMatchesHalf(what + " dw", ref[1], g[1], dt);
        assertMatchesHalf(what + " dbias", ref[2], g[2], dt);
    }

    /** convTranspose2d in dtype and its full backward against the CPU op on the rounded inputs. s as checkTranspose. */
    private static void checkTransposeHalf(String what, Random r, int[] s, Conv2dParams p, int oph, int opw, boolean bias, DType dt) {
        int n = s[0], cin = s[1], coutg = s[4], kh = s[5], kw = s[6], gr = p.groups();
        Tensor x = OpTestSupport.randn(r, n, cin, s[2], s[3]);
        Tensor w = OpTestSupport.randn(r, cin, coutg, kh, kw);
        Tensor b = bias ? OpTestSupport.randn(r, coutg * gr) : null;
        Tensor want = CPU.convTranspose2d(rounded(x, dt), rounded(w, dt), rounded(b, dt), p, oph, opw);
        Tensor got = CudaConv.convTranspose2d(onDevice(x, dt, dev), onDevice(w, dt, dev), onDevice(b, dt, dev), p, oph, opw);
        assertMatchesHalf(what + " transpose forward", want, got, dt);

        Tensor gy = OpTestSupport.randn(r, want.shape());
        Tensor[] ref = CPU.convTranspose2dBackward(rounded(gy, dt), rounded(x, dt), rounded(w, dt), p, oph, opw, true, true, true);
        Tensor[] g = CudaConv.convTranspose2dBackward(onDevice(gy, dt, dev), onDevice(x, dt, dev), onDevice(w, dt, dev), p, oph, opw,
                true, true, true);
        assertMatchesHalf(what + " transpose dx", ref[0], g[0], dt);
        assertMatchesHalf(what + " transpose dw", ref[1], g[1], dt);
        assertMatchesHalf(what + " transpose dbias", ref[2], g[2], dt);
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String part : parts)
            assertTrue(e.getMessage().contains(part), "message \"" + e.getMessage() + "\" should contain \"" + part + "\"");
    }
}
