package dev.dragedit.ops.cpu;

/**
 * Softmax of one contiguous row and its backward, shared by {@link CpuNorm#softmax} and the attention kernels
 * ({@link CpuAttention}), where the rows are the score rows of a query block.
 * <p>
 * Forward: y = exp(x − max) / Σ exp(x − max). Subtracting the row maximum keeps every exponent ≤ 0, so nothing
 * overflows and −inf entries get weight exactly 0. A row whose entries are all −inf has max −inf and x − max = NaN,
 * so it comes out all NaN — what torch.softmax returns for such a row (mathematically undefined); a +inf entry
 * likewise makes its row NaN, as in torch.
 * <p>
 * The SIMD path evaluates exp with its own Cephes-style polynomial (range reduction by ln 2, degree-6 polynomial,
 * 2ⁿ built in the exponent bits; within 1 ulp of Math.exp over the x ≤ 0 range softmax uses, flushing results below
 * e^−87 ≈ 1.6e-38 to 0). It is portable, unlike VectorOperators.EXP, which is only fast where the JDK has SVML
 * stubs. The scalar path uses Math.exp. Row sums are flushed from float lanes to a double every 512 elements.
 * The Vector API code lives in {@link SoftmaxRowsSimd}, only reached when {@link Simd#enabled()}, so this class names
 * no Vector API type and runs on its scalar loops without the incubator module.
 */
final class SoftmaxRows {
    private SoftmaxRows() {}

    /** y[offY, offY + n) = softmax(x[offX, offX + n)); y may be x itself at the same offset. */
    static void forward(float[] x, int offX, float[] y, int offY, int n) {
        if (n == 0) return;
        float max = max(x, offX, n);
        double sum = expShifted(x, offX, y, offY, n, max);
        scale(y, offY, n, (float) (1.0 / sum));
    }

    /**
     * dx = y·(g − Σ g·y) over one row (the softmax backward from its output); dx may be g itself at the same
     * offset, which the attention backward uses to turn dP into dS in place.
     */
    static void backward(float[] g, int offG, float[] y, int offY, float[] dx, int offD, int n) {
        float dot = (float) dot(g, offG, y, offY, n);
        int i = Simd.enabled() ? SoftmaxRowsSimd.backward(g, offG, y, offY, dx, offD, n, dot) : 0;
        for (; i < n; i++) dx[offD + i] = (g[offG + i] - dot) * y[offY + i];
    }

    static float max(float[] x, int off, int n) {
        if (Simd.enabled()) return SoftmaxRowsSimd.max(x, off, n);
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    /** y = exp(x − shift) element-wise; returns Σ y. */
    static double expShifted(float[] x, int offX, float[] y, int offY, int n, float shift) {
        if (Simd.enabled()) return SoftmaxRowsSimd.expShifted(x, offX, y, offY, n, shift);
        double total = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[offX + i] - shift);
            y[offY + i] = e;
            total += e;
        }
        return total;
    }

    static void scale(float[] y, int off, int n, float s) {
        int i = Simd.enabled() ? SoftmaxRowsSimd.scale(y, off, n, s) : 0;
        for (; i < n; i++) y[off + i] *= s;
    }

    static double dot(float[] a, int offA, float[] b, int offB, int n) {
        if (Simd.enabled()) return SoftmaxRowsSimd.dot(a, offA, b, offB, n);
        double total = 0;
        for (int i = 0; i < n; i++) total += (double) a[offA + i] * b[offB + i];
        return total;
    }
}
