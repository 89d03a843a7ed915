// The shape ops of Ops (concat, slice, sliceBackward, permute, pad, padBackward) on a KernelDevice, launching
// kernels/shape.cu. Same semantics and argument checks as dev.dragedit.ops.cpu.CpuShape.
//
// Everything but a last-two-dimensions transpose is a strided box copy (shape_copy): the box's dimensions are
// coalesced where both tensors are contiguous across them (innermost first), both pointers are moved to the box's
// corner, and the kernel walks the box with up to 6 sizes and stride pairs passed as scalars (a box that still has
// more dimensions is launched once per combination of its outer ones). Outputs the copy does not cover are filled
// first: zeros for the backwards (memset), the pad value for pad (shape_fill). A permute whose coalesced form swaps the
// last two dimensions of [B, M, N] uses the shared-memory tiled transpose, which reads and writes whole lines.
package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static dev.dragedit.cuda.ops.CudaReduce.device;
import static dev.dragedit.cuda.ops.CudaReduce.dim;

public final class CudaShape {
    private CudaShape() {}

    private static final int THREADS = 256, MAX_BLOCKS = 4096, MAX_RANK = 6, TILE = 32, TILE_ROWS = 8, MAX_GRID_Z = 65535;

    /** Test hook: when set, every output buffer is filled with NaN (bytes 0xFF) before the kernels write it. */
    static volatile boolean poisonOutputs;

    // ------------------------------------------------------------------ concat

    public static Tensor concat(Tensor[] xs, int dim) {
        if (xs == null || xs.length == 0) throw new IllegalArgumentException("concat: expected at least one tensor, found none");
        KernelDevice dev = device("concat", "xs[0]", xs[0]);
        for (int i = 1; i < xs.length; i++) sameDevice("concat", dev, "xs[" + i + "]", xs[i]);
        int[] first = xs[0].shape();
        if (first.length == 0) throw new IllegalArgumentException("concat: xs[0] has shape [], expected rank ≥ 1");
        int d = dim("concat", "dim", dim, first.length);
        int[] outShape = first.clone();
        outShape[d] = 0;
        for (int i = 0; i < xs.length; i++) {
            int[] s = xs[i].shape();
            boolean fits = s.length == first.length;
            for (int k = 0; fits && k < s.length; k++) fits = k == d || s[k] == first[k];
            if (!fits) {
                int[] want = first.clone();
                want[d] = -1;
                throw new IllegalArgumentException("concat: xs[" + i + "] has shape " + str(s) + ", expected "
                        + str(want).replace("-1", "*") + " to match xs[0] " + str(first) + " outside dim " + d);
            }
            outShape[d] += s[d];                            // sizes along dim add up
        }
        Tensor out = alloc(dev, outShape);
        int[] at = new int[first.length];
        for (Tensor x : xs) {
            int[] s = x.shape();
            copyBox(dev, x.devicePtr(), s, new int[s.length], out.devicePtr(), outShape, at, s);
            at[d] += s[d];
        }
        return out;
    }

    // ------------------------------------------------------------------ slice

    /** Python slice bounds: negative values count from the end, then both are clamped into [0, size]. */
    private static int[] bounds(int start, int end, int size) {
        int s = start < 0 ? start + size : start, e = end < 0 ? end + size : end;
        s = Math.max(0, Math.min(s, size));
        e = Math.max(s, Math.min(e, size));
        return new int[]{s, e};
    }

    public static Tensor slice(Tensor x, int dim, int start, int end) {
        KernelDevice dev = device("slice", "x", x);
        int[] shape = x.shape();
        int d = dim("slice", "dim", dim, shape.length);
        int[] se = bounds(start, end, shape[d]);
        int[] outShape = shape.clone();
        outShape[d] = se[1] - se[0];                        // [..., end − start, ...]
        int[] from = new int[shape.length];
        from[d] = se[0];
        Tensor out = alloc(dev, outShape);
        copyBox(dev, x.devicePtr(), shape, from, out.devicePtr(), outShape, new int[shape.length], outShape);
        return out;
    }

