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
        e = assertThrows(IllegalArgumentException.class, () -> CudaAttention.attention(
                d(Tensor.zeros(1, 1, 2, 161)), d(Tensor.zeros(1, 1, 2, 161)), d(Tensor.zeros(1, 1, 2, 4)), 1f, false));
        assertTrue(e.getMessage().contains("D=161, Dv=4 exceed the kernels' limit of 160"), e.getMessage());
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
}
