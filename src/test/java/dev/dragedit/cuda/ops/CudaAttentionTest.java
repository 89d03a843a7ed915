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
import static dev.dragedit.cuda.ops.CudaOpTestSupport.assertMatchesHalf;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.onDevice;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.rounded;

/**
 * The attention kernels (kernels/attention.cu through {@link CudaAttention}) against the CPU op set on
 * {@link Devices#best()} — the emulation where there is no GPU — on random odd-sized inputs: head dims 13, 40, 80
 * and 160 (the largest the kernels take, with the fewest warps per block), D ≠ Dv, Lq ≠ Lk both ways, causal and not
 * (top-left aligned causal mask, also where Lq > Lk and where Lk > Lq leaves keys no query sees), B·H > 1, and
 * sequences longer than one query tile and one key tile. Outputs and workspaces are poisoned with NaN before every
 * launch, so an element a kernel does not write fails the comparison.
 * <p>
 * Tolerance: |gpu − cpu| ≤ atol + rtol·|cpu| with rtol = 1e-5 and atol = 1e-5·max(1, √L / 16), L the longest
 * reduction (Lq, Lk, D, Dv): both sides sum in float32, in different orders (online softmax with rescaling versus
 * a normalised softmax and a GEMM), and the rounding error of a length-L sum grows like √L·2⁻²⁴ of the summed
 * magnitude — the plain 1e-5 bound up to L = 256. The sizes stay small because the emulation runs every CUDA
 * thread as a fiber.
 * <p>
 * The F16/BF16 entry points (head dims 40 and 8, Lq ≠ Lk both ways, D ≠ Dv, both masks) are compared with the CPU op
 * on the inputs rounded to the storage type, within {@link CudaOpTestSupport#assertMatchesHalf}'s
 * 1e-2·(|want| + rms(want)): the kernels compute in F32 and round each result once. Mixed-dtype arguments are
 * rejected.
 * <p>
 * Head dims above {@link CudaAttention#MAX_HEAD_DIM} (D = 200, Dv = 513 and 161, odd lengths, B·H > 1, both masks)
 * go through the composed path (GEMMs + softmax), in F32 with the reduction-length tolerance above and in F16/BF16
 * with assertMatchesHalf, once with the default workspace budget (all heads in one step) and once with budgets
 * small enough to cut the work into query blocks of one head and into chunks of two heads.
 */
class CudaAttentionTest {
    private static final double TOL = 1e-5;
    private static final CpuOps CPU = CpuOps.INSTANCE;
    private static KernelDevice dev;

    @BeforeAll static void open() { dev = CudaOpTestSupport.open("CudaAttentionTest"); }

    @AfterAll static void close() { CudaOpTestSupport.close(dev); }

    private static Tensor d(Tensor t) { return t.toDevice(dev); }

    private static void close(String what, Tensor cpu, Tensor gpu, int reductionLength) {
        CudaOpTestSupport.assertMatchesReduced(what, cpu, gpu, reductionLength);
    }

    /** {B, H, Lq, Lk, D, Dv}. */
    private static final int[][] CASES = {
            {2, 3, 37, 45, 13, 11},   // B·H = 6, odd dims, Lk > one key tile, D ≠ Dv
            {1, 2, 45, 19, 40, 40},   // Lq > Lk: causal rows past Lk see every key
            {1, 1, 70, 70, 40, 33},   // several query blocks and key tiles
            {1, 1, 3, 71, 80, 80},    // Lk ≫ Lq: causal leaves most keys unseen (zero dK, dV)
            {1, 2, 9, 33, 160, 160},  // the largest head dim: one warp per block in the backward
            {2, 1, 1, 1, 7, 5},       // a single query and key
    };

    private static int longest(int[] c) {
        return Arrays.stream(c, 2, 6).max().orElse(1);
    }

    private static String name(int[] c, boolean causal) {
        return "[B, H, Lq, Lk, D, Dv]=" + Arrays.toString(c) + (causal ? " causal" : "");
    }

    @Test
    void attentionMatchesCpuForOddSizesAndBothMasks() {
        Random r = new Random(3);
        for (int[] c : CASES) {
            Tensor q = OpTestSupport.randn(r, c[0], c[1], c[2], c[4]);
            Tensor k = OpTestSupport.randn(r, c[0], c[1], c[3], c[4]);
            Tensor v = OpTestSupport.randn(r, c[0], c[1], c[3], c[5]);
            float scale = (float) (1 / Math.sqrt(c[4]));
            for (boolean causal : new boolean[]{false, true}) {
                close("attention " + name(c, causal), CPU.attention(q, k, v, scale, causal),
                        CudaAttention.attention(d(q), d(k), d(v), scale, causal), longest(c));
            }
        }
    }

