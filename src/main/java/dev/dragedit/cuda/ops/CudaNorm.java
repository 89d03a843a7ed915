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
 * GroupNorm, LayerNorm (last dimension) and softmax (last dimension) with their backwards on a {@link KernelDevice},
 * through the kernels of kernels/norm.cu; same signatures and semantics as {@link dev.dragedit.ops.Ops} and its CPU
 * implementation (dev.dragedit.ops.cpu.CpuNorm): biased variance, eps inside the square root, a softmax row of all
 * −inf comes out NaN. The backwards do not receive beta: dbeta is returned whenever {@code needGammaBeta}, dgamma
 * only when gamma is not null as well.
 * <p>
 * Storage types: F32, F16 or BF16, one per call — x, gamma, beta, gy and y share it (else the
 * CudaOpSupport.sameDeviceAndDtype message), and every result, dgamma and dbeta included, comes back in it. The
 * kernels ({@code <name>_f32/_f16/_bf16}) compute statistics and reductions in fp32, the workspaces (partials,
 * LayerNorm row statistics) are F32 whatever the dtype, and each 16-bit result is rounded once, when it is stored
 * (dgamma/dbeta by the final fixed-order sum).
 * <p>
 * Launch geometry: GroupNorm runs one block per (sample, group), at least 8 elements per thread and up to 1024
 * threads. LayerNorm and softmax give a row to one warp (4 rows per block) up to {@link #WARP_ROW_MAX} elements and
 * to a whole block beyond. Parameter gradients are reduced without atomics — per (sample, channel) or per chunk of
 * {@link #PARAM_CHUNK_ROWS} rows into a device workspace, then summed in a fixed order by a second kernel — so they
 * are bit-for-bit reproducible.
 * <p>
 * With {@code -Ddragedit.cuda.poison=true} (or CudaOpSupport.poisonOutputs(true)) every output and workspace is filled with
 * NaN (bytes 0xFF) before the kernels run, so an element a kernel forgets to write shows up in a test.
 */
public final class CudaNorm {
    private CudaNorm() {}

    /** Longest row handled by one warp; longer rows get a block. */
    static final int WARP_ROW_MAX = 1024;
    /** Rows per block in the warp-per-row launches. */
    private static final int ROWS_PER_BLOCK = 4;
    /** Rows per LayerNorm parameter-gradient partial. */
    static final int PARAM_CHUNK_ROWS = 64;
    /** Elements each thread of a block-wide reduction should handle at least. */
    private static final int ELEMS_PER_THREAD = 8;

    // ---------------------------------------------------------------- GroupNorm

    public static Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        String op = "groupNorm";
        KernelDevice dev = floatDevice(op, "x", x);
        DType dt = x.dtype();
        int[] d = groupDims(op, x, groups);   // {N, C, spatial}
        vectorOrNull(op, "gamma", gamma, d[1], "C", dev, dt);
        vectorOrNull(op, "beta", beta, d[1], "C", dev, dt);
        Tensor y = output(dev, dt, x.shape());   // [N, C, ...] like x
        if (x.numel() == 0) return y;
        int m = d[1] / groups * d[2];
        dev.launch("groupnorm_fwd_" + suffix(dt), Dim3.of(d[0] * groups), Dim3.of(blockThreads(m)), 0, KernelArgs.create()
                .ptr(x.devicePtr()).ptr(ptrOrNull(gamma)).ptr(ptrOrNull(beta)).ptr(y.devicePtr())
                .i32(d[1]).i32(groups).i32(d[2]).f32(eps));
        return y;
    }

    public static Tensor[] groupNormBackward(Tensor gy, Tensor x, int groups, Tensor gamma, float eps, boolean needGammaBeta) {
        String op = "groupNormBackward";
        KernelDevice dev = floatDevice(op, "x", x);
        DType dt = x.dtype();
        int[] d = groupDims(op, x, groups);   // {N, C, spatial}
        sameDeviceAndDtype(op, "gy", gy, dev, dt);
        sameShape(op, "gy", gy, x.shape(), "the shape of x");
        vectorOrNull(op, "gamma", gamma, d[1], "C", dev, dt);
        int n = d[0], c = d[1];
        Tensor dx = output(dev, dt, x.shape());   // [N, C, ...] like x
        Tensor dgamma = needGammaBeta && gamma != null ? output(dev, dt, c) : null;   // [C]
        Tensor dbeta = needGammaBeta ? output(dev, dt, c) : null;                     // [C]
        if (x.numel() == 0) {
            // Empty groups: every gradient is an empty sum.
            for (Tensor t : new Tensor[]{dx, dgamma, dbeta}) if (t != null) dev.memset(t.devicePtr(), 0, t.sizeBytes());
            return new Tensor[]{dx, dgamma, dbeta};
        }
        int m = c / groups * d[2];
        // Per (sample, channel) F32 partials, [N, C] each: dgamma's then dbeta's.
        try (DeviceBuffer part = needGammaBeta ? workspace(dev, 2L * n * c) : null) {
            long dgPart = dgamma != null ? part.ptr() : 0, dbPart = needGammaBeta ? part.ptr() + 4L * n * c : 0;
            dev.launch("groupnorm_bwd_" + suffix(dt), Dim3.of(n * groups), Dim3.of(blockThreads(m)), 0, KernelArgs.create()
                    .ptr(gy.devicePtr()).ptr(x.devicePtr()).ptr(ptrOrNull(gamma)).ptr(dx.devicePtr())
                    .ptr(dgPart).ptr(dbPart).i32(c).i32(groups).i32(d[2]).f32(eps));
            if (dgamma != null) paramSum(dev, dgPart, dgamma, n, c);
            if (dbeta != null) paramSum(dev, dbPart, dbeta, n, c);
        }
        return new Tensor[]{dx, dgamma, dbeta};
    }

    private static int[] groupDims(String op, Tensor x, int groups) {
        if (x.rank() < 2)
            throw new IllegalArgumentException(op + ": x has shape " + Arrays.toString(x.shape()) + ", expected [N, C, ...] (rank ≥ 2)");
        int c = x.dim(1);
        if (groups < 1 || c % groups != 0)
            throw new IllegalArgumentException(op + ": groups=" + groups + " must be positive and divide C=" + c
                    + " (x has shape " + Arrays.toString(x.shape()) + ")");
        int spatial = 1;
        for (int i = 2; i < x.rank(); i++) spatial *= x.dim(i);
        return new int[]{x.dim(0), c, spatial};
    }

    // ---------------------------------------------------------------- LayerNorm

    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        String op = "layerNorm";
        KernelDevice dev = floatDevice(op, "x", x);
        DType dt = x.dtype();
        int dim = lastDim(op, x);
        vectorOrNull(op, "gamma", gamma, dim, "D", dev, dt);
        vectorOrNull(op, "beta", beta, dim, "D", dev, dt);
        Tensor y = output(dev, dt, x.shape());   // [..., D] like x
        if (x.numel() == 0) return y;
        int rows = x.numel() / dim;
        rowLaunch(dev, "layernorm_fwd_" + suffix(dt), rows, dim, KernelArgs.create()
                .ptr(x.devicePtr()).ptr(ptrOrNull(gamma)).ptr(ptrOrNull(beta)).ptr(y.devicePtr())
                .i32(rows).i32(dim).f32(eps));
        return y;
    }

    public static Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor gamma, float eps, boolean needGammaBeta) {
        String op = "layerNormBackward";
        KernelDevice dev = floatDevice(op, "x", x);
        DType dt = x.dtype();
        int dim = lastDim(op, x);
        sameDeviceAndDtype(op, "gy", gy, dev, dt);
        sameShape(op, "gy", gy, x.shape(), "the shape of x");
        vectorOrNull(op, "gamma", gamma, dim, "D", dev, dt);
        Tensor dx = output(dev, dt, x.shape());   // [..., D] like x
        Tensor dgamma = needGammaBeta && gamma != null ? output(dev, dt, dim) : null;   // [D]
        Tensor dbeta = needGammaBeta ? output(dev, dt, dim) : null;                     // [D]
        int rows = dim == 0 ? 0 : x.numel() / dim;
        if (rows == 0) {
            for (Tensor t : new Tensor[]{dx, dgamma, dbeta}) if (t != null) dev.memset(t.devicePtr(), 0, t.sizeBytes());
            return new Tensor[]{dx, dgamma, dbeta};
        }
        // Per-row F32 statistics [3, rows] (mean guess, its correction, rstd) for the parameter gradients, which need x̂ again.
        try (DeviceBuffer stats = needGammaBeta ? workspace(dev, 3L * rows) : null) {
            rowLaunch(dev, "layernorm_bwd_" + suffix(dt), rows, dim, KernelArgs.create()
                    .ptr(gy.devicePtr()).ptr(x.devicePtr()).ptr(ptrOrNull(gamma)).ptr(dx.devicePtr())
                    .ptr(stats == null ? 0 : stats.ptr()).i32(rows).i32(dim).f32(eps));
            if (needGammaBeta) {
                int chunks = (rows + PARAM_CHUNK_ROWS - 1) / PARAM_CHUNK_ROWS;
                // Per chunk of rows: F32 partial Σ gy·x̂ and Σ gy, [chunks, D] each.
                try (DeviceBuffer part = workspace(dev, 2L * chunks * dim)) {
                    long dgPart = dgamma != null ? part.ptr() : 0, dbPart = part.ptr() + 4L * chunks * dim;
                    dev.launch("layernorm_param_bwd_" + suffix(dt), Dim3.of((dim + 31) / 32, chunks), Dim3.of(32, 8), 0,
                            KernelArgs.create().ptr(gy.devicePtr()).ptr(x.devicePtr()).ptr(stats.ptr())
                                    .ptr(dgPart).ptr(dbPart).i32(rows).i32(dim).i32(PARAM_CHUNK_ROWS));
                    if (dgamma != null) paramSum(dev, dgPart, dgamma, chunks, dim);
                    paramSum(dev, dbPart, dbeta, chunks, dim);
                }
            }
        }
        return new Tensor[]{dx, dgamma, dbeta};
    }

    private static int lastDim(String op, Tensor x) {
        if (x.rank() < 1)
            throw new IllegalArgumentException(op + ": x has shape " + Arrays.toString(x.shape()) + ", expected [..., D] (rank ≥ 1)");
        return x.dim(-1);
    }

    // ---------------------------------------------------------------- softmax

    public static Tensor softmax(Tensor x) {
        KernelDevice dev = floatDevice("softmax", "x", x);
        Tensor y = output(dev, x.dtype(), x.shape());   // same shape as x
        if (x.numel() == 0) return y;
        int n = rowLength(x), rows = x.numel() / n;
        rowLaunch(dev, "softmax_fwd_" + suffix(x.dtype()), rows, n, KernelArgs.create()
                .ptr(x.devicePtr()).ptr(y.devicePtr()).i32(rows).i32(n));
        return y;
    }

    public static Tensor softmaxBackward(Tensor gy, Tensor y) {
        String op = "softmaxBackward";
        KernelDevice dev = floatDevice(op, "y", y);
        sameDeviceAndDtype(op, "gy", gy, dev, y.dtype());
        sameShape(op, "gy", gy, y.shape(), "the shape of the softmax output y");
        Tensor dx = output(dev, y.dtype(), y.shape());   // same shape as y
        if (y.numel() == 0) return dx;
        int n = rowLength(y), rows = y.numel() / n;
        rowLaunch(dev, "softmax_bwd_" + suffix(y.dtype()), rows, n, KernelArgs.create()
                .ptr(gy.devicePtr()).ptr(y.devicePtr()).ptr(dx.devicePtr()).i32(rows).i32(n));
        return dx;
    }

    /** The softmax row length: the last dimension (a rank-0 tensor is one row of one element, as in torch). */
    private static int rowLength(Tensor x) {
        return x.rank() == 0 ? 1 : x.dim(-1);
    }

    // ---------------------------------------------------------------- launches and checks

    /** A row kernel: a warp per row (ROWS_PER_BLOCK rows per block) for short rows, else a block per row. */
    private static void rowLaunch(KernelDevice dev, String kernel, int rows, int len, KernelArgs args) {
        if (len <= WARP_ROW_MAX) {
            dev.launch(kernel, Dim3.of((rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK), Dim3.of(32, ROWS_PER_BLOCK), 0, args);
        } else {
            dev.launch(kernel, Dim3.of(rows), Dim3.of(blockThreads(len)), 0, args);
        }
    }

    /** Threads of a block reducing n elements: a multiple of 32, ELEMS_PER_THREAD elements each or more, ≤ 1024. */
    static int blockThreads(int n) {
        int per = (n + ELEMS_PER_THREAD - 1) / ELEMS_PER_THREAD;
        return Math.max(32, Math.min(1024, (per + 31) / 32 * 32));
    }

    /**
     * out[c] = Σ_r part[r, c] over rows in order (the deterministic end of a parameter-gradient reduction): F32
     * partials summed in fp32 and stored once in out's dtype.
     */
    private static void paramSum(KernelDevice dev, long part, Tensor out, int rows, int cols) {
        dev.launch("norm_param_sum_bwd_" + suffix(out.dtype()), Dim3.cover(cols, 256), Dim3.of(256), 0,
                KernelArgs.create().ptr(part).ptr(out.devicePtr()).i32(rows).i32(cols));
    }

    private static long ptrOrNull(Tensor t) {
        return t == null ? 0 : t.devicePtr();
    }

    private static void vectorOrNull(String op, String arg, Tensor t, int n, String what, KernelDevice dev, DType dtype) {
        if (t == null) return;
        sameDeviceAndDtype(op, arg, t, dev, dtype);
        if (t.rank() != 1 || t.dim(0) != n)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(t.shape())
                    + ", expected [" + what + "=" + n + "]");
    }

    private static void sameShape(String op, String arg, Tensor t, int[] expected, String what) {
        if (!Arrays.equals(t.shape(), expected))
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(expected) + " (" + what + ")");
    }
}
