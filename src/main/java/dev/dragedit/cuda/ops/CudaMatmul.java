package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.DeviceBuffer;
import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.shape.MatmulShapes;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static dev.dragedit.cuda.ops.CudaOpSupport.floatDevice;
import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.sameDeviceAndDtype;
import static dev.dragedit.cuda.ops.CudaOpSupport.suffix;

/**
 * Batched matmul, linear and the linear backward on a kernel device (the GPU or its emulation), with the semantics of
 * {@link dev.dragedit.ops.Ops} and the CPU family {@code CpuMatmul}. Everything is one GEMM of kernels/matmul.cu per
 * operand dtype: {@code sgemm_batched_f32} for F32, the tensor-core {@code gemm_tc_f16/bf16} (and {@code
 * gemm_tc_acc_*} for an F32 result) for 16-bit operands, all with the same parameters and launch geometry, so
 * {@link #gemm} only picks the name. Transposes travel as flags and leading dimensions (the kernels' tile loads
 * read either layout coalesced), a linear's wᵀ is transB, and its backward's gyᵀ·x is transA over all leading
 * dimensions folded into one long K. Batch broadcasting needs no copies either: after merging batch dimensions the
 * way both operands step through them, the largest remaining dimension becomes the grid's z with a stride per operand
 * (0 for a broadcast operand) and any others are a loop of launches. The bias is preset into the output by a small
 * kernel and the GEMM adds onto it (beta = 1); the bias gradient is a deterministic column-sum kernel.
 */
public final class CudaMatmul {
    private CudaMatmul() {}

    /** The GEMM kernels' C tile (BM×BN) and block size, as in kernels/matmul.cu (SIMT and tensor-core alike). */
    static final int GEMM_TILE = 64, GEMM_THREADS = 128;
    /** CUDA's limit on gridDim.y and gridDim.z; larger batches are split over launches. Lowered by a test. */
    static int maxGridYZ = 65535;
    /** Rows one block of the column-sum kernel sums in the first of two passes. */
    static final int BIAS_ROWS_PER_CHUNK = 256;

    // ------------------------------------------------------------------------------------------------ matmul

    /** a [..., M, K] (or [..., K, M] when transA) · b [..., K, N] (or [..., N, K] when transB) → [..., M, N]. */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        KernelDevice dev = floatDevice("matmul", "a", a);
        DType dt = a.dtype();
        sameDeviceAndDtype("matmul", "b", b, dev, dt);
        int es = dt.bytes;
        int[] as = a.shape(), bs = b.shape();
        MatmulShapes.Matmul mm = MatmulShapes.matmul(as, bs, transA, transB);
        int ra = as.length, rb = bs.length, m = mm.m(), k = mm.k(), n = mm.n(), rank = mm.batch().length;
        int[] batch = mm.batch();
        Tensor y = output(dev, dt, mm.out());                   // [..., M, N]
        int nb = (int) Tensor.numel(batch);
        if (nb == 0 || m == 0 || n == 0) return y;

