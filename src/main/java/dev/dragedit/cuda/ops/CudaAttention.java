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
 * The flash kernels take D and Dv ≤ {@link #MAX_HEAD_DIM} (each lane holds up to 5 output columns; SD 1.5's UNet
 * head dims 40, 80 and 160 fit). Warps per block are chosen so the dynamic shared memory stays within 48 KiB (fewer
 * warps for large head dims); they also need B·H ≤ 65535 (grid y).
 * <p>
 * Larger head dims (the SD 1.5 VAE's single 512-wide head) take the <b>composed path</b>, which materialises the
 * scores: S = scale·Q·Kᵀ ({@link CudaMatmul#gemm}, F32 result; 16-bit operands on tensor cores with F32
 * accumulation), the causal mask ({@code attention_mask_fwd_f32}, −∞ above the diagonal), P = softmax(S)
 * ({@link CudaNorm#softmax} on F32) and O = P·V (an F32 GEMM on an F32 copy of V). The backward recomputes P the
 * same way and applies the formulas dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(dP∘P)) ({@link
 * CudaNorm#softmaxBackward}, which computes exactly that from dP and P), dQ = scale·dS·K, dK = scale·dSᵀ·Q. Everything
 * between the inputs and the results is F32 (16-bit q, k, gy are cast to F32 where they meet an F32 operand);
 * each result is rounded once to the input dtype (CudaElementwise.cast). The [Lq, Lk] buffers are F32 per head, so
 * the work is cut into chunks of heads, or, when one head's scores alone exceed the budget, of query rows: at most
 * {@link #composedBudgetBytes} (256 MiB) of score-sized buffers are alive at once (two in the forward: S and P;
 * three in the backward: P, dP, dS). dK and dV sum over the query blocks of a head by GEMMs with beta = 1, so the
 * results are deterministic too. The inputs' F32 copies and the F32 results (for 16-bit storage) come on top.
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
    /** Bytes of [rows, Lk] F32 buffers the composed path keeps alive at once; lowered by a test to force chunking. */
    static long composedBudgetBytes = 256L << 20;
    private static final int MASK_THREADS = 256, MASK_MAX_BLOCKS = 4096;

    private record Dims(int b, int h, int lq, int lk, int d, int dv) {
        int heads() { return b * h; }
        /** Head dims beyond the flash kernels' registers: the GEMM + softmax composition. */
        boolean composed() { return d > MAX_HEAD_DIM || dv > MAX_HEAD_DIM; }
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
        if (d.composed()) return composedForward(dev, dt, d, q, k, v, out, scale, causal);
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
        if (d.composed()) return composedBackward(dev, dt, d, gy, q, k, v, dq, dk, dv, scale, causal);
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
        boolean composed = hd > MAX_HEAD_DIM || dv > MAX_HEAD_DIM;   // the GEMMs take any B·H
        if (!composed && (long) b * h > 65535)
            throw new IllegalArgumentException(op + ": B·H=" + (long) b * h + " exceeds the grid's y limit of 65535");
        return new Dims(b, h, lq, lk, hd, dv);
    }

    // ------------------------------------------------------------------ composed path (D or Dv > MAX_HEAD_DIM)

    /** How the composed path cuts B·H × Lq: {@code heads} heads of {@code rows} query rows per step. */
    private record Chunks(int heads, int rows) {}

    /** Chunks whose {@code buffers} F32 [heads·rows, Lk] buffers stay within {@link #composedBudgetBytes}. */
    private static Chunks chunks(Dims d, int buffers) {
        long rowsFit = Math.max(1, composedBudgetBytes / (4L * d.lk * buffers));
        rowsFit = Math.min(rowsFit, Integer.MAX_VALUE / d.lk);   // a Tensor holds at most Integer.MAX_VALUE elements
        if (rowsFit < d.lq) return new Chunks(1, (int) Math.max(1, rowsFit));
        return new Chunks((int) Math.min(d.heads(), rowsFit / d.lq), d.lq);
    }

    /**
     * softmax(S) (F32 [nh, nq, Lk], new) for S = scale·Q[h0.., q0..q0+nq)·K[h0..]ᵀ, causal-masked; q and k of dtype dt.
     */
    private static Tensor probabilities(KernelDevice dev, DType dt, Dims d, long q, long k, int h0, int nh, int q0, int nq,
                                        float scale, boolean causal) {
        long es = dt.bytes;
        Tensor s = output(dev, DType.F32, nh, nq, d.lk);
        CudaMatmul.gemm(dev, dt, DType.F32, q + es * ((long) h0 * d.lq + q0) * d.d, k + es * (long) h0 * d.lk * d.d,
                s.devicePtr(), nh, nq, d.lk, d.d, d.d, d.d, d.lk, (long) d.lq * d.d, (long) d.lk * d.d, (long) nq * d.lk,
                false, true, scale, 0f);
        if (causal) {
            long total = (long) nh * nq * d.lk;
            dev.launch("attention_mask_fwd_f32", Dim3.of((int) Math.min((total + MASK_THREADS - 1) / MASK_THREADS, MASK_MAX_BLOCKS)),
                    Dim3.of(MASK_THREADS), 0, KernelArgs.create().ptr(s.devicePtr()).i64((long) nh * nq).i32(nq).i32(d.lk).i32(q0));
        }
        Tensor p = CudaNorm.softmax(s);
        s.release();
        return p;
    }

    /** out (dtype dt, [B, H, Lq, Dv]; Lq, Lk, B·H > 0) = softmax(scale·QKᵀ + mask)·V; returns out or its dtype copy. */
    private static Tensor composedForward(KernelDevice dev, DType dt, Dims d, Tensor q, Tensor k, Tensor v, Tensor out,
                                          float scale, boolean causal) {
        Tensor v32 = CudaElementwise.cast(v, DType.F32);                // v itself for F32
        Tensor o32 = dt == DType.F32 ? out : output(dev, DType.F32, out.shape());
        Chunks c = chunks(d, 2);
        for (int h0 = 0; h0 < d.heads(); h0 += c.heads) {
            int nh = Math.min(c.heads, d.heads() - h0);
            for (int q0 = 0; q0 < d.lq; q0 += c.rows) {
                int nq = Math.min(c.rows, d.lq - q0);
                Tensor p = probabilities(dev, dt, d, q.devicePtr(), k.devicePtr(), h0, nh, q0, nq, scale, causal);
                // O [nq, Dv] = P [nq, Lk] · V [Lk, Dv]
                CudaMatmul.gemm(dev, DType.F32, DType.F32, p.devicePtr(), v32.devicePtr() + 4L * h0 * d.lk * d.dv,
                        o32.devicePtr() + 4L * ((long) h0 * d.lq + q0) * d.dv, nh, nq, d.dv, d.lk, d.lk, d.dv, d.dv,
                        (long) nq * d.lk, (long) d.lk * d.dv, (long) d.lq * d.dv, false, false, 1f, 0f);
                p.release();
            }
        }
        if (v32 != v) v32.release();
        if (o32 == out) return out;
        Tensor o = CudaElementwise.cast(o32, dt);
        o32.release();
        out.release();
        return o;
    }

    /** dq, dk, dv (dtype dt, fresh outputs; Lq, Lk, B·H > 0) by the attention backward formulas; see the class comment. */
    private static Tensor[] composedBackward(KernelDevice dev, DType dt, Dims d, Tensor gy, Tensor q, Tensor k, Tensor v,
                                             Tensor dq, Tensor dk, Tensor dv, float scale, boolean causal) {
        boolean half = dt != DType.F32;
        // F32 copies of the operands that meet an F32 matrix (P or dS) in a GEMM; the tensors themselves for F32.
        Tensor q32 = CudaElementwise.cast(q, DType.F32), k32 = CudaElementwise.cast(k, DType.F32);
        Tensor gy32 = CudaElementwise.cast(gy, DType.F32);
        Tensor dq32 = half ? output(dev, DType.F32, dq.shape()) : dq;
        Tensor dk32 = half ? output(dev, DType.F32, dk.shape()) : dk;
        Tensor dv32 = half ? output(dev, DType.F32, dv.shape()) : dv;
        long es = dt.bytes;
        Chunks c = chunks(d, 3);
        for (int h0 = 0; h0 < d.heads(); h0 += c.heads) {
            int nh = Math.min(c.heads, d.heads() - h0);
            long kOff = (long) h0 * d.lk * d.d, vOff = (long) h0 * d.lk * d.dv;   // K, V, dK, dV of head h0
            for (int q0 = 0; q0 < d.lq; q0 += c.rows) {
                int nq = Math.min(c.rows, d.lq - q0);
                long qOff = ((long) h0 * d.lq + q0) * d.d, gOff = ((long) h0 * d.lq + q0) * d.dv;
                long sStride = (long) nq * d.lk;
                float beta = q0 == 0 ? 0f : 1f;   // dK, dV sum over the query blocks of a head
                Tensor p = probabilities(dev, dt, d, q.devicePtr(), k.devicePtr(), h0, nh, q0, nq, scale, causal);
                // dV [Lk, Dv] (+)= Pᵀ [Lk, nq] · dO [nq, Dv]
                CudaMatmul.gemm(dev, DType.F32, DType.F32, p.devicePtr(), gy32.devicePtr() + 4 * gOff, dv32.devicePtr() + 4 * vOff,
                        nh, d.lk, d.dv, nq, d.lk, d.dv, d.dv, sStride, (long) d.lq * d.dv, (long) d.lk * d.dv,
                        true, false, 1f, beta);
                // dP [nq, Lk] = dO [nq, Dv] · Vᵀ (storage-dtype operands, F32 result)
                Tensor dp = output(dev, DType.F32, nh, nq, d.lk);
                CudaMatmul.gemm(dev, dt, DType.F32, gy.devicePtr() + es * gOff, v.devicePtr() + es * vOff, dp.devicePtr(),
                        nh, nq, d.lk, d.dv, d.dv, d.dv, d.lk, (long) d.lq * d.dv, (long) d.lk * d.dv, sStride,
                        false, true, 1f, 0f);
                Tensor ds = CudaNorm.softmaxBackward(dp, p);   // P∘(dP − rowsum(dP∘P))
                dp.release();
                p.release();
                // dQ [nq, D] = scale·dS [nq, Lk] · K [Lk, D]
                CudaMatmul.gemm(dev, DType.F32, DType.F32, ds.devicePtr(), k32.devicePtr() + 4 * kOff, dq32.devicePtr() + 4 * qOff,
                        nh, nq, d.d, d.lk, d.lk, d.d, d.d, sStride, (long) d.lk * d.d, (long) d.lq * d.d,
                        false, false, scale, 0f);
                // dK [Lk, D] (+)= scale·dSᵀ [Lk, nq] · Q [nq, D]
                CudaMatmul.gemm(dev, DType.F32, DType.F32, ds.devicePtr(), q32.devicePtr() + 4 * qOff, dk32.devicePtr() + 4 * kOff,
                        nh, d.lk, d.d, nq, d.lk, d.d, d.d, sStride, (long) d.lq * d.d, (long) d.lk * d.d,
                        true, false, scale, beta);
                ds.release();
            }
        }
        if (!half) return new Tensor[]{dq, dk, dv};
        for (Tensor t : new Tensor[]{q32, k32, gy32}) t.release();
        Tensor[] res = {CudaElementwise.cast(dq32, dt), CudaElementwise.cast(dk32, dt), CudaElementwise.cast(dv32, dt)};
        for (Tensor t : new Tensor[]{dq32, dk32, dv32, dq, dk, dv}) t.release();
        return res;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

}