    @Test
    void attentionBackwardMatchesCpuForOddSizesAndBothMasks() {
        Random r = new Random(4);
        for (int[] c : CASES) {
            Tensor q = OpTestSupport.randn(r, c[0], c[1], c[2], c[4]);
            Tensor k = OpTestSupport.randn(r, c[0], c[1], c[3], c[4]);
            Tensor v = OpTestSupport.randn(r, c[0], c[1], c[3], c[5]);
            Tensor gy = OpTestSupport.randn(r, c[0], c[1], c[2], c[5]);
            float scale = (float) (1 / Math.sqrt(c[4]));
            for (boolean causal : new boolean[]{false, true}) {
                Tensor[] cpu = CPU.attentionBackward(gy, q, k, v, scale, causal);
                Tensor[] gpu = CudaAttention.attentionBackward(d(gy), d(q), d(k), d(v), scale, causal);
                String[] names = {"dq", "dk", "dv"};
                for (int i = 0; i < 3; i++)
                    close("attentionBackward " + names[i] + " " + name(c, causal), cpu[i], gpu[i], longest(c));
            }
        }
    }

    @Test
    void attentionWithLargeScoresStaysStable() {
        // Scores of several hundred: the online softmax must rescale instead of overflowing exp.
        Random r = new Random(5);
        Tensor q = OpTestSupport.uniform(r, -4f, 4f, 1, 1, 21, 16), k = OpTestSupport.uniform(r, -4f, 4f, 1, 1, 50, 16);
        Tensor v = OpTestSupport.randn(r, 1, 1, 50, 9), gy = OpTestSupport.randn(r, 1, 1, 21, 9);
        close("attention large scores", CPU.attention(q, k, v, 2f, false), CudaAttention.attention(d(q), d(k), d(v), 2f, false), 50);
        Tensor[] cpu = CPU.attentionBackward(gy, q, k, v, 2f, true);
        Tensor[] gpu = CudaAttention.attentionBackward(d(gy), d(q), d(k), d(v), 2f, true);
        for (int i = 0; i < 3; i++) {
            // Gradients scale with the 2·|q|·|k| logits: compare relative to their largest value.
            double max = Arrays.stream(OpTestSupport.f64(cpu[i])).map(Math::abs).max().orElse(1);
            OpTestSupport.assertClose("attentionBackward large scores #" + i, OpTestSupport.f64(cpu[i]), cpu[i].shape(),
                    gpu[i].toCpu(), 1e-5 * Math.max(1, max), 1e-5);
        }
    }

    @Test
    void emptyKeysGiveZeros() {
        Random r = new Random(6);
        Tensor q = OpTestSupport.randn(r, 1, 2, 5, 8), k = Tensor.zeros(1, 2, 0, 8), v = Tensor.zeros(1, 2, 0, 3);
        Tensor gy = OpTestSupport.randn(r, 1, 2, 5, 3);
        close("attention Lk=0", CPU.attention(q, k, v, 0.5f, false), CudaAttention.attention(d(q), d(k), d(v), 0.5f, false), 1);
        Tensor[] cpu = CPU.attentionBackward(gy, q, k, v, 0.5f, true);
        Tensor[] gpu = CudaAttention.attentionBackward(d(gy), d(q), d(k), d(v), 0.5f, true);
        close("attentionBackward Lk=0 dq", cpu[0], gpu[0], 1);
        assertEquals(0, gpu[1].numel());
        assertEquals(0, gpu[2].numel());
    }

