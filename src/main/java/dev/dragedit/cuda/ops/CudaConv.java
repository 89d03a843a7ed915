package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.DeviceBuffer;
import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.shape.ConvShapes;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import static dev.dragedit.cuda.ops.CudaOpSupport.floatDevice;
import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.sameDeviceAndDtype;
import static dev.dragedit.cuda.ops.CudaOpSupport.suffix;

/**
 * conv2d and conv_transpose2d with their backwards on a kernel device (the GPU or its emulation), with the semantics
 * of {@link dev.dragedit.ops.Ops} and the CPU family {@code CpuConv} (NCHW, cross-correlation, zero padding per side,
 * dilation, groups), for F32, F16 and BF16 tensors (all arguments of one op share the dtype; results have it too).
 * Built as im2col + GEMM: {@code im2col_fwd_<t>} (kernels/conv.cu) unrolls the receptive fields of a tile of samples
 * into a [ns, Cin·kh·kw, Ho·Wo] workspace of the storage type and {@link CudaMatmul#gemm} multiplies each group's
 * weight into it, batched over groups (or over samples when there are fewer groups) through its strides. The input
 * gradient is the adjoint: wᵀ·gy into an F32 workspace, then {@code col2im_fwd_<t>} gathers it back per input pixel
 * (no atomics). The weight gradient is gy·colᵀ summed over samples by the GEMM's beta = 1. A 1×1, stride-1, unpadded
 * convolution skips the workspace: the input plane already is the im2col matrix.
 * <p>
 * 16-bit storage: every product and sum is F32 and each output is rounded to the storage type once. A forward's bias
 * is preset into the output ({@code conv_bias_fwd_<t>}) for the GEMM to add onto (beta = 1), or added by col2im in
 * its F32 sum; col2im reads the GEMM's F32 result; the weight gradient accumulates its samples in an F32 result
 * (the GEMM's F32 C) that is converted once at the end ({@link CudaElementwise#cast}); the bias gradient is summed in
 * F32 inside one kernel.
 * <p>
 * The workspace is bounded by {@link #maxWorkspaceFloats} elements: samples are processed in tiles that fit it (at
 * least one sample per tile, so a single huge sample can exceed it).
 * <p>
 * A transposed convolution is the adjoint of a convolution and runs on that convolution's geometry with the roles
 * swapped, as CpuConv does: its forward is conv2d's input gradient, its dx is conv2d's forward, its dw is conv2d's
 * weight gradient with the two activations swapped.
 */
public final class CudaConv {
    private CudaConv() {}

    /** Bound on the im2col workspace, in elements (256 MB of F32). Lowered by a test to force sample tiling. */
    static long maxWorkspaceFloats = 64L * 1024 * 1024;

