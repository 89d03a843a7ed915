// Shape ops that move data without arithmetic: concat, slice and its backward, permute, constant pad and its backward.
//
// concat, slice, sliceBackward, pad and padBackward are all "copy a box of one tensor into a box of another": copyBox
// coalesces the box's dimensions where both tensors are contiguous across them, then copies whole runs with
// System.arraycopy, rows split across threads. permute copies runs when the last dimension stays innermost and
// otherwise transposes 32×32 tiles between the output's innermost dimension and the one that is innermost in the
// input, so both sides are read and written a cache line at a time.
package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

import static dev.dragedit.ops.cpu.ElementwiseChecks.f32;
import static dev.dragedit.ops.cpu.ElementwiseChecks.str;
import static dev.dragedit.ops.cpu.ElementwiseChecks.strides;

final class CpuShape {
    private CpuShape() {}

    private static final int GRAIN = Broadcast.GRAIN, TILE = 32;

    // ------------------------------------------------------------------ concat

    public static Tensor concat(Tensor[] xs, int dim) {
        if (xs == null || xs.length == 0) throw new IllegalArgumentException("concat: expected at least one tensor, found none");
        for (int i = 0; i < xs.length; i++) f32("concat", "xs[" + i + "]", xs[i]);
        int[] first = xs[0].shape();
        if (first.length == 0) throw new IllegalArgumentException("concat: xs[0] has shape [], expected rank ≥ 1");
        int d = ElementwiseChecks.dim("concat", "dim", dim, first.length);
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

    /** Python slice bounds: negative values count from the end, then both are clamped into [0, size]. */
    private static int[] bounds(int start, int end, int size) {
        int s = start < 0 ? start + size : start, e = end < 0 ? end + size : end;
        s = Math.max(0, Math.min(s, size));
        e = Math.max(s, Math.min(e, size));
        return new int[]{s, e};
    }

    public static Tensor slice(Tensor x, int dim, int start, int end) {
        f32("slice", "x", x);
        int[] shape = x.shape();
        int d = ElementwiseChecks.dim("slice", "dim", dim, shape.length);
        int[] se = bounds(start, end, shape[d]);
        int[] outShape = shape.clone();
        outShape[d] = se[1] - se[0];                        // [..., end − start, ...]
        int[] from = new int[shape.length];
        from[d] = se[0];
        Tensor out = Tensor.zeros(outShape);
        copyBox(x.data(), shape, from, out.data(), outShape, new int[shape.length], outShape);
        return out;
    }

    public static Tensor sliceBackward(Tensor gy, int[] inShape, int dim, int start, int end) {
        f32("sliceBackward", "gy", gy);
        ElementwiseChecks.shapeNotNull("sliceBackward", "inShape", inShape);
        int d = ElementwiseChecks.dim("sliceBackward", "dim", dim, inShape.length);
        int[] se = bounds(start, end, inShape[d]);
        int[] gyShape = inShape.clone();
        gyShape[d] = se[1] - se[0];
        if (!Arrays.equals(gy.shape(), gyShape))
            throw new IllegalArgumentException("sliceBackward: gy has shape " + str(gy.shape()) + ", expected " + str(gyShape)
                    + " (inShape " + str(inShape) + " sliced to [" + se[0] + ", " + se[1] + ") along dim " + d + ")");
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
        checkPads("pad", pads, shape.length);
        int[] outShape = shape.clone();
        for (int i = 0; i < pads.length / 2; i++) {
            int d = shape.length - 1 - i;
            outShape[d] = shape[d] + pads[2 * i] + pads[2 * i + 1];   // pads[2i] before, pads[2i+1] after dim d
            if (outShape[d] < 0)
                throw new IllegalArgumentException("pad: dimension " + d + " of x " + str(shape) + " with pads (" + pads[2 * i] + ", "
                        + pads[2 * i + 1] + ") would have size " + outShape[d] + ", expected ≥ 0");
        }
        Tensor out = value == 0f ? Tensor.zeros(outShape) : Tensor.full(value, outShape);
        copyOverlap(x.data(), shape, out.data(), outShape, pads, false);
        return out;
    }

    public static Tensor padBackward(Tensor gy, int[] pads) {
        f32("padBackward", "gy", gy);
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
        Tensor dx = Tensor.zeros(inShape);
        copyOverlap(gy.data(), gyShape, dx.data(), inShape, pads, true);
        return dx;
    }

    private static void checkPads(String op, int[] pads, int rank) {
        if (pads == null) throw new IllegalArgumentException(op + ": pads is null, expected (lastBefore, lastAfter, ...)");
        if (pads.length % 2 != 0 || pads.length > 2 * rank)
            throw new IllegalArgumentException(op + ": pads " + Arrays.toString(pads) + " has " + pads.length
                    + " entries, expected an even number ≤ 2·rank = " + 2 * rank);
    }

    /**
     * Copies the part of the unpadded tensor that survives padding, between the unpadded tensor u (index i) and the
     * padded tensor p (index i + before): u → p for pad, p → u for its backward.
     */
    private static void copyOverlap(float[] src, int[] srcShape, float[] dst, int[] dstShape, int[] pads, boolean backward) {
        int rank = srcShape.length;
        int[] srcStart = new int[rank], dstStart = new int[rank], box = srcShape.clone();
        for (int i = 0; i < pads.length / 2; i++) {
            int d = rank - 1 - i, before = pads[2 * i];
            int uStart = Math.max(0, -before), pStart = Math.max(0, before);
            srcStart[d] = backward ? pStart : uStart;
            dstStart[d] = backward ? uStart : pStart;
            box[d] = Math.max(0, Math.min(srcShape[d] - srcStart[d], dstShape[d] - dstStart[d]));
        }
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
        int[] n = new int[rank], cs = new int[rank], cd = new int[rank];
        int r = 0;
        for (int i = rank - 1; i >= 0; i--) {
            if (box[i] == 1) continue;
            if (r > 0 && ss[i] == cs[r - 1] * n[r - 1] && ds[i] == cd[r - 1] * n[r - 1]) n[r - 1] *= box[i];
            else { n[r] = box[i]; cs[r] = ss[i]; cd[r] = ds[i]; r++; }
        }
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
        if (perm == null || perm.length != rank)
            throw new IllegalArgumentException("permute: perm " + (perm == null ? "null" : Arrays.toString(perm)) + " has "
                    + (perm == null ? 0 : perm.length) + " entries, expected " + rank + " (the rank of x " + str(shape) + ")");
        int[] p = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            p[i] = ElementwiseChecks.dim("permute", "perm entry", perm[i], rank);
            if (seen[p[i]])
                throw new IllegalArgumentException("permute: perm " + Arrays.toString(perm) + " names dimension " + p[i]
                        + " twice, expected a permutation of 0.." + (rank - 1));
            seen[p[i]] = true;
        }
        int[] inStr = strides(shape), outShape = new int[rank], s = new int[rank];
        for (int i = 0; i < rank; i++) { outShape[i] = shape[p[i]]; s[i] = inStr[p[i]]; }   // out dim i reads input dim p[i]
        Tensor out = Tensor.zeros(outShape);
        float[] o = out.data();
        if (xd.length == 0) return out;
        // Coalesce output dimensions (innermost first) that stay adjacent and in order in the input.
        int[] n = new int[rank], cs = new int[rank];
        int r = 0;
        for (int i = rank - 1; i >= 0; i--) {
            if (outShape[i] == 1) continue;
            if (r > 0 && s[i] == cs[r - 1] * n[r - 1]) n[r - 1] *= outShape[i];
            else { n[r] = outShape[i]; cs[r] = s[i]; r++; }
        }
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
}
