package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.DeviceBuffer;
import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static dev.dragedit.cuda.ops.CudaOpSupport.floatDevice;
import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.sameDeviceAndDtype;
import static dev.dragedit.cuda.ops.CudaOpSupport.suffix;
import static dev.dragedit.cuda.ops.CudaOpSupport.workspace;

/**
 * Scaled dot-product attention and its backward on a {@link KernelDevice}, through the tiled (flash-attention
 * style) kernels of kernels/attention.cu; same signatures and semantics as {@link dev.dragedit.ops.Ops#attention}
 * and its CPU specification (dev.dragedit.ops.cpu.CpuAttention): q [B, H, Lq, D], k [B, H, Lk, D],
 * v [B, H, Lk, Dv] → [B, H, Lq, Dv], causal mask top-left aligned (key j masked for query i when j > i), Lk = 0
 * gives zeros. q, k, v and gy are F32, F16 or BF16, all of one dtype, and so are the results; scores, softmax
 * statistics and accumulators are F32 in every case (the workspaces too), each result rounded once.
 * <p>
 * The score matrix is never stored: the forward streams key tiles through shared memory with an online softmax and
 * keeps only a per-row logsumexp. The backward has no saved forward state in the Ops contract, so it reruns the
 * forward pass ({@code attention_stats_bwd_<t>}), which writes the logsumexp [B·H, Lq] and delta = rowsum(gy∘O)
 * [B·H, Lq] from the F32 O in registers instead of storing O, and then dK/dV (one block per key tile, looping over
 * query tiles) and dQ (one block per query tile, looping over key tiles) without atomics, so every result is
 * deterministic.
 * <p>
 * Limits: D and Dv ≤ {@link #MAX_HEAD_DIM} (each lane holds up to 5 output columns; SD 1.5's 40, 80 and 160 fit).
 * Warps per block are chosen so the dynamic shared memory stays within 48 KiB (fewer warps for large head dims).
 * <p>
 * With {@code -Ddragedit.cuda.poison=true} (or CudaOpSupport.poisonOutputs(true)) outputs and workspaces are filled with NaN
 * (bytes 0xFF) before the kernels run, so an element a kernel forgets to write shows up in a test.
 */
public final class CudaAttention {
    private CudaAttention() {}

    /** Largest head dimension (D or Dv) the kernels hold in registers: 32 lanes × 5 columns. */
    public static final int MAX_HEAD_DIM = 160;
    /** Rows (queries or keys) per warp and streamed tile length, as in attention.cu. */
    private static final int ROWS = 4, TILE = 32;
    private static final int MAX_WARPS = 8;
    private static final int SHARED_LIMIT = 48 * 1024;

    private record Dims(int b, int h, int lq, int lk, int d, int dv) {
        int heads() { return b * h; }
    }

