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

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.U;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.abs;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.HALF_TYPES;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.assertMatchesHalf;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.assertMatchesSummed;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.onDevice;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.rounded;

/**
 * CudaMatmul (kernels/matmul.cu) on {@link Devices#best()} against the CPU op set: matmul with every transpose
 * combination on odd sizes that straddle the 64×64×16 tiles, batch broadcasting of every kind, empty and K = 0
 * products, linear and its backward, the raw SGEMM's leading dimensions and alpha/beta, and shape errors; the same in
 * F16 and BF16 through the tensor-core GEMM (ragged sizes against its 64×64×32 tiles, M or N of 1, and its F32-result
 * variant accumulating with beta = 1). Outputs are NaN-poisoned before the kernels run, so an element a kernel skips
 * fails the comparison.
 *
 * <p>Tolerance: the GPU and the CPU sum the K products in different orders, each within γ_K·Σ|a·b| of the exact
 * value (γ_K ≈ K·2⁻²⁴, the standard bound for a length-K dot product with or without FMA). So element i passes when
 * |gpu − cpu| ≤ 1e-5 + 1e-5·|cpu| + 2·K·2⁻²⁴·Σ_k|a_k·b_k|, the last sum computed by the CPU op on |a| and |b|.
 */
class CudaMatmulTest {
    static KernelDevice dev;
    static final CpuOps CPU = CpuOps.INSTANCE;

    @BeforeAll static void open() { dev = CudaOpTestSupport.open("CudaMatmulTest"); }

    @AfterAll static void close() { CudaOpTestSupport.close(dev); }



    // ---------------------------------------------------------------------------------------------- matmul

