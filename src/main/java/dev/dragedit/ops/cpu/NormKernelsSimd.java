package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API paths of {@link NormKernels}. Kept apart so the normalisations load and run on their scalar loops
 * when the incubator module is absent: only reached when {@link Simd#enabled()}. The reductions are complete (float
 * lanes over stretches of {@link #FLUSH} elements, each stretch's tail in float, stretches added in double); the
 * element-wise maps cover whole vectors and return how many elements they did, the caller finishing the tail.
 */
final class NormKernelsSimd {
    private NormKernelsSimd() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Elements summed in float lanes before the lanes are flushed into a double accumulator. */
    private static final int FLUSH = 512;

    /** Σ a[off, off + n). */
    static double sum(float[] a, int off, int n) {
        int lanes = S.length();
        double total = 0;
        int i = 0;
        while (i < n) {
            int end = Math.min(n, i + FLUSH);
            FloatVector acc = FloatVector.zero(S);
            for (; i <= end - lanes; i += lanes) acc = acc.add(FloatVector.fromArray(S, a, off + i));
            double part = acc.reduceLanes(VectorOperators.ADD);
            for (; i < end; i++) part += a[off + i];
            total += part;
        }
        return total;
    }

    /** out[0] = Σ (a − c), out[1] = Σ (a − c)² over a[off, off + n). */
    static void centredMoments(float[] a, int off, int n, float c, double[] out) {
        double s1 = 0, s2 = 0;
        int lanes = S.length();
        FloatVector vc = FloatVector.broadcast(S, c);
        int i = 0;
        while (i < n) {
            int end = Math.min(n, i + FLUSH);
            FloatVector acc1 = FloatVector.zero(S), acc2 = FloatVector.zero(S);
            for (; i <= end - lanes; i += lanes) {
                FloatVector d = FloatVector.fromArray(S, a, off + i).sub(vc);
                acc1 = acc1.add(d);
                acc2 = d.fma(d, acc2);
            }
            double p1 = acc1.reduceLanes(VectorOperators.ADD), p2 = acc2.reduceLanes(VectorOperators.ADD);
            for (; i < end; i++) {
                float d = a[off + i] - c;
                p1 += d;
                p2 += d * d;
            }
            s1 += p1;
            s2 += p2;
        }
        out[0] = s1;
        out[1] = s2;
    }

    /** out[0] = Σ g·w, out[1] = Σ g·w·(x − c) over n elements (w null means 1). */
    static void gradSums(float[] g, int offG, float[] x, int offX, float[] w, int n, float c, double[] out) {
        double s0 = 0, s1 = 0;
        int lanes = S.length();
        FloatVector vc = FloatVector.broadcast(S, c);
        int i = 0;
        while (i < n) {
            int end = Math.min(n, i + FLUSH);
            FloatVector acc0 = FloatVector.zero(S), acc1 = FloatVector.zero(S);
            for (; i <= end - lanes; i += lanes) {
                FloatVector gw = FloatVector.fromArray(S, g, offG + i);
                if (w != null) gw = gw.mul(FloatVector.fromArray(S, w, i));
                acc0 = acc0.add(gw);
                acc1 = gw.fma(FloatVector.fromArray(S, x, offX + i).sub(vc), acc1);
            }
            double p0 = acc0.reduceLanes(VectorOperators.ADD), p1 = acc1.reduceLanes(VectorOperators.ADD);
            for (; i < end; i++) {
                float gw = w == null ? g[offG + i] : g[offG + i] * w[i];
                p0 += gw;
                p1 += gw * (x[offX + i] - c);
            }
            s0 += p0;
            s1 += p1;
        }
        out[0] = s0;
        out[1] = s1;
    }

    /** y = (x − c)·s + t over the whole vectors of n elements; returns how many it did. */
    static int shiftScale(float[] x, int offX, float[] y, int offY, int n, float c, float s, float t) {
        int i = 0;
        int lanes = S.length();
        FloatVector vc = FloatVector.broadcast(S, c), vs = FloatVector.broadcast(S, s), vt = FloatVector.broadcast(S, t);
        for (; i <= n - lanes; i += lanes)
            FloatVector.fromArray(S, x, offX + i).sub(vc).fma(vs, vt).intoArray(y, offY + i);
        return i;
    }

    /** y = ((x − c)·s + t)·gamma + beta over the whole vectors of one row; returns how many it did. */
    static int normalizeRow(float[] x, int offX, float[] y, int offY, int n, float c, float s, float t,
                            float[] gamma, float[] beta) {
        int i = 0;
        int lanes = S.length();
        FloatVector vc = FloatVector.broadcast(S, c), vs = FloatVector.broadcast(S, s), vt = FloatVector.broadcast(S, t);
        for (; i <= n - lanes; i += lanes) {
            FloatVector v = FloatVector.fromArray(S, x, offX + i).sub(vc).fma(vs, vt);
            if (gamma != null) v = v.mul(FloatVector.fromArray(S, gamma, i));
            if (beta != null) v = v.add(FloatVector.fromArray(S, beta, i));
            v.intoArray(y, offY + i);
        }
        return i;
    }

    /** out = g·w·s + (x − c)·u + t over the whole vectors of n elements; returns how many it did. */
    static int combine(float[] g, int offG, float[] w, float[] x, int offX, float[] out, int offO, int n,
                       float s, float c, float u, float t) {
        int i = 0;
        int lanes = S.length();
        FloatVector vs = FloatVector.broadcast(S, s), vc = FloatVector.broadcast(S, c);
        FloatVector vu = FloatVector.broadcast(S, u), vt = FloatVector.broadcast(S, t);
        for (; i <= n - lanes; i += lanes) {
            FloatVector gw = FloatVector.fromArray(S, g, offG + i);
            if (w != null) gw = gw.mul(FloatVector.fromArray(S, w, i));
            FloatVector base = FloatVector.fromArray(S, x, offX + i).sub(vc).fma(vu, vt);
            gw.fma(vs, base).intoArray(out, offO + i);
        }
        return i;
    }

    /** dGamma[i] += g·((x − c)·s + t), dBeta[i] += g over the whole vectors of one row; returns how many it did. */
    static int accumulateAffineGrads(float[] g, int offG, float[] x, int offX, int n, float c, float s, float t,
                                     float[] dGamma, float[] dBeta) {
        int i = 0;
        int lanes = S.length();
        FloatVector vc = FloatVector.broadcast(S, c), vs = FloatVector.broadcast(S, s), vt = FloatVector.broadcast(S, t);
        for (; i <= n - lanes; i += lanes) {
            FloatVector gv = FloatVector.fromArray(S, g, offG + i);
            FloatVector xh = FloatVector.fromArray(S, x, offX + i).sub(vc).fma(vs, vt);
            gv.fma(xh, FloatVector.fromArray(S, dGamma, i)).intoArray(dGamma, i);
            gv.add(FloatVector.fromArray(S, dBeta, i)).intoArray(dBeta, i);
        }
        return i;
    }
}
