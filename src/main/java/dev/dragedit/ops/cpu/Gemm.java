package dev.dragedit.ops.cpu;

/**
 * Single-precision GEMM on row-major arrays: C = alpha·op(A)·op(B) + beta·C, with op(X) = X or Xᵀ.
 * A is M×K (K×M when transA) with leading dimension lda; B is K×N (N×K when transB), ldb; C is M×N, ldc.
 * Every matmul, linear and im2col convolution of the CPU backend lands here.
 * <p>
 * BLAS semantics: beta = 0 overwrites C without reading it (NaN there does not propagate); alpha = 0 or K = 0
 * only scales C by beta. The work is routed by shape: matrix-vector products (M = 1 or N = 1) and tiny products
 * run unpacked ({@link GemmSmall}); everything else runs the packed, register-blocked, multithreaded GotoBLAS
 * loop nest ({@link GemmBlocked}) with the Vector API micro-kernel ({@link GemmSimdKernel}) when SIMD is on.
 * Results of the paths agree to float rounding; they differ only in summation order.
 * <p>
 * Measured at 1024³ on the 2-core Zen 3 development VM (AVX2, best of 5, shared and noisy): 105–150 GFLOP/s,
 * against 100–165 for numpy/OpenBLAS 0.3.31 measured alternately; one thread ~80 against ~85. Hand-run table:
 * {@code GemmTiming} in the tests.
 */
public final class Gemm {
    private Gemm() {}

    /** Below this many multiply-adds, packing costs more than it saves. */
    static final long SMALL_MACS = 32768;

    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int offA, int lda, float[] b, int offB, int ldb,
                             float beta, float[] c, int offC, int ldc) {
        if (m < 0 || n < 0 || k < 0)
            throw new IllegalArgumentException("sgemm: sizes must be non-negative, found M=" + m + " N=" + n + " K=" + k);
        checkOperand("A", a, offA, lda, transA ? k : m, transA ? m : k, transA);
        checkOperand("B", b, offB, ldb, transB ? n : k, transB ? k : n, transB);
        checkOperand("C", c, offC, ldc, m, n, false);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) {
            for (int i = 0; i < m; i++) GemmSmall.scale(c, offC + i * ldc, n, beta);
            return;
        }
        if (n == 1) {
            GemmSmall.column(transA, transB, m, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
        } else if (m == 1 || (long) m * n * k < SMALL_MACS) {
            GemmSmall.byRows(transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
        } else {
            GemmBlocked.sgemm(Simd.enabled(), transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
        }
    }

    /** A stored rows×cols operand must have ld ≥ cols (when it has more than one row) and fit in its array. */
    private static void checkOperand(String name, float[] x, int off, int ld, int rows, int cols, boolean trans) {
        String layout = name + " (stored " + rows + "×" + cols + (trans ? ", transposed" : "") + ")";
        if (x == null) throw new IllegalArgumentException("sgemm: array of " + layout + " is null");
        if (off < 0) throw new IllegalArgumentException("sgemm: offset of " + layout + " is " + off + ", expected ≥ 0");
        if (rows == 0 || cols == 0) return;
        if (rows > 1 && ld < cols)
            throw new IllegalArgumentException("sgemm: leading dimension of " + layout + " is " + ld + ", expected ≥ " + cols);
        long last = off + (long) (rows - 1) * ld + cols - 1;
        if (last >= x.length)
            throw new IllegalArgumentException("sgemm: " + layout + " at offset " + off + " with leading dimension " + ld
                    + " needs " + (last + 1) + " array elements, found " + x.length);
    }
}