    public static Tensor sliceBackward(Tensor gy, int[] inShape, int dim, int start, int end) {
        KernelDevice dev = device("sliceBackward", "gy", gy);
        shapeNotNull("sliceBackward", "inShape", inShape);
        int d = dim("sliceBackward", "dim", dim, inShape.length);
        int[] se = bounds(start, end, inShape[d]);
        int[] gyShape = inShape.clone();
        gyShape[d] = se[1] - se[0];
        if (!Arrays.equals(gy.shape(), gyShape))
            throw new IllegalArgumentException("sliceBackward: gy has shape " + str(gy.shape()) + ", expected " + str(gyShape)
                    + " (inShape " + str(inShape) + " sliced to [" + se[0] + ", " + se[1] + ") along dim " + d + ")");
        Tensor dx = alloc(dev, inShape);
        if (dx.numel() > 0) dev.memset(dx.devicePtr(), 0, 4L * dx.numel());   // outside the slice the gradient is 0
        int[] at = new int[inShape.length];
        at[d] = se[0];
        copyBox(dev, gy.devicePtr(), gyShape, new int[gyShape.length], dx.devicePtr(), inShape, at, gyShape);
        return dx;
    }

    // ------------------------------------------------------------------ pad

    public static Tensor pad(Tensor x, int[] pads, float value) {
        KernelDevice dev = device("pad", "x", x);
        int[] shape = x.shape();
        checkPads("pad", pads, shape.length);
        int[] outShape = shape.clone();
        for (int i = 0; i < pads.length / 2; i++) {
            int d = shape.length - 1 - i;
            outShape[d] = shape[d] + pads[2 * i] + pads[2 * i + 1];   // pads[2i] before, pads[2i+1] after dim d
            if (outShape[d] < 0)
                throw new IllegalArgumentException("pad: dimension " + d + " of x " + str(shape) + " with pads (" + pads[2 * i] + ", "
                        + pads[2 * i + 1] + ") would have size " + outShape[d] + ", expected ≥ 0");
        }
        Tensor out = alloc(dev, outShape);
        long n = out.numel();
        if (n > 0)
            dev.launch("shape_fill_fwd_f32", Dim3.of((int) Math.min(ceilDiv(n, THREADS), MAX_BLOCKS)), Dim3.of(THREADS), 0,
                    KernelArgs.create().ptr(out.devicePtr()).i64(n).f32(value));
        copyOverlap(dev, x.devicePtr(), shape, out.devicePtr(), outShape, pads, false);
        return out;
    }

    public static Tensor padBackward(Tensor gy, int[] pads) {
        KernelDevice dev = device("padBackward", "gy", gy);
        int[] gyShape = gy.shape();
        checkPads("padBackward", pads, gyShape.length);
        int[] inShape = gyShape.clone();
        for (int i = 0; i < pads.length / 2; i++) {
            int d = gyShape.length - 1 - i;
            inShape[d] = gyShape[d] - pads[2 * i] - pads[2 * i + 1];
            if (inShape[d] < 0)
                throw new IllegalArgumentException("padBackward: gy " + str(gyShape) + " is too small for pads " + Arrays.toString(pads)
                        + ": dimension " + d + " of the input would have size " + inShape[d]);
        }
        Tensor dx = alloc(dev, inShape);
        if (dx.numel() > 0) dev.memset(dx.devicePtr(), 0, 4L * dx.numel());   // cropped elements get no gradient
        copyOverlap(dev, gy.devicePtr(), gyShape, dx.devicePtr(), inShape, pads, true);
        return dx;
    }

    private static void checkPads(String op, int[] pads, int rank) {
        if (pads == null) throw new IllegalArgumentException(op + ": pads is null, expected (lastBefore, lastAfter, ...)");
        if (pads.length % 2 != 0 || pads.length > 2 * rank)
            throw new IllegalArgumentException(op + ": pads " + Arrays.toString(pads) + " has " + pads.length
                    + " entries, expected an even number ≤ 2·rank = " + 2 * rank);
    }

