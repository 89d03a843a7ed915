package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API paths of {@link SoftmaxRows}, including its vector exp. Kept apart so softmax and attention load and
 * run on their scalar loops when the incubator module is absent: only reached when {@link Simd#enabled()}. The
 * reductions (max, Σ exp, dot) are complete, their tails included; the element-wise maps cover whole vectors and
 * return how many elements they did, the caller finishing the tail.
 */
final class SoftmaxRowsSimd {
    private SoftmaxRowsSimd() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Elements summed in float lanes before the lanes are flushed into a double accumulator. */
    private static final int FLUSH = 512;

    // Cephes expf: x = n·ln2 + r with ln2 split in two so that n·ln2 is exact in float, then exp(r) by polynomial.
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    /** 1.5·2²³: adding it rounds a float to an integer held in the low mantissa bits. */
    private static final float ROUND_MAGIC = 12582912f;
    private static final int ROUND_MAGIC_BITS = 0x4B400000;
    /** Below this exp underflows the normal floats; the result is flushed to 0. */
    private static final float EXP_MIN = -87f;

    /** dx = (g − dot)·y over the whole vectors of n elements; returns how many it did. */
    static int backward(float[] g, int offG, float[] y, int offY, float[] dx, int offD, int n, float dot) {
        int i = 0;
        int lanes = S.length();
        FloatVector vd = FloatVector.broadcast(S, dot);
        for (; i <= n - lanes; i += lanes) {
            FloatVector yv = FloatVector.fromArray(S, y, offY + i);
            FloatVector.fromArray(S, g, offG + i).sub(vd).mul(yv).intoArray(dx, offD + i);
        }
        return i;
    }

    /** max of x[off, off + n) (−inf when n is 0). */
    static float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (n >= S.length()) {
            int lanes = S.length();
            FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; i <= n - lanes; i += lanes) acc = acc.max(FloatVector.fromArray(S, x, off + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    /** y = exp(x − shift) element-wise (the tail with Math.exp); returns Σ y. */
    static double expShifted(float[] x, int offX, float[] y, int offY, int n, float shift) {
        double total = 0;
        int i = 0;
        int lanes = S.length();
        FloatVector vs = FloatVector.broadcast(S, shift);
        while (i <= n - lanes) {
            int end = Math.min(n, i + FLUSH);
            FloatVector acc = FloatVector.zero(S);
            for (; i <= end - lanes; i += lanes) {
                FloatVector e = exp(FloatVector.fromArray(S, x, offX + i).sub(vs));
                e.intoArray(y, offY + i);
                acc = acc.add(e);
            }
            total += acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            float e = (float) Math.exp(x[offX + i] - shift);
            y[offY + i] = e;
            total += e;
        }
        return total;
    }

    /** y *= s over the whole vectors of n elements; returns how many it did. */
    static int scale(float[] y, int off, int n, float s) {
        int i = 0;
        int lanes = S.length();
        FloatVector vs = FloatVector.broadcast(S, s);
        for (; i <= n - lanes; i += lanes) FloatVector.fromArray(S, y, off + i).mul(vs).intoArray(y, off + i);
        return i;
    }

    /** Σ a·b over n elements, float lanes flushed to a double every {@link #FLUSH} elements, the tail in double. */
    static double dot(float[] a, int offA, float[] b, int offB, int n) {
        double total = 0;
        int i = 0;
        int lanes = S.length();
        while (i <= n - lanes) {
            int end = Math.min(n, i + FLUSH);
            FloatVector acc = FloatVector.zero(S);
            for (; i <= end - lanes; i += lanes)
                acc = FloatVector.fromArray(S, a, offA + i).fma(FloatVector.fromArray(S, b, offB + i), acc);
            total += acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) total += (double) a[offA + i] * b[offB + i];
        return total;
    }

    /** exp of each lane for x ≤ 0 (or NaN, which stays NaN); lanes below −87 give 0. */
    private static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.compare(VectorOperators.LT, EXP_MIN);
        x = x.max(EXP_MIN);
        // n = round(x·log2 e), read back both as a float and as the integer in the low mantissa bits.
        FloatVector fx = x.fma(FloatVector.broadcast(S, LOG2E), FloatVector.broadcast(S, ROUND_MAGIC));
        FloatVector n = fx.sub(ROUND_MAGIC);
        IntVector ni = fx.reinterpretAsInts();
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(S, P0), FloatVector.broadcast(S, P1));
        p = p.fma(r, FloatVector.broadcast(S, P2));
        p = p.fma(r, FloatVector.broadcast(S, P3));
        p = p.fma(r, FloatVector.broadcast(S, P4));
        p = p.fma(r, FloatVector.broadcast(S, P5));
        p = p.fma(r.mul(r), r).add(1f);
        // 2ⁿ: the biased exponent n + 127 shifted into place (n ≥ −126 after the clamp, so it is a normal float).
        FloatVector pow2n = ni.sub(ROUND_MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(pow2n).blend(0f, under);
    }
}
