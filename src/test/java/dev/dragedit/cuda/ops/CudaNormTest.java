package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.OpTestSupport;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.dragedit.cuda.ops.CudaOpTestSupport.HALF_TYPES;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.assertMatchesHalf;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.onDevice;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.rounded;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The norm kernels (kernels/norm.cu through {@link CudaNorm}) against the CPU op set on {@link Devices#best()} — the
 * emulation where there is no GPU — on random odd-sized inputs: groups = 1 and groups = C, rank 3 and 4, with and
 * without affine parameters, rows short enough for a warp and longer than a block, and both per-channel reduction
 * paths of the GroupNorm backward (a warp per channel when there are more channels than warps, else the whole
 * block per channel). Outputs and workspaces are poisoned with NaN before every launch, so an element a kernel
 * does not write fails the comparison.
 * <p>
 * Tolerance: |gpu − cpu| ≤ atol + rtol·|cpu| with atol = rtol = 1e-5 for outputs whose reductions are short. The
 * CPU sums in float64 and the kernels in float32 trees, whose rounding error grows like √L·2⁻²⁴ relative to the
 * summed magnitude for a reduction of length L; parameter gradients (sums over N·spatial or all rows) therefore use
 * atol = 1e-5·max(1, √L / 16), i.e. the plain bound up to L = 256.
 * <p>
 * F16/BF16: the same cases in both 16-bit storage types (x, gamma, beta, gy, y and every result in the type, F32
 * statistics and workspaces inside) against the F32 CPU op on the inputs rounded to the type, with
 * CudaOpTestSupport.assertMatchesHalf's tolerance. The large-mean cases are F32 only: 1000 ± 1 is not representable
 * in a 16-bit type (BF16 steps by 4 there), so they would test the rounding of the input rather than the kernels.
 */
class CudaNormTest {
    private static final double TOL = 1e-5;
    private static final CpuOps CPU = CpuOps.INSTANCE;
    private static KernelDevice dev;

    @BeforeAll static void open() { dev = CudaOpTestSupport.open("CudaNormTest"); }

    @AfterAll static void close() { CudaOpTestSupport.close(dev); }

    private static Tensor d(Tensor t) { return t == null ? null : t.toDevice(dev); }

    private static void close(String what, Tensor cpu, Tensor gpu, int reductionLength) {
        CudaOpTestSupport.assertMatchesReduced(what, cpu, gpu, reductionLength);
    }

    // ---------------------------------------------------------------- GroupNorm

    /** {shape..., groups}: warp teams and block teams, groups 1 / C / in between, rank 3 and 4. */
    private static final int[][] GROUP_CASES = {
            {3, 6, 5, 7, 3},      // m = 70: a single warp per group
            {2, 6, 37, 6},        // rank 3, groups = C
            {2, 5, 11, 1},        // rank 3, groups = 1
            {1, 2, 45, 47, 2},    // m = 2115 > a block: a block per group, fewer channels than warps
            {2, 64, 9, 9, 1},     // m = 5184: more channels than warps, a warp per channel
            {2, 3, 1, 1, 3},      // one element per group: variance 0
    };

    private static int[] shapeOf(int[] c) { return java.util.Arrays.copyOf(c, c.length - 1); }

    @Test
    void groupNormMatchesCpuForGroupsOneToCAndBothTeamSizes() {
        Random r = new Random(1);
        for (int[] c : GROUP_CASES) {
            int[] shape = shapeOf(c);
            int groups = c[c.length - 1], ch = shape[1];
            Tensor x = OpTestSupport.uniform(r, -2f, 3f, shape);
            Tensor gamma = OpTestSupport.randn(r, ch), beta = OpTestSupport.randn(r, ch);
            String what = "groupNorm " + java.util.Arrays.toString(shape) + " groups=" + groups;
            close(what, CPU.groupNorm(x, groups, gamma, beta, 1e-5f), CudaNorm.groupNorm(d(x), groups, d(gamma), d(beta), 1e-5f), 1);
            close(what + " no affine", CPU.groupNorm(x, groups, null, null, 1e-5f), CudaNorm.groupNorm(d(x), groups, null, null, 1e-5f), 1);
            close(what + " gamma only", CPU.groupNorm(x, groups, gamma, null, 1e-3f), CudaNorm.groupNorm(d(x), groups, d(gamma), null, 1e-3f), 1);
        }
    }

    @Test
    void groupNormKeepsPrecisionWithALargeMean() {
        Random r = new Random(2);
        Tensor x = OpTestSupport.uniform(r, 999f, 1001f, 2, 4, 13, 11);
        close("groupNorm mean 1000", CPU.groupNorm(x, 2, null, null, 1e-6f), CudaNorm.groupNorm(d(x), 2, null, null, 1e-6f), 1);
    }

    @Test
    void groupNormBackwardMatchesCpuIncludingParameterGradients() {
        Random r = new Random(3);
        for (int[] c : GROUP_CASES) {
            int[] shape = shapeOf(c);
            int groups = c[c.length - 1], ch = shape[1], spatial = (int) (Tensor.numel(shape) / shape[0] / ch);
            if (ch / groups * spatial == 1) continue;   // one-element groups: singleElementUnitsHaveZeroInputGradient
            Tensor x = OpTestSupport.uniform(r, -2f, 3f, shape), gy = OpTestSupport.randn(r, shape);
            Tensor gamma = OpTestSupport.randn(r, ch);
            String what = "groupNormBackward " + java.util.Arrays.toString(shape) + " groups=" + groups;
            int paramLen = shape[0] * spatial;
            Tensor[] ref = CPU.groupNormBackward(gy, x, groups, gamma, 1e-5f, true);
            Tensor[] got = CudaNorm.groupNormBackward(d(gy), d(x), groups, d(gamma), 1e-5f, true);
            close(what + " dx", ref[0], got[0], 1);
            close(what + " dgamma", ref[1], got[1], paramLen);
            close(what + " dbeta", ref[2], got[2], paramLen);

            ref = CPU.groupNormBackward(gy, x, groups, null, 1e-5f, true);
            got = CudaNorm.groupNormBackward(d(gy), d(x), groups, null, 1e-5f, true);
            close(what + " no gamma dx", ref[0], got[0], 1);
            assertNull(got[1], what + ": dgamma without gamma");
            close(what + " no gamma dbeta", ref[2], got[2], paramLen);

            got = CudaNorm.groupNormBackward(d(gy), d(x), groups, d(gamma), 1e-5f, false);
            close(what + " dx only", CPU.groupNormBackward(gy, x, groups, gamma, 1e-5f, false)[0], got[0], 1);
            assertNull(got[1]);
            assertNull(got[2]);
        }
    }

    @Test
    void groupNormParameterGradientsAreReproducible() {
        Random r = new Random(4);
        Tensor x = d(OpTestSupport.randn(r, 3, 8, 7, 9)), gy = d(OpTestSupport.randn(r, 3, 8, 7, 9)), gamma = d(OpTestSupport.randn(r, 8));
        Tensor[] a = CudaNorm.groupNormBackward(gy, x, 4, gamma, 1e-5f, true);
        Tensor[] b = CudaNorm.groupNormBackward(gy, x, 4, gamma, 1e-5f, true);
        for (int i = 0; i < 3; i++) assertArrayEquals(a[i].toCpu().data(), b[i].toCpu().data(), "output " + i);
    }

    // ---------------------------------------------------------------- LayerNorm

    /** Warp rows, block rows longer than the block, rank 1, D = 1, rows > one parameter-gradient chunk. */
    private static final int[][] LAYER_SHAPES = {{3, 5, 37}, {3, 1500}, {33}, {4, 1}, {70, 33}, {2, 1031}};

    @Test
    void layerNormMatchesCpuForWarpAndBlockRows() {
        Random r = new Random(5);
        for (int[] shape : LAYER_SHAPES) {
            int dim = shape[shape.length - 1];
            Tensor x = OpTestSupport.uniform(r, -2f, 3f, shape), gamma = OpTestSupport.randn(r, dim), beta = OpTestSupport.randn(r, dim);
            String what = "layerNorm " + java.util.Arrays.toString(shape);
            close(what, CPU.layerNorm(x, gamma, beta, 1e-5f), CudaNorm.layerNorm(d(x), d(gamma), d(beta), 1e-5f), 1);
            close(what + " no affine", CPU.layerNorm(x, null, null, 1e-5f), CudaNorm.layerNorm(d(x), null, null, 1e-5f), 1);
            close(what + " beta only", CPU.layerNorm(x, null, beta, 1e-5f), CudaNorm.layerNorm(d(x), null, d(beta), 1e-5f), 1);
        }
        Tensor big = OpTestSupport.uniform(r, 999f, 1001f, 5, 77);
        close("layerNorm mean 1000", CPU.layerNorm(big, null, null, 1e-6f), CudaNorm.layerNorm(d(big), null, null, 1e-6f), 1);
    }

    @Test
    void layerNormBackwardMatchesCpuIncludingParameterGradients() {
        Random r = new Random(6);
        for (int[] shape : LAYER_SHAPES) {
            int dim = shape[shape.length - 1], rows = (int) (Tensor.numel(shape) / dim);
            if (dim == 1) continue;   // singleElementUnitsHaveZeroInputGradient
            Tensor x = OpTestSupport.uniform(r, -2f, 3f, shape), gy = OpTestSupport.randn(r, shape), gamma = OpTestSupport.randn(r, dim);
            String what = "layerNormBackward " + java.util.Arrays.toString(shape);
            Tensor[] ref = CPU.layerNormBackward(gy, x, gamma, 1e-5f, true);
            Tensor[] got = CudaNorm.layerNormBackward(d(gy), d(x), d(gamma), 1e-5f, true);
            close(what + " dx", ref[0], got[0], 1);
            close(what + " dgamma", ref[1], got[1], rows);
            close(what + " dbeta", ref[2], got[2], rows);

            ref = CPU.layerNormBackward(gy, x, null, 1e-5f, true);
            got = CudaNorm.layerNormBackward(d(gy), d(x), null, 1e-5f, true);
            close(what + " no gamma dx", ref[0], got[0], 1);
            assertNull(got[1], what + ": dgamma without gamma");
            close(what + " no gamma dbeta", ref[2], got[2], rows);

            got = CudaNorm.layerNormBackward(d(gy), d(x), d(gamma), 1e-5f, false);
            close(what + " dx only", CPU.layerNormBackward(gy, x, gamma, 1e-5f, false)[0], got[0], 1);
            assertNull(got[1]);
            assertNull(got[2]);
        }
    }

    /**
     * A group or row of one element: x̂ = 0 and dx = rstd·(dx̂ − mean(dx̂)) = 0 exactly. Compared with 0 rather than
     * with the CPU op, whose folded float coefficients leave a residue of rstd·|γ·gy|·2⁻²⁴ (rstd = 1/√eps ≈ 316
     * here, so up to a few 1e-5); the parameter gradients are compared with the CPU as usual.
     */
    @Test
    void singleElementUnitsHaveZeroInputGradient() {
        Random r = new Random(9);
        Tensor x = OpTestSupport.randn(r, 2, 3, 1, 1), gy = OpTestSupport.randn(r, 2, 3, 1, 1), gamma = OpTestSupport.randn(r, 3);
        Tensor[] ref = CPU.groupNormBackward(gy, x, 3, gamma, 1e-5f, true);
        Tensor[] got = CudaNorm.groupNormBackward(d(gy), d(x), 3, d(gamma), 1e-5f, true);
        OpTestSupport.assertClose("groupNormBackward one-element groups dx", new double[6], new int[]{2, 3, 1, 1}, got[0].toCpu(), TOL, TOL);
        close("groupNormBackward one-element groups dgamma", ref[1], got[1], 2);
        close("groupNormBackward one-element groups dbeta", ref[2], got[2], 2);

        Tensor lx = OpTestSupport.randn(r, 70, 1), lgy = OpTestSupport.randn(r, 70, 1), lgamma = OpTestSupport.randn(r, 1);
        ref = CPU.layerNormBackward(lgy, lx, lgamma, 1e-5f, true);
        got = CudaNorm.layerNormBackward(d(lgy), d(lx), d(lgamma), 1e-5f, true);
        OpTestSupport.assertClose("layerNormBackward D=1 dx", new double[70], new int[]{70, 1}, got[0].toCpu(), TOL, TOL);
        close("layerNormBackward D=1 dgamma", ref[1], got[1], 70);
        close("layerNormBackward D=1 dbeta", ref[2], got[2], 70);
    }

    // ---------------------------------------------------------------- softmax

    private static final int[][] SOFTMAX_SHAPES = {{4, 7, 33}, {3, 2000}, {5}, {6, 1}, {2, 3, 1025}};

    @Test
    void softmaxMatchesCpuForWarpAndBlockRows() {
        Random r = new Random(7);
        for (int[] shape : SOFTMAX_SHAPES) {
            Tensor x = OpTestSupport.uniform(r, -30f, 30f, shape);
            close("softmax " + java.util.Arrays.toString(shape), CPU.softmax(x), CudaNorm.softmax(d(x)), 1);
        }
        Tensor s = Tensor.scalar(3f);
        close("softmax of a scalar", CPU.softmax(s), CudaNorm.softmax(d(s)), 1);
    }

    @Test
    void softmaxRowOfAllMinusInfinityIsNaNAndMaskedEntriesAreZero() {
        float ninf = Float.NEGATIVE_INFINITY;
        for (int n : new int[]{7, 1100}) {
            float[] v = new float[3 * n];
            for (int i = 0; i < n; i++) {
                v[i] = ninf;                                   // row 0: all masked
                v[n + i] = i % 3 == 0 ? ninf : 1000f + i % 5;  // row 1: large values, some masked
                v[2 * n + i] = (float) Math.sin(i);
            }
            Tensor x = Tensor.of(v, 3, n);
            float[] got = CudaNorm.softmax(d(x)).toCpu().data();
            float[] ref = CPU.softmax(x).data();
            for (int i = 0; i < n; i++) assertTrue(Float.isNaN(got[i]), "all -inf row: element " + i + " = " + got[i]);
            for (int i = 0; i < n; i += 3) assertEquals(0f, got[n + i], "masked element " + i);
            OpTestSupport.assertClose("softmax rows 1-2 (n=" + n + ")", f64(ref, n), f64(got, n), TOL, TOL);
        }
    }

    private static double[] f64(float[] a, int from) {
        double[] r = new double[a.length - from];
        for (int i = from; i < a.length; i++) r[i - from] = a[i];
        return r;
    }

    @Test
    void softmaxBackwardMatchesCpu() {
        Random r = new Random(8);
        for (int[] shape : SOFTMAX_SHAPES) {
            Tensor y = CPU.softmax(OpTestSupport.uniform(r, -3f, 3f, shape)), gy = OpTestSupport.randn(r, shape);
            close("softmaxBackward " + java.util.Arrays.toString(shape), CPU.softmaxBackward(gy, y), CudaNorm.softmaxBackward(d(gy), d(y)), 1);
        }
    }

    // ---------------------------------------------------------------- F16 / BF16 storage

    private static Tensor h(Tensor t, DType dt) { return onDevice(t, dt, dev); }

    @Test
    void groupNormInHalfTypesMatchesCpuForBothTeamSizes() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(11);
            for (int[] c : GROUP_CASES) {
                int[] shape = shapeOf(c);
                int groups = c[c.length - 1], ch = shape[1];
                Tensor x = OpTestSupport.uniform(r, -2f, 3f, shape), gamma = OpTestSupport.randn(r, ch), beta = OpTestSupport.randn(r, ch);
                Tensor rx = rounded(x, dt), rg = rounded(gamma, dt), rb = rounded(beta, dt);
                String what = "groupNorm " + java.util.Arrays.toString(shape) + " groups=" + groups;
                assertMatchesHalf(what, CPU.groupNorm(rx, groups, rg, rb, 1e-5f), CudaNorm.groupNorm(h(x, dt), groups, h(gamma, dt), h(beta, dt), 1e-5f), dt);
                assertMatchesHalf(what + " no affine", CPU.groupNorm(rx, groups, null, null, 1e-5f),
                        CudaNorm.groupNorm(h(x, dt), groups, null, null, 1e-5f), dt);
            }
        }
    }

    @Test
    void groupNormBackwardInHalfTypesMatchesCpuIncludingParameterGradients() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(13);
            for (int[] c : GROUP_CASES) {
                int[] shape = shapeOf(c);
                int groups = c[c.length - 1], ch = shape[1], spatial = (int) (Tensor.numel(shape) / shape[0] / ch);
                if (ch / groups * spatial == 1) continue;   // one-element groups: dx is 0 exactly, not the CPU's residue
                Tensor x = OpTestSupport.uniform(r, -2f, 3f, shape), gy = OpTestSupport.randn(r, shape), gamma = OpTestSupport.randn(r, ch);
                Tensor rx = rounded(x, dt), rgy = rounded(gy, dt), rg = rounded(gamma, dt);
                String what = "groupNormBackward " + java.util.Arrays.toString(shape) + " groups=" + groups;
                Tensor[] ref = CPU.groupNormBackward(rgy, rx, groups, rg, 1e-5f, true);
                Tensor[] got = CudaNorm.groupNormBackward(h(gy, dt), h(x, dt), groups, h(gamma, dt), 1e-5f, true);
                assertMatchesHalf(what + " dx", ref[0], got[0], dt);
                assertMatchesHalf(what + " dgamma", ref[1], got[1], dt);
                assertMatchesHalf(what + " dbeta", ref[2], got[2], dt);

                ref = CPU.groupNormBackward(rgy, rx, groups, null, 1e-5f, true);
                got = CudaNorm.groupNormBackward(h(gy, dt), h(x, dt), groups, null, 1e-5f, true);
                assertMatchesHalf(what + " no gamma dx", ref[0], got[0], dt);
                assertNull(got[1], what + ": dgamma without gamma");
                assertMatchesHalf(what + " no gamma dbeta", ref[2], got[2], dt);
            }
        }
    }

    @Test
    void layerNormAndItsBackwardInHalfTypesMatchCpuForWarpAndBlockRows() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(15);
            for (int[] shape : LAYER_SHAPES) {
                int dim = shape[shape.length - 1];
                Tensor x = OpTestSupport.uniform(r, -2f, 3f, shape), gy = OpTestSupport.randn(r, shape);
                Tensor gamma = OpTestSupport.randn(r, dim), beta = OpTestSupport.randn(r, dim);
                Tensor rx = rounded(x, dt), rgy = rounded(gy, dt), rg = rounded(gamma, dt), rb = rounded(beta, dt);
                String what = "layerNorm " + java.util.Arrays.toString(shape);
                assertMatchesHalf(what, CPU.layerNorm(rx, rg, rb, 1e-5f), CudaNorm.layerNorm(h(x, dt), h(gamma, dt), h(beta, dt), 1e-5f), dt);
                assertMatchesHalf(what + " beta only", CPU.layerNorm(rx, null, rb, 1e-5f), CudaNorm.layerNorm(h(x, dt), null, h(beta, dt), 1e-5f), dt);
                if (dim == 1) continue;   // dx is 0 exactly, not the CPU's residue (singleElementUnitsHaveZeroInputGradient)
                Tensor[] ref = CPU.layerNormBackward(rgy, rx, rg, 1e-5f, true);
                Tensor[] got = CudaNorm.layerNormBackward(h(gy, dt), h(x, dt), h(gamma, dt), 1e-5f, true);
                assertMatchesHalf(what + " backward dx", ref[0], got[0], dt);
                assertMatchesHalf(what + " backward dgamma", ref[1], got[1], dt);
                assertMatchesHalf(what + " backward dbeta", ref[2], got[2], dt);
                ref = CPU.layerNormBackward(rgy, rx, null, 1e-5f, true);
                got = CudaNorm.layerNormBackward(h(gy, dt), h(x, dt), null, 1e-5f, true);
                assertMatchesHalf(what + " backward no gamma dx", ref[0], got[0], dt);
                assertNull(got[1], what + ": dgamma without gamma");
                assertMatchesHalf(what + " backward no gamma dbeta", ref[2], got[2], dt);
            }
        }
    }

    @Test
    void softmaxAndItsBackwardInHalfTypesMatchCpuForWarpAndBlockRows() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(17);
            for (int[] shape : SOFTMAX_SHAPES) {
                Tensor x = OpTestSupport.uniform(r, -30f, 30f, shape);
                String what = "softmax " + java.util.Arrays.toString(shape);
                assertMatchesHalf(what, CPU.softmax(rounded(x, dt)), CudaNorm.softmax(h(x, dt)), dt);
                Tensor y = CPU.softmax(OpTestSupport.uniform(r, -3f, 3f, shape)), gy = OpTestSupport.randn(r, shape);
                assertMatchesHalf(what + " backward", CPU.softmaxBackward(rounded(gy, dt), rounded(y, dt)),
                        CudaNorm.softmaxBackward(h(gy, dt), h(y, dt)), dt);
            }
        }
    }

    @Test
    void halfTypeEmptyTensorsGiveZeroParameterGradientsInTheirType() {
        for (DType dt : HALF_TYPES) {
            Tensor x = h(Tensor.zeros(2, 4, 0), dt);
            Tensor[] g = CudaNorm.groupNormBackward(x, x, 2, h(Tensor.full(1f, 4), dt), 1e-5f, true);
            assertEquals(dt, g[1].dtype());
            assertArrayEquals(new float[4], g[1].toCpu().to(DType.F32).data());
            assertArrayEquals(new float[4], g[2].toCpu().to(DType.F32).data());
        }
    }

    @Test
    void mixedStorageTypesAreRejectedWithTheDtypeMessage() {
        Tensor x = h(Tensor.zeros(2, 6, 3), DType.F16);
        Tensor gammaBf = h(Tensor.zeros(6), DType.BF16), gamma32 = d(Tensor.zeros(3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.groupNorm(x, 2, gammaBf, null, 1e-5f));
        assertTrue(e.getMessage().contains("groupNorm: gamma is BF16 but the first input is F16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.layerNorm(x, null, gamma32, 1e-5f));
        assertTrue(e.getMessage().contains("layerNorm: beta is F32 but the first input is F16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.groupNormBackward(h(Tensor.zeros(2, 6, 3), DType.BF16), x, 2, null, 1e-5f, true));
        assertTrue(e.getMessage().contains("groupNormBackward: gy is BF16 but the first input is F16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.layerNormBackward(d(Tensor.zeros(2, 6, 3)), x, null, 1e-5f, true));
        assertTrue(e.getMessage().contains("layerNormBackward: gy is F32 but the first input is F16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.softmaxBackward(x, h(Tensor.zeros(2, 6, 3), DType.BF16)));
        assertTrue(e.getMessage().contains("softmaxBackward: gy is F16 but the first input is BF16"), e.getMessage());
    }

    // ---------------------------------------------------------------- argument checks

    @Test
    void badArgumentsAreRejectedWithTheOpAndTheShapes() {
        Tensor x = d(Tensor.zeros(2, 6, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.groupNorm(x, 4, null, null, 1e-5f));
        assertTrue(e.getMessage().contains("groupNorm") && e.getMessage().contains("groups=4") && e.getMessage().contains("C=6"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.groupNorm(x, 2, d(Tensor.zeros(5)), null, 1e-5f));
        assertTrue(e.getMessage().contains("gamma has shape [5], expected [C=6]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.groupNorm(Tensor.zeros(2, 6, 3), 2, null, null, 1e-5f));
        assertTrue(e.getMessage().contains("groupNorm: x is on the CPU, expected an F32, F16 or BF16 tensor"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.groupNormBackward(d(Tensor.zeros(2, 6)), x, 2, null, 1e-5f, true));
        assertTrue(e.getMessage().contains("groupNormBackward: gy has shape [2, 6], expected [2, 6, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.layerNorm(x, null, d(Tensor.zeros(6)), 1e-5f));
        assertTrue(e.getMessage().contains("layerNorm: beta has shape [6], expected [D=3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.layerNormBackward(x, x, Tensor.zeros(3), 1e-5f, true));
        assertTrue(e.getMessage().contains("layerNormBackward: gamma is on the CPU, expected an F32, F16 or BF16 tensor"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaNorm.softmaxBackward(d(Tensor.zeros(2, 3, 3)), x));
        assertTrue(e.getMessage().contains("softmaxBackward: gy has shape [2, 3, 3]"), e.getMessage());
    }

    @Test
    void everyNormKernelIsOnTheDevice() {
        for (String suffix : new String[]{"f32", "f16", "bf16"})
            for (String name : new String[]{"groupnorm_fwd", "groupnorm_bwd", "layernorm_fwd", "layernorm_bwd",
                    "layernorm_param_bwd", "softmax_fwd", "softmax_bwd", "norm_param_sum_bwd"}) {
                String k = name + "_" + suffix;
                assertTrue(dev.kernels().contains(k), k + " missing from " + dev.name());
            }
    }

    @Test
    void emptyTensorsGiveEmptyOutputsAndZeroParameterGradients() {
        Tensor x = d(Tensor.zeros(2, 4, 0));
        assertArrayEquals(new int[]{2, 4, 0}, CudaNorm.groupNorm(x, 2, null, null, 1e-5f).shape());
        Tensor[] g = CudaNorm.groupNormBackward(x, x, 2, d(Tensor.full(1f, 4)), 1e-5f, true);
        assertArrayEquals(new float[4], g[1].toCpu().data());
        assertArrayEquals(new float[4], g[2].toCpu().data());
        Tensor rows0 = d(Tensor.zeros(0, 5));
        Tensor[] l = CudaNorm.layerNormBackward(rows0, rows0, d(Tensor.full(1f, 5)), 1e-5f, true);
        assertArrayEquals(new float[5], l[1].toCpu().data());
        assertArrayEquals(new int[]{0, 5}, CudaNorm.softmax(rows0).shape());
    }
}
