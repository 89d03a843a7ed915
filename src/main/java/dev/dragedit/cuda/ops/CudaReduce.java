// The reductions and mean losses of Ops (sum, mean, sumTo, l1Loss, mseLoss and their backwards) on a KernelDevice,
// launching kernels/reduce.cu. Same semantics and argument checks as dev.dragedit.ops.cpu.CpuReduce / CpuElementwise.
//
// A reduction first coalesces the input's dimensions into alternating runs of reduced and kept dimensions (size-1
// dimensions dropped, neighbours of the same kind merged — exact for a contiguous tensor). Each pass then reduces
// the innermost reduced run as the middle axis of an [outer, R, inner] view (reduce_rows_warp for short rows and
// reduce_rows for long ones when inner == 1, reduce_mid otherwise), which removes that run, and the next pass works on the smaller result; the scale of a mean
// is applied in the last pass only. When the outputs alone cannot fill the GPU and R is long, a pass is cut into
// `splits` parts along R, and a second launch sums the parts (reduce the middle axis of [outer, splits, inner]).
// Sums are carried in float on the device, the CPU carries double: see CudaReduceTest for the error bound used.
//
// Storage types: x (and a, b, gy) may be F32, F16 or BF16, all inputs of one op of one dtype, and the result has that
// dtype (a loss: a scalar of it). Every reduction pass writes F32 (the kernels read the storage type and write
// fp32 sums), so the passes after the first, the split partials and the loss partials stay F32, and a 16-bit result
// is rounded once by a final CudaElementwise.cast of the F32 result. The loss gradients read and write the dtype.
package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.shape.ReduceShapes;
import dev.dragedit.ops.shape.ShapeOpShapes;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static dev.dragedit.cuda.ops.CudaOpSupport.floatDevice;
import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.sameDeviceAndDtype;
import static dev.dragedit.cuda.ops.CudaOpSupport.suffix;

public final class CudaReduce {
    private CudaReduce() {}

    /** Threads of a reduce_rows / loss block (a multiple of 32). */
    private static final int ROWS_THREADS = 256;
    /** reduce_mid's block is (32, 8) and each block covers 32 inner columns. */
    private static final int MID_X = 32, MID_Y = 8;
    /** Blocks that keep a GPU busy (a few per SM); a pass with fewer is split along R. */
    private static final int TARGET_BLOCKS = 512;
    /** Shortest stretch of R worth a block of its own: reduce_rows (per 256 threads) and reduce_mid (per 8 rows). */
    private static final int MIN_ROWS_PART = 2048, MIN_MID_PART = 256;
    private static final int MAX_GRID_YZ = 65535, MAX_LOSS_BLOCKS = 1024, MAX_WARP_BLOCKS = 1 << 16;
    /** Rows up to this length are summed by one warp each (a block per row would leave most threads idle). */
    private static final int WARP_ROW_MAX = 1024;

    // ------------------------------------------------------------------ sum, mean, sumTo

    public static Tensor sum(Tensor x, int[] dims, boolean keepDim) { return reduce("sum", x, dims, keepDim, false); }

    public static Tensor mean(Tensor x, int[] dims, boolean keepDim) { return reduce("mean", x, dims, keepDim, true); }

    private static Tensor reduce(String op, Tensor x, int[] dims, boolean keepDim, boolean mean) {
        KernelDevice dev = floatDevice(op, "x", x);
        int[] shape = x.shape();
        boolean[] reduced = ReduceShapes.reducedDims(op, shape, dims);
        long count = ReduceShapes.count(shape, reduced);
        int[] outShape = ReduceShapes.outShape(shape, reduced, keepDim);   // reduced dims become 1 (keepDim) or disappear
        float scale = mean ? (float) (1.0 / count) : 1f;   // an empty mean: 0·∞ = NaN, as in PyTorch
        return reduceSum(dev, x, shape, reduced, scale, outShape);
    }

    /**
     * Sums g over the dimensions along which {@code shape} was broadcast to g's shape: the leading dimensions that
     * {@code shape} lacks and those where it has size 1. Extra leading 1s in {@code shape} are allowed.
     */
    public static Tensor sumTo(Tensor g, int[] shape) {
        KernelDevice dev = floatDevice("sumTo", "g", g);
        int[] gs = g.shape();
        boolean[] reduced = ReduceShapes.sumToDims(gs, shape);
        return reduceSum(dev, g, gs, reduced, 1f, shape.clone());
    }

