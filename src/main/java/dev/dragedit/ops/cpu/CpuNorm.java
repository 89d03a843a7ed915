package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

/**
 * GroupNorm (torch.nn.functional.group_norm), LayerNorm over the last dimension (layer_norm with
 * normalized_shape = [D]) and softmax over the last dimension, with their backwards.
 * <p>
 * Normalisation: statistics per (sample, group) or per row, biased variance, eps inside the square root. They are
 * computed two-pass (mean, then moments about it) with float lanes flushed into doubles ({@link NormKernels}), so
 * SD's 32-group GroupNorm over 10·64·64 elements, or a VAE group of a million, keeps float accuracy. A GroupNorm
 * group is one contiguous run of C/groups·spatial elements; the work is parallel over N·groups, then per channel
 * the statistics, gamma and beta fold into one scale and shift.
 * <p>
 * Parameter gradients are reduced in a fixed order (per sample, or per fixed block of 32 rows, then serially), so
 * they do not depend on the thread count. The backwards do not receive beta: dbeta is returned whenever
 * {@code needGammaBeta} (it is Σ gy, whatever beta was), dgamma only when gamma is not null.
 * <p>
 * Softmax rows are handled by {@link SoftmaxRows}; a row of all −inf comes out NaN, as in torch.
 */
final class CpuNorm {
    private CpuNorm() {}

    /** Elements a parallel chunk should hold at least, so that small tensors run inline. */
    private static final int GRAIN_ELEMS = 32768;
    /** Rows per LayerNorm parameter-gradient partial: fixed, so the reduction order is the same on any machine. */
    private static final int ROW_BLOCK = 32;

    // ---------------------------------------------------------------- GroupNorm

    /** N, C, spatial (product of dims ≥ 2), channels per group, elements per group. */
    private record GroupDims(int n, int c, int spatial, int cg, int m) {}

    private static GroupDims groupDims(String op, Tensor x, int groups) {
        NormChecks.f32(op, "x", x);
        if (x.rank() < 2)
            throw new IllegalArgumentException(op + ": x has shape " + NormChecks.shape(x) + ", expected [N, C, ...] (rank ≥ 2)");
        int n = x.dim(0), c = x.dim(1);
        if (groups < 1 || c % groups != 0)
            throw new IllegalArgumentException(op + ": groups=" + groups + " must be positive and divide C=" + c
                    + " (x has shape " + NormChecks.shape(x) + ")");
        int spatial = 1;
        for (int i = 2; i < x.rank(); i++) spatial *= x.dim(i);
        int cg = c / groups;
        return new GroupDims(n, c, spatial, cg, cg * spatial);
    }

