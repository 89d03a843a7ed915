package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The short vector loops of the convolution outside its GEMM: accumulate a row segment (col2im), add a bias to an
 * output plane, sum a gradient plane (dbias). Each takes the Vector API path when {@link Simd#enabled()} and a plain
 * loop otherwise; the Vector API classes live only here so the rest loads without the incubator module.
 */
final class ConvVec {
    private ConvVec() {}

    private static final VectorSpecies<Float> S = Simd.available() ? FloatVector.SPECIES_PREFERRED : null;

    /** dst[d + i] += src[s + i] for i < len. */
    static void addInto(float[] dst, int d, float[] src, int s, int len) {
        int i = 0;
        if (Simd.enabled()) {
            for (int ub = S.loopBound(len); i < ub; i += S.length())
                FloatVector.fromArray(S, dst, d + i).add(FloatVector.fromArray(S, src, s + i)).intoArray(dst, d + i);
        }
        for (; i < len; i++) dst[d + i] += src[s + i];
    }

    /** a[off + i] += v for i < len. */
    static void addScalar(float[] a, int off, int len, float v) {
        int i = 0;
        if (Simd.enabled()) {
            FloatVector vv = FloatVector.broadcast(S, v);
            for (int ub = S.loopBound(len); i < ub; i += S.length())
                FloatVector.fromArray(S, a, off + i).add(vv).intoArray(a, off + i);
        }
        for (; i < len; i++) a[off + i] += v;
    }

    /** Σ a[off + i] for i < len, in several partial sums (lanes) so long planes lose little precision. */
    static float sum(float[] a, int off, int len) {
        int i = 0;
        float s = 0;
        if (Simd.enabled()) {
            FloatVector acc = FloatVector.zero(S);
            for (int ub = S.loopBound(len); i < ub; i += S.length()) acc = acc.add(FloatVector.fromArray(S, a, off + i));
            s = acc.reduceLanes(VectorOperators.ADD);
        }
        float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (; i + 3 < len; i += 4) {
            t0 += a[off + i];
            t1 += a[off + i + 1];
            t2 += a[off + i + 2];
            t3 += a[off + i + 3];
        }
        for (; i < len; i++) t0 += a[off + i];
        return s + ((t0 + t1) + (t2 + t3));
    }
}
