package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API halves of {@link ConvVec}'s loops. Only reached when {@link Simd#enabled()}, so the incubator module
 * is never loaded when it is absent. Each returns how many leading elements it handled; the caller does the tail.
 */
final class ConvVecSimd {
    private ConvVecSimd() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    static int addInto(float[] dst, int d, float[] src, int s, int len) {
        int i = 0;
        for (int ub = S.loopBound(len); i < ub; i += S.length())
            FloatVector.fromArray(S, dst, d + i).add(FloatVector.fromArray(S, src, s + i)).intoArray(dst, d + i);
        return i;
    }

    static int addScalar(float[] a, int off, int len, float v) {
        int i = 0;
        FloatVector vv = FloatVector.broadcast(S, v);
        for (int ub = S.loopBound(len); i < ub; i += S.length())
            FloatVector.fromArray(S, a, off + i).add(vv).intoArray(a, off + i);
        return i;
    }

    /** Sum of the first loopBound(len) elements; their count is S.loopBound(len). */
    static float sumHead(float[] a, int off, int len) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0, ub = S.loopBound(len); i < ub; i += S.length()) acc = acc.add(FloatVector.fromArray(S, a, off + i));
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static int head(int len) {
        return S.loopBound(len);
    }
}