    /** Copies what survives padding between the unpadded tensor u (index i) and the padded p (index i + before). */
    private static void copyOverlap(KernelDevice dev, long src, int[] srcShape, long dst, int[] dstShape, int[] pads, boolean backward) {
        int rank = srcShape.length;
        int[] srcStart = new int[rank], dstStart = new int[rank], box = srcShape.clone();
        for (int i = 0; i < pads.length / 2; i++) {
            int d = rank - 1 - i, before = pads[2 * i];
            int uStart = Math.max(0, -before), pStart = Math.max(0, before);
            srcStart[d] = backward ? pStart : uStart;
            dstStart[d] = backward ? uStart : pStart;
            box[d] = Math.max(0, Math.min(srcShape[d] - srcStart[d], dstShape[d] - dstStart[d]));
        }
        copyBox(dev, src, srcShape, srcStart, dst, dstShape, dstStart, box);
    }

    // ------------------------------------------------------------------ permute

    public static Tensor permute(Tensor x, int[] perm) {
        KernelDevice dev = device("permute", "x", x);
        int[] shape = x.shape();
        int rank = shape.length;
        if (perm == null || perm.length != rank)
            throw new IllegalArgumentException("permute: perm " + (perm == null ? "null" : Arrays.toString(perm)) + " has "
                    + (perm == null ? 0 : perm.length) + " entries, expected " + rank + " (the rank of x " + str(shape) + ")");
        int[] p = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            p[i] = dim("permute", "perm entry", perm[i], rank);
            if (seen[p[i]])
                throw new IllegalArgumentException("permute: perm " + Arrays.toString(perm) + " names dimension " + p[i]
                        + " twice, expected a permutation of 0.." + (rank - 1));
            seen[p[i]] = true;
        }
        long[] inStr = strides(shape);
        int[] outShape = new int[rank];
        long[] s = new long[rank];
        for (int i = 0; i < rank; i++) { outShape[i] = shape[p[i]]; s[i] = inStr[p[i]]; }   // out dim i reads input dim p[i]
        Tensor out = alloc(dev, outShape);
        if (out.numel() == 0) return out;
        // Coalesce output dimensions (innermost first) that stay adjacent and in order in the input.
        int[] n = new int[rank];
        long[] cs = new long[rank];
        int r = 0;
        for (int i = rank - 1; i >= 0; i--) {
            if (outShape[i] == 1) continue;
            if (r > 0 && s[i] == cs[r - 1] * n[r - 1]) n[r - 1] *= outShape[i];
            else { n[r] = outShape[i]; cs[r] = s[i]; r++; }
        }
        if (r == 0) { dev.copy(out.devicePtr(), x.devicePtr(), 4); return out; }
        boolean swapLastTwo = r >= 2 && cs[1] == 1 && cs[0] == n[1] && (r == 2 || (r == 3 && cs[2] == (long) n[0] * n[1]));
        if (swapLastTwo) {
            // x [B, M, N] → out [B, N, M]: out's innermost dimension (size M = n[0]) walks x with stride N = n[1].
            int b = r == 3 ? n[2] : 1, m = n[0], nn = n[1];
            dev.launch("shape_transpose_fwd_f32", Dim3.of(ceilDiv(nn, TILE), ceilDiv(m, TILE), Math.min(b, MAX_GRID_Z)),
                    Dim3.of(TILE, TILE_ROWS), 0,
                    KernelArgs.create().ptr(x.devicePtr()).ptr(out.devicePtr()).i32(b).i32(m).i32(nn));
            return out;
        }
        long[] os = new long[r];
        for (int k = 0, acc = 1; k < r; k++) { os[k] = acc; acc *= n[k]; }
        launchCopy(dev, x.devicePtr(), out.devicePtr(), Arrays.copyOf(n, r), Arrays.copyOf(cs, r), os);
        return out;
    }

    // ------------------------------------------------------------------ box copy

    /** Copies the box of extent {@code box} at srcStart in src (contiguous, srcShape) to dstStart in dst (dstShape). */
    private static void copyBox(KernelDevice dev, long src, int[] srcShape, int[] srcStart, long dst, int[] dstShape,
                                int[] dstStart, int[] box) {
        int rank = box.length;
        long total = 1;
        for (int b : box) total *= b;
        if (total == 0) return;
        long[] ss = strides(srcShape), ds = strides(dstShape);
        long srcBase = 0, dstBase = 0;
        for (int i = 0; i < rank; i++) { srcBase += srcStart[i] * ss[i]; dstBase += dstStart[i] * ds[i]; }
        // Coalesced dimensions from the innermost outwards: n[k], source stride cs[k], destination stride cd[k].
        int[] n = new int[rank];
        long[] cs = new long[rank], cd = new long[rank];
        int r = 0;
        for (int i = rank - 1; i >= 0; i--) {
            if (box[i] == 1) continue;
            if (r > 0 && ss[i] == cs[r - 1] * n[r - 1] && ds[i] == cd[r - 1] * n[r - 1]) n[r - 1] *= box[i];
            else { n[r] = box[i]; cs[r] = ss[i]; cd[r] = ds[i]; r++; }
        }
        if (r == 0) { dev.copy(dst + 4 * dstBase, src + 4 * srcBase, 4); return; }
        launchCopy(dev, src + 4 * srcBase, dst + 4 * dstBase, Arrays.copyOf(n, r), Arrays.copyOf(cs, r), Arrays.copyOf(cd, r));
    }

    /**
     * dst[Σ c_k·cd_k] = src[Σ c_k·cs_k] over the box n (innermost first); a box of more than MAX_RANK dimensions is
     * launched once per combination of its outer dimensions.
     */
    private static void launchCopy(KernelDevice dev, long src, long dst, int[] n, long[] cs, long[] cd) {
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
                launchCopy(dev, src + 4 * so, dst + 4 * dOff, in, ics, icd);
            }
            return;
        }
        long total = 1;
        for (int v : n) total *= v;
        KernelArgs args = KernelArgs.create().ptr(src).ptr(dst).i64(total).i32(r);
        for (int k = 0; k < MAX_RANK; k++) args.i32(k < r ? n[k] : 1);
        for (int k = 0; k < MAX_RANK; k++) args.i64(k < r ? cs[k] : 0);
        for (int k = 0; k < MAX_RANK; k++) args.i64(k < r ? cd[k] : 0);
        dev.launch("shape_copy_fwd_f32", Dim3.of((int) Math.min(ceilDiv(total, THREADS), MAX_BLOCKS)), Dim3.of(THREADS), 0, args);
    }

    // ------------------------------------------------------------------ helpers

    private static void sameDevice(String op, KernelDevice dev, String arg, Tensor t) {
        if (device(op, arg, t) != dev)
            throw new IllegalArgumentException(op + ": " + arg + " is on " + t.kernelDevice().name()
                    + ", expected the device of xs[0] (" + dev.name() + ")");
    }

    private static void shapeNotNull(String op, String arg, int[] shape) {
        if (shape == null) throw new IllegalArgumentException(op + ": " + arg + " is null, expected a shape");
        for (int s : shape)
            if (s < 0) throw new IllegalArgumentException(op + ": " + arg + " " + str(shape) + " has a negative dimension");
    }

    private static long[] strides(int[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    private static String str(int[] shape) { return Arrays.toString(shape); }

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    private static Tensor alloc(KernelDevice dev, int[] shape) {
        Tensor t = Tensor.emptyOn(dev, shape);
        if (poisonOutputs && t.numel() > 0) dev.memset(t.devicePtr(), 0xFF, 4L * t.numel());
        return t;
    }
}
