package dev.dragedit.ops.cpu;

import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

/**
 * StyleGAN2's modulated convolution, the fused_modconv path of {@code modulated_conv2d} in training/networks.py:
 * <pre>  v[n,o,i,·] = w[o,i,·]·s[n,i],   d[n,o] = (Σ_{i,k} v[n,o,i,k]² + 1e-8)^−½ (1 when not demodulating),
 *   y[n] = conv2d(x[n], v[n]·d[n], stride 1, padding)</pre>
 * The per-sample weights wN = v·d [N·Cout, Cin, kh, kw] are built here and the convolution is one grouped conv2d
 * (groups = N) over x viewed as [1, N·Cin, H, W], exactly as the reference does, so all the heavy lifting stays in
 * {@link CpuConv}.
 * <p>
 * Backward: the grouped conv2dBackward gives dx and G = dL/dwN. Chaining through demodulation,
 * <pre>  dv = d·G − d³·A·v,   A[n,o] = Σ_{i,k} G·v   (dv = G without demodulation)</pre>
 * then dw[o,i,k] = Σ_n dv[n,o,i,k]·s[n,i] and ds[n,i] = Σ_{o,k} dv[n,o,i,k]·w[o,i,k]. A equals the spec's
 * Σ g_o·c_o (c = conv(x·s, W)), written in weight space. The rows of length Cin·kh·kw are contiguous, so every
 * pass is a Vector API dot, scale or fma over a row, with the style broadcast to that layout once. The Vector API
 * halves live in {@link StyleGanModConvSimd}, reached only when {@link Simd#enabled()}, so this class names no Vector
 * API type and runs on its scalar loops without the incubator module.
 */
final class StyleGanModConv {
    private StyleGanModConv() {}

    private static final String OP = "modulatedConv2d";
    private static final String OP_BACK = "modulatedConv2dBackward";
    private static final double DEMOD_EPS = 1e-8;

    static Tensor forward(Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        Dims d = check(OP, x, w, styles, padding);
        float[] sRow = expandStyles(styles, d);
        Tensor wN = perSampleWeights(w, sRow, d, demodulate, null);                    // [N·Cout, Cin, kh, kw]
        Tensor y = CpuOps.INSTANCE.conv2d(x.reshape(1, d.n * d.cin, d.h, d.w), wN, null, params(d, padding));
        return y.reshape(d.n, d.cout, d.outH, d.outW);                                // [N, Cout, Ho, Wo]
    }

    static Tensor[] backward(Tensor gy, Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        Dims d = check(OP_BACK, x, w, styles, padding);
        StyleGanChecks.f32(OP_BACK, "gy", gy);
        StyleGanChecks.shape(OP_BACK, "gy", gy, new int[]{d.n, d.cout, d.outH, d.outW}, "[N, Cout, Ho, Wo]");
        float[] sRow = expandStyles(styles, d);
        float[] dcoef = demodulate ? new float[d.n * d.cout] : null;
        Tensor wN = perSampleWeights(w, sRow, d, demodulate, dcoef);                   // [N·Cout, Cin, kh, kw]
        Tensor[] g = CpuOps.INSTANCE.conv2dBackward(gy.reshape(1, d.n * d.cout, d.outH, d.outW),
                x.reshape(1, d.n * d.cin, d.h, d.w), wN, params(d, padding), true, true, false);
        Tensor dx = g[0].reshape(d.n, d.cin, d.h, d.w);                               // [N, Cin, H, W]
        float[] dv = g[1].data();                                                     // G, turned into dv in place
        float[] wd = w.data();
        int row = d.row;
        if (demodulate) {
            Parallel.forRange(d.n * d.cout, Math.max(1, 8192 / row), (r0, r1) -> {
                float[] v = new float[row];
                for (int r = r0; r < r1; r++) {
                    int n = r / d.cout, o = r % d.cout;
                    mulInto(wd, o * row, sRow, n * row, v, row);
                    double a = dot(dv, r * row, v, 0, row);
                    double dc = dcoef[r];
                    scaleSub(dv, r * row, (float) dc, v, (float) (dc * dc * dc * a), row);
                }
            });
        }
        Tensor dw = Tensor.zeros(w.shape());                                          // [Cout, Cin, kh, kw]
        float[] dwd = dw.data();
        Parallel.forRange(d.cout, Math.max(1, 8192 / (row * d.n)), (o0, o1) -> {
            for (int o = o0; o < o1; o++)
                for (int n = 0; n < d.n; n++) fmaInto(dv, (n * d.cout + o) * row, sRow, n * row, dwd, o * row, row);
        });
        Tensor ds = Tensor.zeros(d.n, d.cin);                                         // [N, Cin]
        float[] dsd = ds.data();
        int k2 = d.kh * d.kw;
        Parallel.forRange(d.n, 1, (n0, n1) -> {
            float[] t = new float[row];
            for (int n = n0; n < n1; n++) {
                Arrays.fill(t, 0f);
                for (int o = 0; o < d.cout; o++) fmaInto(dv, (n * d.cout + o) * row, wd, o * row, t, 0, row);
                for (int i = 0; i < d.cin; i++) {
                    double s = 0;
                    for (int k = 0; k < k2; k++) s += t[i * k2 + k];
                    dsd[n * d.cin + i] = (float) s;
                }
            }
        });
        return new Tensor[]{dx, dw, ds};
    }