    /**
     * scale·Σ of x over the dimensions flagged in {@code reduced}, as a new device tensor of shape outShape and x's
     * dtype.
     */
    private static Tensor reduceSum(KernelDevice dev, Tensor x, int[] shape, boolean[] reduced, float scale, int[] outShape) {
        DType dt = x.dtype();
        int outCount = (int) Tensor.numel(outShape);
        if (outCount == 0) return output(dev, dt, outShape);
        if (x.numel() == 0) {                               // an empty sum: rows of length 0 give 0·scale
            Tensor out = output(dev, DType.F32, outShape);
            rowsPass(dev, dt, x.devicePtr(), out.devicePtr(), outCount, 0, scale);
            return toDtype(out, dt);
        }
        // Coalesced runs from the innermost outwards: size[k], red[k].
        ReduceShapes.Runs runs = ReduceShapes.coalesce(shape, reduced);
        int[] size = runs.size();
        boolean[] red = runs.red();
        int passes = 0;
        for (boolean b : red) if (b) passes++;
        if (passes == 0) {                                  // nothing of size > 1 reduced, so the count (and scale) is 1
            Tensor out = output(dev, dt, outShape);
            dev.copy(out.devicePtr(), x.devicePtr(), out.sizeBytes());
            return out;
        }
        Tensor out = output(dev, DType.F32, outShape);      // every pass writes F32; a 16-bit result is rounded once
        Tensor cur = x;
        for (int pass = 1; pass <= passes; pass++) {
            int k = 0;
            while (!red[k]) k++;                            // the innermost reduced run
            long inner = 1, outer = 1;
            for (int j = 0; j < k; j++) inner *= size[j];
            for (int j = k + 1; j < size.length; j++) outer *= size[j];
            boolean last = pass == passes;
            Tensor next = last ? out : output(dev, new int[]{(int) (outer * inner)});   // [outer, inner]
            middlePass(dev, cur.dtype(), cur.devicePtr(), next.devicePtr(), (int) outer, size[k], (int) inner, last ? scale : 1f);
            if (cur != x) cur.release();
            cur = next;
            // Drop run k; its kept neighbours (k−1 and k+1) become adjacent and merge.
            int[] ns = new int[size.length - 1];
            boolean[] nr = new boolean[size.length - 1];
            for (int j = 0, q = 0; j < size.length; j++) if (j != k) { ns[q] = size[j]; nr[q] = red[j]; q++; }
            if (k > 0 && k < ns.length) {
                ns[k - 1] *= ns[k];
                ns = removeAt(ns, k);
                nr = removeAt(nr, k);
            }
            size = ns;
            red = nr;
        }
        return toDtype(out, dt);
    }

    /** The F32 result t converted to dtype dt (t itself for F32); t is released. */
    private static Tensor toDtype(Tensor t, DType dt) {
        if (dt == DType.F32) return t;
        Tensor out = CudaElementwise.cast(t, dt);
        t.release();
        return out;
    }

    /**
     * y [outer, inner] (F32) = scale · Σ_r x [outer, R, inner] (dtype xt), split along R when the outputs alone are
     * too few blocks.
     */
    private static void middlePass(KernelDevice dev, DType xt, long x, long y, int outer, int R, int inner, float scale) {
        long blocks = inner == 1 ? outer : (long) ceilDiv(inner, MID_X) * outer;
        int minPart = inner == 1 ? MIN_ROWS_PART : MIN_MID_PART;
        int splits = (int) Math.max(1, Math.min(Math.min(R / minPart, ceilDiv(TARGET_BLOCKS, blocks)), MAX_GRID_YZ));
        if (splits == 1) {
            launchMiddle(dev, xt, x, y, outer, R, inner, 1, scale);
            return;
        }
        Tensor partial = output(dev, new int[]{outer * splits * inner});   // [outer, splits, inner]
        launchMiddle(dev, xt, x, partial.devicePtr(), outer, R, inner, splits, 1f);
        launchMiddle(dev, DType.F32, partial.devicePtr(), y, outer, splits, inner, 1, scale);
        partial.release();
    }

    private static void launchMiddle(KernelDevice dev, DType xt, long x, long y, int outer, int R, int inner, int splits, float scale) {
        if (inner == 1 && R <= WARP_ROW_MAX) {
            long units = (long) outer * splits;             // one warp each, ROWS_THREADS / 32 warps per block
            dev.launch("reduce_rows_warp_fwd_" + suffix(xt), Dim3.of((int) Math.min(ceilDiv(units, ROWS_THREADS / 32), MAX_WARP_BLOCKS)),
                    Dim3.of(ROWS_THREADS), 0, KernelArgs.create().ptr(x).ptr(y).i32(outer).i32(R).i32(splits).f32(scale));
        } else if (inner == 1) {
            long units = (long) outer * splits;
            dev.launch("reduce_rows_fwd_" + suffix(xt), Dim3.of((int) Math.min(units, Integer.MAX_VALUE)), Dim3.of(ROWS_THREADS), 0,
                    KernelArgs.create().ptr(x).ptr(y).i32(outer).i32(R).i32(splits).f32(scale));
        } else {
            dev.launch("reduce_mid_fwd_" + suffix(xt), Dim3.of(ceilDiv(inner, MID_X), Math.min(outer, MAX_GRID_YZ), splits),
                    Dim3.of(MID_X, MID_Y), 0,
                    KernelArgs.create().ptr(x).ptr(y).i32(outer).i32(R).i32(inner).i32(splits).f32(scale));
        }
    }

