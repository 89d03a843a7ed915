package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API pieces of {@link Gemm}: the register-blocked micro-kernels of the packed (GotoBLAS/BLIS) path
 * ({@link #kernel} on packed A, {@link #kernelRowsA} on A in place), the B-panel copy, and the dot/axpy loops of
 * the small and matrix-vector paths.
 * <p>
 * The micro-kernel computes one MR×NR tile, MR = 6 rows by NR = 2 vectors (6×16 on AVX2, 6×32 on AVX-512), from a
 * packed A micro-panel (kc steps of MR floats) and a packed B micro-panel (kc steps of NR floats). Its twelve
 * accumulators are plain locals, not an array, so that C2 keeps them in vector registers: with the two B vectors
 * and one broadcast A value that is 15 of AVX2's 16 ymm registers, the BLIS Haswell/Zen shape. The k loop is
 * left for C2 to unroll: unrolling it by hand spills accumulators and halves the speed.
 * This class is only loaded when {@link Simd#enabled()}, so the scalar path runs without the incubator module.
 */
final class GemmSimdKernel {
    private GemmSimdKernel() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    static final int MR = 6;
    static final int NR = 2 * L;

    /**
     * C[0:6, 0:NR] (rows ldc apart, from ci) = acc, or C + acc when {@code add}, acc = Σ_p ap[p]ᵀ·bp[p].
     * The only branch after the k loop is this one boolean: a float beta with several cases there makes C2
     * (JDK 17) box the accumulators, which costs 5–10× in speed; general beta is applied to C beforehand.
     */
    static void kernel(int kc, float[] ap, int ai, float[] bp, int bi, float[] c, int ci, int ldc, boolean add) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        // Walking indices (rather than ai + p·MR) make C2 emit the tightest loop: ~10% faster on Zen 3.
        for (int a = ai, b = bi, end = bi + kc * NR; b < end; a += MR, b += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + L);
            FloatVector x = FloatVector.broadcast(S, ap[a]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[a + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[a + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[a + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[a + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[a + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        if (add) {
            c00 = c00.add(FloatVector.fromArray(S, c, ci));
            c01 = c01.add(FloatVector.fromArray(S, c, ci + L));
            c10 = c10.add(FloatVector.fromArray(S, c, ci + ldc));
            c11 = c11.add(FloatVector.fromArray(S, c, ci + ldc + L));
            c20 = c20.add(FloatVector.fromArray(S, c, ci + 2 * ldc));
            c21 = c21.add(FloatVector.fromArray(S, c, ci + 2 * ldc + L));
            c30 = c30.add(FloatVector.fromArray(S, c, ci + 3 * ldc));
            c31 = c31.add(FloatVector.fromArray(S, c, ci + 3 * ldc + L));
            c40 = c40.add(FloatVector.fromArray(S, c, ci + 4 * ldc));
            c41 = c41.add(FloatVector.fromArray(S, c, ci + 4 * ldc + L));
            c50 = c50.add(FloatVector.fromArray(S, c, ci + 5 * ldc));
            c51 = c51.add(FloatVector.fromArray(S, c, ci + 5 * ldc + L));
        }
        c00.intoArray(c, ci); c01.intoArray(c, ci + L);
        c10.intoArray(c, ci + ldc); c11.intoArray(c, ci + ldc + L);
        c20.intoArray(c, ci + 2 * ldc); c21.intoArray(c, ci + 2 * ldc + L);
        c30.intoArray(c, ci + 3 * ldc); c31.intoArray(c, ci + 3 * ldc + L);
        c40.intoArray(c, ci + 4 * ldc); c41.intoArray(c, ci + 4 * ldc + L);
        c50.intoArray(c, ci + 5 * ldc); c51.intoArray(c, ci + 5 * ldc + L);
    }

    /**
     * {@link #kernel} reading A in place instead of packed: six rows of a row-major A starting at ai, lda apart,
     * element p of each. For narrow products, where packing A would cost as much as multiplying it.
     */
    static void kernelRowsA(int kc, float[] a, int ai, int lda, float[] bp, int bi, float[] c, int ci, int ldc, boolean add) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        int a1 = ai + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int p = 0, b = bi; p < kc; p++, b += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + L);
            FloatVector x = FloatVector.broadcast(S, a[ai + p]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + p]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + p]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + p]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[a4 + p]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[a5 + p]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        if (add) {
            c00 = c00.add(FloatVector.fromArray(S, c, ci));
            c01 = c01.add(FloatVector.fromArray(S, c, ci + L));
            c10 = c10.add(FloatVector.fromArray(S, c, ci + ldc));
            c11 = c11.add(FloatVector.fromArray(S, c, ci + ldc + L));
            c20 = c20.add(FloatVector.fromArray(S, c, ci + 2 * ldc));
            c21 = c21.add(FloatVector.fromArray(S, c, ci + 2 * ldc + L));
            c30 = c30.add(FloatVector.fromArray(S, c, ci + 3 * ldc));
            c31 = c31.add(FloatVector.fromArray(S, c, ci + 3 * ldc + L));
            c40 = c40.add(FloatVector.fromArray(S, c, ci + 4 * ldc));
            c41 = c41.add(FloatVector.fromArray(S, c, ci + 4 * ldc + L));
            c50 = c50.add(FloatVector.fromArray(S, c, ci + 5 * ldc));
            c51 = c51.add(FloatVector.fromArray(S, c, ci + 5 * ldc + L));
        }
        c00.intoArray(c, ci); c01.intoArray(c, ci + L);
        c10.intoArray(c, ci + ldc); c11.intoArray(c, ci + ldc + L);
        c20.intoArray(c, ci + 2 * ldc); c21.intoArray(c, ci + 2 * ldc + L);
        c30.intoArray(c, ci + 3 * ldc); c31.intoArray(c, ci + 3 * ldc + L);
        c40.intoArray(c, ci + 4 * ldc); c41.intoArray(c, ci + 4 * ldc + L);
        c50.intoArray(c, ci + 5 * ldc); c51.intoArray(c, ci + 5 * ldc + L);
    }

    /** Packs one full B micro-panel: kc rows of NR floats, ldb apart from src, to dst[d...] contiguously. */
    static void copyPanel(float[] b, int src, int ldb, int kc, float[] dst, int d) {
        for (int p = 0; p < kc; p++, src += ldb, d += NR) {
            FloatVector.fromArray(S, b, src).intoArray(dst, d);
            FloatVector.fromArray(S, b, src + L).intoArray(dst, d + L);
        }
    }

    /** Σ_{p<n} x[xi+p]·y[yi+p], both contiguous. */
    static float dot(float[] x, int xi, float[] y, int yi, int n) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        int p = 0;
        for (; p + 2 * L <= n; p += 2 * L) {
            s0 = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, y, yi + p), s0);
            s1 = FloatVector.fromArray(S, x, xi + p + L).fma(FloatVector.fromArray(S, y, yi + p + L), s1);
        }
        for (; p + L <= n; p += L)
            s0 = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, y, yi + p), s0);
        float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; p < n; p++) s += x[xi + p] * y[yi + p];
        return s;
    }

    /** y[yi+j] += s·x[xi+j] for j < n, both contiguous. */
    static void axpy(float s, float[] x, int xi, float[] y, int yi, int n) {
        int j = 0;
        if (n >= L) {
            FloatVector sv = FloatVector.broadcast(S, s);
            for (; j + L <= n; j += L)
                FloatVector.fromArray(S, x, xi + j).fma(sv, FloatVector.fromArray(S, y, yi + j)).intoArray(y, yi + j);
        }
        for (; j < n; j++) y[yi + j] += s * x[xi + j];
    }

    /** y[yi+j] += s0·m[r+j] + s1·m[r+ld+j] + s2·m[r+2ld+j] + s3·m[r+3ld+j] for j < n. */
    static void axpy4(float s0, float s1, float s2, float s3, float[] m, int r, int ld, float[] y, int yi, int n) {
        int r1 = r + ld, r2 = r1 + ld, r3 = r2 + ld;
        int j = 0;
        if (n >= L) {
            FloatVector v0 = FloatVector.broadcast(S, s0), v1 = FloatVector.broadcast(S, s1);
            FloatVector v2 = FloatVector.broadcast(S, s2), v3 = FloatVector.broadcast(S, s3);
            for (; j + L <= n; j += L) {
                FloatVector acc = FloatVector.fromArray(S, y, yi + j);
                acc = FloatVector.fromArray(S, m, r + j).fma(v0, acc);
                acc = FloatVector.fromArray(S, m, r1 + j).fma(v1, acc);
                acc = FloatVector.fromArray(S, m, r2 + j).fma(v2, acc);
                acc = FloatVector.fromArray(S, m, r3 + j).fma(v3, acc);
                acc.intoArray(y, yi + j);
            }
        }
        for (; j < n; j++) y[yi + j] += s0 * m[r + j] + s1 * m[r1 + j] + s2 * m[r2 + j] + s3 * m[r3 + j];
    }
}