    private static final int THREADS = 256, MAX_BLOCKS = 65535;
    private static final long F32_BYTES = DType.F32.bytes;

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
        String op = "conv2d";
        KernelDevice dev = floatDevice(op, "x", x);
        DType dt = x.dtype();
        sameDeviceAndDtype(op, "w", w, dev, dt);
        Geo g = convGeometry(op, x, w, p);
        checkBias(op, bias, g.cout(), dev, dt);
        Tensor y = output(dev, dt, g.n(), g.cout(), g.ho(), g.wo());               // [N, Cout, Ho, Wo]
        forward(dev, dt, x.devicePtr(), w.devicePtr(), bias == null ? 0 : bias.devicePtr(), y.devicePtr(), g);
        return y;
    }

    /** Returns {dx, dw, dbias} (null where not needed). */
    public static Tensor[] conv2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, boolean needX, boolean needW, boolean needBias) {
        String op = "conv2dBackward";
        KernelDevice dev = floatDevice(op, "gy", gy);
        DType dt = gy.dtype();
        sameDeviceAndDtype(op, "x", x, dev, dt);
        sameDeviceAndDtype(op, "w", w, dev, dt);
        Geo g = convGeometry(op, x, w, p);
        ConvShapes.checkShape(op, "gy", gy.shape(), new int[]{g.n(), g.cout(), g.ho(), g.wo()}, "[N, Cout, Ho, Wo]");
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = output(dev, dt, x.shape());                                       // [N, Cin, H, W]
            backwardData(dev, dt, gy.devicePtr(), w.devicePtr(), 0, dx.devicePtr(), g);
        }
        if (needW) dw = weightGrad(dev, dt, gy.devicePtr(), x.devicePtr(), w.shape(), g); // [Cout, Cin/groups, kh, kw]
        if (needBias) {
            db = output(dev, dt, g.cout());                                        // [Cout]
            biasGrad(dev, dt, gy.devicePtr(), db.devicePtr(), g.n(), g.cout(), g.plane());
        }
        return new Tensor[]{dx, dw, db};
    }

    /** Transposed convolution: x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw], bias [Cout] or null. */
    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, int outPadH, int outPadW) {
        String op = "convTranspose2d";
        KernelDevice dev = floatDevice(op, "x", x);
        DType dt = x.dtype();
        sameDeviceAndDtype(op, "w", w, dev, dt);
        Geo g = transposeGeometry(op, x, w, p, outPadH, outPadW);
        checkBias(op, bias, g.cin(), dev, dt);
        Tensor y = output(dev, dt, g.n(), g.cin(), g.h(), g.w());                  // [N, Cout, Ho, Wo]
        backwardData(dev, dt, x.devicePtr(), w.devicePtr(), bias == null ? 0 : bias.devicePtr(), y.devicePtr(), g);
        return y;
    }

    /** Returns {dx, dw, dbias} (null where not needed). */
    public static Tensor[] convTranspose2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW,
                                                   boolean needX, boolean needW, boolean needBias) {
        String op = "convTranspose2dBackward";
        KernelDevice dev = floatDevice(op, "gy", gy);
        DType dt = gy.dtype();
        sameDeviceAndDtype(op, "x", x, dev, dt);
        sameDeviceAndDtype(op, "w", w, dev, dt);
        Geo g = transposeGeometry(op, x, w, p, outPadH, outPadW);
        ConvShapes.checkShape(op, "gy", gy.shape(), new int[]{g.n(), g.cin(), g.h(), g.w()}, "[N, Cout, Ho, Wo]");
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = output(dev, dt, x.shape());                                       // [N, Cin, H, W]
            forward(dev, dt, gy.devicePtr(), w.devicePtr(), 0, dx.devicePtr(), g);
        }
        if (needW) dw = weightGrad(dev, dt, x.devicePtr(), gy.devicePtr(), w.shape(), g); // [Cin, Cout/groups, kh, kw]
        if (needBias) {
            db = output(dev, dt, g.cin());                                         // [Cout]
            biasGrad(dev, dt, gy.devicePtr(), db.devicePtr(), g.n(), g.cin(), (long) g.h() * g.w());
        }
        return new Tensor[]{dx, dw, db};
    }

    // ------------------------------------------------------------------------------------------------ the three paths

    /**
     * y [n, cout, ho, wo] = conv(x [n, cin, h, w], w) + bias [cout] (bias 0: none), all of dtype dt; every element of
     * y written.
     */
    private static void forward(KernelDevice dev, DType dt, long x, long w, long bias, long y, Geo g) {
        if (g.n() == 0 || g.cout() == 0 || g.plane() == 0) return;
        long es = dt.bytes;
        // The GEMM adds its products onto the preset bias: one F32 sum, rounded once.
        if (bias != 0) addBias(dev, dt, y, bias, g.n(), g.cout(), g.plane());
        float beta = bias != 0 ? 1f : 0f;
        if (g.k() == 0) {
            if (bias == 0) dev.memset(y, 0, es * g.n() * g.cout() * g.plane());
            return;
        }
        int tile = g.tile();
        long inSample = (long) g.cin() * g.h() * g.w(), colSample = (long) g.cin() * g.kh() * g.kw() * g.plane();
        long outSample = (long) g.cout() * g.plane();
        try (DeviceBuffer ws = g.pointwise() ? null : DeviceBuffer.alloc(dev, es * tile * colSample)) {
            for (int s0 = 0; s0 < g.n(); s0 += tile) {
                int ns = Math.min(tile, g.n() - s0);
                long col = g.pointwise() ? x + es * s0 * inSample : ws.ptr();      // [ns, Cin·kh·kw, Ho·Wo] of dt
                if (!g.pointwise()) im2col(dev, dt, x + es * s0 * inSample, col, ns, g);
                // y_(s,g) [Cout/G, P] (+)= w_g [Cout/G, K] · col_(s,g) [K, P]
                gemmPerSampleGroup(dev, dt, dt, ns, g.groups(), w, col, y + es * s0 * outSample,
                        g.coutg(), (int) g.plane(), g.k(), g.k(), (int) g.plane(), (int) g.plane(),
                        (long) g.coutg() * g.k(), 0, (long) g.k() * g.plane(), colSample, (long) g.coutg() * g.plane(), outSample,
                        false, false, beta);
            }
        }
    }

    /**
     * dx [n, cin, h, w] = conv's input gradient of gy [n, cout, ho, wo] + bias [cin] (bias 0: none; a transposed
     * convolution's forward has one), all of dtype dt; every element of dx written.
     */
    private static void backwardData(KernelDevice dev, DType dt, long gy, long w, long bias, long dx, Geo g) {
        long inSample = (long) g.cin() * g.h() * g.w();
        if (g.n() == 0 || inSample == 0) return;
        long es = dt.bytes;
        if (g.coutg() == 0 || g.plane() == 0) {
            if (bias != 0) addBias(dev, dt, dx, bias, g.n(), g.cin(), (long) g.h() * g.w());
            else dev.memset(dx, 0, es * g.n() * inSample);
            return;
        }
        int tile = g.tile();
        long colSample = (long) g.cin() * g.kh() * g.kw() * g.plane(), outSample = (long) g.cout() * g.plane();
        float beta = 0f;
        if (g.pointwise() && bias != 0) {
            // The GEMM writes dx itself: it adds onto the preset bias.
            addBias(dev, dt, dx, bias, g.n(), g.cin(), (long) g.h() * g.w());
            beta = 1f;
        }
        // The workspace holds GEMM results that col2im sums, so it is F32 for every storage type.
        DType colType = g.pointwise() ? dt : DType.F32;
        try (DeviceBuffer ws = g.pointwise() ? null : DeviceBuffer.alloc(dev, F32_BYTES * tile * colSample)) {
            for (int s0 = 0; s0 < g.n(); s0 += tile) {
                int ns = Math.min(tile, g.n() - s0);
                long col = g.pointwise() ? dx + es * s0 * inSample : ws.ptr();     // [ns, Cin·kh·kw, Ho·Wo]
                // col_(s,g) [K, P] (+)= w_gᵀ [K, Cout/G] · gy_(s,g) [Cout/G, P]
                gemmPerSampleGroup(dev, dt, colType, ns, g.groups(), w, gy + es * s0 * outSample, col,
                        g.k(), (int) g.plane(), g.coutg(), g.k(), (int) g.plane(), (int) g.plane(),
                        (long) g.coutg() * g.k(), 0, (long) g.coutg() * g.plane(), outSample, (long) g.k() * g.plane(), colSample,
                        true, false, beta);
                if (!g.pointwise()) col2im(dev, dt, col, dx + es * s0 * inSample, bias, ns, g);
            }
        }
    }

    /**
     * The weight gradient of shape wShape and dtype dt: Σ_s gy_s · im2col(x_s)ᵀ per group (gy [n, cout, ho, wo],
     * x [n, cin, h, w]). The sum over samples spans launches, so for 16-bit storage it accumulates in an F32 tensor
     * that is converted once at the end.
     */
    private static Tensor weightGrad(KernelDevice dev, DType dt, long gy, long x, int[] wShape, Geo g) {
        Tensor acc = output(dev, DType.F32, wShape);
        backwardWeight(dev, dt, gy, x, acc.devicePtr(), g);
        if (dt == DType.F32) return acc;
        Tensor dw = CudaElementwise.cast(acc, dt);
        acc.release();
        return dw;
    }

    /**
     * dw [cout, cin/groups, kh, kw] (F32) = Σ_s gy_s · im2col(x_s)ᵀ per group, gy and x of dtype dt; every element of
     * dw written.
     */
    private static void backwardWeight(KernelDevice dev, DType dt, long gy, long x, long dw, Geo g) {
        long wSize = (long) g.cout() * g.k();
        if (wSize == 0) return;
        if (g.n() == 0 || g.plane() == 0) { dev.memset(dw, 0, F32_BYTES * wSize); return; }
        long es = dt.bytes;
        int tile = g.tile();
        long inSample = (long) g.cin() * g.h() * g.w(), colSample = (long) g.cin() * g.kh() * g.kw() * g.plane();
        long outSample = (long) g.cout() * g.plane();
        int p = (int) g.plane();
        try (DeviceBuffer ws = g.pointwise() ? null : DeviceBuffer.alloc(dev, es * tile * colSample)) {
            for (int s0 = 0; s0 < g.n(); s0 += tile) {
                int ns = Math.min(tile, g.n() - s0);
                long col = g.pointwise() ? x + es * s0 * inSample : ws.ptr();      // [ns, Cin·kh·kw, Ho·Wo] of dt
                if (!g.pointwise()) im2col(dev, dt, x + es * s0 * inSample, col, ns, g);
                // The samples are a reduction here, so they are a loop with beta = 1, the groups the GEMM batch:
                // dw_g [Cout/G, K] (+)= gy_(s,g) [Cout/G, P] · col_(s,g)ᵀ [P, K]
                for (int s = 0; s < ns; s++) {
                    float beta = s0 + s == 0 ? 0f : 1f;
                    CudaMatmul.gemm(dev, dt, DType.F32, gy + es * (s0 + s) * outSample, col + es * s * colSample, dw,
                            g.groups(), g.coutg(), g.k(), p, p, p, g.k(),
                            (long) g.coutg() * p, (long) g.k() * p, (long) g.coutg() * g.k(), false, true, 1f, beta);
                }
            }
        }
    }

    /**
     * C_(s,g) = op(A_(s,g)) · B_(s,g) + beta·C_(s,g) for s < ns samples and g < groups, A and B of dtype ab, C of
     * cType; A strided by group only (the weight), B and C by group and sample (strides in elements): one batched
     * GEMM per sample over the groups, or per group over the samples when there are more samples than groups.
     */
    private static void gemmPerSampleGroup(KernelDevice dev, DType ab, DType cType, int ns, int groups, long a, long b, long c,
                                           int m, int n, int k, int lda, int ldb, int ldc, long aGroup, long aSample,
                                           long bGroup, long bSample, long cGroup, long cSample, boolean transA,
                                           boolean transB, float beta) {
        long ea = ab.bytes, ec = cType.bytes;
        if (groups >= ns) {
            for (int s = 0; s < ns; s++)
                CudaMatmul.gemm(dev, ab, cType, a + ea * s * aSample, b + ea * s * bSample, c + ec * s * cSample, groups,
                        m, n, k, lda, ldb, ldc, aGroup, bGroup, cGroup, transA, transB, 1f, beta);
        } else {
            for (int gi = 0; gi < groups; gi++)
                CudaMatmul.gemm(dev, ab, cType, a + ea * gi * aGroup, b + ea * gi * bGroup, c + ec * gi * cGroup, ns,
                        m, n, k, lda, ldb, ldc, aSample, bSample, cSample, transA, transB, 1f, beta);
        }
    }

    // ------------------------------------------------------------------------------------------------ kernel launches

    private static void im2col(KernelDevice dev, DType dt, long x, long col, int ns, Geo g) {
        long total = (long) ns * g.cin() * g.kh() * g.kw() * g.plane();
        dev.launch("im2col_fwd_" + suffix(dt), Dim3.of(blocks(total)), Dim3.of(THREADS), 0,
                geometryArgs(KernelArgs.create().ptr(x).ptr(col), ns, g));
    }

    /** dx (dtype dt) = bias + the gather of the F32 col (bias 0: none). */
    private static void col2im(KernelDevice dev, DType dt, long col, long dx, long bias, int ns, Geo g) {
        long total = (long) ns * g.cin() * g.h() * g.w();
        dev.launch("col2im_fwd_" + suffix(dt), Dim3.of(blocks(total)), Dim3.of(THREADS), 0,
                geometryArgs(KernelArgs.create().ptr(col).ptr(dx).ptr(bias), ns, g));
    }

    private static KernelArgs geometryArgs(KernelArgs a, int ns, Geo g) {
        return a.i32(ns).i32(g.cin()).i32(g.h()).i32(g.w()).i32(g.ho()).i32(g.wo()).i32(g.kh()).i32(g.kw())
                .i32(g.sh()).i32(g.sw()).i32(g.pt()).i32(g.pl()).i32(g.dh()).i32(g.dw());
    }

    /** y [n, c, plane] = bias [c], the start of a GEMM that adds onto it. */
    private static void addBias(KernelDevice dev, DType dt, long y, long bias, int n, int c, long plane) {
        long total = (long) n * c * plane;
        if (total == 0) return;
        dev.launch("conv_bias_fwd_" + suffix(dt), Dim3.of(blocks(total)), Dim3.of(THREADS), 0,
                KernelArgs.create().ptr(y).ptr(bias).i32(n).i32(c).i64(plane));
    }

    /** db [c] = Σ over samples and plane of gy [n, c, plane] (summed in F32 inside the kernel, rounded once). */
    private static void biasGrad(KernelDevice dev, DType dt, long gy, long db, int n, int c, long plane) {
        if (c == 0) return;
        dev.launch("conv_bias_bwd_" + suffix(dt), Dim3.of(c), Dim3.of(THREADS), 0,
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

    private static void checkBias(String op, Tensor bias, int cout, KernelDevice dev, DType dt) {
        if (bias == null) return;
        sameDeviceAndDtype(op, "bias", bias, dev, dt);
        ConvShapes.checkBias(op, bias.shape(), cout);
    }

}
