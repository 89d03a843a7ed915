package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API half of {@link Upfirdn2d}'s contiguous tap (an axpy along a row). Kept apart so upfirdn2d loads and
 * runs on its scalar loop when the incubator module is absent: only reached when {@link Simd#enabled()}.
 */
final class Upfirdn2dSimd {
    private Upfirdn2dSimd() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** y[yo + i] += a·x[xo + i] for the first loopBound(n) elements; returns how many it did. */
    static int axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        int bound = S.loopBound(n);
        FloatVector va = FloatVector.broadcast(S, a);
        for (int i = 0; i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        return bound;
    }
}
