package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

/**
 * Scaled dot-product attention, softmax(q·kᵀ·scale [+ causal mask])·v, and its backward, for q [B, H, Lq, D],
 * k [B, H, Lk, D], v [B, H, Lk, Dv].
 * <p>
 * SD 1.5 self-attention at a 64×64 latent has Lq = Lk = 4096 over 8 heads: the full score tensor would be
 * 8·4096·4096 floats (512 MB) per sample. So the work is split into blocks of query rows per (b, h), each with a
 * bounded scores buffer [blockQ, Lk] that is computed, normalised row by row and consumed at once:
 * S = scale·Q_blk·Kᵀ and O_blk = P·V are {@link Gemm#sgemm} calls, the row softmax is {@link SoftmaxRows}.
 * The forward is parallel over (b, h, query block).
 * <p>
 * The backward recomputes P per block (flash-style) instead of saving it: dP = dO·Vᵀ, dS = P∘(dP − rowsum(P∘dP))
 * (rowsum(P∘dP) = rowsum(dO∘O)), dQ = scale·dS·K, dK += scale·dSᵀ·Q, dV += Pᵀ·dO. dK and dV sum over all query
 * blocks of a head, so the query blocks of a head are dealt round-robin to a few groups, each accumulating into its
 * own dK/dV buffer (group 0 straight into the output), added up at the end; the group count grows only when
 * B·H alone would leave cores idle (so dK/dV's summation order, and only their rounding, depends on the core count).
 * <p>
 * Causal mask: key j is masked for query i when j > i, i.e. the allowed pattern is tril(ones(Lq, Lk)) aligned at
 * the top-left — the is_causal convention of torch.nn.functional.scaled_dot_product_attention, also when Lq ≠ Lk.
 * Every query then sees at least key 0, so no row is fully masked. With Lk = 0 the output (and every gradient) is
 * zero. Blocks only compute scores for keys below the block's last query, and masked probabilities are exactly 0.
 */
final class CpuAttention {
    private CpuAttention() {}

    /** Query rows per block; the block's scores buffer is [BLOCK_Q, Lk] (1 MB at Lk = 4096). */
    private static final int BLOCK_Q = 64;
    /** Smallest block when blocks are shrunk to give every core work. */
    private static final int MIN_BLOCK_Q = 16;
    /** Cap on one scores buffer, in floats, for very long key sequences. */
    private static final int MAX_SCORES = 1 << 22;
    /** Multiply-adds a parallel chunk should hold at least, so that tiny problems run inline. */
    private static final long GRAIN_FLOPS = 1L << 18;

    private record Dims(int b, int h, int lq, int lk, int d, int dv) {
        int heads() { return b * h; }
    }

    private static Dims dims(String op, Tensor q, Tensor k, Tensor v) {
        NormChecks.f32(op, "q", q);
        NormChecks.f32(op, "k", k);
        NormChecks.f32(op, "v", v);
        if (q.rank() != 4)
            throw new IllegalArgumentException(op + ": q has shape " + NormChecks.shape(q) + ", expected [B, H, Lq, D]");
        int b = q.dim(0), h = q.dim(1), lq = q.dim(2), d = q.dim(3);
        if (k.rank() != 4 || k.dim(0) != b || k.dim(1) != h || k.dim(3) != d)
            throw new IllegalArgumentException(op + ": k has shape " + NormChecks.shape(k) + ", expected [B=" + b + ", H=" + h
                    + ", Lk, D=" + d + "] (q has shape " + NormChecks.shape(q) + ")");
        int lk = k.dim(2);
        if (v.rank() != 4 || v.dim(0) != b || v.dim(1) != h || v.dim(2) != lk)
            throw new IllegalArgumentException(op + ": v has shape " + NormChecks.shape(v) + ", expected [B=" + b + ", H=" + h
                    + ", Lk=" + lk + ", Dv] (k has shape " + NormChecks.shape(k) + ")");
        return new Dims(b, h, lq, lk, d, v.dim(3));
    }

