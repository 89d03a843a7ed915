package dev.dragedit.engine;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;
import java.util.Locale;

/**
 * One output of an op on the device against the same output of the CPU op set: the measure and the tolerance
 * {@link ValidatingOps} applies (its header gives the reasoning). The error of element i is
 * |got − want| / (|want| + rms(want)), rms over the finite elements of want; NaN and ±Inf must agree exactly.
 * For a 16-bit output, want is first rounded to that dtype, so a value past the F16 range is +Inf on both sides.
 */
final class OutputComparison {
    /** F32 on both sides: the same inputs, differing only in summation order and math-library rounding. */
    static final double F32_TOLERANCE = 1e-4;
    /** Some tensor of the op is F16 or BF16: a few 16-bit roundings (BF16's unit roundoff is 3.9e-3) in the chain. */
    static final double HALF_TOLERANCE = 2e-2;

    /** got and want disagree in shape: nothing element-wise to say. */
    final String shapeMismatch;
    final int worst;            // index of the element with the largest error, -1 when there is none
    final double worstGot, worstWant;
    final double maxAbsError;   // over elements where both are finite
    final double maxRelError;
    final long outside;         // elements past the tolerance
    final long count;
    final double tolerance;

    /**
     * got: the device output (any dtype, on the device or the CPU); want: the CPU op's F32 output; half: whether a
     * tensor of the op was F16 or BF16.
     */
    OutputComparison(Tensor got, Tensor want, boolean half) {
        DType gotType = got.dtype();
        this.tolerance = half || gotType == DType.F16 || gotType == DType.BF16 ? HALF_TOLERANCE : F32_TOLERANCE;
        if (!Arrays.equals(got.shape(), want.shape())) {
            shapeMismatch = "shape " + Arrays.toString(got.shape()) + ", expected " + Arrays.toString(want.shape());
            worst = -1;
            worstGot = worstWant = Double.NaN;
            maxAbsError = maxRelError = Double.POSITIVE_INFINITY;
            outside = count = got.numel();
            return;
        }
        shapeMismatch = null;
        float[] d = ValidatingOps.cpuF32(got).data();
        float[] c = (gotType == DType.F16 || gotType == DType.BF16 ? want.to(gotType).to(DType.F32) : want).data();
        double ss = 0;
        long finite = 0;
        for (float v : c) {
            if (Float.isFinite(v)) { ss += (double) v * v; finite++; }
        }
        double rms = finite == 0 ? 0 : Math.sqrt(ss / finite);
        int w = -1;
        double maxAbs = 0, maxRel = 0;
        long out = 0;
        for (int i = 0; i < c.length; i++) {
            double rel;
            if (!Float.isFinite(c[i]) || !Float.isFinite(d[i])) {
                // NaN must meet NaN and an infinity the same infinity: Float.compare treats all NaNs as one value
                rel = Float.compare(c[i], d[i]) == 0 ? 0 : Double.POSITIVE_INFINITY;
            } else {
                double err = Math.abs((double) d[i] - c[i]);
                double scale = Math.abs(c[i]) + rms;
                rel = err == 0 ? 0 : scale == 0 ? Double.POSITIVE_INFINITY : err / scale;
                maxAbs = Math.max(maxAbs, err);
            }
            if (rel > tolerance) out++;
            if (w < 0 || rel > maxRel) { w = i; maxRel = rel; }
        }
        worst = w;
        worstGot = w < 0 ? Double.NaN : d[w];
        worstWant = w < 0 ? Double.NaN : c[w];
        maxAbsError = maxAbs;
        maxRelError = maxRel;
        outside = out;
        count = c.length;
    }

    boolean ok() { return shapeMismatch == null && outside == 0; }

    /** What went wrong, for the exception message; shape is the output's. */
    String describe(int[] shape, String deviceName) {
        if (shapeMismatch != null) return shapeMismatch;
        return String.format(Locale.ROOT,
                "element %d %s is %s on %s, %s on the CPU; max abs error %.3g, max rel error %.3g "
                        + "(|got − want| / (|want| + rms(want))), tolerance %.0e (%s); %d of %d elements outside",
                worst, Arrays.toString(unravel(worst, shape)), num(worstGot), deviceName, num(worstWant),
                maxAbsError, maxRelError, tolerance, tolerance == F32_TOLERANCE ? "F32" : "F16/BF16 op", outside, count);
    }

    private static String num(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? Double.toString(v) : String.format(Locale.ROOT, "%.7g", v);
    }

    static int[] unravel(int index, int[] shape) {
        int[] at = new int[shape.length];
        for (int k = shape.length - 1; k >= 0; k--) {
            if (shape[k] == 0) break;
            at[k] = index % shape[k];
            index /= shape[k];
        }
        return at;
    }
}
