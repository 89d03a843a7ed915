package dev.dragedit.ops;

import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.ops.cpu.Simd;
import dev.dragedit.tensor.Tensor;
import org.opentest4j.AssertionFailedError;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Shared test machinery for the op set: random inputs, float64 views, element-wise comparison with a report of the
 * worst element, central finite differences in float64, and running a check on both the Vector API and the scalar
 * path.
 * <p>
 * The pattern for an op: write a plain float64 reference {@code ref(double[][] inputs) → double[]} in the test,
 * compare the op's F32 output with it ({@link #assertClose}), then compare the op's backward with
 * {@link #numericGrad} of L = Σ gy·ref(inputs) ({@link #checkGrad}).
 */
public final class OpTestSupport {
    private OpTestSupport() {}

    /** The implementation under test. The CUDA backend's tests will run the same classes against it. */
    public static Ops ops() { return CpuOps.INSTANCE; }

    /** F32 forward tolerance against a float64 reference (relative to the size of the values, see assertClose). */
    public static final double F32_RTOL = 1e-4, F32_ATOL = 1e-5;
    /** Tolerance of an F32 analytic gradient against float64 central differences. */
    public static final double GRAD_RTOL = 2e-3, GRAD_ATOL = 1e-4;

    public static Tensor randn(Random r, int... shape) {
        float[] d = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return Tensor.of(d, shape);
    }

    public static Tensor uniform(Random r, float lo, float hi, int... shape) {
        float[] d = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * r.nextFloat();
        return Tensor.of(d, shape);
    }

    /** The values of a tensor as float64 (exact for F32). */
    public static double[] f64(Tensor t) {
        double[] d = new double[t.numel()];
        for (int i = 0; i < d.length; i++) d[i] = t.getDouble(i);
        return d;
    }

    /**
     * Asserts |actual − expected| ≤ atol + rtol·|expected| element-wise, with the shape checked too. On failure the
     * message names the first mismatches and the worst index.
     */
    public static void assertClose(String what, double[] expected, int[] expectedShape, Tensor actual, double atol, double rtol) {
        if (!Arrays.equals(expectedShape, actual.shape()))
            fail(what + ": shape " + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(expectedShape));
        assertClose(what, expected, f64(actual), atol, rtol);
    }

    public static void assertClose(String what, double[] expected, double[] actual, double atol, double rtol) {
        if (expected.length != actual.length) fail(what + ": " + actual.length + " elements, expected " + expected.length);
        StringBuilder first = new StringBuilder();
        int bad = 0, worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < expected.length; i++) {
            double tol = atol + rtol * Math.abs(expected[i]);
            double err = Math.abs(actual[i] - expected[i]);
            boolean ok = err <= tol && !Double.isNaN(actual[i]);
            double ratio = Double.isNaN(actual[i]) ? Double.POSITIVE_INFINITY : err / tol;
            if (ratio > worstRatio) { worstRatio = ratio; worst = i; }
            if (!ok) {
                if (bad < 5) first.append(String.format("%n  [%d] got %.9g expected %.9g (err %.3g, tol %.3g)", i, actual[i], expected[i], err, tol));
                bad++;
            }
        }
        if (bad > 0)
            fail(String.format("%s: %d of %d elements differ (atol %.1g, rtol %.1g); worst [%d] got %.9g expected %.9g%s",
                    what, bad, expected.length, atol, rtol, worst, actual[worst], expected[worst], first));
    }

    /** A random upstream gradient for an output of the given size. */
    public static double[] randomGy(Random r, int n) {
        double[] g = new double[n];
        for (int i = 0; i < n; i++) g[i] = r.nextGaussian();
        return g;
    }

    public static Tensor toTensor(double[] d, int... shape) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return Tensor.of(f, shape);
    }

    /**
     * Central finite differences in float64 of L(inputs) = Σ gy·ref(inputs) with respect to inputs[which].
     * The step is relative to the magnitude of each element.
     */
    public static double[] numericGrad(Function<double[][], double[]> ref, double[][] inputs, int which, double[] gy) {
        double[] x = inputs[which];
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double orig = x[i];
            double h = 1e-6 * Math.max(1.0, Math.abs(orig));
            x[i] = orig + h;
            double lp = dot(gy, ref.apply(inputs));
            x[i] = orig - h;
            double lm = dot(gy, ref.apply(inputs));
            x[i] = orig;
            g[i] = (lp - lm) / (2 * h);
        }
        return g;
    }

    /** Compares an analytic (op) gradient with float64 central differences of the reference. */
    public static void checkGrad(String what, Function<double[][], double[]> ref, double[][] inputs, int which, double[] gy, Tensor analytic) {
        double[] num = numericGrad(ref, inputs, which, gy);
        // Scale the absolute tolerance with the gradient's magnitude so large sums are judged fairly.
        double scale = 0;
        for (double v : num) scale = Math.max(scale, Math.abs(v));
        assertClose(what, num, f64(analytic), GRAD_ATOL * Math.max(1, scale), GRAD_RTOL);
    }

    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /**
     * Runs check with the Vector API on, then off, restoring the previous setting. Every op has both paths and
     * both must meet the same tolerances; a failure says which path broke.
     */
    public static void bothSimdPaths(Runnable check) {
        withSimd(true, check);
        withSimd(false, check);
    }

    /**
     * Runs check with the Vector API switched on or off, restoring the previous setting. For tests that are
     * parameterised over the path (so JUnit reports each path separately); others use {@link #bothSimdPaths}.
     * A failure is rethrown with a "SIMD on: " / "SIMD off: " prefix and the original as its cause.
     */
    public static void withSimd(boolean on, Runnable check) {
        boolean prev = Simd.set(on);
        String path = on ? "SIMD on: " : "SIMD off: ";
        try {
            check.run();
        } catch (AssertionFailedError e) {
            // Keep expected/actual so IDEs can still show the comparison.
            throw e.isExpectedDefined() && e.isActualDefined()
                    ? new AssertionFailedError(path + e.getMessage(), e.getExpected().getValue(), e.getActual().getValue(), e)
                    : new AssertionFailedError(path + e.getMessage(), e);
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError(path + (e instanceof AssertionError ? e.getMessage() : e.toString()), e);
        } finally {
            Simd.set(prev);
        }
    }

    /** float64 inputs from F32 tensors (so the reference and the op see exactly the same numbers). */
    public static double[][] inputs(Tensor... ts) {
        double[][] r = new double[ts.length][];
        for (int i = 0; i < ts.length; i++) r[i] = f64(ts[i]);
        return r;
    }
}
