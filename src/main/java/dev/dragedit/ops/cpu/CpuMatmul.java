package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Device;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

/**
 * Batched matmul, linear and the linear backward on the CPU, all as {@link Gemm#sgemm} calls on the tensors'
 * own arrays: transposes and the linear's wᵀ are expressed through the transpose flags and leading dimensions,
 * never by copying. Batches whose second operand is shared fold into one tall GEMM; many small batches run in
 * parallel with one single-threaded GEMM each, large ones one after the other with a multithreaded GEMM each.
 */
final class CpuMatmul {
    private CpuMatmul() {}

    /** Multiply-adds per batch below which batches, not the GEMM, are spread over the threads. */
    private static final long BATCH_PARALLEL_MACS = 1L << 20;

    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        requireF32("matmul", "a", a);
        requireF32("matmul", "b", b);
        int[] as = a.shape(), bs = b.shape();
        if (as.length < 2)
            throw new IllegalArgumentException("matmul: a has shape " + Arrays.toString(as) + ", expected at least 2 dimensions "
                    + (transA ? "[..., K, M]" : "[..., M, K]"));
        if (bs.length < 2)
            throw new IllegalArgumentException("matmul: b has shape " + Arrays.toString(bs) + ", expected at least 2 dimensions "
                    + (transB ? "[..., N, K]" : "[..., K, N]"));
        int ra = as.length, rb = bs.length;
        int m = transA ? as[ra - 1] : as[ra - 2], k = transA ? as[ra - 2] : as[ra - 1];
        int kb = transB ? bs[rb - 1] : bs[rb - 2], n = transB ? bs[rb - 2] : bs[rb - 1];
        if (k != kb)
            throw new IllegalArgumentException("matmul: a has shape " + Arrays.toString(as) + (transA ? " (transposed)" : "")
                    + " with K = " + k + ", so b " + (transB ? "(transposed) must be [..., N, " : "must be [..., ") + k
                    + (transB ? "]" : ", N]") + ", found " + Arrays.toString(bs));

        int rank = Math.max(ra, rb) - 2;
        int[] batch = new int[rank];
        for (int d = 0; d < rank; d++) {
            int da = dimAligned(as, ra - 2, rank, d), db = dimAligned(bs, rb - 2, rank, d);
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException("matmul: batch dimensions of a " + Arrays.toString(as) + " and b "
                        + Arrays.toString(bs) + " do not broadcast (" + da + " vs " + db + " at batch dimension " + d + ")");
            batch[d] = da == 1 ? db : da;
        }
        int[] outShape = Arrays.copyOf(batch, rank + 2);
        outShape[rank] = m;
        outShape[rank + 1] = n;
        Tensor y = Tensor.zeros(outShape);                     // [..., M, N]
        int nb = (int) Tensor.numel(batch);
        if (nb == 0 || m == 0 || n == 0) return y;

