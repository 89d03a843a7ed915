package dev.dragedit.ops;

import dev.dragedit.ops.cpu.Gemm;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.dragedit.ops.OpTestSupport.F32_ATOL;
import static dev.dragedit.ops.OpTestSupport.F32_RTOL;
import static dev.dragedit.ops.OpTestSupport.assertClose;
import static dev.dragedit.ops.OpTestSupport.bothSimdPaths;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Gemm#sgemm} against a float64 triple loop, on every path it routes to (tiny, matrix-vector, packed and
 * blocked, multithreaded), all transpose combinations, alpha/beta, offsets and padded leading dimensions, with
 * SIMD on and off. Inputs are scaled by 1/√K so outputs are of unit size and float rounding stays far inside
 * the F32 tolerance whatever K is. The whole C array is compared, so writes outside the M×N window show up.
 */
class GemmTest {

    /** The specification: C = alpha·op(A)·op(B) + beta·C in float64, beta = 0 ignoring C. */
    static double[] reference(boolean ta, boolean tb, int m, int n, int k, double alpha,
                              float[] a, int offA, int lda, float[] b, int offB, int ldb,
                              double beta, float[] c, int offC, int ldc) {
        double[] out = new double[c.length];
        for (int i = 0; i < c.length; i++) out[i] = c[i];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = ta ? a[offA + p * lda + i] : a[offA + i * lda + p];
                    double bv = tb ? b[offB + j * ldb + p] : b[offB + p * ldb + j];
                    s += av * bv;
                }
                int ci = offC + i * ldc + j;
                out[ci] = alpha * s + (beta == 0 ? 0 : beta * c[ci]);
            }
        }
        return out;
    }

    private static float[] random(Random r, int size, double scale) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) (r.nextGaussian() * scale);
        return x;
    }

    /**
     * Runs one configuration with SIMD on and off. pad widens every leading dimension, off shifts every operand
     * in its array; C starts random so beta and the untouched elements are checked.
     */
    private static void check(boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, int pad, int off) {
        Random r = new Random(31L * m + 17L * n + k + (ta ? 5 : 0) + (tb ? 7 : 0));
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        int aRows = ta ? k : m, bRows = tb ? n : k;
        double scale = 1 / Math.sqrt(Math.max(1, k));
        float[] a = random(r, off + aRows * lda + 3, scale);
        float[] b = random(r, off + bRows * ldb + 3, scale);
        float[] c0 = random(r, off + m * ldc + 3, 1);
        double[] want = reference(ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, c0, off, ldc);
        float[] a0 = a.clone(), b0 = b.clone();
        bothSimdPaths(() -> {
            float[] c = c0.clone();
            Gemm.sgemm(ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, c, off, ldc);
            String what = String.format("sgemm %s%s %d×%d×%d alpha=%s beta=%s pad=%d off=%d",
                    ta ? "T" : "N", tb ? "T" : "N", m, n, k, alpha, beta, pad, off);
            assertClose(what, want, toDouble(c), F32_ATOL, F32_RTOL);
            assertArrayEqualsExactly(what + ": A modified", a0, a);
            assertArrayEqualsExactly(what + ": B modified", b0, b);
        });
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    private static void assertArrayEqualsExactly(String what, float[] expected, float[] actual) {
        assertTrue(java.util.Arrays.equals(expected, actual), what);
    }

    private static final boolean[][] TRANSPOSES = {{false, false}, {false, true}, {true, false}, {true, true}};

    @Test
    void allTransposeCombinationsMatchReferenceOnOddSizes() {
        int[][] sizes = {{1, 1, 1}, {2, 3, 1}, {17, 33, 65}, {6, 16, 256}, {7, 17, 257}, {13, 31, 5}, {40, 41, 39}};
        for (boolean[] t : TRANSPOSES)
            for (int[] s : sizes) check(t[0], t[1], s[0], s[1], s[2], 1f, 0f, 0, 0);
    }

    @Test
    void sizesCrossingEveryBlockBoundaryMatchReference() {
        // 145 rows cross the 144-row m block, K = 513 and 1100 the 512-deep k block, 4100 columns the 2048-wide
        // n block; none is a multiple of the 6×16 micro-tile.
        int[][] sizes = {{145, 50, 300}, {300, 257, 513}, {13, 4100, 9}, {5, 2000, 200}, {600, 7, 300}, {20, 37, 1100}};
        for (boolean[] t : TRANSPOSES)
            for (int[] s : sizes) check(t[0], t[1], s[0], s[1], s[2], 1f, 0f, 0, 0);
    }

    @Test
    void matrixVectorShapesMatchReference() {
        // The last two are large enough to be split over the threads.
        int[][] sizes = {{1, 500, 700}, {600, 1, 513}, {1, 1, 3000}, {1, 37, 1}, {1, 3000, 40}, {3000, 1, 40},
                         {1, 1500, 777}, {1200, 1, 999}};
        for (boolean[] t : TRANSPOSES)
            for (int[] s : sizes) check(t[0], t[1], s[0], s[1], s[2], 1.5f, 0.5f, 2, 3);
    }

    @Test
    void alphaAndBetaScaleProductAndExistingC() {
        float[][] alphaBeta = {{2.5f, 0f}, {1f, 1f}, {-0.75f, -0.5f}, {0f, 0.25f}, {0f, 0f}, {1f, 2f}};
        int[][] sizes = {{3, 4, 5}, {37, 45, 70}, {150, 70, 300}};
        for (float[] ab : alphaBeta)
            for (boolean[] t : TRANSPOSES)
                for (int[] s : sizes) check(t[0], t[1], s[0], s[1], s[2], ab[0], ab[1], 0, 0);
    }

    @Test
    void offsetsAndLeadingDimensionsLargerThanTheWidthAreHonoured() {
        int[][] sizes = {{1, 1, 1}, {17, 33, 65}, {61, 47, 290}, {1, 40, 30}, {40, 1, 30}};
        for (boolean[] t : TRANSPOSES)
            for (int[] s : sizes) {
                check(t[0], t[1], s[0], s[1], s[2], 1f, 0f, 5, 11);
                check(t[0], t[1], s[0], s[1], s[2], 0.5f, 1.5f, 1, 2);
            }
    }

    @Test
    void betaZeroIgnoresNaNInC() {
        bothSimdPaths(() -> {
            for (int[] s : new int[][]{{3, 3, 3}, {50, 40, 60}, {1, 50, 60}, {50, 1, 60}, {4, 5, 0}}) {
                int m = s[0], n = s[1], k = s[2];
                float[] a = new float[Math.max(1, m * k)], b = new float[Math.max(1, k * n)], c = new float[m * n];
                java.util.Arrays.fill(a, 1f);
                java.util.Arrays.fill(b, 2f);
                java.util.Arrays.fill(c, Float.NaN);
                Gemm.sgemm(false, false, m, n, k, 1f, a, 0, Math.max(1, k), b, 0, n, 0f, c, 0, n);
                for (float v : c) assertEquals(2f * k, v, 0f, "beta=0 must overwrite C for " + m + "×" + n + "×" + k);
            }
        });
    }

    @Test
    void emptyDimensionsLeaveCScaledByBeta() {
        float[] c = {1, 2, 3, 4, 5, 6};
        Gemm.sgemm(false, false, 2, 3, 0, 1f, new float[0], 0, 0, new float[0], 0, 3, 2f, c, 0, 3);
        assertArrayEqualsExactly("K = 0 gives beta·C", new float[]{2, 4, 6, 8, 10, 12}, c);
        float[] untouched = c.clone();
        Gemm.sgemm(false, false, 0, 3, 4, 1f, new float[0], 0, 4, new float[12], 0, 3, 0f, c, 0, 3);
        Gemm.sgemm(false, false, 2, 0, 4, 1f, new float[8], 0, 4, new float[0], 0, 0, 0f, c, 0, 3);
        assertArrayEqualsExactly("M = 0 or N = 0 writes nothing", untouched, c);
    }

    @Test
    void concurrentCallersGetTheirOwnPackingBuffers() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int m = 70 + t, n = 90 - t, k = 260 + 3 * t;
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                jobs.add(pool.submit(() -> check(ta, tb, m, n, k, 1f, 0f, 0, 0)));
            }
            for (Future<?> f : jobs) f.get();
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void invalidArgumentsAreRejectedWithTheProblemNamed() {
        float[] x = new float[12];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, false, -1, 3, 4, 1f, x, 0, 4, x, 0, 3, 0f, x, 0, 3));
        assertTrue(e.getMessage().contains("M=-1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, false, 3, 3, 4, 1f, x, 0, 3, x, 0, 3, 0f, new float[9], 0, 3));
        assertTrue(e.getMessage().contains("leading dimension of A") && e.getMessage().contains("expected ≥ 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, true, 3, 3, 4, 1f, x, 0, 4, new float[11], 0, 4, 0f, new float[9], 0, 3));
        assertTrue(e.getMessage().contains("B (stored 3×4, transposed)") && e.getMessage().contains("found 11"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, false, 3, 3, 4, 1f, x, 0, 4, x, 0, 3, 0f, new float[9], 1, 3));
        assertTrue(e.getMessage().contains("C (stored 3×3)") && e.getMessage().contains("offset 1"), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }
}
