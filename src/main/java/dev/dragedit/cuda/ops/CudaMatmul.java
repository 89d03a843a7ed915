package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.DeviceBuffer;
import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.shape.MatmulShapes;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.requireDevice;

/**
 * Batched matmul, linear and the linear backward on a kernel device (the GPU or its emulation), with the semantics of
 * {@link dev.dragedit.ops.Ops} and the CPU family {@code CpuMatmul}. Everything is one kernel, {@code
 * sgemm_batched_f32} of kernels/matmul.cu: transposes travel as flags and leading dimensions (the kernel's tile loads
 * read either layout coalesced), a linear's wᵀ is transB, and its backward's gyᵀ·x is transA over all leading
 * dimensions folded into one long K. Batch broadcasting needs no copies either: after merging batch dimensions the
 * way both operands step through them, the largest remaining dimension becomes the grid's z with a stride per operand
 * (0 for a broadcast operand) and any others are a loop of launches. The bias is preset into the output by a small
 * kernel and the GEMM adds onto it (beta = 1); the bias gradient is a deterministic column-sum kernel.
 */
public final class CudaMatmul {
    private CudaMatmul() {}

    /** The SGEMM kernel's C tile (BM×BN) and block size, as in kernels/matmul.cu. */
    static final int GEMM_TILE = 64, GEMM_THREADS = 128;
    /** CUDA's limit on gridDim.y and gridDim.z; larger batches are split over launches. Lowered by a test. */
    static int maxGridYZ = 65535;
    /** Rows one block of the column-sum kernel sums in the first of two passes. */
    static final int BIAS_ROWS_PER_CHUNK = 256;

    // ------------------------------------------------------------------------------------------------ matmul

    /** a [..., M, K] (or [..., K, M] when transA) · b [..., K, N] (or [..., N, K] when transB) → [..., M, N]. */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        KernelDevice dev = requireDevice("matmul", "a", a, null);
        requireDevice("matmul", "b", b, dev);
        int[] as = a.shape(), bs = b.shape();
        MatmulShapes.Matmul mm = MatmulShapes.matmul(as, bs, transA, transB);
        int ra = as.length, rb = bs.length, m = mm.m(), k = mm.k(), n = mm.n(), rank = mm.batch().length;
        int[] batch = mm.batch();
        Tensor y = output(dev, mm.out());                       // [..., M, N]
        int nb = (int) Tensor.numel(batch);
        if (nb == 0 || m == 0 || n == 0) return y;

