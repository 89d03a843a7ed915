package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.abs;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.HALF_TYPES;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.assertMatchesHalf;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.onDevice;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.rounded;

/**
 * CudaReduce on Devices.best() (the CUDA emulation without a GPU) against CpuOps, every output buffer poisoned with
 * NaN before the kernels run. Tolerance: atol 1e-5 + rtol 1e-5·|ref|, plus for sums the float summation bound
 * γ_L·Σ|x| with L = ceil(R/8) + 16 (R the reduced count): every kernel gives each thread a sequential chain of at
 * most R/8 elements and then a tree of depth ≤ 16 (the CPU sums in double, so the device's float error is the gap).
 */
class CudaReduceTest {
    static KernelDevice dev;
    static final Ops cpu = CpuOps.INSTANCE;
    static final double EPS = Math.ulp(1f) / 2;

    @BeforeAll static void open() { dev = CudaOpTestSupport.open("CudaReduceTest"); }

    @AfterAll static void close() { CudaOpTestSupport.close(dev); }



    static Tensor randn(Random r, int... shape) {
        float[] d = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return Tensor.of(d, shape);
    }

    /** |got − ref| ≤ 1e-5 + 1e-5·|ref| + γ_L·absSum (absSum null: no summation term); NaN must match NaN. */
    static void assertMatches(String what, Tensor ref, Tensor got, Tensor absSum, long reducedCount) {
        assertArrayEquals(ref.shape(), got.shape(), what + ": shape");
        float[] e = ref.data(), a = got.toCpu().data();
        double l = Math.ceil(reducedCount / 8.0) + 16;
        for (int i = 0; i < e.length; i++) {
            if (Float.isNaN(e[i])) { assertTrue(Float.isNaN(a[i]), what + ": element " + i + " is " + a[i] + ", expected NaN"); continue; }
            double tol = 1e-5 + 1e-5 * Math.abs(e[i]) + (absSum == null ? 0 : l * EPS / (1 - l * EPS) * absSum.data()[i]);
            assertTrue(Math.abs(a[i] - e[i]) <= tol,
                    what + ": element " + i + " is " + a[i] + ", expected " + e[i] + " ± " + tol + " (" + Arrays.toString(ref.shape()) + ")");
        }
    }

    static void checkSumMean(Random r, int[] shape, int[] dims) {
        Tensor x = randn(r, shape);
        Tensor xd = x.toDevice(dev);
        long count = 1;
        boolean[] red = new boolean[shape.length];
        for (int d : dims) red[d < 0 ? d + shape.length : d] = true;
        for (int i = 0; i < shape.length; i++) if (dims.length == 0 || red[i]) count *= shape[i];
        for (boolean keep : new boolean[]{false, true}) {
            String what = "x " + Arrays.toString(shape) + " dims " + Arrays.toString(dims) + " keepDim " + keep;
            Tensor absSum = cpu.sum(abs(x), dims, keep);
            assertMatches("sum " + what, cpu.sum(x, dims, keep), CudaReduce.sum(xd, dims, keep), absSum, count);
            Tensor absMean = cpu.mean(abs(x), dims, keep);
            assertMatches("mean " + what, cpu.mean(x, dims, keep), CudaReduce.mean(xd, dims, keep), absMean, count);
        }
    }

