// The shape ops of Ops (concat, slice, sliceBackward, permute, pad, padBackward) on a KernelDevice, launching
// kernels/shape.cu. Same semantics and argument checks as dev.dragedit.ops.cpu.CpuShape.
//
// Everything but a last-two-dimensions transpose is a strided box copy (shape_copy): the box's dimensions are
// coalesced where both tensors are contiguous across them (innermost first), both pointers are moved to the box's
// corner, and the kernel walks the box with up to 6 sizes and stride pairs passed as scalars (a box that still has
// more dimensions is launched once per combination of its outer ones). Outputs the copy does not cover are filled
// first: zeros for the backwards (memset), the pad value for pad (shape_fill). A permute whose coalesced form swaps the
// last two dimensions of [B, M, N] uses the shared-memory tiled transpose, which reads and writes whole lines.
//
// Storage types: F32, F16 and BF16 (kernels shape_*_<f32|f16|bf16>); all inputs of one op share x's dtype and the
// output has it too. The copies move elements bit for bit, so 16-bit results are exact; pad's fill value is rounded
// once to the dtype (round to nearest even, as Tensor.to does on the CPU). Pointer offsets are in the dtype's bytes.
package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.shape.ShapeOpShapes;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static dev.dragedit.cuda.ops.CudaOpSupport.floatDevice;
import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.sameDeviceAndDtype;
import static dev.dragedit.cuda.ops.CudaOpSupport.suffix;


public final class CudaShape {
    private CudaShape() {}

    private static final int THREADS = 256, MAX_BLOCKS = 4096, MAX_RANK = 6, TILE = 32, TILE_ROWS = 8, MAX_GRID_Z = 65535;

    // ------------------------------------------------------------------ concat

    public static Tensor concat(Tensor[] xs, int dim) {
        if (xs == null || xs.length == 0) throw new IllegalArgumentException("concat: expected at least one tensor, found none");
        KernelDevice dev = floatDevice("concat", "xs[0]", xs[0]);
        DType dt = xs[0].dtype();
        for (int i = 1; i < xs.length; i++) sameDeviceAndDtype("concat", "xs[" + i + "]", xs[i], dev, dt);
        int[][] shapes = new int[xs.length][];
        for (int i = 0; i < xs.length; i++) shapes[i] = xs[i].shape();
        int[] first = shapes[0];
        int d = ShapeOpShapes.concatDim(first, dim);
        int[] outShape = ShapeOpShapes.concatShape(shapes, d);   // sizes along dim add up
        Tensor out = output(dev, dt, outShape);
        int[] at = new int[first.length];
        for (Tensor x : xs) {
            int[] s = x.shape();
            copyBox(dev, dt, x.devicePtr(), s, new int[s.length], out.devicePtr(), outShape, at, s);
            at[d] += s[d];
        }
        return out;
    }

    // ------------------------------------------------------------------ slice

    public static Tensor slice(Tensor x, int dim, int start, int end) {
        KernelDevice dev = floatDevice("slice", "x", x);
        DType dt = x.dtype();
        int[] shape = x.shape();
        int d = ShapeOpShapes.dim("slice", "dim", dim, shape.length);
        int[] se = ShapeOpShapes.bounds(start, end, shape[d]);
        int[] outShape = ShapeOpShapes.slicedShape(shape, d, se);   // [..., end − start, ...]
        int[] from = new int[shape.length];
        from[d] = se[0];
        Tensor out = output(dev, dt, outShape);
        copyBox(dev, dt, x.devicePtr(), shape, from, out.devicePtr(), outShape, new int[shape.length], outShape);
        return out;
    }