    @Test
    void badShapesAndDevicesAreRejectedWithUsefulMessages() {
        Tensor q = Tensor.zeros(1, 2, 5, 8), k = Tensor.zeros(1, 2, 6, 8), v = Tensor.zeros(1, 2, 6, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CudaAttention.attention(d(q), d(Tensor.zeros(1, 2, 6, 7)), d(v), 1f, false));
        assertTrue(e.getMessage().contains("attention: k has shape [1, 2, 6, 7], expected [B=1, H=2, Lk, D=8]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CudaAttention.attention(d(q), d(k), d(Tensor.zeros(1, 2, 5, 3)), 1f, false));
        assertTrue(e.getMessage().contains("v has shape [1, 2, 5, 3], expected [B=1, H=2, Lk=6, Dv]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CudaAttention.attentionBackward(d(Tensor.zeros(1, 2, 5, 4)), d(q), d(k), d(v), 1f, false));
        assertTrue(e.getMessage().contains("attentionBackward: gy has shape [1, 2, 5, 4], expected [1, 2, 5, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaAttention.attention(q, d(k), d(v), 1f, false));
        assertTrue(e.getMessage().contains("attention: q is on the CPU, expected an F32, F16 or BF16 tensor on a kernel device"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CudaAttention.attention(d(Tensor.zeros(2, 5, 8)), d(k), d(v), 1f, false));
        assertTrue(e.getMessage().contains("q has shape [2, 5, 8], expected [B, H, Lq, D]"), e.getMessage());
    }

    // ---------------------------------------------------------------------------------------------- 16-bit storage

    /** {B, H, Lq, Lk, D, Dv} for the F16/BF16 entry points: head dims 40 and 8, Lq ≠ Lk both ways, D ≠ Dv. */
    private static final int[][] HALF_CASES = {
            {1, 2, 37, 45, 40, 40},   // Lk > one key tile, odd lengths
            {2, 1, 45, 19, 8, 8},     // Lq > Lk: causal rows past Lk see every key
            {1, 1, 3, 41, 8, 13},     // Lk ≫ Lq: causal leaves most keys unseen (zero dK, dV); D ≠ Dv
    };

    @Test
    void halfPrecisionAttentionAndBackwardMatchCpuOnRoundedInputs() {
        for (DType dt : CudaOpTestSupport.HALF_TYPES) {
            Random r = new Random(21);
            for (int[] c : HALF_CASES) {
                Tensor q = OpTestSupport.randn(r, c[0], c[1], c[2], c[4]);
                Tensor k = OpTestSupport.randn(r, c[0], c[1], c[3], c[4]);
                Tensor v = OpTestSupport.randn(r, c[0], c[1], c[3], c[5]);
                Tensor gy = OpTestSupport.randn(r, c[0], c[1], c[2], c[5]);
                Tensor qr = rounded(q, dt), kr = rounded(k, dt), vr = rounded(v, dt), gyr = rounded(gy, dt);
                Tensor qd = onDevice(q, dt, dev), kd = onDevice(k, dt, dev), vd = onDevice(v, dt, dev), gyd = onDevice(gy, dt, dev);
                float scale = (float) (1 / Math.sqrt(c[4]));
                for (boolean causal : new boolean[]{false, true}) {
                    assertMatchesHalf("attention " + name(c, causal), CPU.attention(qr, kr, vr, scale, causal),
                            CudaAttention.attention(qd, kd, vd, scale, causal), dt);
                    Tensor[] cpu = CPU.attentionBackward(gyr, qr, kr, vr, scale, causal);
                    Tensor[] gpu = CudaAttention.attentionBackward(gyd, qd, kd, vd, scale, causal);
                    String[] names = {"dq", "dk", "dv"};
                    for (int i = 0; i < 3; i++)
                        assertMatchesHalf("attentionBackward " + names[i] + " " + name(c, causal), cpu[i], gpu[i], dt);
                }
            }
        }
    }

    @Test
    void halfPrecisionEmptyKeysGiveZeros() {
        Random r = new Random(22);
        for (DType dt : CudaOpTestSupport.HALF_TYPES) {
            Tensor q = OpTestSupport.randn(r, 1, 2, 5, 8), k = Tensor.zeros(1, 2, 0, 8), v = Tensor.zeros(1, 2, 0, 3);
            Tensor gy = OpTestSupport.randn(r, 1, 2, 5, 3);
            Tensor o = CudaAttention.attention(onDevice(q, dt, dev), onDevice(k, dt, dev), onDevice(v, dt, dev), 0.5f, false);
            assertMatchesHalf("attention Lk=0", Tensor.zeros(1, 2, 5, 3), o, dt);
            Tensor[] g = CudaAttention.attentionBackward(onDevice(gy, dt, dev), onDevice(q, dt, dev), onDevice(k, dt, dev),
                    onDevice(v, dt, dev), 0.5f, true);
            assertMatchesHalf("attentionBackward Lk=0 dq", Tensor.zeros(1, 2, 5, 8), g[0], dt);
            assertEquals(dt, g[1].dtype());
            assertEquals(0, g[1].numel());
        }
    }

    @Test
    void mixedDtypeArgumentsAreRejected() {
        Tensor q = Tensor.zeros(1, 2, 5, 8), k = Tensor.zeros(1, 2, 6, 8), v = Tensor.zeros(1, 2, 6, 3), gy = Tensor.zeros(1, 2, 5, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaAttention.attention(
                onDevice(q, DType.F16, dev), onDevice(k, DType.BF16, dev), onDevice(v, DType.F16, dev), 1f, false));
        assertTrue(e.getMessage().contains("attention: k is BF16 but the first input is F16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaAttention.attention(
                onDevice(q, DType.BF16, dev), onDevice(k, DType.BF16, dev), d(v), 1f, false));
        assertTrue(e.getMessage().contains("attention: v is F32 but the first input is BF16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaAttention.attentionBackward(d(gy),
                onDevice(q, DType.F16, dev), onDevice(k, DType.F16, dev), onDevice(v, DType.F16, dev), 1f, false));
        assertTrue(e.getMessage().contains("attentionBackward: gy is F32 but the first input is F16"), e.getMessage());
    }

    // ---------------------------------------------------------------------------------------------- head dims > 160

    /** {B, H, Lq, Lk, D, Dv} for the composed path. */
    private static final int[][] WIDE_CASES = {
            {1, 3, 7, 9, 200, 200},   // B·H = 3, Lq < Lk
            {1, 1, 11, 5, 163, 513},  // Lq > Lk: causal rows past Lk see every key; D ≠ Dv
            {2, 1, 5, 6, 24, 161},    // only Dv past the limit
    };

    /** Runs forward and backward of every wide case in dtype dt (F32 or 16-bit) against the CPU op. */
    private static void checkWide(DType dt, String budget) {
        Random r = new Random(31);
        for (int[] c : WIDE_CASES) {
            Tensor q = OpTestSupport.randn(r, c[0], c[1], c[2], c[4]);
            Tensor k = OpTestSupport.randn(r, c[0], c[1], c[3], c[4]);
            Tensor v = OpTestSupport.randn(r, c[0], c[1], c[3], c[5]);
            Tensor gy = OpTestSupport.randn(r, c[0], c[1], c[2], c[5]);
            float scale = (float) (1 / Math.sqrt(c[4]));
            boolean half = dt != DType.F32;
            Tensor qr = half ? rounded(q, dt) : q, kr = half ? rounded(k, dt) : k, vr = half ? rounded(v, dt) : v;
            Tensor gyr = half ? rounded(gy, dt) : gy;
            Tensor qd = onDevice(q, dt, dev), kd = onDevice(k, dt, dev), vd = onDevice(v, dt, dev), gyd = onDevice(gy, dt, dev);
            for (boolean causal : new boolean[]{false, true}) {
                String what = name(c, causal) + " " + dt + " " + budget;
                Tensor[] want = new Tensor[4], got = new Tensor[4];
                want[0] = CPU.attention(qr, kr, vr, scale, causal);
                got[0] = CudaAttention.attention(qd, kd, vd, scale, causal);
                System.arraycopy(CPU.attentionBackward(gyr, qr, kr, vr, scale, causal), 0, want, 1, 3);
                System.arraycopy(CudaAttention.attentionBackward(gyd, qd, kd, vd, scale, causal), 0, got, 1, 3);
                String[] names = {"attention", "attentionBackward dq", "attentionBackward dk", "attentionBackward dv"};
                for (int i = 0; i < 4; i++) {
                    if (half) assertMatchesHalf(names[i] + " " + what, want[i], got[i], dt);
                    else close(names[i] + " " + what, want[i], got[i], longest(c));
                }
            }
        }
    }

    @Test
    void headDimsAboveTheKernelLimitAreComposedFromGemmsAndSoftmax() {
        String mask = "attention_mask_fwd_f32";
        long masks = dev.launchCount(mask), flash = dev.launchCount("attention_fwd_f32");
        checkWide(DType.F32, "one step");
        assertTrue(dev.launchCount(mask) > masks, mask + " was not launched");
        assertEquals(flash, dev.launchCount("attention_fwd_f32"), "the flash kernel ran for a head dim above 160");
    }

    @Test
    void composedPathCutsIntoQueryBlocksAndHeadChunksWithinItsBudget() {
        long before = CudaAttention.composedBudgetBytes;
        try {
            // Lk = 9, 5, 6: 3 F32 [rows, Lk] buffers of 3 rows stay under 400 bytes, so one head's 7 or 11 queries
            // take several blocks (dK, dV summed across them with beta = 1) in the backward, 4-row blocks forward.
            CudaAttention.composedBudgetBytes = 400;
            checkWide(DType.F32, "query blocks");
            // 2 heads of the first case (3 buffers · 2 · 7 rows · 9 keys · 4 bytes = 1512) per step: a partial last chunk.
            CudaAttention.composedBudgetBytes = 1600;
            checkWide(DType.F32, "head chunks");
            CudaAttention.composedBudgetBytes = 400;
            checkWide(DType.F16, "query blocks");
        } finally {
            CudaAttention.composedBudgetBytes = before;
        }
    }

    @Test
    void halfPrecisionHeadDimsAboveTheKernelLimitMatchCpuOnRoundedInputs() {
        for (DType dt : CudaOpTestSupport.HALF_TYPES) checkWide(dt, "one step");
    }
}
