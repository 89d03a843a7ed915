package dev.dragedit.ops.cpu;

/**
 * The short vector loops of the convolution outside its GEMM: accumulate a row segment (col2im), add a bias to an
 * output plane, sum a gradient plane (dbias). Each takes the Vector API path ({@link ConvVecSimd}) when
 * {@link Simd#enabled()} and a plain loop otherwise; this class names no Vector API type, so the convolution loads
 * and runs without the incubator module.
 */
final class ConvVec {
    private ConvVec() {}

    /** dst[d + i] += src[s + i] for i < len. */
    static void addInto(float[] dst, int d, float[] src, int s, int len) {
        int i = Simd.enabled() ? ConvVecSimd.addInto(dst, d, src, s, len) : 0;
        for (; i < len; i++) dst[d + i] += src[s + i];
    }

    /** a[off + i] += v for i < len. */
    static void addScalar(float[] a, int off, int len, float v) {
        int i = Simd.enabled() ? ConvVecSimd.addScalar(a, off, len, v) : 0;
        for (; i < len; i++) a[off + i] += v;
    }

    /** Σ a[off + i] for i < len, in several partial sums (lanes) so long planes lose little precision. */
    static float sum(float[] a, int off, int len) {
        int i = 0;
        float s = 0;
        if (Simd.enabled()) {
            s = ConvVecSimd.sumHead(a, off, len);
            i = ConvVecSimd.head(len);
        }
        float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (; i + 3 < len; i += 4) {
            t0 += a[off + i];
            t1 += a[off + i + 1];
            t2 += a[off + i + 2];
            t3 += a[off + i + 3];
        }
        for (; i < len; i++) t0 += a[off + i];
        return s + ((t0 + t1) + (t2 + t3));
    }
}