    public static Tensor sliceBackward(Tensor gy, int[] inShape, int dim, int start, int end) {
        KernelDevice dev = floatDevice("sliceBackward", "gy", gy);
        DType dt = gy.dtype();
        ShapeOpShapes.shapeNotNull("sliceBackward", "inShape", inShape);
        int d = ShapeOpShapes.dim("sliceBackward", "dim", dim, inShape.length);
        int[] se = ShapeOpShapes.bounds(start, end, inShape[d]);
        int[] gyShape = gy.shape();
        ShapeOpShapes.checkSliceGrad(gyShape, inShape, d, se);
        Tensor dx = output(dev, dt, inShape);
        if (dx.numel() > 0) dev.memset(dx.devicePtr(), 0, dx.sizeBytes());   // outside the slice the gradient is 0 (+0 in every dtype)
        int[] at = new int[inShape.length];
        at[d] = se[0];
        copyBox(dev, dt, gy.devicePtr(), gyShape, new int[gyShape.length], dx.devicePtr(), inShape, at, gyShape);
        return dx;
    }

    // ------------------------------------------------------------------ pad

    public static Tensor pad(Tensor x, int[] pads, float value) {
        KernelDevice dev = floatDevice("pad", "x", x);
        DType dt = x.dtype();
        int[] shape = x.shape();
        int[] outShape = ShapeOpShapes.paddedShape(shape, pads);
        Tensor out = output(dev, dt, outShape);
        long n = out.numel();
        if (n > 0)
            dev.launch("shape_fill_fwd_" + suffix(dt), Dim3.of((int) Math.min(ceilDiv(n, THREADS), MAX_BLOCKS)), Dim3.of(THREADS), 0,
                    KernelArgs.create().ptr(out.devicePtr()).i64(n).f32(value));
        copyOverlap(dev, dt, x.devicePtr(), shape, out.devicePtr(), outShape, pads, false);
        return out;
    }

    public static Tensor padBackward(Tensor gy, int[] pads) {
        KernelDevice dev = floatDevice("padBackward", "gy", gy);
        DType dt = gy.dtype();
        int[] gyShape = gy.shape();
        int[] inShape = ShapeOpShapes.unpaddedShape(gyShape, pads);
        Tensor dx = output(dev, dt, inShape);
        if (dx.numel() > 0) dev.memset(dx.devicePtr(), 0, dx.sizeBytes());   // cropped elements get no gradient
        copyOverlap(dev, dt, gy.devicePtr(), gyShape, dx.devicePtr(), inShape, pads, true);
        return dx;
    }

    /** Copies what survives padding between the unpadded tensor u (index i) and the padded p (index i + before). */
    private static void copyOverlap(KernelDevice dev, DType dt, long src, int[] srcShape, long dst, int[] dstShape, int[] pads, boolean backward) {
        int[][] overlap = ShapeOpShapes.padOverlap(srcShape, dstShape, pads, backward);
        int[] srcStart = overlap[0], dstStart = overlap[1], box = overlap[2];
        copyBox(dev, dt, src, srcShape, srcStart, dst, dstShape, dstStart, box);
    }

    // ------------------------------------------------------------------ permute

    public static Tensor permute(Tensor x, int[] perm) {
        KernelDevice dev = floatDevice("permute", "x", x);
        DType dt = x.dtype();
        int[] shape = x.shape();
        int rank = shape.length;
        int[] p = ShapeOpShapes.permutation(perm, shape);
        long[] inStr = ShapeOpShapes.strides(shape);
        int[] outShape = new int[rank];
        long[] s = new long[rank];
        for (int i = 0; i < rank; i++) { outShape[i] = shape[p[i]]; s[i] = inStr[p[i]]; }   // out dim i reads input dim p[i]
        Tensor out = output(dev, dt, outShape);
        if (out.numel() == 0) return out;
        // Coalesce output dimensions (innermost first) that stay adjacent and in order in the input.
        ShapeOpShapes.Runs runs = ShapeOpShapes.coalesce(outShape, s, null);
        int[] n = runs.n();
        long[] cs = runs.s1();
        int r = runs.kept();
        if (r == 0) { dev.copy(out.devicePtr(), x.devicePtr(), dt.bytes); return out; }
        boolean swapLastTwo = r >= 2 && cs[1] == 1 && cs[0] == n[1] && (r == 2 || (r == 3 && cs[2] == (long) n[0] * n[1]));
        if (swapLastTwo) {
            // x [B, M, N] → out [B, N, M]: out's innermost dimension (size M = n[0]) walks x with stride N = n[1].
            int b = r == 3 ? n[2] : 1, m = n[0], nn = n[1];
            dev.launch("shape_transpose_fwd_" + suffix(dt), Dim3.of(ceilDiv(nn, TILE), ceilDiv(m, TILE), Math.min(b, MAX_GRID_Z)),
                    Dim3.of(TILE, TILE_ROWS), 0,
                    KernelArgs.create().ptr(x.devicePtr()).ptr(out.devicePtr()).i32(b).i32(m).i32(nn));
            return out;
        }
        long[] os = new long[r];
        for (int k = 0, acc = 1; k < r; k++) { os[k] = acc; acc *= n[k]; }
        launchCopy(dev, dt, x.devicePtr(), out.devicePtr(), Arrays.copyOf(n, r), Arrays.copyOf(cs, r), os);
        return out;
    }

