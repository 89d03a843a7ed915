// Argument checks and shape arithmetic of the shape ops (concat, slice, sliceBackward, pad, padBackward, permute),
// backend-neutral: ops.cpu.CpuShape and cuda.ops.CudaShape both validate and size their outputs here, so the two
// backends accept the same arguments with the same messages. Also the dimension coalescing both use before a strided
// box copy: dimensions merge where every tensor involved is contiguous across them. The copies themselves stay in
// the backends.
package dev.dragedit.ops.shape;

import java.util.Arrays;

public final class ShapeOpShapes {
    private ShapeOpShapes() {}

    /** A dimension index in [0, rank); negative values count from the end. */
    public static int dim(String op, String what, int d, int rank) {
        int r = d < 0 ? d + rank : d;
        if (r < 0 || r >= rank)
            throw new IllegalArgumentException(op + ": " + what + " " + d + " is out of range for a tensor of rank " + rank
                    + ", expected " + -rank + " ≤ " + what + " < " + rank);
        return r;
    }

    public static void shapeNotNull(String op, String arg, int[] shape) {
        if (shape == null) throw new IllegalArgumentException(op + ": " + arg + " is null, expected a shape");
        for (int s : shape)
            if (s < 0) throw new IllegalArgumentException(op + ": " + arg + " " + str(shape) + " has a negative dimension");
    }