    public static Tensor attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        String op = "attention";
        KernelDevice dev = floatDevice(op, "q", q);
        DType dt = q.dtype();
        Dims d = dims(op, dev, dt, q, k, v);
        Tensor out = output(dev, dt, d.b, d.h, d.lq, d.dv);   // [B, H, Lq, Dv]
        if (out.numel() == 0) return out;
        if (d.lk == 0) {
            dev.memset(out.devicePtr(), 0, out.sizeBytes());   // softmax over no keys: an empty sum
            return out;
        }
        try (DeviceBuffer lse = workspace(dev, (long) d.heads() * d.lq)) {
            forward(dev, dt, d, q, k, v, null, out.devicePtr(), lse.ptr(), 0, scale, causal);
        }
        return out;
    }

    public static Tensor[] attentionBackward(Tensor gy, Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        String op = "attentionBackward";
        KernelDevice dev = floatDevice(op, "q", q);
        DType dt = q.dtype();
        Dims d = dims(op, dev, dt, q, k, v);
        sameDeviceAndDtype(op, "gy", gy, dev, dt);
        int[] outShape = {d.b, d.h, d.lq, d.dv};
        if (!Arrays.equals(gy.shape(), outShape))
            throw new IllegalArgumentException(op + ": gy has shape " + Arrays.toString(gy.shape()) + ", expected "
                    + Arrays.toString(outShape) + " ([B, H, Lq, Dv] of the output)");
        Tensor dq = output(dev, dt, q.shape()), dk = output(dev, dt, k.shape()), dv = output(dev, dt, v.shape());
        if (d.lq == 0 || d.lk == 0 || d.heads() == 0) {
            for (Tensor t : new Tensor[]{dq, dk, dv}) if (t.numel() > 0) dev.memset(t.devicePtr(), 0, t.sizeBytes());
            return new Tensor[]{dq, dk, dv};
        }
        long rows = (long) d.heads() * d.lq;
        // F32 workspaces: the forward's logsumexp [B·H, Lq] and delta = rowsum(gy∘O) [B·H, Lq].
        try (DeviceBuffer lse = workspace(dev, rows); DeviceBuffer delta = workspace(dev, rows)) {
            forward(dev, dt, d, q, k, v, gy, 0, lse.ptr(), delta.ptr(), scale, causal);
            // dK/dV: K and V rows of the block + a Q tile and a gy tile of TILE rows with odd strides + lse, delta.
            int fixed = TILE * ((d.d | 1) + (d.dv | 1)) + 2 * TILE;
            int warps = warps(op, d, fixed, ROWS * (d.d + d.dv));
            dev.launch("attention_dkdv_bwd_" + suffix(dt), Dim3.of(ceilDiv(d.lk, ROWS * warps), d.heads()), Dim3.of(32, warps),
                    4 * (fixed + warps * ROWS * (d.d + d.dv)), KernelArgs.create()
                            .ptr(q.devicePtr()).ptr(k.devicePtr()).ptr(v.devicePtr()).ptr(gy.devicePtr())
                            .ptr(lse.ptr()).ptr(delta.ptr()).ptr(dk.devicePtr()).ptr(dv.devicePtr())
                            .i32(d.lq).i32(d.lk).i32(d.d).i32(d.dv).f32(scale).i32(causal ? 1 : 0));
            // dQ: Q and gy rows of the block + K and V tiles with odd strides.
            fixed = TILE * ((d.d | 1) + (d.dv | 1));
            warps = warps(op, d, fixed, ROWS * (d.d + d.dv));
            dev.launch("attention_dq_bwd_" + suffix(dt), Dim3.of(ceilDiv(d.lq, ROWS * warps), d.heads()), Dim3.of(32, warps),
                    4 * (fixed + warps * ROWS * (d.d + d.dv)), KernelArgs.create()
                            .ptr(q.devicePtr()).ptr(k.devicePtr()).ptr(v.devicePtr()).ptr(gy.devicePtr())
                            .ptr(lse.ptr()).ptr(delta.ptr()).ptr(dq.devicePtr())
                            .i32(d.lq).i32(d.lk).i32(d.d).i32(d.dv).f32(scale).i32(causal ? 1 : 0));
        }
        return new Tensor[]{dq, dk, dv};
    }

    /**
     * The forward pass over q, k, v of dtype dt (Lq, Lk, B·H > 0): with gy null, o [B·H, Lq, Dv] (dtype dt) and lse
     * [B·H, Lq]; with gy, for the backward, lse and delta [B·H, Lq] (F32) instead of o.
     */
    private static void forward(KernelDevice dev, DType dt, Dims d, Tensor q, Tensor k, Tensor v, Tensor gy, long o,
                                long lse, long delta, float scale, boolean causal) {
        // Q rows of the block + a K tile with an odd stride + a V tile.
        int fixed = TILE * ((d.d | 1) + d.dv);
        int warps = warps("attention", d, fixed, ROWS * d.d);
        KernelArgs args = KernelArgs.create().ptr(q.devicePtr()).ptr(k.devicePtr()).ptr(v.devicePtr());
        if (gy == null) args.ptr(o).ptr(lse);
        else args.ptr(gy.devicePtr()).ptr(lse).ptr(delta);
        args.i32(d.lq).i32(d.lk).i32(d.d).i32(d.dv).f32(scale).i32(causal ? 1 : 0);
        dev.launch((gy == null ? "attention_fwd_" : "attention_stats_bwd_") + suffix(dt),
                Dim3.of(ceilDiv(d.lq, ROWS * warps), d.heads()), Dim3.of(32, warps), 4 * (fixed + warps * ROWS * d.d), args);
    }

    /**
     * Warps per block: as many as fit in the shared-memory limit (up to MAX_WARPS), given the floats every block
     * needs and those each warp adds; never more than the rows need.
     */
    private static int warps(String op, Dims d, int fixedFloats, int perWarpFloats) {
        int w = Math.min(MAX_WARPS, (SHARED_LIMIT / 4 - fixedFloats) / perWarpFloats);
        if (w < 1)
            throw new IllegalArgumentException(op + ": head dims D=" + d.d + ", Dv=" + d.dv
                    + " need more than 48 KiB of shared memory per block");
        int rowsNeeded = Math.max(d.lq, d.lk);
        return Math.max(1, Math.min(w, ceilDiv(rowsNeeded, ROWS)));
    }

    private static Dims dims(String op, KernelDevice dev, DType dt, Tensor q, Tensor k, Tensor v) {
        sameDeviceAndDtype(op, "k", k, dev, dt);
        sameDeviceAndDtype(op, "v", v, dev, dt);
        if (q.rank() != 4)
            throw new IllegalArgumentException(op + ": q has shape " + Arrays.toString(q.shape()) + ", expected [B, H, Lq, D]");
        int b = q.dim(0), h = q.dim(1), lq = q.dim(2), hd = q.dim(3);
        if (k.rank() != 4 || k.dim(0) != b || k.dim(1) != h || k.dim(3) != hd)
            throw new IllegalArgumentException(op + ": k has shape " + Arrays.toString(k.shape()) + ", expected [B=" + b
                    + ", H=" + h + ", Lk, D=" + hd + "] (q has shape " + Arrays.toString(q.shape()) + ")");
        int lk = k.dim(2);
        if (v.rank() != 4 || v.dim(0) != b || v.dim(1) != h || v.dim(2) != lk)
            throw new IllegalArgumentException(op + ": v has shape " + Arrays.toString(v.shape()) + ", expected [B=" + b
                    + ", H=" + h + ", Lk=" + lk + ", Dv] (k has shape " + Arrays.toString(k.shape()) + ")");
        int dv = v.dim(3);
        if (hd > MAX_HEAD_DIM || dv > MAX_HEAD_DIM)
            throw new IllegalArgumentException(op + ": head dims D=" + hd + ", Dv=" + dv + " exceed the kernels' limit of "
                    + MAX_HEAD_DIM + "; use the CPU op");
        if ((long) b * h > 65535)
            throw new IllegalArgumentException(op + ": B·H=" + (long) b * h + " exceeds the grid's y limit of 65535");
        return new Dims(b, h, lq, lk, hd, dv);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

}