    /** Rows per query block: BLOCK_Q, halved while the blocks are too few to occupy every core. */
    private static int blockRows(Dims d) {
        int bq = BLOCK_Q;
        while (bq > MIN_BLOCK_Q && (long) d.heads() * ceilDiv(d.lq, bq) < 2L * Parallel.THREADS) bq /= 2;
        bq = Math.min(bq, Math.max(1, MAX_SCORES / Math.max(1, d.lk)));
        return Math.max(1, Math.min(bq, d.lq));
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static int grain(long flopsPerUnit) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, GRAIN_FLOPS / Math.max(1, flopsPerUnit)));
    }

    public static Tensor attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        Dims d = dims("attention", q, k, v);
        Tensor out = Tensor.zeros(d.b, d.h, d.lq, d.dv);   // [B, H, Lq, Dv]
        if (d.lq == 0 || d.lk == 0 || d.heads() == 0) return out;
        float[] qa = q.data(), ka = k.data(), va = v.data(), oa = out.data();
        int bq = blockRows(d), nqb = ceilDiv(d.lq, bq);
        Parallel.forRange(d.heads() * nqb, grain((long) bq * d.lk * (d.d + d.dv)), (u0, u1) -> {
            float[] p = new float[bq * d.lk];
            for (int u = u0; u < u1; u++) {
                int bh = u / nqb, i0 = (u % nqb) * bq, rows = Math.min(bq, d.lq - i0);
                int keys = causal ? Math.min(d.lk, i0 + rows) : d.lk;
                int qOff = (bh * d.lq + i0) * d.d;
                probabilities(qa, qOff, ka, bh * d.lk * d.d, rows, keys, d.d, scale, causal, i0, p);   // P [rows, keys]
                Gemm.sgemm(false, false, rows, d.dv, keys, 1f, p, 0, keys, va, bh * d.lk * d.dv, d.dv,
                        0f, oa, (bh * d.lq + i0) * d.dv, d.dv);   // O_blk = P·V [rows, Dv]
            }
        });
        return out;
    }

    /**
     * p[rows, keys] = softmax over each row of scale·q_blk·kᵀ, for the query rows i0 … i0 + rows − 1 of one head
     * and its first {@code keys} keys; under the causal mask row i keeps keys j ≤ i and the rest are exactly 0.
     */
    private static void probabilities(float[] q, int qOff, float[] k, int kOff, int rows, int keys, int dim,
                                      float scale, boolean causal, int i0, float[] p) {
        Gemm.sgemm(false, true, rows, keys, dim, scale, q, qOff, dim, k, kOff, dim, 0f, p, 0, keys);   // S [rows, keys]
        for (int r = 0; r < rows; r++) {
            int valid = causal ? Math.min(keys, i0 + r + 1) : keys;
            SoftmaxRows.forward(p, r * keys, p, r * keys, valid);
            Arrays.fill(p, r * keys + valid, (r + 1) * keys, 0f);
        }
    }

    public static Tensor[] attentionBackward(Tensor gy, Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        Dims d = dims("attentionBackward", q, k, v);
        NormChecks.f32("attentionBackward", "gy", gy);
        NormChecks.sameShape("attentionBackward", "gy", gy, new int[]{d.b, d.h, d.lq, d.dv}, "[B, H, Lq, Dv] of the output");
        Tensor dq = Tensor.zeros(q.shape()), dk = Tensor.zeros(k.shape()), dv = Tensor.zeros(v.shape());
        if (d.lq == 0 || d.lk == 0 || d.heads() == 0) return new Tensor[]{dq, dk, dv};
        float[] qa = q.data(), ka = k.data(), va = v.data(), ga = gy.data();
        float[] dqa = dq.data(), dka = dk.data(), dva = dv.data();
        int bq = blockRows(d), nqb = ceilDiv(d.lq, bq);
        int groups = Math.max(1, Math.min(nqb, ceilDiv(2 * Parallel.THREADS, d.heads())));
        // Groups 1 … groups−1 of each head accumulate dK/dV here ([Lk, D] and [Lk, Dv] each), group 0 in the output.
        float[][] partK = new float[d.heads() * (groups - 1)][], partV = new float[d.heads() * (groups - 1)][];
        long flopsPerUnit = (long) ceilDiv(nqb, groups) * bq * d.lk * (2L * d.d + 3L * d.dv);
        Parallel.forRange(d.heads() * groups, grain(flopsPerUnit), (u0, u1) -> {
            float[] p = new float[bq * d.lk], ds = new float[bq * d.lk];
            for (int u = u0; u < u1; u++) {
                int bh = u / groups, g = u % groups;
                float[] dkT = dka, dvT = dva;
                int dkOff = bh * d.lk * d.d, dvOff = bh * d.lk * d.dv;
                if (g > 0) {
                    dkT = partK[bh * (groups - 1) + g - 1] = new float[d.lk * d.d];
                    dvT = partV[bh * (groups - 1) + g - 1] = new float[d.lk * d.dv];
                    dkOff = 0;
                    dvOff = 0;
                }
                for (int qb = g; qb < nqb; qb += groups) {
                    int i0 = qb * bq, rows = Math.min(bq, d.lq - i0);
                    int keys = causal ? Math.min(d.lk, i0 + rows) : d.lk;
                    int qOff = (bh * d.lq + i0) * d.d, gOff = (bh * d.lq + i0) * d.dv;
                    int kOff = bh * d.lk * d.d, vOff = bh * d.lk * d.dv;
                    probabilities(qa, qOff, ka, kOff, rows, keys, d.d, scale, causal, i0, p);   // P [rows, keys]
                    Gemm.sgemm(false, true, rows, keys, d.dv, 1f, ga, gOff, d.dv, va, vOff, d.dv,
                            0f, ds, 0, keys);   // dP = dO·Vᵀ [rows, keys]
                    for (int r = 0; r < rows; r++) {
                        int valid = causal ? Math.min(keys, i0 + r + 1) : keys;
                        SoftmaxRows.backward(ds, r * keys, p, r * keys, ds, r * keys, valid);   // dS = P∘(dP − rowsum(P∘dP))
                        Arrays.fill(ds, r * keys + valid, (r + 1) * keys, 0f);
                    }
                    Gemm.sgemm(true, false, keys, d.dv, rows, 1f, p, 0, keys, ga, gOff, d.dv,
                            1f, dvT, dvOff, d.dv);   // dV[:keys] += Pᵀ·dO [keys, Dv]
                    Gemm.sgemm(false, false, rows, d.d, keys, scale, ds, 0, keys, ka, kOff, d.d,
                            0f, dqa, qOff, d.d);   // dQ_blk = scale·dS·K [rows, D]
                    Gemm.sgemm(true, false, keys, d.d, rows, scale, ds, 0, keys, qa, qOff, d.d,
                            1f, dkT, dkOff, d.d);   // dK[:keys] += scale·dSᵀ·Q [keys, D]
                }
            }
        });
        if (groups > 1) {
            Parallel.forRange(d.heads(), grain((long) (groups - 1) * d.lk * (d.d + d.dv)), (h0, h1) -> {
                for (int bh = h0; bh < h1; bh++)
                    for (int g = 1; g < groups; g++) {
                        addInto(partK[bh * (groups - 1) + g - 1], dka, bh * d.lk * d.d);
                        addInto(partV[bh * (groups - 1) + g - 1], dva, bh * d.lk * d.dv);
                    }
            });
        }
        return new Tensor[]{dq, dk, dv};
    }

    /** dst[off, off + src.length) += src. Memory-bound and run once per backward, so a plain loop. */
    private static void addInto(float[] src, float[] dst, int off) {
        for (int i = 0; i < src.length; i++) dst[off + i] += src[i];
    }
}