        int lda = transA ? m : k, ldb = transB ? k : n;
        long aBatches = Tensor.numel(Arrays.copyOf(as, ra - 2)), bBatches = Tensor.numel(Arrays.copyOf(bs, rb - 2));
        long pa = a.devicePtr(), pb = b.devicePtr(), py = y.devicePtr();
        if (bBatches == 1 && aBatches == nb && !transA) {
            // Every batch multiplies the same B: the batches of A are one tall [nb·M, K] matrix, fewer ragged tiles.
            gemm(dev, dt, dt, pa, pb, py, 1, nb * m, n, k, lda, ldb, n, 0, 0, 0, false, transB, 1f, 0f);
            return y;
        }
        // Strides in matrices of each operand along each output batch dimension (0 where it broadcasts).
        int[] sa = MatmulShapes.matrixStrides(Arrays.copyOf(as, ra - 2), batch);
        int[] sb = MatmulShapes.matrixStrides(Arrays.copyOf(bs, rb - 2), batch);
        int[] sy = MatmulShapes.matrixStrides(batch, batch);
        // Merge neighbouring dimensions that all three walk as one, innermost first, dropping size-1 ones.
        int[] size = new int[rank], ta = new int[rank], tb = new int[rank], ty = new int[rank];
        int r = 0;
        for (int d = rank - 1; d >= 0; d--) {
            if (batch[d] == 1) continue;
            if (r > 0 && sa[d] == ta[r - 1] * size[r - 1] && sb[d] == tb[r - 1] * size[r - 1] && sy[d] == ty[r - 1] * size[r - 1]) {
                size[r - 1] *= batch[d];
            } else {
                size[r] = batch[d]; ta[r] = sa[d]; tb[r] = sb[d]; ty[r] = sy[d];
                r++;
            }
        }
        long mk = (long) m * k, kn = (long) k * n, mn = (long) m * n;
        if (r == 0) {
            gemm(dev, dt, dt, pa, pb, py, 1, m, n, k, lda, ldb, n, 0, 0, 0, transA, transB, 1f, 0f);
            return y;
        }
        // The largest merged dimension is the grid's z; the others (rarely any) are launched one index at a time.
        int z = 0;
        for (int d = 1; d < r; d++) if (size[d] > size[z]) z = d;
        int outer = nb / size[z];
        for (int o = 0; o < outer; o++) {
            long offA = 0, offB = 0, offY = 0;
            int rem = o;
            for (int d = 0; d < r; d++) {
                if (d == z) continue;
                int idx = rem % size[d];
                rem /= size[d];
                offA += (long) idx * ta[d];
                offB += (long) idx * tb[d];
                offY += (long) idx * ty[d];
            }
            gemm(dev, dt, dt, pa + es * offA * mk, pb + es * offB * kn, py + es * offY * mn, size[z], m, n, k, lda, ldb, n,
                    ta[z] * mk, tb[z] * kn, ty[z] * mn, transA, transB, 1f, 0f);
        }
        return y;
    }

    // ------------------------------------------------------------------------------------------------ linear

    /** x [..., in] · wᵀ + bias: w [out, in], bias [out] or null → [..., out]. */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        KernelDevice dev = floatDevice("linear", "x", x);
        DType dt = x.dtype();
        sameDeviceAndDtype("linear", "w", w, dev, dt);
        if (bias != null) sameDeviceAndDtype("linear", "bias", bias, dev, dt);
        MatmulShapes.Linear ls = MatmulShapes.linear(x.shape(), w.shape(), bias == null ? null : bias.shape());
        int out = ls.out(), in = ls.in();
        int[] xs = ls.x(), ys = ls.y();
        Tensor y = output(dev, dt, ys);                          // [..., out]
        int rows = (int) Tensor.numel(Arrays.copyOf(xs, xs.length - 1));
        if (rows == 0 || out == 0) return y;
        float beta = 0f;
        if (bias != null) {
            // y's rows start as the bias and the GEMM adds x·wᵀ onto them.
            long total = (long) rows * out;
            int blocks = (int) Math.min((total + 255) / 256, 4096);
            dev.launch("linear_bias_fwd_" + suffix(dt), Dim3.of(blocks), Dim3.of(256), 0,
                    KernelArgs.create().ptr(y.devicePtr()).ptr(bias.devicePtr()).i64(rows).i32(out));
            beta = 1f;
        }
        // [rows, out] = x [rows, in] · (w [out, in])ᵀ
        gemm(dev, dt, dt, x.devicePtr(), w.devicePtr(), y.devicePtr(), 1, rows, out, in, in, in, out, 0, 0, 0, false, true, 1f, beta);
        return y;
    }

    /** Returns {dx, dw, dbias} (null where not needed); x may be null when the gradient of w is not needed. */
    public static Tensor[] linearBackward(Tensor gy, Tensor x, Tensor w, boolean needX, boolean needW, boolean needBias) {
        KernelDevice dev = floatDevice("linearBackward", "gy", gy);
        DType dt = gy.dtype();
        sameDeviceAndDtype("linearBackward", "w", w, dev, dt);
        MatmulShapes.Linear ls = MatmulShapes.linearBackward(gy.shape(), w.shape());
        int out = ls.out(), in = ls.in();
        int[] gs = ls.y(), xs = ls.x();
        if (x != null) sameDeviceAndDtype("linearBackward", "x", x, dev, dt);
        MatmulShapes.linearBackwardX(x == null ? null : x.shape(), ls, needW);
        int rows = (int) Tensor.numel(Arrays.copyOf(gs, gs.length - 1));
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = output(dev, dt, xs);                            // [..., in] = gy [rows, out] · w [out, in]
            if (rows > 0 && in > 0)
                gemm(dev, dt, dt, gy.devicePtr(), w.devicePtr(), dx.devicePtr(), 1, rows, in, out, out, in, in, 0, 0, 0, false, false, 1f, 0f);
        }
        if (needW) {
            dw = output(dev, dt, out, in);                       // [out, in] = gyᵀ [out, rows] · x [rows, in]
            if (out > 0 && in > 0)
                gemm(dev, dt, dt, gy.devicePtr(), x.devicePtr(), dw.devicePtr(), 1, out, in, rows, out, in, in, 0, 0, 0, true, false, 1f, 0f);
        }
        if (needBias) {
            db = output(dev, out);                               // [out] = Σ over rows of gy [rows, out], in F32
            if (out > 0) columnSums(dev, dt, gy.devicePtr(), db.devicePtr(), rows, out);
            if (dt != DType.F32) {
                Tensor f32 = db;
                db = CudaElementwise.cast(f32, dt);
                f32.release();
            }
        }
        return new Tensor[]{dx, dw, db};
    }

    /** out[c] = Σ_r g[r, c] of a row-major [rows, cols] matrix: one pass when short, else per-chunk partials first. */
    private static void columnSums(KernelDevice dev, DType dt, long g, long out, int rows, int cols) {
        String first = "linear_bias_bwd_" + suffix(dt);
        Dim3 block = Dim3.of(32, 8);
        int colBlocks = (cols + 31) / 32;
        int chunks = (rows + BIAS_ROWS_PER_CHUNK - 1) / BIAS_ROWS_PER_CHUNK;
        if (chunks <= 1) {
            dev.launch(first, Dim3.of(colBlocks, 1), block, 0,
                    KernelArgs.create().ptr(g).ptr(out).i64(rows).i32(cols).i64(Math.max(rows, 1)));
            return;
        }
        chunks = Math.min(chunks, maxGridYZ);
        long perChunk = (rows + (long) chunks - 1) / chunks;
        try (DeviceBuffer partial = DeviceBuffer.alloc(dev, 4L * chunks * cols)) {  // [chunks, cols]
            dev.launch(first, Dim3.of(colBlocks, chunks), block, 0,
                    KernelArgs.create().ptr(g).ptr(partial.ptr()).i64(rows).i32(cols).i64(perChunk));
            dev.launch("linear_bias_bwd_f32", Dim3.of(colBlocks, 1), block, 0,
                    KernelArgs.create().ptr(partial.ptr()).ptr(out).i64(chunks).i32(cols).i64(chunks));
        }
    }

    // ------------------------------------------------------------------------------------------------ SGEMM

    /**
     * C_i = alpha·op(A_i)·op(B_i) + beta·C_i for i < batch, on F32 device pointers; see {@link #gemm}.
     */
    public static void sgemm(KernelDevice dev, long a, long b, long c, int batch, int m, int n, int k, int lda, int ldb, int ldc,
                             long strideA, long strideB, long strideC, boolean transA, boolean transB, float alpha, float beta) {
        gemm(dev, DType.F32, DType.F32, a, b, c, batch, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, transA, transB, alpha, beta);
    }

    /**
     * C_i = alpha·op(A_i)·op(B_i) + beta·C_i for i < batch, on device pointers, every matrix row-major: op(A) is M×K
     * stored [M, lda] or, when transA, [K, lda]; op(B) is K×N stored [K, ldb] or, when transB, [N, ldb]; C is [M, ldc].
     * Matrix i of an operand starts stride·i elements after its pointer (stride 0 shares one matrix). beta = 0 never
     * reads C. A and B are of dtype ab (F32, F16, BF16); C is of dtype ab, or F32 for 16-bit operands (an
     * accumulator that must not be rounded to 16 bits between launches). Accumulation is always in F32. Splits
     * batches beyond the grid's z limit.
     */
    public static void gemm(KernelDevice dev, DType ab, DType cType, long a, long b, long c, int batch, int m, int n, int k,
                            int lda, int ldb, int ldc, long strideA, long strideB, long strideC, boolean transA,
                            boolean transB, float alpha, float beta) {
        if (batch < 0 || m < 0 || n < 0 || k < 0)
            throw new IllegalArgumentException("gemm: expected batch, M, N, K >= 0, found " + batch + ", " + m + ", " + n + ", " + k);
        if (lda < (transA ? m : k) || ldb < (transB ? k : n) || ldc < n)
            throw new IllegalArgumentException("gemm: leading dimensions lda=" + lda + ", ldb=" + ldb + ", ldc=" + ldc
                    + " are too small for M=" + m + ", N=" + n + ", K=" + k + (transA ? ", transA" : "") + (transB ? ", transB" : ""));
        String kernel;
        if (ab == DType.F32 && cType == DType.F32) kernel = "sgemm_batched_f32";
        else if (ab != DType.F32 && cType == ab) kernel = "gemm_tc_" + suffix(ab);
        else if (ab != DType.F32 && cType == DType.F32) kernel = "gemm_tc_acc_" + suffix(ab);
        else throw new IllegalArgumentException("gemm: no kernel for " + ab + " operands with a " + cType + " result");
        if (batch == 0 || m == 0 || n == 0) return;
        int mTiles = (m + GEMM_TILE - 1) / GEMM_TILE, nTiles = (n + GEMM_TILE - 1) / GEMM_TILE;
        if (nTiles > maxGridYZ)
            throw new IllegalArgumentException("gemm: N=" + n + " needs " + nTiles + " column tiles, more than the grid's y limit " + maxGridYZ);
        long ea = ab.bytes, ec = cType.bytes;
        for (int b0 = 0; b0 < batch; b0 += maxGridYZ) {
            int nz = Math.min(maxGridYZ, batch - b0);
            dev.launch(kernel, Dim3.of(mTiles, nTiles, nz), Dim3.of(GEMM_THREADS), 0, KernelArgs.create()
                    .ptr(a + ea * b0 * strideA).ptr(b + ea * b0 * strideB).ptr(c + ec * b0 * strideC)
                    .i32(m).i32(n).i32(k).i32(lda).i32(ldb).i32(ldc)
                    .i64(strideA).i64(strideB).i64(strideC)
                    .i32(transA ? 1 : 0).i32(transB ? 1 : 0).f32(alpha).f32(beta));
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

}
