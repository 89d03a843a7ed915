package dev.dragedit.ops.cpu;

import dev.dragedit.util.Parallel;

/**
 * Single-precision GEMM on row-major arrays: C = alpha·op(A)·op(B) + beta·C, with op(X) = X or Xᵀ.
 * A is M×K (K×M when transA) with leading dimension lda; B is K×N (N×K when transB), ldb; C is M×N, ldc.
 * Every matmul, linear and im2col convolution of the CPU backend lands here.
 */
public final class Gemm {
    private Gemm() {}

    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int offA, int lda, float[] b, int offB, int ldb,
                             float beta, float[] c, int offC, int ldc) {
        // Plain reference loop; the blocked Vector API kernel replaces it.
        Parallel.forRange(m, Math.max(1, 16384 / Math.max(1, n * k / 64 + 1)), (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                for (int j = 0; j < n; j++) {
                    float s = 0;
                    for (int p = 0; p < k; p++) {
                        float av = transA ? a[offA + p * lda + i] : a[offA + i * lda + p];
                        float bv = transB ? b[offB + j * ldb + p] : b[offB + p * ldb + j];
                        s += av * bv;
                    }
                    int ci = offC + i * ldc + j;
                    c[ci] = alpha * s + (beta == 0 ? 0 : beta * c[ci]);
                }
            }
        });
    }
}
