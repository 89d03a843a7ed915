package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.DeviceBuffer;
import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.shape.ConvShapes;
import dev.dragedit.tensor.Tensor;

import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.requireDevice;

/**
 * conv2d and conv_transpose2d with their backwards on a kernel device (the GPU or its emulation), with the semantics
 * of {@link dev.dragedit.ops.Ops} and the CPU family {@code CpuConv} (NCHW, cross-correlation, zero padding per side,
 * dilation, groups). Built as im2col + GEMM: {@code im2col_fwd_f32} (kernels/conv.cu) unrolls the receptive fields
 * of a tile of samples into a [ns, Cin·kh·kw, Ho·Wo] workspace and {@link CudaMatmul#sgemm} multiplies each group's
 * weight into it, batched over groups (or over samples when there are fewer groups) through its strides. The input
 * gradient is the adjoint: wᵀ·gy into the workspace, then {@code col2im_fwd_f32} gathers it back per input pixel (no
 * atomics). The weight gradient is gy·colᵀ summed over samples by the GEMM's beta = 1. A 1×1, stride-1, unpadded
 * convolution skips the workspace: the input plane already is the im2col matrix.
 * <p>
 * The workspace is bounded by {@link #maxWorkspaceFloats}: samples are processed in tiles that fit it (at least one
 * sample per tile, so a single huge sample can exceed it).
 * <p>
 * A transposed convolution is the adjoint of a convolution and runs on that convolution's geometry with the roles
 * swapped, as CpuConv does: its forward is conv2d's input gradient, its dx is conv2d's forward, its dw is conv2d's
 * weight gradient with the two activations swapped.
 */
public final class CudaConv {
    private CudaConv() {}

    /** Bound on the im2col workspace, in floats (256 MB). Lowered by a test to force sample tiling. */
    static long maxWorkspaceFloats = 64L * 1024 * 1024;

    private static final int THREADS = 256, MAX_BLOCKS = 65535;

    /** Geometry as the kernels see it; ho × wo are explicit (a transposed convolution sets them to its input size). */
    private record Geo(int n, int cin, int h, int w, int cout, int kh, int kw, int ho, int wo,
                       int sh, int sw, int pt, int pl, int dh, int dw, int groups) {
        static Geo of(ConvShapes.Geometry g) {
            return new Geo(g.n(), g.cin(), g.h(), g.w(), g.cout(), g.kh(), g.kw(), g.ho(), g.wo(),
                    g.sh(), g.sw(), g.pt(), g.pl(), g.dh(), g.dw(), g.groups());
        }
        int k() { return cin / groups * kh * kw; }
        int coutg() { return cout / groups; }
        long plane() { return (long) ho * wo; }
        boolean pointwise() { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && ho == h && wo == w; }
        /** Samples per im2col tile so that the workspace stays within the bound. */
        int tile() {
            long perSample = (long) cin * kh * kw * plane();
            return (int) Math.max(1, Math.min(n, maxWorkspaceFloats / Math.max(1, perSample)));
        }
    }

    // ------------------------------------------------------------------------------------------------ public ops

