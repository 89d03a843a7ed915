package dev.dragedit.ops.shape;

import java.util.Arrays;

/**
 * Shape validation and batch-broadcast plans of matmul, linear and the linear backward (PyTorch semantics), shared by
 * every backend so that the checks, the output shapes and the error messages are one piece of code. It works on
 * shapes only: each backend checks dtype and device first (in its own words), then asks this class for the shapes.
 */
public final class MatmulShapes {
    private MatmulShapes() {}

    /**
     * A validated matmul: op(A) is M×K, op(B) is K×N, {@code batch} the broadcast batch dimensions and
     * {@code out} = batch ++ [M, N].
     */
    public record Matmul(int m, int k, int n, int[] batch, int[] out) {}

    /** A validated linear: w [out, in]; {@code x} is the input shape (the forward's, or the backward's expected one). */
    public record Linear(int out, int in, int[] x, int[] y) {}

    /** a [..., M, K] (or [..., K, M] when transA) · b [..., K, N] (or [..., N, K] when transB) → [..., M, N]. */
    public static Matmul matmul(int[] as, int[] bs, boolean transA, boolean transB) {
        if (as.length < 2)
            throw new IllegalArgumentException("matmul: a has shape " + Arrays.toString(as) + ", expected at least 2 dimensions "
                    + (transA ? "[..., K, M]" : "[..., M, K]"));
        if (bs.length < 2)
            throw new IllegalArgumentException("matmul: b has shape " + Arrays.toString(bs) + ", expected at least 2 dimensions "
                    + (transB ? "[..., N, K]" : "[..., K, N]"));
        int ra = as.length, rb = bs.length;
        int m = transA ? as[ra - 1] : as[ra - 2], k = transA ? as[ra - 2] : as[ra - 1];
        int kb = transB ? bs[rb - 1] : bs[rb - 2], n = transB ? bs[rb - 2] : bs[rb - 1];
        if (k != kb)
            throw new IllegalArgumentException("matmul: a has shape " + Arrays.toString(as) + (transA ? " (transposed)" : "")
                    + " with K = " + k + ", so b " + (transB ? "(transposed) must be [..., N, " : "must be [..., ") + k
                    + (transB ? "]" : ", N]") + ", found " + Arrays.toString(bs));
        int rank = Math.max(ra, rb) - 2;
        int[] batch = new int[rank];
        for (int d = 0; d < rank; d++) {
            int da = dimAligned(as, ra - 2, rank, d), db = dimAligned(bs, rb - 2, rank, d);
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException("matmul: batch dimensions of a " + Arrays.toString(as) + " and b "
                        + Arrays.toString(bs) + " do not broadcast (" + da + " vs " + db + " at batch dimension " + d + ")");
            batch[d] = da == 1 ? db : da;
        }
        int[] out = Arrays.copyOf(batch, rank + 2);             // [..., M, N]
        out[rank] = m;
        out[rank + 1] = n;
        return new Matmul(m, k, n, batch, out);
    }

    /** Size of batch dimension d (of {@code rank}, right-aligned) of a shape whose batch part has {@code own} dims. */
    public static int dimAligned(int[] shape, int own, int rank, int d) {
        int i = d - (rank - own);
        return i < 0 ? 1 : shape[i];
    }

    /**
     * Per output batch dimension, how many matrices an operand whose batch dimensions are {@code own} advances; 0
     * where it broadcasts.
     */
    public static int[] matrixStrides(int[] own, int[] batch) {
        int rank = batch.length;
        int[] strides = new int[rank];
        int s = 1;
        for (int d = rank - 1; d >= 0; d--) {
            int size = dimAligned(own, own.length, rank, d);
            strides[d] = size == 1 ? 0 : s;
            s *= size;
        }
        return strides;
    }

    /** x [..., in] · wᵀ + bias: w [out, in], bias [out] (null shape when absent) → y [..., out]. */
    public static Linear linear(int[] xs, int[] ws, int[] bias) {
        if (ws.length != 2)
            throw new IllegalArgumentException("linear: w has shape " + Arrays.toString(ws) + ", expected [out, in]");
        int out = ws[0], in = ws[1];
        if (xs.length < 1 || xs[xs.length - 1] != in)
            throw new IllegalArgumentException("linear: x has shape " + Arrays.toString(xs) + ", expected [..., in=" + in + "]");
        if (bias != null && !Arrays.equals(bias, new int[]{out}))
            throw new IllegalArgumentException("linear: bias has shape " + Arrays.toString(bias) + ", expected [out=" + out + "]");
        int[] ys = xs.clone();                                  // [..., out]
        ys[ys.length - 1] = out;
        return new Linear(out, in, xs, ys);
    }

    /** Validates w [out, in] and gy [..., out] of linearBackward; {@code x} of the result is the shape x must have. */
    public static Linear linearBackward(int[] gs, int[] ws) {
        if (ws.length != 2)
            throw new IllegalArgumentException("linearBackward: w has shape " + Arrays.toString(ws) + ", expected [out, in]");
        int out = ws[0], in = ws[1];
        if (gs.length < 1 || gs[gs.length - 1] != out)
            throw new IllegalArgumentException("linearBackward: gy has shape " + Arrays.toString(gs) + ", expected [..., out=" + out + "]");
        int[] xs = gs.clone();                                  // [..., in]
        xs[xs.length - 1] = in;
        return new Linear(out, in, xs, gs);
    }

    /** Checks linearBackward's x against the shape {@link #linearBackward} expects (x null only when dw is not needed). */
    public static void linearBackwardX(int[] x, Linear s, boolean needW) {
        if (x != null) {
            if (!Arrays.equals(x, s.x()))
                throw new IllegalArgumentException("linearBackward: x has shape " + Arrays.toString(x)
                        + ", expected " + Arrays.toString(s.x()) + " (gy's leading dimensions, then in=" + s.in() + ")");
        } else if (needW) {
            throw new IllegalArgumentException("linearBackward: x is null, but it is needed for the gradient of w");
        }
    }
}
