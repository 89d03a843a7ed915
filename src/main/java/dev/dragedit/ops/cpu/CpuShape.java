// Shape ops that move data without arithmetic: concat, slice and its backward, permute, constant pad and its backward.
//
// concat, slice, sliceBackward, pad and padBackward are all "copy a box of one tensor into a box of another": copyBox
// coalesces the box's dimensions where both tensors are contiguous across them, then copies whole runs with
// System.arraycopy, rows split across threads. permute copies runs when the last dimension stays innermost and
// otherwise transposes 32×32 tiles between the output's innermost dimension and the one that is innermost in the
// input, so both sides are read and written a cache line at a time.
package dev.dragedit.ops.cpu;

import dev.dragedit.ops.shape.ShapeOpShapes;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import static dev.dragedit.ops.cpu.ElementwiseChecks.f32;
import static dev.dragedit.ops.cpu.ElementwiseChecks.strides;

final class CpuShape {
    private CpuShape() {}

    private static final int GRAIN = Broadcast.GRAIN, TILE = 32;

    // ------------------------------------------------------------------ concat

    public static Tensor concat(Tensor[] xs, int dim) {
        if (xs == null || xs.length == 0) throw new IllegalArgumentException("concat: expected at least one tensor, found none");
        for (int i = 0; i < xs.length; i++) f32("concat", "xs[" + i + "]", xs[i]);
        int[][] shapes = new int[xs.length][];
        for (int i = 0; i < xs.length; i++) shapes[i] = xs[i].shape();
        int[] first = shapes[0];
        int d = ShapeOpShapes.concatDim(first, dim);
        int[] outShape = ShapeOpShapes.concatShape(shapes, d);   // sizes along dim add up
        Tensor out = Tensor.zeros(outShape);
        int[] at = new int[first.length];
        for (Tensor x : xs) {
            int[] s = x.shape();
            copyBox(x.data(), s, new int[s.length], out.data(), outShape, at, s);
            at[d] += s[d];
        }
        return out;
    }

    // ------------------------------------------------------------------ slice

    public static Tensor slice(Tensor x, int dim, int start, int end) {
        f32("slice", "x", x);
        int[] shape = x.shape();
        int d = ShapeOpShapes.dim("slice", "dim", dim, shape.length);
        int[] se = ShapeOpShapes.bounds(start, end, shape[d]);
        int[] outShape = ShapeOpShapes.slicedShape(shape, d, se);   // [..., end − start, ...]
        int[] from = new int[shape.length];
        from[d] = se[0];
        Tensor out = Tensor.zeros(outShape);
        copyBox(x.data(), shape, from, out.data(), outShape, new int[shape.length], outShape);
        return out;
    }

    public static Tensor sliceBackward(Tensor gy, int[] inShape, int dim, int start, int end) {
        f32("sliceBackward", "gy", gy);
        ShapeOpShapes.shapeNotNull("sliceBackward", "inShape", inShape);
        int d = ShapeOpShapes.dim("sliceBackward", "dim", dim, inShape.length);
        int[] se = ShapeOpShapes.bounds(start, end, inShape[d]);
        int[] gyShape = gy.shape();
        ShapeOpShapes.checkSliceGrad(gyShape, inShape, d, se);
        Tensor dx = Tensor.zeros(inShape);
        int[] at = new int[inShape.length];
        at[d] = se[0];
        copyBox(gy.data(), gyShape, new int[gyShape.length], dx.data(), inShape, at, gyShape);
        return dx;
    }

    // ------------------------------------------------------------------ pad

    public static Tensor pad(Tensor x, int[] pads, float value) {
        f32("pad", "x", x);
        int[] shape = x.shape();
        int[] outShape = ShapeOpShapes.paddedShape(shape, pads);
        Tensor out = value == 0f ? Tensor.zeros(outShape) : Tensor.full(value, outShape);
        copyOverlap(x.data(), shape, out.data(), outShape, pads, false);
        return out;
    }

    public static Tensor padBackward(Tensor gy, int[] pads) {
        f32("padBackward", "gy", gy);
        int[] gyShape = gy.shape();
        int[] inShape = ShapeOpShapes.unpaddedShape(gyShape, pads);
        Tensor dx = Tensor.zeros(inShape);
        copyOverlap(gy.data(), gyShape, dx.data(), inShape, pads, true);
        return dx;
    }

    /**
     * Copies the part of the unpadded tensor that survives padding, between the unpadded tensor u (index i) and the
     * padded tensor p (index i + before): u → p for pad, p → u for its backward.
     */
    private static void copyOverlap(float[] src, int[] srcShape, float[] dst, int[] dstShape, int[] pads, boolean backward) {
        int[][] overlap = ShapeOpShapes.padOverlap(srcShape, dstShape, pads, backward);
        int[] srcStart = overlap[0], dstStart = overlap[1], box = overlap[2];
        copyBox(src, srcShape, srcStart, dst, dstShape, dstStart, box);
    }

    // ------------------------------------------------------------------ box copy

