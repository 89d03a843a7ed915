package dev.dragedit.ops.cpu;

import dev.dragedit.util.Parallel;

/**
 * The unpacked paths of {@link Gemm}: tiny products, where packing would cost more than it saves, and
 * matrix-vector products (M = 1 or N = 1), where every element of the matrix is used once so packing it would
 * only add a second pass over memory. Both reduce to contiguous dot products or axpys over rows of the operands,
 * vectorised with {@link GemmSimdKernel} when SIMD is on.
 */
final class GemmSmall {
    private GemmSmall() {}

    /**
     * Multiply-adds per parallel chunk, and twice that before the pool is used at all: these loops stream the
     * matrix once, and below ~0.5M multiply-adds waking the pool costs more than it saves.
     */
    private static final int GRAIN_MACS = 1 << 18;
    /** Columns per chunk at least, so that each row of B is read in runs of whole cache lines. */
    private static final int MIN_COLUMNS = 256;

    /**
     * C = alpha·op(A)·op(B) + beta·C one row of C at a time, rows split over the pool and, when M = 1, columns too.
     * Without transB a row of C is a sum of rows of B scaled by op(A)[i, p] (axpys); with transB each element is a
     * dot product of a row of op(A) with a row of B.
     */
    static void byRows(boolean transA, boolean transB, int m, int n, int k, float alpha,
                       float[] a, int offA, int lda, float[] b, int offB, int ldb,
                       float beta, float[] c, int offC, int ldc) {
        boolean simd = Simd.enabled();
        long macs = (long) m * n * k;
        if (m == 1) {
            float[] x = rowOfOpA(transA, alpha, a, offA, lda, 0, k);
            int grain = Math.max(MIN_COLUMNS, GRAIN_MACS / Math.max(1, k));
            Parallel.RangeBody cols = (j0, j1) -> row(simd, transB, j0, j1, k, x, b, offB, ldb, beta, c, offC);
            if (macs >= GRAIN_MACS * 2L) Parallel.forRange(n, grain, cols);
            else cols.run(0, n);
            return;
        }
        Parallel.RangeBody rows = (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                float[] x = rowOfOpA(transA, alpha, a, offA, lda, i, k);
                row(simd, transB, 0, n, k, x, b, offB, ldb, beta, c, offC + i * ldc);
            }
        };
        if (macs >= GRAIN_MACS * 2L) Parallel.forRange(m, (int) Math.max(1, GRAIN_MACS / Math.max(1, (long) n * k)), rows);
        else rows.run(0, m);
    }

    /** alpha·op(A)[i, 0:k] as a fresh contiguous vector. */
    private static float[] rowOfOpA(boolean transA, float alpha, float[] a, int offA, int lda, int i, int k) {
        float[] x = new float[k];
        if (transA) for (int p = 0; p < k; p++) x[p] = alpha * a[offA + p * lda + i];
        else for (int p = 0; p < k; p++) x[p] = alpha * a[offA + i * lda + p];
        return x;
    }

    /** C[row, j0:j1] (row starting at ci) = x·op(B)[:, j0:j1] + beta·C. */
    private static void row(boolean simd, boolean transB, int j0, int j1, int k, float[] x,
                            float[] b, int offB, int ldb, float beta, float[] c, int ci) {
        if (transB) {
            for (int j = j0; j < j1; j++) {
                float s = simd ? GemmSimdKernel.dot(x, 0, b, offB + j * ldb, k) : dotScalar(x, 0, b, offB + j * ldb, k);
                c[ci + j] = beta == 0f ? s : s + beta * c[ci + j];
            }
        } else {
            scale(c, ci + j0, j1 - j0, beta);
            sumRows(simd, x, k, b, offB + j0, ldb, c, ci + j0, j1 - j0);
        }
    }

    /**
     * N = 1: C[:, 0] = alpha·op(A)·op(B)[:, 0] + beta·C. Without transA each element is a dot product of a row of A;
     * with transA the column is a sum of rows of A (axpys), accumulated in a contiguous scratch column.
     */
    static void column(boolean transA, boolean transB, int m, int k, float alpha,
                       float[] a, int offA, int lda, float[] b, int offB, int ldb,
                       float beta, float[] c, int offC, int ldc) {
        boolean simd = Simd.enabled();
        float[] x = new float[k];                              // alpha·op(B)[:, 0], contiguous
        for (int p = 0; p < k; p++) x[p] = alpha * (transB ? b[offB + p] : b[offB + p * ldb]);
        Parallel.RangeBody rows = (i0, i1) -> {
            if (!transA) {
                for (int i = i0; i < i1; i++) {
                    int ai = offA + i * lda;
                    float s = simd ? GemmSimdKernel.dot(x, 0, a, ai, k) : dotScalar(x, 0, a, ai, k);
                    int ci = offC + i * ldc;
                    c[ci] = beta == 0f ? s : s + beta * c[ci];
                }
            } else {
                float[] y = new float[i1 - i0];
                sumRows(simd, x, k, a, offA + i0, lda, y, 0, i1 - i0);
                for (int i = i0; i < i1; i++) {
                    int ci = offC + i * ldc;
                    c[ci] = beta == 0f ? y[i - i0] : y[i - i0] + beta * c[ci];
                }
            }
        };
        long macs = (long) m * k;
        int grain = Math.max(transA ? MIN_COLUMNS : 1, GRAIN_MACS / Math.max(1, k));
        if (macs >= GRAIN_MACS * 2L) Parallel.forRange(m, grain, rows);
        else rows.run(0, m);
    }

    /** y[yi:yi+n] += Σ_{p<k} x[p]·mat[off + p·ld : +n], the rows in fours so that y is loaded and stored once per four. */
    private static void sumRows(boolean simd, float[] x, int k, float[] mat, int off, int ld, float[] y, int yi, int n) {
        int p = 0;
        for (; p + 4 <= k; p += 4) {
            int r = off + p * ld;
            if (simd) GemmSimdKernel.axpy4(x[p], x[p + 1], x[p + 2], x[p + 3], mat, r, ld, y, yi, n);
            else
                for (int j = 0; j < n; j++)
                    y[yi + j] += x[p] * mat[r + j] + x[p + 1] * mat[r + ld + j] + x[p + 2] * mat[r + 2 * ld + j] + x[p + 3] * mat[r + 3 * ld + j];
        }
        for (; p < k; p++) {
            if (simd) GemmSimdKernel.axpy(x[p], mat, off + p * ld, y, yi, n);
            else axpyScalar(x[p], mat, off + p * ld, y, yi, n);
        }
    }

    /** c[ci:ci+n] *= beta, with beta = 0 writing zeros whatever was there (BLAS semantics). */
    static void scale(float[] c, int ci, int n, float beta) {
        if (beta == 1f) return;
        if (beta == 0f) java.util.Arrays.fill(c, ci, ci + n, 0f);
        else for (int j = 0; j < n; j++) c[ci + j] *= beta;
    }

    private static float dotScalar(float[] x, int xi, float[] y, int yi, int n) {
        float s = 0;
        for (int p = 0; p < n; p++) s += x[xi + p] * y[yi + p];
        return s;
    }

    private static void axpyScalar(float s, float[] x, int xi, float[] y, int yi, int n) {
        for (int j = 0; j < n; j++) y[yi + j] += s * x[xi + j];
    }
}
