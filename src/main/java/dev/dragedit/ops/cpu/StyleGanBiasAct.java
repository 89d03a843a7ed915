package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

/**
 * StyleGAN2's bias_act with the lrelu activation (torch_utils/ops/bias_act.py, {@code _bias_act_ref}):
 * <pre>  y = clamp(lrelu_alpha(x + bias[c]) · gain, −clamp, clamp)</pre>
 * with bias along dim 1, lrelu_alpha(v) = v for v > 0 else alpha·v (alpha = 1: the linear activation) and no clamp
 * when clamp ≤ 0 (the reference disables it with clamp = −1; a zero clamp is never used by the networks).
 * <p>
 * The backward reads only the output y, like the reference's CUDA kernel (ref='y'), so the forward input need not be
 * kept: dx = gy·gain·(y > 0 ? 1 : alpha), and 0 where |y| ≥ clamp. A value exactly at ±clamp is treated as clamped
 * (the kernel's {@code abs(y) < clamp} test): from y alone an unclamped value landing exactly on the bound cannot be
 * told apart from a clamped one, and the clamped case is the one that produces it in practice. dbias sums dx over
 * every dimension but 1. This is valid for gain > 0, as in every StyleGAN2 layer (the sign of y must be that of the
 * activation's input).
 * <p>
 * The data are walked as contiguous segments that share one bias value (one (n, c) plane, or fixed-size blocks
 * without a bias), in parallel; the inner loops are Vector API ({@link StyleGanBiasActSimd}, only reached when
 * {@link Simd#enabled()}, so this class loads without the incubator module) with a scalar tail and a scalar fallback.
 */
final class StyleGanBiasAct {
    private StyleGanBiasAct() {}

    private static final String OP = "biasAct";
    private static final String OP_BACK = "biasActBackward";
    /** Segment length when there is no bias to follow: large enough to amortise the loop, small enough to spread. */
    private static final int BLOCK = 4096;

    static Tensor forward(Tensor x, Tensor bias, float alpha, float gain, float clamp) {
        StyleGanChecks.f32(OP, "x", x);
        Layout l = layout(OP, x, bias != null);
        float[] b = null;
        if (bias != null) {
            StyleGanChecks.f32(OP, "bias", bias);
            StyleGanChecks.shape(OP, "bias", bias, new int[]{l.channels}, "[C = x.shape[1]]");
            b = bias.data();
        }
        float[] xd = x.data();
        Tensor y = Tensor.zeros(x.shape());                                           // same shape as x
        float[] yd = y.data();
        float[] bd = b;
        Parallel.forRange(l.segments, Math.max(1, 16384 / Math.max(1, l.segLen)), (s0, s1) -> {
            for (int s = s0; s < s1; s++) {
                int off = s * l.segLen, len = Math.min(l.segLen, l.n - off);
                float bv = bd == null ? 0f : bd[s % l.channels];
                int i = Simd.enabled() ? StyleGanBiasActSimd.forward(xd, yd, off, len, bv, alpha, gain, clamp) : 0;
                for (; i < len; i++) {
                    float v = xd[off + i] + bv;
                    v = v > 0 ? v : v * alpha;
                    v *= gain;
                    if (clamp > 0) v = Math.min(Math.max(v, -clamp), clamp);
                    yd[off + i] = v;
                }
            }
        });
        return y;
    }

    static Tensor[] backward(Tensor gy, Tensor y, boolean needBias, float alpha, float gain, float clamp) {
        StyleGanChecks.f32(OP_BACK, "gy", gy);
        StyleGanChecks.f32(OP_BACK, "y", y);
        if (!gy.sameShape(y))
            throw new IllegalArgumentException(OP_BACK + ": gy has shape " + Arrays.toString(gy.shape())
                    + ", expected the shape of y " + Arrays.toString(y.shape()));
        Layout l = layout(OP_BACK, y, needBias);
        float[] gd = gy.data(), yd = y.data();
        Tensor dx = Tensor.zeros(y.shape());                                          // same shape as y
        float[] dd = dx.data();
        double[] segSum = needBias ? new double[l.segments] : null;
        float pos = gain, neg = alpha * gain;
        Parallel.forRange(l.segments, Math.max(1, 16384 / Math.max(1, l.segLen)), (s0, s1) -> {
            for (int s = s0; s < s1; s++) {
                int off = s * l.segLen, len = Math.min(l.segLen, l.n - off);
                double sum = 0;
                int i = 0;
                if (Simd.enabled()) {
                    i = StyleGanBiasActSimd.head(len);
                    sum = StyleGanBiasActSimd.backward(gd, yd, dd, off, i, pos, neg, clamp);
                }
                for (; i < len; i++) {
                    float yv = yd[off + i];
                    float g = gd[off + i] * (yv > 0 ? pos : neg);
                    if (clamp > 0 && !(Math.abs(yv) < clamp)) g = 0f;
                    dd[off + i] = g;
                    sum += g;
                }
                if (segSum != null) segSum[s] = sum;
            }
        });
        Tensor db = null;
        if (needBias) {
            // Per-segment partial sums are combined in a fixed order so the result does not depend on the threads.
            double[] acc = new double[l.channels];
            for (int s = 0; s < l.segments; s++) acc[s % l.channels] += segSum[s];
            db = Tensor.zeros(l.channels);                                            // [C]
            float[] dbd = db.data();
            for (int ch = 0; ch < l.channels; ch++) dbd[ch] = (float) acc[ch];
        }
        return new Tensor[]{dx, db};
    }

    /**
     * How the flat data split into segments: with a bias, one segment per (n, c) plane of segLen = Π dims[2:]
     * elements, channel = segment mod C; without, fixed blocks.
     */
    private record Layout(int n, int channels, int segLen, int segments) {}

    private static Layout layout(String op, Tensor t, boolean perChannel) {
        int n = t.numel();
        if (perChannel) {
            if (t.rank() < 2)
                throw new IllegalArgumentException(op + ": " + (op.equals(OP) ? "x" : "y") + " has shape "
                        + Arrays.toString(t.shape()) + ", expected rank ≥ 2 [N, C, ...] to carry a bias along dim 1");
            int c = t.dim(1);
            int inner = 1;
            for (int d = 2; d < t.rank(); d++) inner *= t.dim(d);
            int segments = t.dim(0) * c;
            // An empty plane still needs the channel count for dbias; segments of length 0 contribute nothing.
            return new Layout(n, c, inner, inner == 0 ? 0 : segments);
        }
        int segments = (n + BLOCK - 1) / BLOCK;
        return new Layout(n, 1, BLOCK, segments);
    }
}
