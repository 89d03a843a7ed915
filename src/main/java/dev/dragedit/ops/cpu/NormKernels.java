package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loops of group and layer normalisation on contiguous float runs: sums for the statistics and the
 * element-wise affine maps that apply them. Each has a Vector API path and a scalar path ({@link Simd}).
 * <p>
 * Sums are accumulated in float vector lanes only over short stretches ({@link #FLUSH} elements) and then added
 * into a double, so a GroupNorm group of 10·64·64 (or a VAE group of a million) elements keeps about float
 * precision instead of losing digits to one long float accumulator; the scalar path accumulates in double
 * throughout. Statistics are centred (two-pass) so that large means do not cancel the variance away.
 */
final class NormKernels {
    private NormKernels() {}

    /** Null when the Vector API is absent; then Simd.enabled() is false and only the scalar paths run. */
    private static final VectorSpecies<Float> S = Simd.available() ? FloatVector.SPECIES_PREFERRED : null;
    /** Elements summed in float lanes before the lanes are flushed into a double accumulator. */
    private static final int FLUSH = 512;

    /** Σ a[off, off + n). */
    static double sum(float[] a, int off, int n) {
        if (!Simd.enabled()) {
            double s = 0;
            for (int i = 0; i < n; i++) s += a[off + i];
            return s;
        }
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

    /**
     * out[0] = mean, out[1] = biased variance of a[off, off + n): a first pass for the mean, then the moments
     * about that (float-rounded) mean, whose first moment corrects the mean and the variance exactly.
     */
    static void meanVar(float[] a, int off, int n, double[] out) {
        float guess = (float) (sum(a, off, n) / n);
        centredMoments(a, off, n, guess, out);
        double shift = out[0] / n;
        out[0] = guess + shift;
        out[1] = Math.max(0.0, out[1] / n - shift * shift);
    }

    /** out[0] = Σ (a − c), out[1] = Σ (a − c)² over a[off, off + n): the centred moments about a guess c. */
    static void centredMoments(float[] a, int off, int n, float c, double[] out) {
        double s1 = 0, s2 = 0;
        if (!Simd.enabled()) {
            for (int i = 0; i < n; i++) {
                double d = (double) a[off + i] - c;
                s1 += d;
                s2 += d * d;
            }
        } else {
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
        }
        out[0] = s1;
        out[1] = s2;
    }

    /**
     * out[0] = Σ g·w, out[1] = Σ g·w·(x − c) over n elements, w[i] read from w[i] (w null means 1). These are the
     * two reductions a normalisation backward needs: Σ dx̂ and Σ dx̂·(x − mean).
     */
    static void gradSums(float[] g, int offG, float[] x, int offX, float[] w, int n, float c, double[] out) {
        double s0 = 0, s1 = 0;
        if (!Simd.enabled()) {
            for (int i = 0; i < n; i++) {
                double gw = w == null ? g[offG + i] : (double) g[offG + i] * w[i];
                s0 += gw;
                s1 += gw * ((double) x[offX + i] - c);
            }
        } else {
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
        }
        out[0] = s0;
        out[1] = s1;
    }

    /**
     * y = (x − c)·s + t over n elements. GroupNorm folds the statistics, gamma and beta of one channel into c, s
     * and t; subtracting the float-rounded mean c first keeps a large mean from cancelling digits of the output.
     */
    static void shiftScale(float[] x, int offX, float[] y, int offY, int n, float c, float s, float t) {
        int i = 0;
        if (Simd.enabled()) {
            int lanes = S.length();
            FloatVector vc = FloatVector.broadcast(S, c), vs = FloatVector.broadcast(S, s), vt = FloatVector.broadcast(S, t);
            for (; i <= n - lanes; i += lanes)
                FloatVector.fromArray(S, x, offX + i).sub(vc).fma(vs, vt).intoArray(y, offY + i);
        }
        for (; i < n; i++) y[offY + i] = (x[offX + i] - c) * s + t;
    }

    /** y = ((x − c)·s + t)·gamma + beta over one row; gamma/beta indexed from 0, null meaning 1 and 0. */
    static void normalizeRow(float[] x, int offX, float[] y, int offY, int n, float c, float s, float t,
                             float[] gamma, float[] beta) {
        int i = 0;
        if (Simd.enabled()) {
            int lanes = S.length();
            FloatVector vc = FloatVector.broadcast(S, c), vs = FloatVector.broadcast(S, s), vt = FloatVector.broadcast(S, t);
            for (; i <= n - lanes; i += lanes) {
                FloatVector v = FloatVector.fromArray(S, x, offX + i).sub(vc).fma(vs, vt);
                if (gamma != null) v = v.mul(FloatVector.fromArray(S, gamma, i));
                if (beta != null) v = v.add(FloatVector.fromArray(S, beta, i));
                v.intoArray(y, offY + i);
            }
        }
        for (; i < n; i++) {
            float v = (x[offX + i] - c) * s + t;
            if (gamma != null) v *= gamma[i];
            if (beta != null) v += beta[i];
            y[offY + i] = v;
        }
    }

    /**
     * out = g·w·s + (x − c)·u + t over n elements (w[i] indexed from 0, null meaning 1): the input gradient of a
     * normalisation once its two reductions are known.
     */
    static void combine(float[] g, int offG, float[] w, float[] x, int offX, float[] out, int offO, int n,
                        float s, float c, float u, float t) {
        int i = 0;
        if (Simd.enabled()) {
            int lanes = S.length();
            FloatVector vs = FloatVector.broadcast(S, s), vc = FloatVector.broadcast(S, c);
            FloatVector vu = FloatVector.broadcast(S, u), vt = FloatVector.broadcast(S, t);
            for (; i <= n - lanes; i += lanes) {
                FloatVector gw = FloatVector.fromArray(S, g, offG + i);
                if (w != null) gw = gw.mul(FloatVector.fromArray(S, w, i));
                FloatVector base = FloatVector.fromArray(S, x, offX + i).sub(vc).fma(vu, vt);
                gw.fma(vs, base).intoArray(out, offO + i);
            }
        }
        for (; i < n; i++) {
            float gw = w == null ? g[offG + i] : g[offG + i] * w[i];
            out[offO + i] = gw * s + ((x[offX + i] - c) * u + t);
        }
    }

    /** dGamma[i] += g·((x − c)·s + t) and dBeta[i] += g over one row (LayerNorm's parameter gradients). */
    static void accumulateAffineGrads(float[] g, int offG, float[] x, int offX, int n, float c, float s, float t,
                                      float[] dGamma, float[] dBeta) {
        int i = 0;
        if (Simd.enabled()) {
            int lanes = S.length();
            FloatVector vc = FloatVector.broadcast(S, c), vs = FloatVector.broadcast(S, s), vt = FloatVector.broadcast(S, t);
            for (; i <= n - lanes; i += lanes) {
                FloatVector gv = FloatVector.fromArray(S, g, offG + i);
                FloatVector xh = FloatVector.fromArray(S, x, offX + i).sub(vc).fma(vs, vt);
                gv.fma(xh, FloatVector.fromArray(S, dGamma, i)).intoArray(dGamma, i);
                gv.add(FloatVector.fromArray(S, dBeta, i)).intoArray(dBeta, i);
            }
        }
        for (; i < n; i++) {
            float gv = g[offG + i];
            dGamma[i] += gv * ((x[offX + i] - c) * s + t);
            dBeta[i] += gv;
        }
    }
}