    /** Sizes of one call; row = Cin·kh·kw, the length of one output channel's weights. */
    private record Dims(int n, int cin, int h, int w, int cout, int kh, int kw, int outH, int outW, int row) {}

    private static Dims check(String op, Tensor x, Tensor w, Tensor styles, int padding) {
        StyleGanChecks.f32(op, "x", x);
        StyleGanChecks.f32(op, "w", w);
        StyleGanChecks.f32(op, "styles", styles);
        StyleGanChecks.rank(op, "x", x, 4, "[N, Cin, H, W]");
        StyleGanChecks.rank(op, "w", w, 4, "[Cout, Cin, k, k]");
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        StyleGanChecks.shape(op, "w", w, new int[]{cout, cin, kh, kw}, "[Cout, Cin, k, k]");
        StyleGanChecks.shape(op, "styles", styles, new int[]{n, cin}, "[N, Cin]");
        if (padding < 0) throw new IllegalArgumentException(op + ": padding must be ≥ 0, found " + padding);
        if (kh < 1 || kw < 1 || n < 1 || cin < 1 || cout < 1)
            throw new IllegalArgumentException(op + ": x " + Arrays.toString(x.shape()) + " and w "
                    + Arrays.toString(w.shape()) + " must have N, Cin, Cout, kh and kw ≥ 1");
        int outH = h + 2 * padding - kh + 1, outW = wd + 2 * padding - kw + 1;
        if (outH < 1 || outW < 1)
            throw new IllegalArgumentException(op + ": x " + Arrays.toString(x.shape()) + " with padding " + padding
                    + " is smaller than the kernel " + kh + "×" + kw);
        return new Dims(n, cin, h, wd, cout, kh, kw, outH, outW, cin * kh * kw);
    }

    private static Conv2dParams params(Dims d, int padding) {
        return Conv2dParams.of(1, padding).withGroups(d.n);
    }

    /** styles [N, Cin] broadcast to the weight-row layout [N, Cin·kh·kw], so modulation is an element-wise product. */
    private static float[] expandStyles(Tensor styles, Dims d) {
        float[] s = styles.data();
        int k2 = d.kh * d.kw;
        float[] e = new float[d.n * d.row];
        for (int n = 0; n < d.n; n++)
            for (int i = 0; i < d.cin; i++)
                Arrays.fill(e, n * d.row + i * k2, n * d.row + (i + 1) * k2, s[n * d.cin + i]);
        return e;
    }

    /** wN[n·Cout + o] = w[o]·s[n]·d[n,o]; the demodulation coefficients go to dcoefOut when it is not null. */
    private static Tensor perSampleWeights(Tensor w, float[] sRow, Dims d, boolean demodulate, float[] dcoefOut) {
        Tensor wN = Tensor.zeros(d.n * d.cout, d.cin, d.kh, d.kw);                    // [N·Cout, Cin, kh, kw]
        float[] wd = w.data(), out = wN.data();
        int row = d.row;
        Parallel.forRange(d.n * d.cout, Math.max(1, 8192 / row), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int n = r / d.cout, o = r % d.cout;
                mulInto(wd, o * row, sRow, n * row, out, r * row, row);
                if (!demodulate) continue;
                double dc = 1.0 / Math.sqrt(dot(out, r * row, out, r * row, row) + DEMOD_EPS);
                scaleSub(out, r * row, (float) dc, null, 0f, row);
                if (dcoefOut != null) dcoefOut[r] = (float) dc;
            }
        });
        return wN;
    }

    // ---------------------------------------------------------------- row kernels (Vector API with scalar fallback)

    /** out[oo + j] = a[ao + j]·b[bo + j]. */
    private static void mulInto(float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        int j = Simd.enabled() ? StyleGanModConvSimd.mulInto(a, ao, b, bo, out, oo, n) : 0;
        for (; j < n; j++) out[oo + j] = a[ao + j] * b[bo + j];
    }

    private static void mulInto(float[] a, int ao, float[] b, int bo, float[] out, int n) {
        mulInto(a, ao, b, bo, out, 0, n);
    }

    /** Σ a[ao + j]·b[bo + j], vector lanes in float, the lane total and the tail in double. */
    private static double dot(float[] a, int ao, float[] b, int bo, int n) {
        int j = 0;
        double s = 0;
        if (Simd.enabled()) {
            s = StyleGanModConvSimd.dotHead(a, ao, b, bo, n);
            j = StyleGanModConvSimd.head(n);
        }
        for (; j < n; j++) s += (double) a[ao + j] * b[bo + j];
        return s;
    }

    /** y[yo + j] = y[yo + j]·alpha − beta·v[j] (v may be null when beta is 0). */
    private static void scaleSub(float[] y, int yo, float alpha, float[] v, float beta, int n) {
        int j = Simd.enabled() ? StyleGanModConvSimd.scaleSub(y, yo, alpha, v, beta, n) : 0;
        for (; j < n; j++) y[yo + j] = y[yo + j] * alpha - (v == null ? 0f : beta * v[j]);
    }

    /** out[oo + j] += a[ao + j]·b[bo + j]. */
    private static void fmaInto(float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        int j = Simd.enabled() ? StyleGanModConvSimd.fmaInto(a, ao, b, bo, out, oo, n) : 0;
        for (; j < n; j++) out[oo + j] += a[ao + j] * b[bo + j];
    }
}