        int lda = transA ? m : k, ldb = transB ? k : n;
        long aBatches = Tensor.numel(Arrays.copyOf(as, ra - 2)), bBatches = Tensor.numel(Arrays.copyOf(bs, rb - 2));
        long pa = a.devicePtr(), pb = b.devicePtr(), py = y.devicePtr();
        if (bBatches == 1 && aBatches == nb && !transA) {
            // Every batch multiplies the same B: the batches of A are one tall [nb·M, K] matrix, fewer ragged tiles.
            sgemm(dev, pa, pb, py, 1, nb * m, n, k, lda, ldb, n, 0, 0, 0, false, transB, 1f, 0f);
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
            sgemm(dev, pa, pb, py, 1, m, n, k, lda, ldb, n, 0, 0, 0, transA, transB, 1f, 0f);
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
            sgemm(dev, pa + 4 * offA * mk, pb + 4 * offB * kn, py + 4 * offY * mn, size[z], m, n, k, lda, ldb, n,
                    ta[z] * mk, tb[z] * kn, ty[z] * mn, transA, transB, 1f, 0f);
        }
        return y;
    }

    // ------------------------------------------------------------------------------------------------ linear

    /** x [..., in] · wᵀ + bias: w [out, in], bias [out] or null → [..., out]. */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        KernelDevice dev = requireDevice("linear", "x", x, null);
        requireDevice("linear", "w", w, dev);
        if (bias != null) requireDevice("linear", "bias", bias, dev);
        MatmulShapes.Linear ls = MatmulShapes.linear(x.shape(), w.shape(), bias == null ? null : bias.shape());
        int out = ls.out(), in = ls.in();
        int[] xs = ls.x(), ys = ls.y();
        Tensor y = output(dev, ys);                              // [..., out]
        int rows = (int) Tensor.numel(Arrays.copyOf(xs, xs.length - 1));
        if (rows == 0 || out == 0) return y;
        float beta = 0f;
        if (bias != null) {
            // y's rows start as the bias and the GEMM adds x·wᵀ onto them.
            long total = (long) rows * out;
            int blocks = (int) Math.min((total + 255) / 256, 4096);
            dev.launch("linear_bias_fwd_f32", Dim3.of(blocks), Dim3.of(256), 0,
                    KernelArgs.create().ptr(y.devicePtr()).ptr(bias.devicePtr()).i64(rows).i32(out));
            beta = 1f;
        }
        // [rows, out] = x [rows, in] · (w [out, in])ᵀ
        sgemm(dev, x.devicePtr(), w.devicePtr(), y.devicePtr(), 1, rows, out, in, in, in, out, 0, 0, 0, false, true, 1f, beta);
        return y;
    }

    /** Returns {dx, dw, dbias} (null where not needed); x may be null when the gradient of w is not needed. */
    public static Tensor[] linearBackward(Tensor gy, Tensor x, Tensor w, boolean needX, boolean needW, boolean needBias) {
        KernelDevice dev = requireDevice("linearBackward", "gy", gy, null);
        requireDevice("linearBackward", "w", w, dev);
        MatmulShapes.Linear ls = MatmulShapes.linearBackward(gy.shape(), w.shape());
        int out = ls.out(), in = ls.in();
        int[] gs = ls.y(), xs = ls.x();
        if (x != null) requireDevice("linearBackward", "x", x, dev);
        MatmulShapes.linearBackwardX(x == null ? null : x.shape(), ls, needW);
        int rows = (int) Tensor.numel(Arrays.copyOf(gs, gs.length - 1));
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = output(dev, xs);                                // [..., in] = gy [rows, out] · w [out, in]
            if (rows > 0 && in > 0)
                sgemm(dev, gy.devicePtr(), w.devicePtr(), dx.devicePtr(), 1, rows, in, out, out, in, in, 0, 0, 0, false, false, 1f, 0f);
        }
        if (needW) {
            dw = output(dev, out, in);                           // [out, in] = gyᵀ [out, rows] · x [rows, in]
            if (out > 0 && in > 0)
                sgemm(dev, gy.devicePtr(), x.devicePtr(), dw.devicePtr(), 1, out, in, rows, out, in, in, 0, 0, 0, true, false, 1f, 0f);
        }
        if (needBias) {
            db = output(dev, out);                               // [out] = Σ over rows of gy [rows, out]
            if (out > 0) columnSums(dev, gy.devicePtr(), db.devicePtr(), rows, out);
        }
        return new Tensor[]{dx, dw, db};
    }

    /** out[c] = Σ_r g[r, c] of a row-major [rows, cols] matrix: one pass when short, else per-chunk partials first. */
    private static void columnSums(KernelDevice dev, long g, long out, int rows, int cols) {
        Dim3 block = Dim3.of(32, 8);
        int colBlocks = (cols + 31) / 32;
        int chunks = (rows + BIAS_ROWS_PER_CHUNK - 1) / BIAS_ROWS_PER_CHUNK;
        if (chunks <= 1) {
            dev.launch("linear_bias_bwd_f32", Dim3.of(colBlocks, 1), block, 0,
                    KernelArgs.create().ptr(g).ptr(out).i64(rows).i32(cols).i64(Math.max(rows, 1)));
            return;
        }
        chunks = Math.min(chunks, maxGridYZ);
        long perChunk = (rows + (long) chunks - 1) / chunks;
        try (DeviceBuffer partial = DeviceBuffer.alloc(dev, 4L * chunks * cols)) {  // [chunks, cols]
            dev.launch("linear_bias_bwd_f32", Dim3.of(colBlocks, chunks), block, 0,
                    KernelArgs.create().ptr(g).ptr(partial.ptr()).i64(rows).i32(cols).i64(perChunk));
            dev.launch("linear_bias_bwd_f32", Dim3.of(colBlocks, 1), block, 0,
                    KernelArgs.create().ptr(partial.ptr()).ptr(out).i64(chunks).i32(cols).i64(chunks));
        }
    }

    // ------------------------------------------------------------------------------------------------ SGEMM

    /**
     * C_i = alpha·op(A_i)·op(B_i) + beta·C_i for i < batch, on device pointers, every matrix row-major: op(A) is M×K
     * stored [M, lda] or, when transA, [K, lda]; op(B) is K×N stored [K, ldb] or, when transB, [N, ldb]; C is [M, ldc].
     * Matrix i of an operand starts stride·i elements after its pointer (stride 0 shares one matrix). beta = 0 never
     * reads C. Launches {@code sgemm_batched_f32}, splitting batches beyond the grid's z limit.
     */
    public static void sgemm(KernelDevice dev, long a, long b, long c, int batch, int m, int n, int k, int lda, int ldb, int ldc,
                             long strideA, long strideB, long strideC, boolean transA, boolean transB, float alpha, float beta) {
        if (batch < 0 || m < 0 || n < 0 || k < 0)
            throw new IllegalArgumentException("sgemm: expected batch, M, N, K >= 0, found " + batch + ", " + m + ", " + n + ", " + k);
        if (lda < (transA ? m : k) || ldb < (transB ? k : n) || ldc < n)
            throw new IllegalArgumentException("sgemm: leading dimensions lda=" + lda + ", ldb=" + ldb + ", ldc=" + ldc
                    + " are too small for M=" + m + ", N=" + n + ", K=" + k + (transA ? ", transA" : "") + (transB ? ", transB" : ""));
        if (batch == 0 || m == 0 || n == 0) return;
        int mTiles = (m + GEMM_TILE - 1) / GEMM_TILE, nTiles = (n + GEMM_TILE - 1) / GEMM_TILE;
        if (nTiles > maxGridYZ)
            throw new IllegalArgumentException("sgemm: N=" + n + " needs " + nTiles + " column tiles, more than the grid's y limit " + maxGridYZ);
        for (int b0 = 0; b0 < batch; b0 += maxGridYZ) {
            int nz = Math.min(maxGridYZ, batch - b0);
            dev.launch("sgemm_batched_f32", Dim3.of(mTiles, nTiles, nz), Dim3.of(GEMM_THREADS), 0, KernelArgs.create()
                    .ptr(a + 4L * b0 * strideA).ptr(b + 4L * b0 * strideB).ptr(c + 4L * b0 * strideC)
                    .i32(m).i32(n).i32(k).i32(lda).i32(ldb).i32(ldc)
                    .i64(strideA).i64(strideB).i64(strideC)
                    .i32(transA ? 1 : 0).i32(transB ? 1 : 0).f32(alpha).f32(beta));
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

}