    public static Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        GroupDims d = groupDims("groupNorm", x, groups);
        NormChecks.vectorOrNull("groupNorm", "gamma", gamma, d.c, "C");
        NormChecks.vectorOrNull("groupNorm", "beta", beta, d.c, "C");
        float[] xa = x.data(), ga = gamma == null ? null : gamma.data(), ba = beta == null ? null : beta.data();
        Tensor y = Tensor.zeros(x.shape());   // [N, C, ...] like x
        float[] ya = y.data();
        if (d.m == 0) return y;
        Parallel.forRange(d.n * groups, GRAIN_ELEMS / d.m, (u0, u1) -> {
            double[] mv = new double[2];
            for (int u = u0; u < u1; u++) {
                // Unit u = (sample, group); its channels are one contiguous run starting at u·m.
                int base = u * d.m, c0 = (u % groups) * d.cg;
                NormKernels.meanVar(xa, base, d.m, mv);
                float mf = (float) mv[0];
                double corr = mv[0] - mf, rstd = 1.0 / Math.sqrt(mv[1] + eps);
                for (int j = 0; j < d.cg; j++) {
                    int ch = c0 + j;
                    double s = rstd * (ga == null ? 1.0 : ga[ch]);
                    double t = (ba == null ? 0.0 : ba[ch]) - corr * s;
                    int off = base + j * d.spatial;
                    NormKernels.shiftScale(xa, off, ya, off, d.spatial, mf, (float) s, (float) t);
                }
            }
        });
        return y;
    }

    public static Tensor[] groupNormBackward(Tensor gy, Tensor x, int groups, Tensor gamma, float eps, boolean needGammaBeta) {
        GroupDims d = groupDims("groupNormBackward", x, groups);
        NormChecks.f32("groupNormBackward", "gy", gy);
        NormChecks.sameShape("groupNormBackward", "gy", gy, x.shape(), "the shape of x");
        NormChecks.vectorOrNull("groupNormBackward", "gamma", gamma, d.c, "C");
        float[] ga = gamma == null ? null : gamma.data(), xa = x.data(), gya = gy.data();
        Tensor dx = Tensor.zeros(x.shape());   // [N, C, ...] like x
        float[] dxa = dx.data();
        // Per (sample, channel): Σ gy·x̂ and Σ gy, summed over samples afterwards in a fixed order.
        double[] dgPart = new double[d.n * d.c], dbPart = new double[d.n * d.c];
        if (d.m > 0) {
            Parallel.forRange(d.n * groups, GRAIN_ELEMS / d.m, (u0, u1) -> {
                double[] mv = new double[2], sums = new double[2];
                for (int u = u0; u < u1; u++) {
                    int base = u * d.m, c0 = (u % groups) * d.cg, nc0 = (u / groups) * d.c + c0;
                    NormKernels.meanVar(xa, base, d.m, mv);
                    float mf = (float) mv[0];
                    double corr = mv[0] - mf, rstd = 1.0 / Math.sqrt(mv[1] + eps);
                    // With dx̂ = γ·gy: a = mean(dx̂), b = mean(dx̂·x̂) over the group.
                    double a = 0, b = 0;
                    for (int j = 0; j < d.cg; j++) {
                        int off = base + j * d.spatial;
                        NormKernels.gradSums(gya, off, xa, off, null, d.spatial, mf, sums);
                        double sg = sums[0], sgxc = sums[1] - corr * sums[0];   // Σ gy, Σ gy·(x − mean)
                        double gam = ga == null ? 1.0 : ga[c0 + j];
                        a += gam * sg;
                        b += gam * sgxc;
                        dgPart[nc0 + j] = rstd * sgxc;
                        dbPart[nc0 + j] = sg;
                    }
                    a /= d.m;
                    b *= rstd / d.m;
                    // dx = rstd·(dx̂ − a − x̂·b) = gy·(rstd·γ) + (x − mf)·(−rstd²·b) + (rstd²·b·corr − rstd·a).
                    float u2 = (float) (-rstd * rstd * b), t = (float) (rstd * rstd * b * corr - rstd * a);
                    for (int j = 0; j < d.cg; j++) {
                        int off = base + j * d.spatial;
                        float s = (float) (rstd * (ga == null ? 1.0 : ga[c0 + j]));
                        NormKernels.combine(gya, off, null, xa, off, dxa, off, d.spatial, s, mf, u2, t);
                    }
                }
            });
        }
        Tensor dgamma = null, dbeta = null;
        if (needGammaBeta) {
            if (gamma != null) dgamma = sumOverSamples(dgPart, d.n, d.c);   // [C]
            dbeta = sumOverSamples(dbPart, d.n, d.c);                       // [C]
        }
        return new Tensor[]{dx, dgamma, dbeta};
    }

    private static Tensor sumOverSamples(double[] part, int n, int c) {
        double[] acc = new double[c];
        for (int s = 0; s < n; s++)
            for (int ch = 0; ch < c; ch++) acc[ch] += part[s * c + ch];
        float[] out = new float[c];
        for (int ch = 0; ch < c; ch++) out[ch] = (float) acc[ch];
        return Tensor.of(out, c);
    }

    // ---------------------------------------------------------------- LayerNorm

    private static int lastDim(String op, Tensor x) {
        NormChecks.f32(op, "x", x);
        if (x.rank() < 1)
            throw new IllegalArgumentException(op + ": x has shape " + NormChecks.shape(x) + ", expected [..., D] (rank ≥ 1)");
        return x.dim(-1);
    }

    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int dim = lastDim("layerNorm", x);
        NormChecks.vectorOrNull("layerNorm", "gamma", gamma, dim, "D");
        NormChecks.vectorOrNull("layerNorm", "beta", beta, dim, "D");
        float[] xa = x.data(), ga = gamma == null ? null : gamma.data(), ba = beta == null ? null : beta.data();
        Tensor y = Tensor.zeros(x.shape());   // [..., D] like x
        float[] ya = y.data();
        if (dim == 0) return y;
        Parallel.forRange(x.numel() / dim, GRAIN_ELEMS / dim, (r0, r1) -> {
            double[] mv = new double[2];
            for (int r = r0; r < r1; r++) {
                int off = r * dim;
                NormKernels.meanVar(xa, off, dim, mv);
                float mf = (float) mv[0];
                double rstd = 1.0 / Math.sqrt(mv[1] + eps);
                NormKernels.normalizeRow(xa, off, ya, off, dim, mf, (float) rstd, (float) (-(mv[0] - mf) * rstd), ga, ba);
            }
        });
        return y;
    }

    public static Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor gamma, float eps, boolean needGammaBeta) {
        int dim = lastDim("layerNormBackward", x);
        NormChecks.f32("layerNormBackward", "gy", gy);
        NormChecks.sameShape("layerNormBackward", "gy", gy, x.shape(), "the shape of x");
        NormChecks.vectorOrNull("layerNormBackward", "gamma", gamma, dim, "D");
        float[] xa = x.data(), gya = gy.data(), ga = gamma == null ? null : gamma.data();
        Tensor dx = Tensor.zeros(x.shape());   // [..., D] like x
        float[] dxa = dx.data();
        int rows = dim == 0 ? 0 : x.numel() / dim;
        int blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
        // Per block of rows: partial Σ gy·x̂ and Σ gy, [blocks, D] each.
        float[] dgPart = needGammaBeta ? new float[blocks * dim] : null, dbPart = needGammaBeta ? new float[blocks * dim] : null;
        Parallel.forRange(blocks, Math.max(1, GRAIN_ELEMS / Math.max(1, ROW_BLOCK * dim)), (b0, b1) -> {
            double[] mv = new double[2], sums = new double[2];
            float[] pg = needGammaBeta ? new float[dim] : null, pb = needGammaBeta ? new float[dim] : null;
            for (int blk = b0; blk < b1; blk++) {
                if (needGammaBeta) {
                    Arrays.fill(pg, 0f);
                    Arrays.fill(pb, 0f);
                }
                for (int r = blk * ROW_BLOCK, rEnd = Math.min(rows, r + ROW_BLOCK); r < rEnd; r++) {
                    int off = r * dim;
                    NormKernels.meanVar(xa, off, dim, mv);
                    float mf = (float) mv[0];
                    double corr = mv[0] - mf, rstd = 1.0 / Math.sqrt(mv[1] + eps);
                    NormKernels.gradSums(gya, off, xa, off, ga, dim, mf, sums);
                    // With dx̂ = γ·gy: a = mean(dx̂), b = mean(dx̂·x̂) over the row.
                    double a = sums[0] / dim, b = rstd * (sums[1] - corr * sums[0]) / dim;
                    NormKernels.combine(gya, off, ga, xa, off, dxa, off, dim, (float) rstd, mf,
                            (float) (-rstd * rstd * b), (float) (rstd * rstd * b * corr - rstd * a));
                    if (needGammaBeta)
                        NormKernels.accumulateAffineGrads(gya, off, xa, off, dim, mf, (float) rstd, (float) (-corr * rstd), pg, pb);
                }
                if (needGammaBeta) {
                    System.arraycopy(pg, 0, dgPart, blk * dim, dim);
                    System.arraycopy(pb, 0, dbPart, blk * dim, dim);
                }
            }
        });
        Tensor dgamma = null, dbeta = null;
        if (needGammaBeta) {
            if (gamma != null) dgamma = sumBlocks(dgPart, blocks, dim);   // [D]
            dbeta = sumBlocks(dbPart, blocks, dim);                       // [D]
        }
        return new Tensor[]{dx, dgamma, dbeta};
    }

    private static Tensor sumBlocks(float[] part, int blocks, int dim) {
        double[] acc = new double[dim];
        for (int b = 0; b < blocks; b++)
            for (int i = 0; i < dim; i++) acc[i] += part[b * dim + i];
        float[] out = new float[dim];
        for (int i = 0; i < dim; i++) out[i] = (float) acc[i];
        return Tensor.of(out, dim);
    }

    // ---------------------------------------------------------------- softmax

    /** Length of the softmax rows: the last dimension (a rank-0 tensor is one row of one element, as in torch). */
    private static int rowLength(Tensor x) {
        return x.rank() == 0 ? 1 : x.dim(-1);
    }

    public static Tensor softmax(Tensor x) {
        NormChecks.f32("softmax", "x", x);
        int n = rowLength(x);
        float[] xa = x.data();
        Tensor y = Tensor.zeros(x.shape());   // same shape as x
        float[] ya = y.data();
        if (n == 0) return y;
        Parallel.forRange(x.numel() / n, GRAIN_ELEMS / (4 * n), (r0, r1) -> {
            for (int r = r0; r < r1; r++) SoftmaxRows.forward(xa, r * n, ya, r * n, n);
        });
        return y;
    }

    public static Tensor softmaxBackward(Tensor gy, Tensor y) {
        NormChecks.f32("softmaxBackward", "gy", gy);
        NormChecks.f32("softmaxBackward", "y", y);
        NormChecks.sameShape("softmaxBackward", "gy", gy, y.shape(), "the shape of the softmax output y");
        int n = rowLength(y);
        float[] ga = gy.data(), ya = y.data();
        Tensor dx = Tensor.zeros(y.shape());   // same shape as y
        float[] dxa = dx.data();
        if (n == 0) return dx;
        Parallel.forRange(y.numel() / n, GRAIN_ELEMS / n, (r0, r1) -> {
            for (int r = r0; r < r1; r++) SoftmaxRows.backward(ga, r * n, ya, r * n, dxa, r * n, n);
        });
        return dx;
    }
}
