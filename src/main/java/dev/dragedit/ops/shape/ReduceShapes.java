// Argument checks and shape arithmetic of the reductions (sum, mean, sumTo), backend-neutral: ops.cpu.CpuReduce
// and cuda.ops.CudaReduce both turn their arguments into a mask of reduced dimensions and an output shape here, so the
// two backends accept the same arguments with the same messages. Also the coalescing both run before reducing: the
// input becomes alternating runs of reduced and kept dimensions (size-1 dimensions dropped, neighbours of the same
// kind merged, which is exact for a contiguous tensor). The summing loops and kernels stay in the backends.
package dev.dragedit.ops.shape;

import java.util.Arrays;

public final class ReduceShapes {
    private ReduceShapes() {}

    /** Which dimensions of {@code shape} sum/mean reduce: those in dims (negative from the end), all when dims is empty. */
    public static boolean[] reducedDims(String op, int[] shape, int[] dims) {
        if (dims == null) throw new IllegalArgumentException(op + ": dims is null, expected dimensions (empty for all)");
        int rank = shape.length;
        boolean[] reduced = new boolean[rank];
        if (dims.length == 0) Arrays.fill(reduced, true);
        for (int d : dims) {
            // A rank-0 tensor accepts dimension 0 or −1, as in PyTorch; there is nothing to reduce.
            if (rank == 0) { ShapeOpShapes.dim(op, "dim", d, 1); continue; }
            int r = ShapeOpShapes.dim(op, "dim", d, rank);
            if (reduced[r])
                throw new IllegalArgumentException(op + ": dim " + r + " appears more than once in dims " + Arrays.toString(dims));
            reduced[r] = true;
        }
        return reduced;
    }

    /** How many input elements each output sums: the product of the reduced sizes. */
    public static long count(int[] shape, boolean[] reduced) {
        long count = 1;
        for (int i = 0; i < shape.length; i++) if (reduced[i]) count *= shape[i];
        return count;
    }

    /** The result shape: reduced dimensions become 1 (keepDim) or disappear. */
    public static int[] outShape(int[] shape, boolean[] reduced, boolean keepDim) {
        int rank = shape.length, kept = 0;
        for (boolean b : reduced) if (!b) kept++;
        int[] outShape;
        if (keepDim) {
            outShape = shape.clone();
            for (int i = 0; i < rank; i++) if (reduced[i]) outShape[i] = 1;
        } else {
            outShape = new int[kept];
            for (int i = 0, k = 0; i < rank; i++) if (!reduced[i]) outShape[k++] = shape[i];
        }
        return outShape;
    }

    /**
     * Which dimensions of a gradient of shape gs sumTo sums to reach {@code shape}: the leading dimensions that shape
     * lacks and those where it has size 1. Extra leading 1s in {@code shape} are allowed.
     */
    public static boolean[] sumToDims(int[] gs, int[] shape) {
        ShapeOpShapes.shapeNotNull("sumTo", "shape", shape);
        int extra = Math.max(0, shape.length - gs.length);
        for (int i = 0; i < extra; i++) if (shape[i] != 1) throw sumToError(gs, shape);
        int[] target = Arrays.copyOfRange(shape, extra, shape.length);   // shape without its surplus leading 1s
        int lead = gs.length - target.length;
        boolean[] reduced = new boolean[gs.length];
        for (int i = 0; i < gs.length; i++) {
            if (i < lead) { reduced[i] = true; continue; }
            int t = target[i - lead];
            if (t != gs[i] && t != 1) throw sumToError(gs, shape);
            reduced[i] = t == 1 && gs[i] != 1;
        }
        return reduced;
    }

    public static IllegalArgumentException sumToError(int[] gs, int[] shape) {
        return new IllegalArgumentException("sumTo: cannot sum a gradient of shape " + Arrays.toString(gs) + " down to "
                + Arrays.toString(shape) + ": expected a shape that broadcasts to " + Arrays.toString(gs));
    }

    /** Coalesced runs from the innermost outwards: {@code runs} of size[k], reduced when red[k]; arrays hold exactly runs. */
    public record Runs(int[] size, boolean[] red, int runs) {}

    public static Runs coalesce(int[] shape, boolean[] reduced) {
        int[] size = new int[shape.length];
        boolean[] red = new boolean[shape.length];
        int r = 0;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 1) continue;
            if (r > 0 && red[r - 1] == reduced[i]) size[r - 1] *= shape[i];
            else { size[r] = shape[i]; red[r] = reduced[i]; r++; }
        }
        return new Runs(Arrays.copyOf(size, r), Arrays.copyOf(red, r), r);
    }
}
