// Scalar definitions of the element-wise functions (the specification the SIMD kernels in ElementwiseVec are checked
// against, and the scalar path of every element-wise op), plus the error function, which Java lacks.
//
// erf/erfc are computed in float64 to near full double precision (relative error ~1e-15, far inside the 1e-7 the
// float ops need): below |x| = 2 from the everywhere-positive series erf(x) = 2/√π·e^{−x²}·Σ (2x²)ⁿ·x/(2n+1)!!,
// which has no cancellation; from 2 on, erfc from its Laplace continued fraction (modified Lentz), which converges in
// ≤ 60 terms there and keeps full relative accuracy deep into the tail, where 1 − erf would round to 0.
//
// The exact GELU x·Φ(x) needs Φ fast and with relative accuracy in the negative tail, where GELU is tiny. Both the
// scalar and the SIMD path use Φ(−a) = ½·erfc(a/√2) with erfc(z) ≈ t·q(t)·e^{−z²}, t = 1/(1 + z/2), z ≥ 0: q is a
// degree-12 polynomial (relative error 2e-9 over all of [0, ∞), checked in ElementwiseTest) built here, once, by
// Chebyshev interpolation of erfcx(z)/t at 40 nodes from the float64 erfc above, expanded into monomials (all
// coefficients are below 1 in magnitude, so Horner is well conditioned in float as well as in double).
package dev.dragedit.ops.cpu;

import dev.dragedit.ops.Unary;

public final class ElementwiseMath {
    private ElementwiseMath() {}

    /** The four broadcasting arithmetic ops. */
    enum Binary {
        ADD, SUB, MUL, DIV;

        float apply(float a, float b) {
            return switch (this) {
                case ADD -> a + b;
                case SUB -> a - b;
                case MUL -> a * b;
                case DIV -> a / b;
            };
        }
    }

    static final double SQRT_PI = Math.sqrt(Math.PI);
    static final double INV_SQRT2 = 1 / Math.sqrt(2);
    static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
    static final float QUICK_GELU_K = 1.702f;

    // ------------------------------------------------------------------ error function (float64)