    @Test
    void matmulMatchesCpuForEveryTransposeOnOddSizes() {
        Random r = new Random(1);
        int[][] mnk = {{1, 1, 1}, {17, 33, 65}, {67, 45, 39}, {33, 70, 130}};
        for (int[] s : mnk)
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int m = s[0], n = s[1], k = s[2];
                Tensor a = OpTestSupport.randn(r, ta ? new int[]{k, m} : new int[]{m, k});
                Tensor b = OpTestSupport.randn(r, tb ? new int[]{n, k} : new int[]{k, n});
                checkMatmul("matmul " + m + "x" + n + "x" + k + " transA=" + ta + " transB=" + tb, a, b, ta, tb);
            }
    }

    @Test
    void batchedMatmulBroadcastsBatchDimensionsLikeCpu() {
        Random r = new Random(2);
        int[][][] cases = {
                {{3, 5, 7}, {3, 7, 4}},           // one matrix per batch on both sides
                {{2, 3, 5, 7}, {7, 4}},           // shared b: folds into one tall GEMM
                {{5, 7}, {4, 7, 6}},              // shared a: stride 0
                {{2, 1, 5, 7}, {1, 3, 7, 4}},     // each side broadcast along a different dimension
                {{3, 1, 5, 7}, {4, 7, 6}},        // a's batch [3, 1] against b's [4]
                {{1, 2, 5, 7}, {2, 7, 3}},        // a leading size-1 dimension
                {{2, 1, 3, 5, 7}, {2, 4, 1, 7, 3}} // three batch dimensions, broadcast both ways
        };
        for (int[][] c : cases)
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                Tensor a = OpTestSupport.randn(r, swapLast(c[0], ta)), b = OpTestSupport.randn(r, swapLast(c[1], tb));
                checkMatmul("matmul " + Arrays.toString(a.shape()) + " x " + Arrays.toString(b.shape()) + " transA=" + ta
                        + " transB=" + tb, a, b, ta, tb);
            }
    }

    @Test
    void broadcastBatchesNeedOneLaunchPerOuterIndexNotPerMatrix() {
        Random r = new Random(3);
        Tensor a = OpTestSupport.randn(r, 2, 1, 5, 7), b = OpTestSupport.randn(r, 1, 3, 7, 4);  // → [2, 3, 5, 4]
        long before = dev.launchCount("sgemm_batched_f32");
        checkMatmul("matmul [2,1,5,7] x [1,3,7,4]", a, b, false, false);
        assertEquals(2, dev.launchCount("sgemm_batched_f32") - before, "the batch of 3 is the grid's z, the 2 a loop");
        before = dev.launchCount("sgemm_batched_f32");
        checkMatmul("matmul [4,5,7] x [4,7,3]", OpTestSupport.randn(r, 4, 5, 7), OpTestSupport.randn(r, 4, 7, 3), false, false);
        assertEquals(1, dev.launchCount("sgemm_batched_f32") - before);
    }

    @Test
    void emptyProductsAndZeroLengthKGiveCpuResults() {
        Random r = new Random(4);
        checkMatmul("K = 0", OpTestSupport.randn(r, 5, 0), OpTestSupport.randn(r, 0, 7), false, false);
        checkMatmul("K = 0 batched, transposed", OpTestSupport.randn(r, 2, 0, 5), OpTestSupport.randn(r, 7, 0), true, true);
        checkMatmul("M = 0", OpTestSupport.randn(r, 0, 4), OpTestSupport.randn(r, 4, 3), false, false);
        checkMatmul("N = 0", OpTestSupport.randn(r, 3, 4), OpTestSupport.randn(r, 4, 0), false, false);
        checkMatmul("batch 0", OpTestSupport.randn(r, 0, 2, 3), OpTestSupport.randn(r, 3, 4), false, false);
    }

    @Test
    void batchesBeyondTheGridLimitAreSplitOverLaunches() {
        Random r = new Random(5);
        int saved = CudaMatmul.maxGridYZ;
        CudaMatmul.maxGridYZ = 2;
        try {
            long before = dev.launchCount("sgemm_batched_f32");
            checkMatmul("batch 5 in launches of 2", OpTestSupport.randn(r, 5, 3, 4), OpTestSupport.randn(r, 5, 4, 2), false, false);
            assertEquals(3, dev.launchCount("sgemm_batched_f32") - before);
            checkMatmul("shared a, transposed, batch 5", OpTestSupport.randn(r, 4, 3), OpTestSupport.randn(r, 5, 2, 4), true, true);
            // The bias gradient's partial sums are capped at maxGridYZ chunks too.
            checkLinearBackward("linearBackward, 600 rows in 2 chunks", OpTestSupport.randn(r, 600, 5),
                    OpTestSupport.randn(r, 600, 3), OpTestSupport.randn(r, 5, 3), true, true, true);
        } finally {
            CudaMatmul.maxGridYZ = saved;
        }
    }

    @Test
    void sgemmHonoursLeadingDimensionsStridesAlphaAndBeta() {
        Random r = new Random(6);
        int m = 19, n = 23, k = 37, batch = 2;
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
            // Operands are sub-matrices of wider arrays (ld > the logical row length), one batch every stride elements.
            int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
            int rowsA = ta ? k : m, rowsB = tb ? n : k;
            long sA = (long) rowsA * lda + 7, sB = (long) rowsB * ldb + 1, sC = (long) m * ldc + 4;
            float[] a = OpTestSupport.randn(r, (int) (sA * batch)).data(), b = OpTestSupport.randn(r, (int) (sB * batch)).data();
            float[] c = OpTestSupport.randn(r, (int) (sC * batch)).data();
            float alpha = 0.75f, beta = -1.5f;
            Tensor da = Tensor.of(a, a.length).toDevice(dev), db = Tensor.of(b, b.length).toDevice(dev);
            Tensor dc = Tensor.of(c, c.length).toDevice(dev);
            CudaMatmul.sgemm(dev, da.devicePtr(), db.devicePtr(), dc.devicePtr(), batch, m, n, k, lda, ldb, ldc, sA, sB, sC, ta, tb, alpha, beta);
            float[] got = dc.toCpu().data();
            double[] want = new double[c.length], tol = new double[c.length];
            for (int i = 0; i < c.length; i++) { want[i] = c[i]; tol[i] = 0; }  // gaps between rows stay untouched
            for (int z = 0; z < batch; z++)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double s = 0, abs = 0;
                        for (int p = 0; p < k; p++) {
                            double av = a[(int) (z * sA + (ta ? (long) p * lda + i : (long) i * lda + p))];
                            double bv = b[(int) (z * sB + (tb ? (long) j * ldb + p : (long) p * ldb + j))];
                            s += av * bv;
                            abs += Math.abs(av * bv);
                        }
                        int ci = (int) (z * sC + (long) i * ldc + j);
                        want[ci] = alpha * s + beta * c[ci];
                        tol[ci] = 1e-5 + 1e-5 * Math.abs(want[ci]) + (k + 2) * U * (Math.abs(alpha) * abs + Math.abs(beta * c[ci]));
                    }
            assertWithin("sgemm transA=" + ta + " transB=" + tb, want, got, tol);
        }
    }

    // ---------------------------------------------------------------------------------------------- linear

    @Test
    void linearMatchesCpuWithAndWithoutBias() {
        Random r = new Random(7);
        Tensor w = OpTestSupport.randn(r, 19, 37), bias = OpTestSupport.randn(r, 19);
        checkLinear("linear [2,3,37] with bias", OpTestSupport.randn(r, 2, 3, 37), w, bias);
        checkLinear("linear [2,3,37] without bias", OpTestSupport.randn(r, 2, 3, 37), w, null);
        checkLinear("linear of a vector", OpTestSupport.randn(r, 37), w, bias);
        checkLinear("linear [70,65] → 66", OpTestSupport.randn(r, 70, 65), OpTestSupport.randn(r, 66, 65), OpTestSupport.randn(r, 66));
        checkLinear("linear with in = 0 is the bias", OpTestSupport.randn(r, 4, 0), OpTestSupport.randn(r, 3, 0), OpTestSupport.randn(r, 3));
        checkLinear("linear with in = 0 and no bias is zero", OpTestSupport.randn(r, 4, 0), OpTestSupport.randn(r, 3, 0), null);
        checkLinear("linear of no rows", OpTestSupport.randn(r, 0, 37), w, bias);
    }

    @Test
    void linearBackwardMatchesCpuForEveryGradient() {
        Random r = new Random(8);
        Tensor gy = OpTestSupport.randn(r, 2, 3, 19), x = OpTestSupport.randn(r, 2, 3, 37), w = OpTestSupport.randn(r, 19, 37);
        checkLinearBackward("linearBackward all", gy, x, w, true, true, true);
        checkLinearBackward("linearBackward dx only", gy, x, w, true, false, false);
        checkLinearBackward("linearBackward dw and db", gy, x, w, false, true, true);
        // Enough rows for two passes of the column sums, and a K of 300 for dw.
        checkLinearBackward("linearBackward 300 rows", OpTestSupport.randn(r, 300, 67), OpTestSupport.randn(r, 300, 45),
                OpTestSupport.randn(r, 67, 45), true, true, true);
        checkLinearBackward("linearBackward of no rows", OpTestSupport.randn(r, 0, 5), OpTestSupport.randn(r, 0, 3),
                OpTestSupport.randn(r, 5, 3), true, true, true);
        Tensor[] g = CudaMatmul.linearBackward(gy.toDevice(dev), null, w.toDevice(dev), true, false, true);
        assertNull(g[1]);
        Tensor[] want = CPU.linearBackward(gy, null, w, true, false, true);
        Tensor[] abs = CPU.linearBackward(abs(gy), null, abs(w), true, false, true);
        assertMatchesSummed("linearBackward without x: dx", want[0], abs[0], 19, g[0]);
        assertMatchesSummed("linearBackward without x: db", want[2], abs[2], 6, g[2]);
    }

    // ---------------------------------------------------------------------------------------------- F16 / BF16
    // The tensor-core GEMM (gemm_tc_* of kernels/matmul.cu): the CPU op on the inputs rounded to the dtype is the
    // reference, since the kernels see exactly those values; products are exact and summed in F32, so what remains
    // is the rounding of the stored result (assertMatchesHalf).

    @Test
    void halfMatmulMatchesCpuForEveryTransposeOnRaggedSizes() {
        Random r = new Random(21);
        // Ragged against the 64×64 tile and the K step of 32 (and the MMA's 16): K = 53, 40 and 100 are not
        // multiples of 32, K = 17 is one past 16; M = 1 and N = 1 leave a single row / column of MMA output.
        int[][] mnk = {{37, 29, 53}, {1, 33, 40}, {45, 1, 17}, {70, 66, 100}};
        for (DType dt : HALF_TYPES) {
            long before = dev.launchCount("gemm_tc_" + CudaOpSupport.suffix(dt));
            for (int[] s : mnk)
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    int m = s[0], n = s[1], k = s[2];
                    Tensor a = OpTestSupport.randn(r, ta ? new int[]{k, m} : new int[]{m, k});
                    Tensor b = OpTestSupport.randn(r, tb ? new int[]{n, k} : new int[]{k, n});
                    checkHalfMatmul("matmul " + m + "x" + n + "x" + k + " transA=" + ta + " transB=" + tb, a, b, ta, tb, dt);
                }
            assertEquals(16, dev.launchCount("gemm_tc_" + CudaOpSupport.suffix(dt)) - before, "one tensor-core GEMM per product");
        }
    }

    @Test
    void halfBatchedMatmulBroadcastsLikeCpu() {
        Random r = new Random(22);
        int[][][] cases = {
                {{3, 5, 7}, {3, 7, 4}},            // one matrix per batch on both sides
                {{2, 3, 19, 21}, {21, 9}},         // shared b: one tall GEMM
                {{5, 7}, {4, 7, 6}},               // shared a: stride 0
                {{2, 1, 5, 33}, {1, 3, 33, 4}}     // each side broadcast along a different dimension
        };
        for (DType dt : HALF_TYPES)
            for (int[][] c : cases)
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    Tensor a = OpTestSupport.randn(r, swapLast(c[0], ta)), b = OpTestSupport.randn(r, swapLast(c[1], tb));
                    checkHalfMatmul("matmul " + Arrays.toString(a.shape()) + " x " + Arrays.toString(b.shape()) + " transA="
                            + ta + " transB=" + tb, a, b, ta, tb, dt);
                }
    }

    @Test
    void halfLinearWithAndWithoutBias() {
        Random r = new Random(23);
        for (DType dt : HALF_TYPES) {
            Tensor w = OpTestSupport.randn(r, 19, 37), bias = OpTestSupport.randn(r, 19);
            checkHalfLinear("linear [2,3,37] with bias", OpTestSupport.randn(r, 2, 3, 37), w, bias, dt);
            checkHalfLinear("linear [2,3,37] without bias", OpTestSupport.randn(r, 2, 3, 37), w, null, dt);
            checkHalfLinear("linear of a vector", OpTestSupport.randn(r, 37), w, bias, dt);
            checkHalfLinear("linear [70,65] → 66", OpTestSupport.randn(r, 70, 65), OpTestSupport.randn(r, 66, 65),
                    OpTestSupport.randn(r, 66), dt);
        }
    }

    @Test
    void halfLinearBackwardGivesEveryGradient() {
        Random r = new Random(24);
        for (DType dt : HALF_TYPES) {
            checkHalfLinearBackward("linearBackward [2,3,19] ← [2,3,37]", OpTestSupport.randn(r, 2, 3, 19),
                    OpTestSupport.randn(r, 2, 3, 37), OpTestSupport.randn(r, 19, 37), dt);
            // 300 rows: dw's K of 300 (ragged against 32) and two passes of the bias column sums.
            checkHalfLinearBackward("linearBackward 300 rows", OpTestSupport.randn(r, 300, 67), OpTestSupport.randn(r, 300, 45),
                    OpTestSupport.randn(r, 67, 45), dt);
        }
    }

    @Test
    void halfGemmHonoursLeadingDimensionsStridesAlphaBetaAndF32Accumulators() {
        Random r = new Random(25);
        int m = 19, n = 23, k = 37, batch = 2;
        for (DType dt : HALF_TYPES)
            for (DType cType : new DType[]{DType.F32, dt})
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
                    int rowsA = ta ? k : m, rowsB = tb ? n : k;
                    long sA = (long) rowsA * lda + 7, sB = (long) rowsB * ldb + 1, sC = (long) m * ldc + 4;
                    // Operands as the kernel sees them (rounded to dt); C too when it is stored in dt.
                    float[] a = rounded(OpTestSupport.randn(r, (int) (sA * batch)), dt).data();
                    float[] b = rounded(OpTestSupport.randn(r, (int) (sB * batch)), dt).data();
                    Tensor c0 = OpTestSupport.randn(r, (int) (sC * batch));
                    float[] c = (cType == DType.F32 ? c0 : rounded(c0, dt)).data();
                    Tensor da = onDevice(Tensor.of(a, a.length), dt, dev), db = onDevice(Tensor.of(b, b.length), dt, dev);
                    Tensor dc = onDevice(Tensor.of(c, c.length), cType, dev);
                    float alpha = 0.75f, beta = cType == DType.F32 ? 1f : -1.5f;  // F32: accumulate onto C, as a split K does
                    CudaMatmul.gemm(dev, dt, cType, da.devicePtr(), db.devicePtr(), dc.devicePtr(), batch, m, n, k, lda, ldb, ldc,
                            sA, sB, sC, ta, tb, alpha, beta);
                    float[] got = dc.toCpu().to(DType.F32).data();
                    // A stored 16-bit result is rounded once more: half an ulp, 2^-11 (F16) or 2^-8 (BF16) relative.
                    double store = cType == DType.F32 ? 0 : dt == DType.F16 ? 0x1p-11 : 0x1p-8;
                    double[] want = new double[c.length], tol = new double[c.length];
                    for (int i = 0; i < c.length; i++) want[i] = c[i];  // gaps between rows stay untouched (tol 0)
                    for (int z = 0; z < batch; z++)
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < n; j++) {
                                double s = 0, abs = 0;
                                for (int p = 0; p < k; p++) {
                                    double av = a[(int) (z * sA + (ta ? (long) p * lda + i : (long) i * lda + p))];
                                    double bv = b[(int) (z * sB + (tb ? (long) j * ldb + p : (long) p * ldb + j))];
                                    s += av * bv;
                                    abs += Math.abs(av * bv);
                                }
                                int ci = (int) (z * sC + (long) i * ldc + j);
                                want[ci] = alpha * s + beta * c[ci];
                                tol[ci] = 1e-5 + (1e-5 + store) * Math.abs(want[ci])
                                        + (k + 2) * U * (Math.abs(alpha) * abs + Math.abs(beta * c[ci]));
                            }
                    assertWithin("gemm " + dt + " → " + cType + " transA=" + ta + " transB=" + tb, want, got, tol);
                }
    }

    // ---------------------------------------------------------------------------------------------- errors

    @Test
    void badShapesAndMisplacedTensorsAreRejectedWithClearMessages() {
        Tensor a = Tensor.zeros(3, 4).toDevice(dev), b = Tensor.zeros(5, 2).toDevice(dev);
        assertMessage(() -> CudaMatmul.matmul(a, b, false, false), "matmul: a has shape [3, 4]", "K = 4");
        assertMessage(() -> CudaMatmul.matmul(Tensor.zeros(2, 3, 4).toDevice(dev), Tensor.zeros(3, 4, 5).toDevice(dev), false, false),
                "do not broadcast", "2 vs 3");
        assertMessage(() -> CudaMatmul.matmul(Tensor.zeros(4).toDevice(dev), b, false, false), "at least 2 dimensions");
        assertMessage(() -> CudaMatmul.matmul(a, Tensor.zeros(4, 2), false, false), "matmul: b is on the CPU", "tensor on a kernel device");
        assertMessage(() -> CudaMatmul.matmul(a, b.toCpu().to(DType.F16).toDevice(dev), false, false),
                "matmul: b is F16 but the first input is F32");
        assertMessage(() -> CudaMatmul.linear(Tensor.zeros(2, 5).toDevice(dev), Tensor.zeros(3, 4).toDevice(dev), null),
                "linear: x has shape [2, 5]", "in=4");
        assertMessage(() -> CudaMatmul.linear(Tensor.zeros(2, 4).toDevice(dev), Tensor.zeros(3, 4, 1).toDevice(dev), null),
                "linear: w has shape [3, 4, 1]", "[out, in]");
        assertMessage(() -> CudaMatmul.linear(Tensor.zeros(2, 4).toDevice(dev), Tensor.zeros(3, 4).toDevice(dev), Tensor.zeros(4).toDevice(dev)),
                "linear: bias has shape [4]", "out=3");
        assertMessage(() -> CudaMatmul.linearBackward(Tensor.zeros(2, 3).toDevice(dev), null, Tensor.zeros(3, 4).toDevice(dev), false, true, false),
                "x is null", "gradient of w");
        assertMessage(() -> CudaMatmul.linearBackward(Tensor.zeros(2, 3).toDevice(dev), Tensor.zeros(2, 5).toDevice(dev),
                Tensor.zeros(3, 4).toDevice(dev), true, true, false), "linearBackward: x has shape [2, 5]", "[2, 4]");
        assertMessage(() -> CudaMatmul.sgemm(dev, 0, 0, 0, 1, 4, 4, 4, 3, 4, 4, 0, 0, 0, false, false, 1f, 0f), "lda=3");
    }

    // ---------------------------------------------------------------------------------------------- helpers

    private static void checkMatmul(String what, Tensor a, Tensor b, boolean ta, boolean tb) {
        Tensor want = CPU.matmul(a, b, ta, tb), abs = CPU.matmul(abs(a), abs(b), ta, tb);
        int k = ta ? a.dim(a.rank() - 2) : a.dim(a.rank() - 1);
        assertMatchesSummed(what, want, abs, k, CudaMatmul.matmul(a.toDevice(dev), b.toDevice(dev), ta, tb));
    }

    private static void checkHalfMatmul(String what, Tensor a, Tensor b, boolean ta, boolean tb, DType dt) {
        Tensor want = CPU.matmul(rounded(a, dt), rounded(b, dt), ta, tb);
        assertMatchesHalf(what, want, CudaMatmul.matmul(onDevice(a, dt, dev), onDevice(b, dt, dev), ta, tb), dt);
    }

    private static void checkHalfLinear(String what, Tensor x, Tensor w, Tensor bias, DType dt) {
        Tensor want = CPU.linear(rounded(x, dt), rounded(w, dt), rounded(bias, dt));
        assertMatchesHalf(what, want, CudaMatmul.linear(onDevice(x, dt, dev), onDevice(w, dt, dev), onDevice(bias, dt, dev)), dt);
    }

    private static void checkHalfLinearBackward(String what, Tensor gy, Tensor x, Tensor w, DType dt) {
        Tensor[] want = CPU.linearBackward(rounded(gy, dt), rounded(x, dt), rounded(w, dt), true, true, true);
        Tensor[] got = CudaMatmul.linearBackward(onDevice(gy, dt, dev), onDevice(x, dt, dev), onDevice(w, dt, dev), true, true, true);
        String[] names = {"dx", "dw", "db"};
        for (int i = 0; i < 3; i++) assertMatchesHalf(what + ": " + names[i], want[i], got[i], dt);
    }

    private static void checkLinear(String what, Tensor x, Tensor w, Tensor bias) {
        Tensor want = CPU.linear(x, w, bias), abs = CPU.linear(abs(x), abs(w), bias == null ? null : abs(bias));
        Tensor got = CudaMatmul.linear(x.toDevice(dev), w.toDevice(dev), bias == null ? null : bias.toDevice(dev));
        assertMatchesSummed(what, want, abs, w.dim(1) + 1, got);
    }

    private static void checkLinearBackward(String what, Tensor gy, Tensor x, Tensor w, boolean nx, boolean nw, boolean nb) {
        Tensor[] want = CPU.linearBackward(gy, x, w, nx, nw, nb), abs = CPU.linearBackward(abs(gy), abs(x), abs(w), nx, nw, nb);
        Tensor[] got = CudaMatmul.linearBackward(gy.toDevice(dev), x.toDevice(dev), w.toDevice(dev), nx, nw, nb);
        int rows = gy.numel() / Math.max(1, w.dim(0));
        int[] lengths = {w.dim(0), rows, rows};                 // reduction lengths of dx, dw, db
        String[] names = {"dx", "dw", "db"};
        for (int i = 0; i < 3; i++) {
            if (want[i] == null) { assertNull(got[i], what + ": " + names[i] + " was not asked for"); continue; }
            assertMatchesSummed(what + ": " + names[i], want[i], abs[i], lengths[i], got[i]);
        }
    }


    private static void assertWithin(String what, double[] want, float[] got, double[] tol) {
        int bad = 0, worst = -1;
        double worstRatio = 0;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(got[i] - want[i]);
            double ratio = Float.isNaN(got[i]) ? Double.POSITIVE_INFINITY : tol[i] == 0 ? (err == 0 ? 0 : Double.POSITIVE_INFINITY) : err / tol[i];
            if (ratio > 1) {
                if (bad < 5) first.append(String.format("%n  [%d] got %.9g expected %.9g (tol %.3g)", i, got[i], want[i], tol[i]));
                bad++;
            }
            if (ratio > worstRatio || worst < 0) { worstRatio = ratio; worst = i; }
        }
        if (bad > 0) fail(String.format("%s: %d of %d elements differ; worst [%d]%s", what, bad, want.length, worst, first));
    }


    private static int[] swapLast(int[] shape, boolean swap) {
        int[] s = shape.clone();
        if (swap) { int n = s.length; int t = s[n - 1]; s[n - 1] = s[n - 2]; s[n - 2] = t; }
        return s;
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' lacks '" + p + "'");
    }
}