    private static void rowsPass(KernelDevice dev, DType xt, long x, long y, int outer, int R, float scale) {
        launchMiddle(dev, xt, x, y, outer, R, 1, 1, scale);
    }

    // ------------------------------------------------------------------ losses

    public static Tensor l1Loss(Tensor a, Tensor b) { return loss("l1Loss", "l1loss_fwd_", a, b); }

    public static Tensor mseLoss(Tensor a, Tensor b) { return loss("mseLoss", "mseloss_fwd_", a, b); }

    private static Tensor loss(String op, String kernel, Tensor a, Tensor b) {
        KernelDevice dev = floatDevice(op, "a", a);
        DType dt = a.dtype();
        sameDeviceAndDtype(op, "b", b, dev, dt);
        sameShape(op, a, b);
        int n = a.numel();
        Tensor out = output(dev, DType.F32, new int[0]);     // [] — a mean of nothing is 0·∞ = NaN, as in PyTorch
        float scale = (float) (1.0 / n);
        if (n == 0) {
            rowsPass(dev, DType.F32, out.devicePtr(), out.devicePtr(), 1, 0, scale);
            return toDtype(out, dt);
        }
        int blocks = Math.min(ceilDiv(n, ROWS_THREADS), MAX_LOSS_BLOCKS);
        Tensor partial = output(dev, new int[]{blocks});     // one partial sum per block
        dev.launch(kernel + suffix(dt), Dim3.of(blocks), Dim3.of(ROWS_THREADS), 0,
                KernelArgs.create().ptr(a.devicePtr()).ptr(b.devicePtr()).ptr(partial.devicePtr()).i32(n));
        rowsPass(dev, DType.F32, partial.devicePtr(), out.devicePtr(), 1, blocks, scale);
        partial.release();
        return toDtype(out, dt);
    }

    public static Tensor l1LossBackward(Tensor gy, Tensor a, Tensor b) {
        return lossBackward("l1LossBackward", "l1loss_bwd_", gy, a, b, 1.0);
    }

    public static Tensor mseLossBackward(Tensor gy, Tensor a, Tensor b) {
        return lossBackward("mseLossBackward", "mseloss_bwd_", gy, a, b, 2.0);
    }

    /** d/da of gy·mean(|a − b|) = gy·sign(a − b)/n, or of gy·mean((a − b)²) = 2·gy·(a − b)/n. */
    private static Tensor lossBackward(String op, String kernel, Tensor gy, Tensor a, Tensor b, double factor) {
        KernelDevice dev = floatDevice(op, "gy", gy);
        DType dt = gy.dtype();
        sameDeviceAndDtype(op, "a", a, dev, dt);
        sameDeviceAndDtype(op, "b", b, dev, dt);
        if (gy.numel() != 1)
            throw new IllegalArgumentException(op + ": gy has shape " + Arrays.toString(gy.shape())
                    + ", expected one element (the loss is a scalar)");
        sameShape(op, a, b);
        int n = a.numel();
        Tensor dx = output(dev, dt, a.shape());
        if (n == 0) return dx;
        dev.launch(kernel + suffix(dt), Dim3.of(Math.min(ceilDiv(n, ROWS_THREADS), 4096)), Dim3.of(ROWS_THREADS), 0,
                KernelArgs.create().ptr(gy.devicePtr()).ptr(a.devicePtr()).ptr(b.devicePtr()).ptr(dx.devicePtr())
                        .i32(n).f32((float) (factor / n)));
        return dx;
    }

    // ------------------------------------------------------------------ helpers

    private static void sameShape(String op, Tensor a, Tensor b) {
        if (!a.sameShape(b))
            throw new IllegalArgumentException(op + ": b has shape " + Arrays.toString(b.shape()) + ", expected the shape of a "
                    + Arrays.toString(a.shape()));
    }

    static int dim(String op, String what, int d, int rank) { return ShapeOpShapes.dim(op, what, d, rank); }

    private static int ceilDiv(long a, long b) { return (int) ((a + b - 1) / b); }

    private static int[] removeAt(int[] a, int i) {
        int[] r = new int[a.length - 1];
        System.arraycopy(a, 0, r, 0, i);
        System.arraycopy(a, i + 1, r, i, a.length - i - 1);
        return r;
    }

    private static boolean[] removeAt(boolean[] a, int i) {
        boolean[] r = new boolean[a.length - 1];
        System.arraycopy(a, 0, r, 0, i);
        System.arraycopy(a, i + 1, r, i, a.length - i - 1);
        return r;
    }
}