    @Test
    void sumAndMeanMatchCpuOverEverySetOfDimsOfAnOddShape() {
        Random r = new Random(1);
        int[] shape = {3, 5, 7};
        int[][] dimSets = {{}, {0}, {1}, {2}, {-1}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2}, {2, 0}};
        for (int[] dims : dimSets) checkSumMean(r, shape, dims);
    }

    @Test
    void nonAdjacentReducedDimsAndSizeOneDimsReduceInSuccessivePasses() {
        Random r = new Random(2);
        checkSumMean(r, new int[]{2, 1, 3, 1, 5}, new int[]{1, 3});
        checkSumMean(r, new int[]{2, 1, 3, 1, 5}, new int[]{0, 2, 4});
        checkSumMean(r, new int[]{3, 4, 5, 6, 7}, new int[]{0, 2, 4});
        checkSumMean(r, new int[]{3, 4, 5, 6, 7}, new int[]{1, 3});
        checkSumMean(r, new int[]{9, 1, 11}, new int[]{1});
    }

    @Test
    void eachKernelShapeMatchesCpu() {
        Random r = new Random(3);
        String[] kernels = {"reduce_rows_warp_fwd_f32", "reduce_rows_fwd_f32", "reduce_mid_fwd_f32"};
        long[] before = new long[kernels.length];
        for (int i = 0; i < kernels.length; i++) before[i] = dev.launchCount(kernels[i]);
        checkSumMean(r, new int[]{37, 19}, new int[]{1});        // short rows: one warp per row
        checkSumMean(r, new int[]{2, 1500}, new int[]{1});       // long rows: one block per row
        checkSumMean(r, new int[]{1, 5001}, new int[]{1});       // a long row split into parts, then the parts summed
        checkSumMean(r, new int[]{4100}, new int[]{});           // the full reduction, split as well
        checkSumMean(r, new int[]{3, 601, 5}, new int[]{1});     // a middle axis, split along R
        checkSumMean(r, new int[]{43, 70}, new int[]{0});        // a column sum, inner wider than one 32-column block
        for (int i = 0; i < kernels.length; i++)
            assertTrue(dev.launchCount(kernels[i]) > before[i], kernels[i] + " was not launched");
    }

    @Test
    void scalarsAndEmptyTensorsFollowPyTorch() {
        Random r = new Random(4);
        Tensor s = Tensor.of(new float[]{2.5f});
        s = s.reshape();
        assertMatches("sum of a scalar", cpu.sum(s, new int[]{0}, false), CudaReduce.sum(s.toDevice(dev), new int[]{0}, false), null, 1);
        assertMatches("mean of a scalar", cpu.mean(s, new int[]{}, true), CudaReduce.mean(s.toDevice(dev), new int[]{}, true), null, 1);
        Tensor empty = Tensor.zeros(0, 3);
        assertMatches("sum over an empty dim", cpu.sum(empty, new int[]{0}, false), CudaReduce.sum(empty.toDevice(dev), new int[]{0}, false), null, 0);
        assertMatches("mean over an empty dim is NaN", cpu.mean(empty, new int[]{0}, true), CudaReduce.mean(empty.toDevice(dev), new int[]{0}, true), null, 0);
        assertMatches("sum keeping an empty dim", cpu.sum(empty, new int[]{1}, false), CudaReduce.sum(empty.toDevice(dev), new int[]{1}, false), null, 3);
        Tensor x = randn(r, 4, 1, 3);
        assertMatches("sum over a size-1 dim is a copy", cpu.sum(x, new int[]{1}, false), CudaReduce.sum(x.toDevice(dev), new int[]{1}, false), null, 1);
    }

    @Test
    void sumToUndoesBroadcasting() {
        Random r = new Random(5);
        Tensor g = randn(r, 4, 3, 5);
        Tensor gd = g.toDevice(dev);
        int[][] targets = {{3, 1}, {1, 1, 4, 1, 5}, {5}, {}, {4, 3, 5}, {4, 1, 1}, {1, 3, 5}};
        for (int[] t : targets) {
            Tensor absSum = cpu.sumTo(abs(g), t);
            assertMatches("sumTo " + Arrays.toString(t), cpu.sumTo(g, t), CudaReduce.sumTo(gd, t), absSum, g.numel());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaReduce.sumTo(gd, new int[]{2, 5}));
        assertTrue(e.getMessage().contains("sumTo") && e.getMessage().contains("[4, 3, 5]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CudaReduce.sumTo(gd, new int[]{2, 4, 3, 5}));
    }

    @Test
    void lossesAndTheirGradientsMatchCpu() {
        Random r = new Random(6);
        for (int[] shape : new int[][]{{3, 7, 5}, {1}, {2, 333}, {9000}}) {
            Tensor a = randn(r, shape), b = randn(r, shape);
            float[] bd = b.data();
            for (int i = 0; i < bd.length; i += 5) bd[i] = a.data()[i];   // equal elements: sign(0) = 0 in l1's gradient
            Tensor ad = a.toDevice(dev), bdv = b.toDevice(dev);
            String what = " of " + Arrays.toString(shape);
            Tensor absDiff = abs(cpu.sub(a, b));
            Tensor l1Bound = cpu.mean(absDiff, new int[]{}, false);
            Tensor mseBound = cpu.mean(cpu.mul(absDiff, absDiff), new int[]{}, false);
            assertMatches("l1Loss" + what, cpu.l1Loss(a, b), CudaReduce.l1Loss(ad, bdv), l1Bound, a.numel());
            assertMatches("mseLoss" + what, cpu.mseLoss(a, b), CudaReduce.mseLoss(ad, bdv), mseBound, a.numel());
            Tensor gy = Tensor.of(new float[]{0.7f}).reshape();
            Tensor gyd = gy.toDevice(dev);
            assertMatches("l1LossBackward" + what, cpu.l1LossBackward(gy, a, b), CudaReduce.l1LossBackward(gyd, ad, bdv), null, 1);
            assertMatches("mseLossBackward" + what, cpu.mseLossBackward(gy, a, b), CudaReduce.mseLossBackward(gyd, ad, bdv), null, 1);
        }
        Tensor e = Tensor.zeros(0, 4);
        assertMatches("l1Loss of nothing is NaN", cpu.l1Loss(e, e), CudaReduce.l1Loss(e.toDevice(dev), e.toDevice(dev)), null, 0);
        assertMatches("mseLoss of nothing is NaN", cpu.mseLoss(e, e), CudaReduce.mseLoss(e.toDevice(dev), e.toDevice(dev)), null, 0);
    }

    // ------------------------------------------------------------------ 16-bit storage

    static void checkSumMeanHalf(Random r, DType dt, int[] shape, int[] dims) {
        Tensor x = randn(r, shape), xr = rounded(x, dt), xd = onDevice(x, dt, dev);
        for (boolean keep : new boolean[]{false, true}) {
            String what = "x " + Arrays.toString(shape) + " dims " + Arrays.toString(dims) + " keepDim " + keep;
            assertMatchesHalf("sum " + what, cpu.sum(xr, dims, keep), CudaReduce.sum(xd, dims, keep), dt);
            assertMatchesHalf("mean " + what, cpu.mean(xr, dims, keep), CudaReduce.mean(xd, dims, keep), dt);
        }
    }

    @Test
    void halfPrecisionSumAndMeanMatchCpuThroughEveryKernelShape() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(21);
            String s = CudaOpSupport.suffix(dt);
            String[] kernels = {"reduce_rows_warp_fwd_" + s, "reduce_rows_fwd_" + s, "reduce_mid_fwd_" + s};
            long[] before = new long[kernels.length];
            for (int i = 0; i < kernels.length; i++) before[i] = dev.launchCount(kernels[i]);
            for (int[] dims : new int[][]{{}, {0}, {1}, {2}, {0, 2}, {1, 2}}) checkSumMeanHalf(r, dt, new int[]{3, 5, 7}, dims);
            checkSumMeanHalf(r, dt, new int[]{3, 4, 5, 6, 7}, new int[]{0, 2, 4});   // successive passes, F32 between them
            checkSumMeanHalf(r, dt, new int[]{2, 1500}, new int[]{1});              // long rows: one block per row
            checkSumMeanHalf(r, dt, new int[]{1, 5001}, new int[]{1});              // split into parts, parts summed in F32
            checkSumMeanHalf(r, dt, new int[]{3, 601, 5}, new int[]{1});            // a middle axis, split along R
            checkSumMeanHalf(r, dt, new int[]{4, 1, 3}, new int[]{1});              // a size-1 dim: a copy
            for (int i = 0; i < kernels.length; i++)
                assertTrue(dev.launchCount(kernels[i]) > before[i], kernels[i] + " was not launched");
            Tensor empty = Tensor.zeros(0, 3);
            assertMatchesHalf("sum over an empty dim", cpu.sum(empty, new int[]{0}, false),
                    CudaReduce.sum(onDevice(empty, dt, dev), new int[]{0}, false), dt);
            Tensor g = randn(r, 4, 3, 5);
            for (int[] t : new int[][]{{3, 1}, {5}, {}, {4, 1, 1}})
                assertMatchesHalf("sumTo " + Arrays.toString(t), cpu.sumTo(rounded(g, dt), t), CudaReduce.sumTo(onDevice(g, dt, dev), t), dt);
        }
    }

    @Test
    void halfPrecisionLossesAndTheirGradientsMatchCpu() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(22);
            for (int[] shape : new int[][]{{3, 7, 5}, {1}, {9000}}) {
                Tensor a = rounded(randn(r, shape), dt), b = rounded(randn(r, shape), dt);
                float[] bd = b.data();
                for (int i = 0; i < bd.length; i += 5) bd[i] = a.data()[i];   // equal elements: sign(0) = 0
                Tensor ad = onDevice(a, dt, dev), bdv = onDevice(b, dt, dev);
                String what = " of " + Arrays.toString(shape);
                assertMatchesHalf("l1Loss" + what, cpu.l1Loss(a, b), CudaReduce.l1Loss(ad, bdv), dt);
                assertMatchesHalf("mseLoss" + what, cpu.mseLoss(a, b), CudaReduce.mseLoss(ad, bdv), dt);
                Tensor gy = rounded(Tensor.of(new float[]{0.7f}).reshape(), dt), gyd = onDevice(gy, dt, dev);
                assertMatchesHalf("l1LossBackward" + what, cpu.l1LossBackward(gy, a, b), CudaReduce.l1LossBackward(gyd, ad, bdv), dt);
                assertMatchesHalf("mseLossBackward" + what, cpu.mseLossBackward(gy, a, b), CudaReduce.mseLossBackward(gyd, ad, bdv), dt);
            }
        }
    }

    @Test
    void mixedDtypeArgumentsAreRefused() {
        Tensor a = onDevice(Tensor.zeros(2, 3), DType.F16, dev), b = Tensor.zeros(2, 3).toDevice(dev);
        expect("l1Loss: b is F32 but the first input is F16", () -> CudaReduce.l1Loss(a, b));
        Tensor gy = onDevice(Tensor.zeros(1).reshape(), DType.BF16, dev);
        expect("mseLossBackward: a is F16 but the first input is BF16", () -> CudaReduce.mseLossBackward(gy, a, a));
    }

    @Test
    void badArgumentsAreRefusedWithUsefulMessages() {
        Tensor x = Tensor.zeros(2, 3).toDevice(dev), y = Tensor.zeros(3, 2).toDevice(dev);
        expect("sum: dim 2 is out of range", () -> CudaReduce.sum(x, new int[]{2}, false));
        expect("appears more than once", () -> CudaReduce.sum(x, new int[]{1, -1}, false));
        expect("mean: x is on the CPU", () -> CudaReduce.mean(Tensor.zeros(2), new int[]{}, false));
        expect("l1Loss: b has shape [3, 2], expected the shape of a [2, 3]", () -> CudaReduce.l1Loss(x, y));
        expect("mseLossBackward: gy has shape [2, 3]", () -> CudaReduce.mseLossBackward(x, x, x));
    }

    static void expect(String fragment, Supplier<Tensor> call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::get);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }
}
