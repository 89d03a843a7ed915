package dev.dragedit.ops.cpu;

import dev.dragedit.ops.shape.MatmulShapes;
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
        MatmulShapes.Matmul mm = MatmulShapes.matmul(as, bs, transA, transB);
        int ra = as.length, rb = bs.length, m = mm.m(), k = mm.k(), n = mm.n(), rank = mm.batch().length;
        int[] batch = mm.batch();
        Tensor y = Tensor.zeros(mm.out());                      // [..., M, N]
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

    /** The element offset of each output batch's matrix in an operand, broadcast dimensions repeating it. */
    private static int[] batchOffsets(int[] shape, int[] batch, int matrixSize) {
        int nb = (int) Tensor.numel(batch);
        int[] strides = MatmulShapes.matrixStrides(Arrays.copyOf(shape, shape.length - 2), batch);   // 0 where broadcast
        int rank = batch.length;
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
        MatmulShapes.Linear ls = MatmulShapes.linear(x.shape(), w.shape(), bias == null ? null : bias.shape());
        int out = ls.out(), in = ls.in();
        int[] xs = ls.x(), ys = ls.y();
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
        MatmulShapes.Linear ls = MatmulShapes.linearBackward(gy.shape(), w.shape());
        int out = ls.out(), in = ls.in();
        int[] gs = ls.y(), xs = ls.x();
        if (x != null) requireF32("linearBackward", "x", x);
        MatmulShapes.linearBackwardX(x == null ? null : x.shape(), ls, needW);
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