    /** x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], bias [Cout] or null → [N, Cout, Ho, Wo]. */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        KernelDevice dev = requireDevice("conv2d", "x", x, null);
        requireDevice("conv2d", "w", w, dev);
        Geo g = convGeometry("conv2d", x, w, p);
        checkBias("conv2d", bias, g.cout(), dev);
        Tensor y = output(dev, g.n(), g.cout(), g.ho(), g.wo());                   // [N, Cout, Ho, Wo]
        forward(dev, x.devicePtr(), w.devicePtr(), y.devicePtr(), g);
        if (bias != null) addBias(dev, y.devicePtr(), bias.devicePtr(), g.n(), g.cout(), g.plane());
        return y;
    }

    /** Returns {dx, dw, dbias} (null where not needed). */
    public static Tensor[] conv2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, boolean needX, boolean needW, boolean needBias) {
        KernelDevice dev = requireDevice("conv2dBackward", "gy", gy, null);
        requireDevice("conv2dBackward", "x", x, dev);
        requireDevice("conv2dBackward", "w", w, dev);
        Geo g = convGeometry("conv2dBackward", x, w, p);
        ConvShapes.checkShape("conv2dBackward", "gy", gy.shape(),
                new int[]{g.n(), g.cout(), g.ho(), g.wo()}, "[N, Cout, Ho, Wo]");
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = output(dev, x.shape());                                           // [N, Cin, H, W]
            backwardData(dev, gy.devicePtr(), w.devicePtr(), dx.devicePtr(), g);
        }
        if (needW) {
            dw = output(dev, w.shape());                                           // [Cout, Cin/groups, kh, kw]
            backwardWeight(dev, gy.devicePtr(), x.devicePtr(), dw.devicePtr(), g);
        }
        if (needBias) {
            db = output(dev, g.cout());                                            // [Cout]
            biasGrad(dev, gy.devicePtr(), db.devicePtr(), g.n(), g.cout(), g.plane());
        }
        return new Tensor[]{dx, dw, db};
    }

    /** Transposed convolution: x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw], bias [Cout] or null. */
    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, int outPadH, int outPadW) {
        KernelDevice dev = requireDevice("convTranspose2d", "x", x, null);
        requireDevice("convTranspose2d", "w", w, dev);
        Geo g = transposeGeometry("convTranspose2d", x, w, p, outPadH, outPadW);
        checkBias("convTranspose2d", bias, g.cin(), dev);
        Tensor y = output(dev, g.n(), g.cin(), g.h(), g.w());                      // [N, Cout, Ho, Wo]
        backwardData(dev, x.devicePtr(), w.devicePtr(), y.devicePtr(), g);
        if (bias != null) addBias(dev, y.devicePtr(), bias.devicePtr(), g.n(), g.cin(), (long) g.h() * g.w());
        return y;
    }

    /** Returns {dx, dw, dbias} (null where not needed). */
    public static Tensor[] convTranspose2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW,
                                                   boolean needX, boolean needW, boolean needBias) {
        KernelDevice dev = requireDevice("convTranspose2dBackward", "gy", gy, null);
        requireDevice("convTranspose2dBackward", "x", x, dev);
        requireDevice("convTranspose2dBackward", "w", w, dev);
        Geo g = transposeGeometry("convTranspose2dBackward", x, w, p, outPadH, outPadW);
        ConvShapes.checkShape("convTranspose2dBackward", "gy", gy.shape(),
                new int[]{g.n(), g.cin(), g.h(), g.w()}, "[N, Cout, Ho, Wo]");
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = output(dev, x.shape());                                           // [N, Cin, H, W]
            forward(dev, gy.devicePtr(), w.devicePtr(), dx.devicePtr(), g);
        }
        if (needW) {
            dw = output(dev, w.shape());                                           // [Cin, Cout/groups, kh, kw]
            backwardWeight(dev, x.devicePtr(), gy.devicePtr(), dw.devicePtr(), g);
        }
        if (needBias) {
            db = output(dev, g.cin());                                             // [Cout]
            biasGrad(dev, gy.devicePtr(), db.devicePtr(), g.n(), g.cin(), (long) g.h() * g.w());
        }
        return new Tensor[]{dx, dw, db};
    }

    // ------------------------------------------------------------------------------------------------ the three paths

    /** y [n, cout, ho, wo] = conv(x [n, cin, h, w], w); every element of y written. */
    private static void forward(KernelDevice dev, long x, long w, long y, Geo g) {
        if (g.n() == 0 || g.cout() == 0 || g.plane() == 0) return;
        if (g.k() == 0) { dev.memset(y, 0, 4L * g.n() * g.cout() * g.plane()); return; }
        int tile = g.tile();
        long inSample = (long) g.cin() * g.h() * g.w(), colSample = (long) g.cin() * g.kh() * g.kw() * g.plane();
        long outSample = (long) g.cout() * g.plane();
        try (DeviceBuffer ws = g.pointwise() ? null : DeviceBuffer.alloc(dev, 4L * tile * colSample)) {
            for (int s0 = 0; s0 < g.n(); s0 += tile) {
                int ns = Math.min(tile, g.n() - s0);
                long col = g.pointwise() ? x + 4L * s0 * inSample : ws.ptr();      // [ns, Cin·kh·kw, Ho·Wo]
                if (!g.pointwise()) im2col(dev, x + 4L * s0 * inSample, col, ns, g);
                // y_(s,g) [Cout/G, P] = w_g [Cout/G, K] · col_(s,g) [K, P]
                gemmPerSampleGroup(dev, ns, g.groups(), w, col, y + 4L * s0 * outSample,
                        g.coutg(), (int) g.plane(), g.k(), g.k(), (int) g.plane(), (int) g.plane(),
                        (long) g.coutg() * g.k(), 0, (long) g.k() * g.plane(), colSample, (long) g.coutg() * g.plane(), outSample,
                        false, false, 0f);
            }
        }
    }

    /** dx [n, cin, h, w] = conv's input gradient of gy [n, cout, ho, wo]; every element of dx written. */
    private static void backwardData(KernelDevice dev, long gy, long w, long dx, Geo g) {
        long inSample = (long) g.cin() * g.h() * g.w();
        if (g.n() == 0 || inSample == 0) return;
        if (g.coutg() == 0 || g.plane() == 0) { dev.memset(dx, 0, 4L * g.n() * inSample); return; }
        int tile = g.tile();
        long colSample = (long) g.cin() * g.kh() * g.kw() * g.plane(), outSample = (long) g.cout() * g.plane();
        try (DeviceBuffer ws = g.pointwise() ? null : DeviceBuffer.alloc(dev, 4L * tile * colSample)) {
            for (int s0 = 0; s0 < g.n(); s0 += tile) {
                int ns = Math.min(tile, g.n() - s0);
                long col = g.pointwise() ? dx + 4L * s0 * inSample : ws.ptr();     // [ns, Cin·kh·kw, Ho·Wo]
                // col_(s,g) [K, P] = w_gᵀ [K, Cout/G] · gy_(s,g) [Cout/G, P]
                gemmPerSampleGroup(dev, ns, g.groups(), w, gy + 4L * s0 * outSample, col,
                        g.k(), (int) g.plane(), g.coutg(), g.k(), (int) g.plane(), (int) g.plane(),
                        (long) g.coutg() * g.k(), 0, (long) g.coutg() * g.plane(), outSample, (long) g.k() * g.plane(), colSample,
                        true, false, 0f);
                if (!g.pointwise()) col2im(dev, col, dx + 4L * s0 * inSample, ns, g);
            }
        }
    }

    /** dw [cout, cin/groups, kh, kw] = Σ_s gy_s · im2col(x_s)ᵀ per group; every element of dw written. */
    private static void backwardWeight(KernelDevice dev, long gy, long x, long dw, Geo g) {
        long wSize = (long) g.cout() * g.k();
        if (wSize == 0) return;
        if (g.n() == 0 || g.plane() == 0) { dev.memset(dw, 0, 4L * wSize); return; }
        int tile = g.tile();
        long inSample = (long) g.cin() * g.h() * g.w(), colSample = (long) g.cin() * g.kh() * g.kw() * g.plane();
        long outSample = (long) g.cout() * g.plane();
        int p = (int) g.plane();
        try (DeviceBuffer ws = g.pointwise() ? null : DeviceBuffer.alloc(dev, 4L * tile * colSample)) {
            for (int s0 = 0; s0 < g.n(); s0 += tile) {
                int ns = Math.min(tile, g.n() - s0);
                long col = g.pointwise() ? x + 4L * s0 * inSample : ws.ptr();      // [ns, Cin·kh·kw, Ho·Wo]
                if (!g.pointwise()) im2col(dev, x + 4L * s0 * inSample, col, ns, g);
                // The samples are a reduction here, so they are a loop with beta = 1, the groups the GEMM batch:
                // dw_g [Cout/G, K] (+)= gy_(s,g) [Cout/G, P] · col_(s,g)ᵀ [P, K]
                for (int s = 0; s < ns; s++) {
                    float beta = s0 + s == 0 ? 0f : 1f;
                    CudaMatmul.sgemm(dev, gy + 4L * (s0 + s) * outSample, col + 4L * s * colSample, dw, g.groups(),
                            g.coutg(), g.k(), p, p, p, g.k(),
                            (long) g.coutg() * p, (long) g.k() * p, (long) g.coutg() * g.k(), false, true, 1f, beta);
                }
            }
        }
    }

    /**
     * C_(s,g) = op(A_(s,g)) · B_(s,g) for s < ns samples and g < groups, A strided by group only (the weight), B and C
     * by group and sample: one batched SGEMM per sample over the groups, or per group over the samples when there are
     * more samples than groups.
     */
    private static void gemmPerSampleGroup(KernelDevice dev, int ns, int groups, long a, long b, long c, int m, int n, int k,
                                           int lda, int ldb, int ldc, long aGroup, long aSample, long bGroup, long bSample,
                                           long cGroup, long cSample, boolean transA, boolean transB, float beta) {
        if (groups >= ns) {
            for (int s = 0; s < ns; s++)
                CudaMatmul.sgemm(dev, a + 4L * s * aSample, b + 4L * s * bSample, c + 4L * s * cSample, groups, m, n, k,
                        lda, ldb, ldc, aGroup, bGroup, cGroup, transA, transB, 1f, beta);
        } else {
            for (int gi = 0; gi < groups; gi++)
                CudaMatmul.sgemm(dev, a + 4L * gi * aGroup, b + 4L * gi * bGroup, c + 4L * gi * cGroup, ns, m, n, k,
                        lda, ldb, ldc, aSample, bSample, cSample, transA, transB, 1f, beta);
        }
    }

    // ------------------------------------------------------------------------------------------------ kernel launches

    private static void im2col(KernelDevice dev, long x, long col, int ns, Geo g) {
        long total = (long) ns * g.cin() * g.kh() * g.kw() * g.plane();
        dev.launch("im2col_fwd_f32", Dim3.of(blocks(total)), Dim3.of(THREADS), 0, geometryArgs(KernelArgs.create().ptr(x).ptr(col), ns, g));
    }

    private static void col2im(KernelDevice dev, long col, long dx, int ns, Geo g) {
        long total = (long) ns * g.cin() * g.h() * g.w();
        dev.launch("col2im_fwd_f32", Dim3.of(blocks(total)), Dim3.of(THREADS), 0, geometryArgs(KernelArgs.create().ptr(col).ptr(dx), ns, g));
    }

    private static KernelArgs geometryArgs(KernelArgs a, int ns, Geo g) {
        return a.i32(ns).i32(g.cin()).i32(g.h()).i32(g.w()).i32(g.ho()).i32(g.wo()).i32(g.kh()).i32(g.kw())
                .i32(g.sh()).i32(g.sw()).i32(g.pt()).i32(g.pl()).i32(g.dh()).i32(g.dw());
    }

    /** y [n, c, plane] += bias [c]. */
    private static void addBias(KernelDevice dev, long y, long bias, int n, int c, long plane) {
        long total = (long) n * c * plane;
        if (total == 0) return;
        dev.launch("conv_bias_fwd_f32", Dim3.of(blocks(total)), Dim3.of(THREADS), 0,
                KernelArgs.create().ptr(y).ptr(bias).i32(n).i32(c).i64(plane));
    }

    /** db [c] = Σ over samples and plane of gy [n, c, plane]. */
    private static void biasGrad(KernelDevice dev, long gy, long db, int n, int c, long plane) {
        if (c == 0) return;
        dev.launch("conv_bias_bwd_f32", Dim3.of(c), Dim3.of(THREADS), 0,
                KernelArgs.create().ptr(gy).ptr(db).i32(n).i32(c).i64(plane));
    }

    private static int blocks(long total) {
        return (int) Math.max(1, Math.min((total + THREADS - 1) / THREADS, MAX_BLOCKS));
    }

    // ------------------------------------------------------------------ validation: devices here, shapes in ConvShapes

    private static Geo convGeometry(String op, Tensor x, Tensor w, Conv2dParams p) {
        return Geo.of(ConvShapes.conv(op, x.shape(), w.shape(), p));
    }

    /** The geometry of the convolution whose input gradient the transposed convolution is. */
    private static Geo transposeGeometry(String op, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW) {
        return Geo.of(ConvShapes.transpose(op, x.shape(), w.shape(), p, outPadH, outPadW));
    }

    private static void checkBias(String op, Tensor bias, int cout, KernelDevice dev) {
        if (bias == null) return;
        requireDevice(op, "bias", bias, dev);
        ConvShapes.checkBias(op, bias.shape(), cout);
    }

}