    // ------------------------------------------------------------------ box copy

    /** Copies the box of extent {@code box} at srcStart in src (contiguous, srcShape) to dstStart in dst (dstShape). */
    private static void copyBox(KernelDevice dev, DType dt, long src, int[] srcShape, int[] srcStart, long dst, int[] dstShape,
                                int[] dstStart, int[] box) {
        int rank = box.length;
        long total = 1;
        for (int b : box) total *= b;
        if (total == 0) return;
        long[] ss = ShapeOpShapes.strides(srcShape), ds = ShapeOpShapes.strides(dstShape);
        long srcBase = 0, dstBase = 0;
        for (int i = 0; i < rank; i++) { srcBase += srcStart[i] * ss[i]; dstBase += dstStart[i] * ds[i]; }
        // Coalesced dimensions from the innermost outwards: n[k], source stride cs[k], destination stride cd[k].
        ShapeOpShapes.Runs runs = ShapeOpShapes.coalesce(box, ss, ds);
        int[] n = runs.n();
        long[] cs = runs.s1(), cd = runs.s2();
        int r = runs.kept();
        long es = dt.bytes;
        if (r == 0) { dev.copy(dst + es * dstBase, src + es * srcBase, es); return; }
        launchCopy(dev, dt, src + es * srcBase, dst + es * dstBase, Arrays.copyOf(n, r), Arrays.copyOf(cs, r), Arrays.copyOf(cd, r));
    }

    /**
     * dst[Σ c_k·cd_k] = src[Σ c_k·cs_k] over the box n (innermost first); a box of more than MAX_RANK dimensions is
     * launched once per combination of its outer dimensions.
     */
    private static void launchCopy(KernelDevice dev, DType dt, long src, long dst, int[] n, long[] cs, long[] cd) {
        int r = n.length;
        if (r > MAX_RANK) {
            long outerCount = 1;
            for (int k = MAX_RANK; k < r; k++) outerCount *= n[k];
            int[] in = Arrays.copyOf(n, MAX_RANK);
            long[] ics = Arrays.copyOf(cs, MAX_RANK), icd = Arrays.copyOf(cd, MAX_RANK);
            for (long o = 0; o < outerCount; o++) {
                long rem = o, so = 0, dOff = 0;
                for (int k = MAX_RANK; k < r; k++) {
                    long c = rem % n[k];
                    rem /= n[k];
                    so += c * cs[k];
                    dOff += c * cd[k];
                }
                launchCopy(dev, dt, src + (long) dt.bytes * so, dst + (long) dt.bytes * dOff, in, ics, icd);
            }
            return;
        }
        long total = 1;
        for (int v : n) total *= v;
        KernelArgs args = KernelArgs.create().ptr(src).ptr(dst).i64(total).i32(r);
        for (int k = 0; k < MAX_RANK; k++) args.i32(k < r ? n[k] : 1);
        for (int k = 0; k < MAX_RANK; k++) args.i64(k < r ? cs[k] : 0);
        for (int k = 0; k < MAX_RANK; k++) args.i64(k < r ? cd[k] : 0);
        dev.launch("shape_copy_fwd_" + suffix(dt), Dim3.of((int) Math.min(ceilDiv(total, THREADS), MAX_BLOCKS)), Dim3.of(THREADS), 0, args);
    }

    // ------------------------------------------------------------------ helpers

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

}
