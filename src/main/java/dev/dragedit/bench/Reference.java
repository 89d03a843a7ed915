package dev.dragedit.bench;

import java.util.Locale;

/**
 * The benchmarks' sanity check, written without any GEMM: single outputs of sgemm and of a stride-1 convolution
 * (forward, dx, dw, dbias) recomputed in float64 with plain loops, compared at sampled positions. The tolerance is
 * the classic bound for a float32 sum of K products, 2·(K+2)·u·Σ|aᵢbᵢ| with u = 2⁻²⁴: loose enough that any
 * correct summation order (blocked, FMA, Winograd-style transforms) passes, tight enough that a wrong index fails
 * by orders of magnitude. A fast kernel that computes the wrong thing must never post a number.
 */
public final class Reference {
    private Reference() {}

    private static final double U = Math.ulp(1.0f) / 2;

    /** Running worst case over many sampled comparisons. */
    public static final class Check {
        private double worstRatio;
        private String worst = "no samples";
        private int samples;

        /** Compares one computed value with its float64 reference (value, Σ|terms|, number of terms). */
        public void compare(String where, float got, double ref, double absSum, int terms) {
            double bound = 2.0 * (terms + 2) * U * absSum + 1e-30;
            double err = Math.abs(got - ref);
            double ratio = Double.isNaN(got) ? Double.POSITIVE_INFINITY : err / bound;
            samples++;
            if (ratio >= worstRatio || samples == 1) {
                worstRatio = ratio;
                worst = String.format(Locale.ROOT, "%s = %.6g, expected %.6g (error %.3g, bound %.3g)", where, got, ref, err, bound);
            }
        }

        public void fail(String message) {
            worstRatio = Double.POSITIVE_INFINITY;
            worst = message;
            samples++;
        }

        public boolean ok() { return samples > 0 && worstRatio <= 1.0; }

        /** "ok" or what went wrong, at the worst sample. */
        public String summary() {
            if (samples == 0) return "not checked";
            return ok() ? "ok" : "WRONG: " + worst;
        }
    }

    /** Σ_p a[i, p]·b[p, j] for row-major a [m, k], b [k, n]: {value, Σ|products|}. */
    public static double[] gemmEntry(float[] a, float[] b, int n, int k, int i, int j) {
        double s = 0, abs = 0;
        for (int p = 0; p < k; p++) {
            double t = (double) a[i * k + p] * b[p * n + j];
            s += t;
            abs += Math.abs(t);
        }
        return new double[] {s, abs};
    }

    /**
     * One output of a stride-1, square-padded, undilated convolution: x [1, cin, h, w], wt [cout, cin, k, k],
     * output [1, cout, h + 2·pad − k + 1, …] at (co, oy, ox); {value, Σ|terms|}, the bias counted as a term.
     */
    public static double[] convOut(float[] x, float[] wt, float[] bias, int cin, int h, int w, int k, int pad,
                                   int co, int oy, int ox) {
        double s = bias == null ? 0 : bias[co];
        double abs = Math.abs(s);
        for (int ci = 0; ci < cin; ci++) {
            for (int ky = 0; ky < k; ky++) {
                int iy = oy + ky - pad;
                if (iy < 0 || iy >= h) continue;
                for (int kx = 0; kx < k; kx++) {
                    int ix = ox + kx - pad;
                    if (ix < 0 || ix >= w) continue;
                    double t = (double) x[(ci * h + iy) * w + ix] * wt[((co * cin + ci) * k + ky) * k + kx];
                    s += t;
                    abs += Math.abs(t);
                }
            }
        }
        return new double[] {s, abs};
    }

    /** dx[0, ci, iy, ix] = Σ_{co, ky, kx} gy[0, co, iy − ky + pad, ix − kx + pad]·wt[co, ci, ky, kx]. */
    public static double[] convDx(float[] gy, float[] wt, int cin, int cout, int ho, int wo, int k, int pad,
                                  int ci, int iy, int ix) {
        double s = 0, abs = 0;
        for (int co = 0; co < cout; co++) {
            for (int ky = 0; ky < k; ky++) {
                int oy = iy - ky + pad;
                if (oy < 0 || oy >= ho) continue;
                for (int kx = 0; kx < k; kx++) {
                    int ox = ix - kx + pad;
                    if (ox < 0 || ox >= wo) continue;
                    double t = (double) gy[(co * ho + oy) * wo + ox] * wt[((co * cin + ci) * k + ky) * k + kx];
                    s += t;
                    abs += Math.abs(t);
                }
            }
        }
        return new double[] {s, abs};
    }

    /** dw[co, ci, ky, kx] = Σ_{oy, ox} gy[0, co, oy, ox]·x[0, ci, oy + ky − pad, ox + kx − pad]. */
    public static double[] convDw(float[] gy, float[] x, int h, int w, int ho, int wo, int pad,
                                  int co, int ci, int ky, int kx) {
        double s = 0, abs = 0;
        for (int oy = 0; oy < ho; oy++) {
            int iy = oy + ky - pad;
            if (iy < 0 || iy >= h) continue;
            for (int ox = 0; ox < wo; ox++) {
                int ix = ox + kx - pad;
                if (ix < 0 || ix >= w) continue;
                double t = (double) gy[(co * ho + oy) * wo + ox] * x[(ci * h + iy) * w + ix];
                s += t;
                abs += Math.abs(t);
            }
        }
        return new double[] {s, abs};
    }

    /** dbias[co] = Σ_{oy, ox} gy[0, co, oy, ox]. */
    public static double[] convDb(float[] gy, int hw, int co) {
        double s = 0, abs = 0;
        for (int i = 0; i < hw; i++) {
            s += gy[co * hw + i];
            abs += Math.abs(gy[co * hw + i]);
        }
        return new double[] {s, abs};
    }
}
