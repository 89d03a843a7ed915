// Scaffolding shared by the CUDA op-family tests (CudaElementwiseTest … CudaStyleGanTest): the device they run on
// (Devices.best(), the emulation where there is no GPU) with output poisoning switched on for the class and restored
// afterwards, and the comparison for results that sum L products, whose bound grows with L.
//
// Poisoning fills every new output and workspace with NaN before the kernels run (CudaOpSupport), so an element a
// kernel forgets to write fails the comparison instead of passing by luck on zeroed memory.
//
// The summed bound: the device and the CPU add an output's L products in different orders, each within γ_L·Σ|terms|
// of the exact sum, so |gpu − cpu| ≤ 1e-5 + 1e-5·|cpu| + 2·L·2⁻²⁴·Σ|terms|, with Σ|terms| computed by the same CPU op
// on the absolute values of its inputs.
package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.OpTestSupport;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

final class CudaOpTestSupport {
    private CudaOpTestSupport() {}

    /** 2⁻²⁴, the unit roundoff of F32. */
    static final double U = Math.ulp(1.0f) / 2;

    private static boolean poisonBefore;

    /** Opens the best device for a test class and turns output poisoning on until {@link #close}. */
    static KernelDevice open(String testClass) {
        KernelDevice dev = Devices.best();
        poisonBefore = CudaOpSupport.poisonOutputs();
        CudaOpSupport.poisonOutputs(true);
        System.out.println(testClass + " on " + dev.name());
        return dev;
    }

    /** Restores the poisoning switch as {@link #open} found it and closes the device. */
    static void close(KernelDevice dev) {
        CudaOpSupport.poisonOutputs(poisonBefore);
        dev.close();
    }

    /** A CPU copy of t with every element replaced by its absolute value (null stays null). */
    static Tensor abs(Tensor t) {
        if (t == null) return null;
        float[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) d[i] = Math.abs(d[i]);
        return Tensor.of(d, t.shape());
    }

    /**
     * got (a device tensor) against the CPU result want, each element a sum of len products whose absolute values sum
     * to absSum: |got − want| ≤ 1e-5 + 1e-5·|want| + 2·len·2⁻²⁴·absSum. Reports the element furthest past its bound.
     */
    static void assertMatchesSummed(String what, Tensor want, Tensor absSum, long len, Tensor got) {
        assertTrue(got.onDevice(), what + ": the result is not on the device");
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] e = want.data(), a = absSum.data(), o = got.toCpu().data();
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < e.length; i++) {
            double tol = summedTolerance(e[i], len, a[i]);
            double err = Math.abs((double) o[i] - e[i]);
            if (!(err <= tol) && (worst < 0 || !(err - tol <= worstExcess))) {
                worst = i;
                worstExcess = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err - tol;
            }
        }
        if (worst >= 0)
            fail(what + ": element " + worst + " of " + Arrays.toString(want.shape()) + " is " + o[worst] + ", expected "
                    + e[worst] + " (tolerance " + summedTolerance(e[worst], len, a[worst]) + ")");
    }

    private static double summedTolerance(float want, long len, float absSum) {
        return 1e-5 + 1e-5 * Math.abs(want) + 2.0 * len * U * absSum;
    }

    /**
     * got (a device tensor) against the CPU result cpu with rtol 1e-5 and atol 1e-5·max(1, √L/16) for outputs that
     * are sums of length L: float32 tree reductions on the device against the CPU's float64 sums drift like √L·2⁻²⁴.
     */
    static void assertMatchesReduced(String what, Tensor cpu, Tensor gpu, int reductionLength) {
        assertNotNull(gpu, what + ": missing on the device");
        assertTrue(gpu.onDevice(), what + ": expected a device tensor");
        double atol = 1e-5 * Math.max(1, Math.sqrt(reductionLength) / 16);
        OpTestSupport.assertClose(what, OpTestSupport.f64(cpu), cpu.shape(), gpu.toCpu(), atol, 1e-5);
    }

    // ------------------------------------------------------------------ 16-bit storage types

    /** The 16-bit storage types the F16/BF16 entry points are tested in. */
    static final DType[] HALF_TYPES = {DType.F16, DType.BF16};

    /** Relative tolerance of the 16-bit storage types (F32 accumulation, one rounding of each stored value). */
    static final double HALF_TOL = 1e-2;

    /**
     * The F32 CPU tensor t rounded to dtype and back: the exact values a dtype tensor holds, so the CPU reference
     * sees the same inputs as the kernels (null stays null).
     */
    static Tensor rounded(Tensor t, DType dtype) {
        return t == null ? null : t.to(dtype).to(DType.F32);
    }

    /** t rounded to dtype (as {@link #rounded}) on dev, stored as dtype (null stays null). */
    static Tensor onDevice(Tensor t, DType dtype, KernelDevice dev) {
        return t == null ? null : t.to(dtype).toDevice(dev);
    }

    /**
     * got (a dtype device tensor) against the CPU F32 result want computed from the rounded inputs:
     * |got − want| ≤ 1e-2·(|want| + rms(want)). The rms term stands for the magnitude of the values summed into an
     * element, so an output that cancels to near zero is judged against the size of what cancelled, not against 0.
     */
    static void assertMatchesHalf(String what, Tensor want, Tensor got, DType dtype) {
        assertNotNull(got, what + ": missing on the device");
        assertTrue(got.onDevice(), what + ": expected a device tensor");
        assertTrue(got.dtype() == dtype, what + ": dtype " + got.dtype() + ", expected " + dtype);
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] e = want.data(), o = got.toCpu().to(DType.F32).data();
        double ss = 0;
        for (float v : e) ss += (double) v * v;
        double rms = e.length == 0 ? 0 : Math.sqrt(ss / e.length);
        for (int i = 0; i < e.length; i++) {
            double tol = HALF_TOL * (Math.abs(e[i]) + rms);
            double err = Math.abs((double) o[i] - e[i]);
            if (!(err <= tol) && !(Float.isInfinite(e[i]) && o[i] == e[i]))
                fail(what + " (" + dtype + "): element " + i + " of " + Arrays.toString(want.shape()) + " is " + o[i]
                        + ", expected " + e[i] + " (tolerance " + tol + ")");
        }
    }
}
