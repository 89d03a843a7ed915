package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API halves of {@link StyleGanBiasAct}'s segment loops. Kept apart so bias_act loads and runs on its
 * scalar loops when the incubator module is absent: only reached when {@link Simd#enabled()}. Each covers the first
 * loopBound(len) elements of a segment; the caller finishes the tail.
 */
final class StyleGanBiasActSimd {
    private StyleGanBiasActSimd() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** How many leading elements of a segment of length len the vector loops cover. */
    static int head(int len) {
        return S.loopBound(len);
    }

    /** y = clamp(lrelu(x + b)·gain) over [off, off + head(len)); returns that head length. */
    static int forward(float[] x, float[] y, int off, int len, float b, float alpha, float gain, float clamp) {
        int bound = S.loopBound(len);
        for (int i = 0; i < bound; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, off + i).add(b);
            v = v.mul(alpha).blend(v, v.compare(VectorOperators.GT, 0f)).mul(gain);
            if (clamp > 0) v = v.max(-clamp).min(clamp);
            v.intoArray(y, off + i);
        }
        return bound;
    }

    /** dx over [off, off + bound) (bound a multiple of the lane count); returns the sum of the dx it wrote. */
    static double backward(float[] gy, float[] y, float[] dx, int off, int bound, float pos, float neg, float clamp) {
        FloatVector vPos = FloatVector.broadcast(S, pos), vNeg = FloatVector.broadcast(S, neg);
        FloatVector zero = FloatVector.zero(S), acc = zero;
        for (int i = 0; i < bound; i += S.length()) {
            FloatVector yv = FloatVector.fromArray(S, y, off + i);
            FloatVector g = FloatVector.fromArray(S, gy, off + i).mul(vNeg.blend(vPos, yv.compare(VectorOperators.GT, 0f)));
            if (clamp > 0) {
                VectorMask<Float> inside = yv.abs().compare(VectorOperators.LT, clamp);
                g = zero.blend(g, inside);
            }
            g.intoArray(dx, off + i);
            acc = acc.add(g);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