    /** The error function, relative error ~1e-15. */
    public static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double a = Math.abs(x);
        double r = a < 2 ? erfSeries(a) : 1 - erfcContinuedFraction(a);
        return x < 0 ? -r : r;
    }

    /** The complementary error function 1 − erf(x), relative accuracy kept in the tail (erfc(10) ≈ 2.1e-45). */
    public static double erfc(double x) {
        if (Double.isNaN(x)) return x;
        double a = Math.abs(x);
        double r = a < 2 ? 1 - erfSeries(a) : erfcContinuedFraction(a);
        return x < 0 ? 2 - r : r;
    }

    /** The standard normal CDF Φ(x). */
    public static double normalCdf(double x) {
        return 0.5 * erfc(-x * INV_SQRT2);
    }

    /** erf for 0 ≤ a < 2 from the series with positive terms; each term is the previous times 2a²/(2n+1). */
    private static double erfSeries(double a) {
        double x2 = 2 * a * a, term = a, sum = a;
        for (int n = 1; n < 100; n++) {
            term *= x2 / (2 * n + 1);
            sum += term;
            if (term < 1e-17 * sum) break;
        }
        return 2 / SQRT_PI * Math.exp(-a * a) * sum;
    }

    /**
     * erfc(a) = e^{−a²}/√π · 1/K for a ≥ 2, where K = a + (1/2)/(a + 1/(a + (3/2)/(a + …))) (partial numerators k/2),
     * evaluated forwards with the modified Lentz method.
     */
    private static double erfcContinuedFraction(double a) {
        if (a > 27) return 0;  // e^{−a²} underflows a double; the fraction would divide ∞ by ∞
        return Math.exp(-a * a) / (SQRT_PI * continuedFractionK(a));
    }

    private static double continuedFractionK(double a) {
        final double tiny = 1e-300;
        double f = a, c = a, d = 0;
        for (int k = 1; k < 200; k++) {
            double num = 0.5 * k;
            d = a + num * d;
            if (d == 0) d = tiny;
            d = 1 / d;
            c = a + num / c;
            if (c == 0) c = tiny;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) break;
        }
        return f;
    }

    /** e^{z²}·erfc(z) for z ≥ 0, without overflow. */
    private static double erfcx(double z) {
        return z < 2 ? (1 - erfSeries(z)) * Math.exp(z * z) : 1 / (SQRT_PI * continuedFractionK(z));
    }

    /** Monomial coefficients (constant first) of q(t) ≈ erfcx(z)/t, t = 1/(1 + z/2); see the file comment. */
    static final double[] ERFCX_POLY_D = erfcxPolynomial(12, 40);
    static final float[] ERFCX_POLY = toFloat(ERFCX_POLY_D);

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** Φ(−a) = ½·erfc(a/√2) for a ≥ 0 from the erfcx polynomial: relative error ~2e-9, about 20 flops and one exp. */
    static double normalLowerTail(double a) {
        double t = 1 / (1 + a * (0.5 * INV_SQRT2));
        double q = ERFCX_POLY_D[ERFCX_POLY_D.length - 1];
        for (int k = ERFCX_POLY_D.length - 2; k >= 0; k--) q = q * t + ERFCX_POLY_D[k];
        return 0.5 * t * q * Math.exp(-0.5 * a * a);
    }

    /** Φ(x) via {@link #normalLowerTail}; the form GELU uses. */
    public static double normalCdfFast(double x) {
        double lower = normalLowerTail(Math.abs(x));
        return x > 0 ? 1 - lower : lower;
    }

    private static double[] erfcxPolynomial(int degree, int nodes) {
        // Chebyshev coefficients of g(u) = erfcx(z)/t on u = 2t − 1 ∈ [−1, 1]; the nodes never reach t = 0.
        double[] c = new double[degree + 1];
        for (int j = 0; j <= degree; j++) {
            double s = 0;
            for (int k = 0; k < nodes; k++) {
                double theta = Math.PI * (k + 0.5) / nodes;
                double t = (Math.cos(theta) + 1) / 2, z = (1 - t) / (0.5 * t);
                s += erfcx(z) / t * Math.cos(j * theta);
            }
            c[j] = 2.0 / nodes * s;
        }
        c[0] *= 0.5;
        // Expand Σ c_j T_j(2t − 1) into powers of t, with T_{j+1} = 2(2t − 1)T_j − T_{j−1}.
        double[] mono = new double[degree + 1];
        double[] prev = new double[degree + 1], cur = new double[degree + 1];
        prev[0] = 1;                    // T_0
        cur[0] = -1; cur[1] = 2;        // T_1 = 2t − 1
        mono[0] += c[0];
        for (int j = 1; j <= degree; j++) {
            for (int i = 0; i <= degree; i++) mono[i] += c[j] * cur[i];
            double[] next = new double[degree + 1];
            for (int i = 0; i <= degree; i++) {
                next[i] = -2 * cur[i] - prev[i];
                if (i > 0) next[i] += 4 * cur[i - 1];
            }
            prev = cur;
            cur = next;
        }
        return mono;
    }

    // ------------------------------------------------------------------ the unary functions and their derivatives

    static float sigmoid(float x) {
        return (float) (1 / (1 + Math.exp(-(double) x)));
    }

    static float gelu(float x) {
        return (float) (x * normalCdfFast(x));
    }

    static float geluGrad(float x) {
        double xd = x;
        return (float) (normalCdfFast(xd) + xd * Math.exp(-0.5 * xd * xd) * INV_SQRT_2PI);
    }

    /** torch.sign on the CPU: −1, 0 or 1, and 0 for NaN (its kernel is (0 < x) − (x < 0)). */
    static float sign(float x) {
        return x > 0 ? 1f : x < 0 ? -1f : 0f;
    }

    static float unary(Unary f, float x) {
        return switch (f) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case SQUARE -> x * x;
            case SQRT -> (float) Math.sqrt(x);
            case RSQRT -> 1f / (float) Math.sqrt(x);
            case EXP -> (float) Math.exp(x);
            case LOG -> (float) Math.log(x);
            case SIGN -> sign(x);
            case RELU -> Math.max(x, 0f);
            case SIGMOID -> sigmoid(x);
            case TANH -> (float) Math.tanh(x);
            case SILU -> x * sigmoid(x);
            case GELU -> gelu(x);
            case QUICK_GELU -> x * sigmoid(QUICK_GELU_K * x);
        };
    }

    /** f'(x) with PyTorch's conventions at the kinks: abs'(0) = relu'(0) = 0, sign' = 0. */
    static float derivative(Unary f, float x) {
        return switch (f) {
            case NEG -> -1f;
            case ABS -> sign(x);
            case SQUARE -> 2f * x;
            case SQRT -> 0.5f / (float) Math.sqrt(x);
            case RSQRT -> { float r = 1f / (float) Math.sqrt(x); yield -0.5f * r * r * r; }
            case EXP -> (float) Math.exp(x);
            case LOG -> 1f / x;
            case SIGN -> 0f;
            case RELU -> x > 0 ? 1f : 0f;
            case SIGMOID -> { float s = sigmoid(x); yield s * (1f - s); }
            case TANH -> { float t = (float) Math.tanh(x); yield 1f - t * t; }
            case SILU -> { float s = sigmoid(x); yield s * (1f + x * (1f - s)); }
            case GELU -> geluGrad(x);
            case QUICK_GELU -> { float s = sigmoid(QUICK_GELU_K * x); yield s * (1f + QUICK_GELU_K * x * (1f - s)); }
        };
    }
}
