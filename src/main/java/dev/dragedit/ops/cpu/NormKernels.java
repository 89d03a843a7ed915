package dev.dragedit.ops.cpu;

/**
 * The inner loops of group and layer normalisation on contiguous float runs: sums for the statistics and the
 * element-wise affine maps that apply them. Each has a Vector API path ({@link NormKernelsSimd}, only reached when
 * {@link Simd#enabled()}, so this class names no Vector API type and loads without the incubator module) and a
 * scalar path.
 * <p>
 * Sums are accumulated in float vector lanes only over short stretches (512 elements) and then added into a double,
 * so a GroupNorm group of 10·64·64 (or a VAE group of a million) elements keeps about float precision instead of
 * losing digits to one long float accumulator; the scalar path accumulates in double throughout. Statistics are
 * centred (two-pass) so that large means do not cancel the variance away.
 */
final class NormKernels {
    private NormKernels() {}

    /** Σ a[off, off + n). */
    static double sum(float[] a, int off, int n) {
        if (Simd.enabled()) return NormKernelsSimd.sum(a, off, n);
        double s = 0;
        for (int i = 0; i < n; i++) s += a[off + i];
        return s;
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
        if (Simd.enabled()) {
            NormKernelsSimd.centredMoments(a, off, n, c, out);
            return;
        }
        double s1 = 0, s2 = 0;
        for (int i = 0; i < n; i++) {
            double d = (double) a[off + i] - c;
            s1 += d;
            s2 += d * d;
        }
        out[0] = s1;
        out[1] = s2;
    }

    /**
     * out[0] = Σ g·w, out[1] = Σ g·w·(x − c) over n elements, w[i] read from w[i] (w null means 1). These are the
     * two reductions a normalisation backward needs: Σ dx̂ and Σ dx̂·(x − mean).
     */
    static void gradSums(float[] g, int offG, float[] x, int offX, float[] w, int n, float c, double[] out) {
        if (Simd.enabled()) {
            NormKernelsSimd.gradSums(g, offG, x, offX, w, n, c, out);
            return;
        }
        double s0 = 0, s1 = 0;
        for (int i = 0; i < n; i++) {
            double gw = w == null ? g[offG + i] : (double) g[offG + i] * w[i];
            s0 += gw;
            s1 += gw * ((double) x[offX + i] - c);
        }
        out[0] = s0;
        out[1] = s1;
    }

    /**
     * y = (x − c)·s + t over n elements. GroupNorm folds the statistics, gamma and beta of one channel into c, s
     * and t; subtracting the float-rounded mean c first keeps a large mean from cancelling digits of the output.
     */
    static void shiftScale(float[] x, int offX, float[] y, int offY, int n, float c, float s, float t) {
        int i = Simd.enabled() ? NormKernelsSimd.shiftScale(x, offX, y, offY, n, c, s, t) : 0;
        for (; i < n; i++) y[offY + i] = (x[offX + i] - c) * s + t;
    }

    /** y = ((x − c)·s + t)·gamma + beta over one row; gamma/beta indexed from 0, null meaning 1 and 0. */
    static void normalizeRow(float[] x, int offX, float[] y, int offY, int n, float c, float s, float t,
                             float[] gamma, float[] beta) {
        int i = Simd.enabled() ? NormKernelsSimd.normalizeRow(x, offX, y, offY, n, c, s, t, gamma, beta) : 0;
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
        int i = Simd.enabled() ? NormKernelsSimd.combine(g, offG, w, x, offX, out, offO, n, s, c, u, t) : 0;
        for (; i < n; i++) {
            float gw = w == null ? g[offG + i] : g[offG + i] * w[i];
            out[offO + i] = gw * s + ((x[offX + i] - c) * u + t);
        }
    }

    /** dGamma[i] += g·((x − c)·s + t) and dBeta[i] += g over one row (LayerNorm's parameter gradients). */
    static void accumulateAffineGrads(float[] g, int offG, float[] x, int offX, int n, float c, float s, float t,
                                      float[] dGamma, float[] dBeta) {
        int i = Simd.enabled() ? NormKernelsSimd.accumulateAffineGrads(g, offG, x, offX, n, c, s, t, dGamma, dBeta) : 0;
        for (; i < n; i++) {
            float gv = g[offG + i];
            dGamma[i] += gv * ((x[offX + i] - c) * s + t);
            dBeta[i] += gv;
        }
    }
}