    /** Contiguous row-major strides, in long for device offsets. */
    public static long[] strides(int[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    // ------------------------------------------------------------------ concat

    /** The normalised concat dimension for xs[0] of shape {@code first}; rank 0 cannot be concatenated. */
    public static int concatDim(int[] first, int dim) {
        if (first.length == 0) throw new IllegalArgumentException("concat: xs[0] has shape [], expected rank ≥ 1");
        return dim("concat", "dim", dim, first.length);
    }

    /** The result shape of concatenating tensors of the given shapes along (normalised) dimension d. */
    public static int[] concatShape(int[][] shapes, int d) {
        int[] first = shapes[0];
        int[] outShape = first.clone();
        outShape[d] = 0;
        for (int i = 0; i < shapes.length; i++) {
            int[] s = shapes[i];
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
        return outShape;
    }

    // ------------------------------------------------------------------ slice

    /** Python slice bounds: negative values count from the end, then both are clamped into [0, size]. */
    public static int[] bounds(int start, int end, int size) {
        int s = start < 0 ? start + size : start, e = end < 0 ? end + size : end;
        s = Math.max(0, Math.min(s, size));
        e = Math.max(s, Math.min(e, size));
        return new int[]{s, e};
    }

    /** {@code shape} with dimension d cut to the slice [se[0], se[1]). */
    public static int[] slicedShape(int[] shape, int d, int[] se) {
        int[] out = shape.clone();
        out[d] = se[1] - se[0];                             // [..., end − start, ...]
        return out;
    }

    /** Checks that sliceBackward's gy has the shape of inShape sliced to se along d. */
    public static void checkSliceGrad(int[] gyShape, int[] inShape, int d, int[] se) {
        int[] want = slicedShape(inShape, d, se);
        if (!Arrays.equals(gyShape, want))
            throw new IllegalArgumentException("sliceBackward: gy has shape " + str(gyShape) + ", expected " + str(want)
                    + " (inShape " + str(inShape) + " sliced to [" + se[0] + ", " + se[1] + ") along dim " + d + ")");
    }

    // ------------------------------------------------------------------ pad

    public static void checkPads(String op, int[] pads, int rank) {
        if (pads == null) throw new IllegalArgumentException(op + ": pads is null, expected (lastBefore, lastAfter, ...)");
        if (pads.length % 2 != 0 || pads.length > 2 * rank)
            throw new IllegalArgumentException(op + ": pads " + Arrays.toString(pads) + " has " + pads.length
                    + " entries, expected an even number ≤ 2·rank = " + 2 * rank);
    }

    /** pad's result shape: pads[2i] before and pads[2i+1] after dimension rank − 1 − i. */
    public static int[] paddedShape(int[] shape, int[] pads) {
        checkPads("pad", pads, shape.length);
        int[] outShape = shape.clone();
        for (int i = 0; i < pads.length / 2; i++) {
            int d = shape.length - 1 - i;
            outShape[d] = shape[d] + pads[2 * i] + pads[2 * i + 1];   // pads[2i] before, pads[2i+1] after dim d
            if (outShape[d] < 0)
                throw new IllegalArgumentException("pad: dimension " + d + " of x " + str(shape) + " with pads (" + pads[2 * i] + ", "
                        + pads[2 * i + 1] + ") would have size " + outShape[d] + ", expected ≥ 0");
        }
        return outShape;
    }

    /** padBackward's result shape: the input that pad turned into a tensor of gyShape. */
    public static int[] unpaddedShape(int[] gyShape, int[] pads) {
        checkPads("padBackward", pads, gyShape.length);
        int[] inShape = gyShape.clone();
        for (int i = 0; i < pads.length / 2; i++) {
            int d = gyShape.length - 1 - i;
            inShape[d] = gyShape[d] - pads[2 * i] - pads[2 * i + 1];
            if (inShape[d] < 0)
                throw new IllegalArgumentException("padBackward: gy " + str(gyShape) + " is too small for pads " + Arrays.toString(pads)
                        + ": dimension " + d + " of the input would have size " + inShape[d]);
        }
        return inShape;
    }

    /**
     * The box that survives padding between the unpadded tensor u (index i) and the padded p (index i + before), as
     * {srcStart, dstStart, box}: u → p for pad, p → u for its backward.
     */
    public static int[][] padOverlap(int[] srcShape, int[] dstShape, int[] pads, boolean backward) {
        int rank = srcShape.length;
        int[] srcStart = new int[rank], dstStart = new int[rank], box = srcShape.clone();
        for (int i = 0; i < pads.length / 2; i++) {
            int d = rank - 1 - i, before = pads[2 * i];
            int uStart = Math.max(0, -before), pStart = Math.max(0, before);
            srcStart[d] = backward ? pStart : uStart;
            dstStart[d] = backward ? uStart : pStart;
            box[d] = Math.max(0, Math.min(srcShape[d] - srcStart[d], dstShape[d] - dstStart[d]));
        }
        return new int[][]{srcStart, dstStart, box};
    }

    // ------------------------------------------------------------------ permute

    /** perm with every entry normalised, or an IllegalArgumentException when it is not a permutation of x's dims. */
    public static int[] permutation(int[] perm, int[] shape) {
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
        return p;
    }

    // ------------------------------------------------------------------ coalescing

    /** A box walked innermost first: {@code kept} dimensions of size n[k], read with stride s1[k] and written with s2[k]. */
    public record Runs(int[] n, long[] s1, long[] s2, int kept) {}

    /**
     * Drops size-1 dimensions of {@code extent} and merges a dimension into the kept one inside it when both stride
     * lists (s2 may be null, for one tensor only) step through the pair as through one dimension.
     */
    public static Runs coalesce(int[] extent, long[] s1, long[] s2) {
        int rank = extent.length;
        int[] n = new int[rank];
        long[] c1 = new long[rank], c2 = new long[rank];
        int r = 0;
        for (int i = rank - 1; i >= 0; i--) {
            if (extent[i] == 1) continue;
            long t2 = s2 == null ? 0 : s2[i];
            if (r > 0 && s1[i] == c1[r - 1] * n[r - 1] && t2 == c2[r - 1] * n[r - 1]) n[r - 1] *= extent[i];
            else { n[r] = extent[i]; c1[r] = s1[i]; c2[r] = t2; r++; }
        }
        return new Runs(n, c1, c2, r);
    }

    private static String str(int[] shape) { return Arrays.toString(shape); }
}