    /** Copies the box of extent {@code box} at srcStart in src (contiguous, srcShape) to dstStart in dst (dstShape). */
    static void copyBox(float[] src, int[] srcShape, int[] srcStart, float[] dst, int[] dstShape, int[] dstStart, int[] box) {
        int rank = box.length;
        long total = 1;
        for (int b : box) total *= b;
        if (total == 0) return;
        int[] ss = strides(srcShape), ds = strides(dstShape);
        int srcBase = 0, dstBase = 0;
        for (int i = 0; i < rank; i++) { srcBase += srcStart[i] * ss[i]; dstBase += dstStart[i] * ds[i]; }
        // Coalesced dimensions from the innermost outwards: n[k], source stride cs[k], destination stride cd[k].
        ShapeOpShapes.Runs runs = ShapeOpShapes.coalesce(box, longs(ss), longs(ds));
        int[] n = runs.n(), cs = ints(runs.s1()), cd = ints(runs.s2());
        int r = runs.kept();
        if (r == 0) { dst[dstBase] = src[srcBase]; return; }
        final int dims = r, run = n[0], sStep = cs[0], dStep = cd[0], sb = srcBase, db = dstBase;
        int rows = (int) (total / run);
        Parallel.forRange(rows, Math.max(1, GRAIN / run), (r0, r1) -> {
            for (int row = r0; row < r1; row++) {
                int rem = row, so = sb, dOff = db;
                for (int k = 1; k < dims; k++) {
                    int c = rem % n[k];
                    rem /= n[k];
                    so += c * cs[k];
                    dOff += c * cd[k];
                }
                if (sStep == 1 && dStep == 1) System.arraycopy(src, so, dst, dOff, run);
                else for (int j = 0; j < run; j++) dst[dOff + j * dStep] = src[so + j * sStep];
            }
        });
    }

    // ------------------------------------------------------------------ permute

    public static Tensor permute(Tensor x, int[] perm) {
        float[] xd = f32("permute", "x", x);
        int[] shape = x.shape();
        int rank = shape.length;
        int[] p = ShapeOpShapes.permutation(perm, shape);
        int[] inStr = strides(shape), outShape = new int[rank], s = new int[rank];
        for (int i = 0; i < rank; i++) { outShape[i] = shape[p[i]]; s[i] = inStr[p[i]]; }   // out dim i reads input dim p[i]
        Tensor out = Tensor.zeros(outShape);
        float[] o = out.data();
        if (xd.length == 0) return out;
        // Coalesce output dimensions (innermost first) that stay adjacent and in order in the input.
        ShapeOpShapes.Runs runs = ShapeOpShapes.coalesce(outShape, longs(s), null);
        int[] n = runs.n(), cs = ints(runs.s1());
        int r = runs.kept();
        if (r == 0) { o[0] = xd[0]; return out; }
        int[] os = new int[r];
        for (int k = 0, acc = 1; k < r; k++) { os[k] = acc; acc *= n[k]; }
        if (cs[0] == 1) copyRuns(xd, o, n, cs, r);
        else transposeTiles(xd, o, n, cs, os, r);
        return out;
    }

    /** The innermost output dimension is contiguous in the input: one arraycopy per output row. */
    private static void copyRuns(float[] x, float[] o, int[] n, int[] cs, int r) {
        int run = n[0], rows = o.length / run;
        Parallel.forRange(rows, Math.max(1, GRAIN / run), (r0, r1) -> {
            for (int row = r0; row < r1; row++) {
                int rem = row, off = 0;
                for (int k = 1; k < r; k++) { off += (rem % n[k]) * cs[k]; rem /= n[k]; }
                System.arraycopy(x, off, o, row * run, run);
            }
        });
    }

    /**
     * Output dimension 0 (innermost) reads the input with stride cs[0] > 1, and output dimension pd is the one that is
     * contiguous in the input; copy TILE×TILE tiles of the (pd, 0) plane for every combination of the other dimensions.
     */
    private static void transposeTiles(float[] x, float[] o, int[] n, int[] cs, int[] os, int r) {
        int pd = 1;
        while (cs[pd] != 1) pd++;
        final int p = pd;
        int outer = o.length / (n[0] * n[p]);
        int tilesP = (n[p] + TILE - 1) / TILE;
        Parallel.forRange(outer * tilesP, Math.max(1, GRAIN / (TILE * n[0])), (u0, u1) -> {
            float[] tile = new float[TILE * TILE];
            for (int u = u0; u < u1; u++) {
                int rem = u / tilesP, inOff = 0, outOff = 0;
                for (int k = 1; k < r; k++) {
                    if (k == p) continue;
                    int c = rem % n[k];
                    rem /= n[k];
                    inOff += c * cs[k];
                    outOff += c * os[k];
                }
                int p0 = (u % tilesP) * TILE, pn = Math.min(n[p], p0 + TILE) - p0;
                for (int q0 = 0; q0 < n[0]; q0 += TILE) {
                    int qn = Math.min(n[0], q0 + TILE) - q0;
                    // Read whole input rows, write whole output rows: revisiting lines a power-of-two stride apart
                    // would keep evicting them from their shared cache set.
                    for (int iq = 0; iq < qn; iq++) System.arraycopy(x, inOff + (q0 + iq) * cs[0] + p0, tile, iq * TILE, pn);
                    for (int ip = 0; ip < pn; ip++) {
                        int ob = outOff + (p0 + ip) * os[p] + q0;
                        for (int iq = 0; iq < qn; iq++) o[ob + iq] = tile[iq * TILE + ip];
                    }
                }
            }
        });
    }

    // ------------------------------------------------------------------ helpers

    /** Strides widen to long for the shared coalescing; a CPU array's offsets fit in int, so they narrow back exactly. */
    private static long[] longs(int[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[i];
        return r;
    }

    private static int[] ints(long[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) r[i] = (int) a[i];
        return r;
    }
}
