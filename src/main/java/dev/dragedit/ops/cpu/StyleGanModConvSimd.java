package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API halves of {@link StyleGanModConv}'s row kernels. They live apart so that the modulated convolution
 * loads and runs on its scalar loops when the incubator module is absent: only reached when {@link Simd#enabled()}.
 * Each handles the first loopBound(n) elements and returns that count (or, for the dot, the lane total of them);
 * the caller finishes the tail.
 */
final class StyleGanModConvSimd {
    private StyleGanModConvSimd() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** How many leading elements of a row of length n the vector loops cover. */
    static int head(int n) {
        return S.loopBound(n);
    }

    /** out[oo + j] = a[ao + j]·b[bo + j]. */
    static int mulInto(float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        int j = 0;
        for (int bound = S.loopBound(n); j < bound; j += S.length())
            FloatVector.fromArray(S, a, ao + j).mul(FloatVector.fromArray(S, b, bo + j)).intoArray(out, oo + j);
        return j;
    }

    /** Σ a[ao + j]·b[bo + j] over the head, fused multiply-adds in float lanes, then the lanes added. */
    static float dotHead(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0, bound = S.loopBound(n); j < bound; j += S.length())
            acc = FloatVector.fromArray(S, a, ao + j).fma(FloatVector.fromArray(S, b, bo + j), acc);
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** y[yo + j] = y[yo + j]·alpha − beta·v[j] (v may be null when beta is 0). */
    static int scaleSub(float[] y, int yo, float alpha, float[] v, float beta, int n) {
        int j = 0;
        for (int bound = S.loopBound(n); j < bound; j += S.length()) {
            FloatVector r = FloatVector.fromArray(S, y, yo + j).mul(alpha);
            if (v != null) r = FloatVector.fromArray(S, v, j).mul(-beta).add(r);
            r.intoArray(y, yo + j);
        }
        return j;
    }

    /** out[oo + j] += a[ao + j]·b[bo + j]. */
    static int fmaInto(float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        int j = 0;
        for (int bound = S.loopBound(n); j < bound; j += S.length())
            FloatVector.fromArray(S, a, ao + j).fma(FloatVector.fromArray(S, b, bo + j), FloatVector.fromArray(S, out, oo + j))
                    .intoArray(out, oo + j);
        return j;
    }
}