        float[] ad = a.data(), bd = b.data(), yd = y.data();
        int lda = transA ? m : k, ldb = transB ? k : n;
        int aBatches = (int) Tensor.numel(Arrays.copyOf(as, ra - 2));
        int bBatches = (int) Tensor.numel(Arrays.copyOf(bs, rb - 2));
        if (bBatches == 1 && aBatches == nb && !transA) {
            // Every batch multiplies the same B: the batches of A are one tall [nb·M, K] matrix.
            Gemm.sgemm(false, transB, nb * m, n, k, 1f, ad, 0, k, bd, 0, ldb, 0f, yd, 0, n);
            return y;
        }
        int[] offA = batchOffsets(as, batch, m * k), offB = batchOffsets(bs, batch, k * n);
        long macs = (long) m * n * k;
        Parallel.RangeBody body = (i0, i1) -> {
            for (int i = i0; i < i1; i++)
                Gemm.sgemm(transA, transB, m, n, k, 1f, ad, offA[i], lda, bd, offB[i], ldb, 0f, yd, i * m * n, n);
        };
        if (macs < BATCH_PARALLEL_MACS) Parallel.forRange(nb, (int) Math.max(1, (1L << 17) / Math.max(1, macs)), body);
        else body.run(0, nb);
        return y;
    }

    /** Size of batch dimension d (of {@code rank}, right-aligned) of a shape whose batch part has {@code own} dims. */
    private static int dimAligned(int[] shape, int own, int rank, int d) {
        int i = d - (rank - own);
        return i < 0 ? 1 : shape[i];
    }

    /** The element offset of each output batch's matrix in an operand, broadcast dimensions repeating it. */
    private static int[] batchOffsets(int[] shape, int[] batch, int matrixSize) {
        int rank = batch.length, own = shape.length - 2;
        int nb = (int) Tensor.numel(batch);
        int[] strides = new int[rank];                          // in matrices; 0 where broadcast
        int s = 1;
        for (int d = rank - 1; d >= 0; d--) {
            int size = dimAligned(shape, own, rank, d);
            strides[d] = size == 1 ? 0 : s;
            s *= size;
        }
        int[] off = new int[nb];
        for (int i = 0; i < nb; i++) {
            int rem = i, o = 0;
            for (int d = rank - 1; d >= 0; d--) {
                o += (rem % batch[d]) * strides[d];
                rem /= batch[d];
            }
            off[i] = o * matrixSize;
        }
        return off;
    }

    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        requireF32("linear", "x", x);
        requireF32("linear", "w", w);
        if (bias != null) requireF32("linear", "bias", bias);
        int[] ws = w.shape(), xs = x.shape();
        if (ws.length != 2)
            throw new IllegalArgumentException("linear: w has shape " + Arrays.toString(ws) + ", expected [out, in]");
        int out = ws[0], in = ws[1];
        if (xs.length < 1 || xs[xs.length - 1] != in)
            throw new IllegalArgumentException("linear: x has shape " + Arrays.toString(xs) + ", expected [..., in=" + in + "]");
        if (bias != null && !Arrays.equals(bias.shape(), new int[]{out}))
            throw new IllegalArgumentException("linear: bias has shape " + Arrays.toString(bias.shape()) + ", expected [out=" + out + "]");
        int[] ys = xs.clone();
        ys[ys.length - 1] = out;
        Tensor y = Tensor.zeros(ys);                             // [..., out]
        int rows = x.numel() / Math.max(1, in);
        if (in == 0) rows = y.numel() / Math.max(1, out);
        if (rows == 0 || out == 0) return y;
        float[] yd = y.data();
        float beta = 0f;
        if (bias != null) {
            // The GEMM accumulates onto rows preset to the bias (beta = 1).
            float[] bd = bias.data();
            for (int r = 0; r < rows; r++) System.arraycopy(bd, 0, yd, r * out, out);
            beta = 1f;
        }
        Gemm.sgemm(false, true, rows, out, in, 1f, x.data(), 0, in, w.data(), 0, in, beta, yd, 0, out);
        return y;
    }

    public static Tensor[] linearBackward(Tensor gy, Tensor x, Tensor w, boolean needX, boolean needW, boolean needBias) {
        requireF32("linearBackward", "gy", gy);
        requireF32("linearBackward", "w", w);
        int[] ws = w.shape();
        if (ws.length != 2)
            throw new IllegalArgumentException("linearBackward: w has shape " + Arrays.toString(ws) + ", expected [out, in]");
        int out = ws[0], in = ws[1];
        int[] gs = gy.shape();
        if (gs.length < 1 || gs[gs.length - 1] != out)
            throw new IllegalArgumentException("linearBackward: gy has shape " + Arrays.toString(gs) + ", expected [..., out=" + out + "]");
        int[] xs = gs.clone();
        xs[xs.length - 1] = in;
        if (x != null) {
            requireF32("linearBackward", "x", x);
            if (!Arrays.equals(x.shape(), xs))
                throw new IllegalArgumentException("linearBackward: x has shape " + Arrays.toString(x.shape())
                        + ", expected " + Arrays.toString(xs) + " (gy's leading dimensions, then in=" + in + ")");
        } else if (needW) {
            throw new IllegalArgumentException("linearBackward: x is null, but it is needed for the gradient of w");
        }
        int rows = (int) Tensor.numel(Arrays.copyOf(gs, gs.length - 1));
        float[] g = gy.data();
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = Tensor.zeros(xs);                               // [..., in] = gy [rows, out] · w [out, in]
            Gemm.sgemm(false, false, rows, in, out, 1f, g, 0, out, w.data(), 0, in, 0f, dx.data(), 0, in);
        }
        if (needW) {
            dw = Tensor.zeros(out, in);                          // [out, in] = gyᵀ [out, rows] · x [rows, in]
            Gemm.sgemm(true, false, out, in, rows, 1f, g, 0, out, x.data(), 0, in, 0f, dw.data(), 0, in);
        }
        if (needBias) {
            db = Tensor.zeros(out);                              // [out] = 1 [1, rows] · gy [rows, out]
            float[] ones = new float[rows];
            Arrays.fill(ones, 1f);
            Gemm.sgemm(false, false, 1, out, rows, 1f, ones, 0, rows, g, 0, out, 0f, db.data(), 0, out);
        }
        return new Tensor[]{dx, dw, db};
    }

    private static void requireF32(String op, String arg, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + arg + " is null, expected an F32 CPU tensor");
        if (t.dtype() != DType.F32)
            throw new IllegalArgumentException(op + ": " + arg + " is " + t.dtype() + ", expected F32");
        if (t.device() != Device.CPU)
            throw new IllegalArgumentException(op + ": " + arg + " is on " + t.device().name() + ", expected cpu");
    }
}
