package dev.dragedit.autograd;

import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

/**
 * The op set as models use it: each method runs the op on {@link #ops} and, when an input requires a gradient
 * (and gradients are enabled), records on the {@link Tape} a closure that calls the op's backward. Models are
 * written once against this class and run on whichever {@link Ops} implementation it wraps.
 */
public final class Functional {
    public final Ops ops;

    public Functional(Ops ops) {
        this.ops = ops;
    }

    private static boolean needs(Tensor t) {
        return t != null && t.requiresGrad();
    }

    private Tensor rec(String op, Tensor out, Tensor[] inputs, Node.Backward bw, Tensor... saved) {
        return Tape.record(op, ops, out, inputs, bw, saved);
    }

    // ---------------------------------------------------------------- element-wise

    public Tensor add(Tensor a, Tensor b) {
        Tensor y = ops.add(a, b);
        if (!Tape.needsRecord(a, b)) return y;
        int[] as = a.shape(), bs = b.shape();
        return rec("add", y, new Tensor[]{a, b}, gy -> new Tensor[]{
                needs(a) ? ops.sumTo(gy, as) : null,
                needs(b) ? ops.sumTo(gy, bs) : null});
    }

    public Tensor sub(Tensor a, Tensor b) {
        Tensor y = ops.sub(a, b);
        if (!Tape.needsRecord(a, b)) return y;
        int[] as = a.shape(), bs = b.shape();
        return rec("sub", y, new Tensor[]{a, b}, gy -> new Tensor[]{
                needs(a) ? ops.sumTo(gy, as) : null,
                needs(b) ? ops.sumTo(ops.affine(gy, -1f, 0f), bs) : null});
    }

    public Tensor mul(Tensor a, Tensor b) {
        Tensor y = ops.mul(a, b);
        if (!Tape.needsRecord(a, b)) return y;
        // Keep only what the backward reads: a when b needs a gradient, b when a does.
        Tensor keepA = needs(b) ? a : null, keepB = needs(a) ? b : null;
        int[] as = a.shape(), bs = b.shape();
        return rec("mul", y, new Tensor[]{a, b}, gy -> new Tensor[]{
                keepB != null ? ops.sumTo(ops.mul(gy, keepB), as) : null,
                keepA != null ? ops.sumTo(ops.mul(gy, keepA), bs) : null}, keepA, keepB);
    }

    public Tensor div(Tensor a, Tensor b) {
        Tensor y = ops.div(a, b);
        if (!Tape.needsRecord(a, b)) return y;
        boolean needA = needs(a);
        Tensor keepY = needs(b) ? y : null;
        int[] as = a.shape(), bs = b.shape();
        return rec("div", y, new Tensor[]{a, b}, gy -> {
            Tensor ga = ops.div(gy, b);
            return new Tensor[]{
                    needA ? ops.sumTo(ga, as) : null,
                    keepY != null ? ops.sumTo(ops.affine(ops.mul(ga, keepY), -1f, 0f), bs) : null}; // −gy·a/b² = −(gy/b)·y
        }, b, keepY);
    }

    /** a·s + t. */
    public Tensor affine(Tensor a, float s, float t) {
        Tensor y = ops.affine(a, s, t);
        if (!Tape.needsRecord(a)) return y;
        return rec("affine", y, new Tensor[]{a}, gy -> new Tensor[]{ops.affine(gy, s, 0f)});
    }

    public Tensor scale(Tensor a, float s) { return affine(a, s, 0f); }
    public Tensor neg(Tensor a) { return affine(a, -1f, 0f); }

    public Tensor clamp(Tensor x, float lo, float hi) {
        Tensor y = ops.clamp(x, lo, hi);
        if (!Tape.needsRecord(x)) return y;
        return rec("clamp", y, new Tensor[]{x}, gy -> new Tensor[]{ops.clampBackward(gy, x, lo, hi)}, x);
    }

    public Tensor unary(Unary f, Tensor x) {
        Tensor y = ops.unary(f, x);
        if (!Tape.needsRecord(x)) return y;
        return rec(f.name().toLowerCase(), y, new Tensor[]{x}, gy -> new Tensor[]{ops.unaryBackward(f, gy, x)}, x);
    }

    public Tensor silu(Tensor x) { return unary(Unary.SILU, x); }
    public Tensor gelu(Tensor x) { return unary(Unary.GELU, x); }
    public Tensor quickGelu(Tensor x) { return unary(Unary.QUICK_GELU, x); }
    public Tensor abs(Tensor x) { return unary(Unary.ABS, x); }
    public Tensor square(Tensor x) { return unary(Unary.SQUARE, x); }
    public Tensor rsqrt(Tensor x) { return unary(Unary.RSQRT, x); }

    public Tensor geglu(Tensor x) {
        Tensor y = ops.geglu(x);
        if (!Tape.needsRecord(x)) return y;
        return rec("geglu", y, new Tensor[]{x}, gy -> new Tensor[]{ops.gegluBackward(gy, x)}, x);
    }

    /** StyleGAN2 noise injection: x + noise·strength (noise [N or 1, 1, H, W], strength a one-element tensor). */
    public Tensor noiseInjection(Tensor x, Tensor noise, Tensor strength) {
        return add(x, mul(noise, strength));
    }

    // ---------------------------------------------------------------- reductions and losses

    public Tensor sum(Tensor x, int[] dims, boolean keepDim) {
        Tensor y = ops.sum(x, dims, keepDim);
        if (!Tape.needsRecord(x)) return y;
        int[] xs = x.shape();
        int[] kept = keptShape(xs, dims);
        return rec("sum", y, new Tensor[]{x}, gy -> new Tensor[]{ops.expand(gy.reshape(kept), xs)});
    }

    public Tensor mean(Tensor x, int[] dims, boolean keepDim) {
        Tensor y = ops.mean(x, dims, keepDim);
        if (!Tape.needsRecord(x)) return y;
        int[] xs = x.shape();
        int[] kept = keptShape(xs, dims);
        float inv = (float) ((double) Tensor.numel(kept) / x.numel());
        return rec("mean", y, new Tensor[]{x}, gy -> new Tensor[]{ops.expand(ops.affine(gy, inv, 0f).reshape(kept), xs)});
    }

    public Tensor sum(Tensor x) { return sum(x, new int[0], false); }
    public Tensor mean(Tensor x) { return mean(x, new int[0], false); }

    /** The input's shape with the reduced dims set to 1 (all dims when dims is empty). */
    private static int[] keptShape(int[] xs, int[] dims) {
        int[] k = xs.clone();
        if (dims.length == 0) Arrays.fill(k, 1);
        for (int d : dims) k[d < 0 ? d + xs.length : d] = 1;
        return k;
    }

    public Tensor l1Loss(Tensor a, Tensor b) {
        Tensor y = ops.l1Loss(a, b);
        if (!Tape.needsRecord(a, b)) return y;
        return rec("l1_loss", y, new Tensor[]{a, b}, gy -> {
            Tensor ga = ops.l1LossBackward(gy, a, b);
            return new Tensor[]{needs(a) ? ga : null, needs(b) ? ops.affine(ga, -1f, 0f) : null};
        }, a, b);
    }

    public Tensor mseLoss(Tensor a, Tensor b) {
        Tensor y = ops.mseLoss(a, b);
        if (!Tape.needsRecord(a, b)) return y;
        return rec("mse_loss", y, new Tensor[]{a, b}, gy -> {
            Tensor ga = ops.mseLossBackward(gy, a, b);
            return new Tensor[]{needs(a) ? ga : null, needs(b) ? ops.affine(ga, -1f, 0f) : null};
        }, a, b);
    }

    // ---------------------------------------------------------------- linear algebra

    public Tensor matmul(Tensor a, Tensor b) { return matmul(a, b, false, false); }

    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        Tensor y = ops.matmul(a, b, transA, transB);
        if (!Tape.needsRecord(a, b)) return y;
        Tensor keepA = needs(b) ? a : null, keepB = needs(a) ? b : null;
        int[] as = a.shape(), bs = b.shape();
        return rec("matmul", y, new Tensor[]{a, b}, gy -> {
            Tensor ga = null, gb = null;
            if (keepB != null) { // d op(A) = gy·op(B)ᵀ
                ga = transA ? ops.matmul(keepB, gy, transB, true) : ops.matmul(gy, keepB, false, !transB);
                ga = ops.sumTo(ga, as);
            }
            if (keepA != null) { // d op(B) = op(A)ᵀ·gy
                gb = transB ? ops.matmul(gy, keepA, true, transA) : ops.matmul(keepA, gy, !transA, false);
                gb = ops.sumTo(gb, bs);
            }
            return new Tensor[]{ga, gb};
        }, keepA, keepB);
    }

    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Tensor y = ops.linear(x, w, bias);
        if (!Tape.needsRecord(x, w, bias)) return y;
        return rec("linear", y, new Tensor[]{x, w, bias},
                gy -> ops.linearBackward(gy, x, w, needs(x), needs(w), needs(bias)), needs(w) ? x : null, w);
    }

    // ---------------------------------------------------------------- convolution and StyleGAN2

    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        Tensor y = ops.conv2d(x, w, bias, p);
        if (!Tape.needsRecord(x, w, bias)) return y;
        return rec("conv2d", y, new Tensor[]{x, w, bias},
                gy -> ops.conv2dBackward(gy, x, w, p, needs(x), needs(w), needs(bias)), needs(w) ? x : null, w);
    }

    public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, int outPadH, int outPadW) {
        Tensor y = ops.convTranspose2d(x, w, bias, p, outPadH, outPadW);
        if (!Tape.needsRecord(x, w, bias)) return y;
        return rec("conv_transpose2d", y, new Tensor[]{x, w, bias},
                gy -> ops.convTranspose2dBackward(gy, x, w, p, outPadH, outPadW, needs(x), needs(w), needs(bias)),
                needs(w) ? x : null, w);
    }

    public Tensor modulatedConv2d(Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        Tensor y = ops.modulatedConv2d(x, w, styles, demodulate, padding);
        if (!Tape.needsRecord(x, w, styles)) return y;
        return rec("modulated_conv2d", y, new Tensor[]{x, w, styles},
                gy -> ops.modulatedConv2dBackward(gy, x, w, styles, demodulate, padding), x, w, styles);
    }

    public Tensor upfirdn2d(Tensor x, Tensor f, int upX, int upY, int downX, int downY, int padX0, int padX1, int padY0, int padY1) {
        Tensor y = ops.upfirdn2d(x, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1);
        if (!Tape.needsRecord(x)) return y;
        int[] xs = x.shape();
        return rec("upfirdn2d", y, new Tensor[]{x}, gy -> new Tensor[]{
                ops.upfirdn2dBackward(gy, xs, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1)}, f);
    }

    public Tensor biasAct(Tensor x, Tensor bias, float alpha, float gain, float clamp) {
        Tensor y = ops.biasAct(x, bias, alpha, gain, clamp);
        if (!Tape.needsRecord(x, bias)) return y;
        return rec("bias_act", y, new Tensor[]{x, bias},
                gy -> ops.biasActBackward(gy, y, needs(bias), alpha, gain, clamp), y);
    }

    // ---------------------------------------------------------------- normalisation, softmax, attention

    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        Tensor y = ops.groupNorm(x, groups, gamma, beta, eps);
        if (!Tape.needsRecord(x, gamma, beta)) return y;
        return rec("group_norm", y, new Tensor[]{x, gamma, beta},
                gy -> ops.groupNormBackward(gy, x, groups, gamma, eps, needs(gamma) || needs(beta)), x, gamma);
    }

    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        Tensor y = ops.layerNorm(x, gamma, beta, eps);
        if (!Tape.needsRecord(x, gamma, beta)) return y;
        return rec("layer_norm", y, new Tensor[]{x, gamma, beta},
                gy -> ops.layerNormBackward(gy, x, gamma, eps, needs(gamma) || needs(beta)), x, gamma);
    }

    public Tensor softmax(Tensor x) {
        Tensor y = ops.softmax(x);
        if (!Tape.needsRecord(x)) return y;
        return rec("softmax", y, new Tensor[]{x}, gy -> new Tensor[]{ops.softmaxBackward(gy, y)}, y);
    }

    public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        Tensor y = ops.attention(q, k, v, scale, causal);
        if (!Tape.needsRecord(q, k, v)) return y;
        return rec("attention", y, new Tensor[]{q, k, v},
                gy -> ops.attentionBackward(gy, q, k, v, scale, causal), q, k, v);
    }

    // ---------------------------------------------------------------- resampling

    public Tensor upsampleNearest2x(Tensor x) {
        Tensor y = ops.upsampleNearest2x(x);
        if (!Tape.needsRecord(x)) return y;
        return rec("upsample_nearest2x", y, new Tensor[]{x}, gy -> new Tensor[]{ops.upsampleNearest2xBackward(gy)});
    }

    public Tensor resizeBilinear(Tensor x, int outH, int outW) {
        Tensor y = ops.resizeBilinear(x, outH, outW);
        if (!Tape.needsRecord(x)) return y;
        int inH = x.dim(-2), inW = x.dim(-1);
        return rec("resize_bilinear", y, new Tensor[]{x}, gy -> new Tensor[]{ops.resizeBilinearBackward(gy, inH, inW)});
    }

    public Tensor gridSample(Tensor x, Tensor grid, boolean alignCorners) {
        Tensor y = ops.gridSample(x, grid, alignCorners);
        if (!Tape.needsRecord(x, grid)) return y;
        return rec("grid_sample", y, new Tensor[]{x, grid},
                gy -> ops.gridSampleBackward(gy, x, grid, alignCorners, needs(x), needs(grid)), needs(grid) ? x : null, grid);
    }

    // ---------------------------------------------------------------- shape

    /** A view with a new shape; its gradient is reshaped back. */
    public Tensor reshape(Tensor x, int... shape) {
        Tensor y = x.reshape(shape);
        if (!Tape.needsRecord(x)) return y;
        int[] xs = x.shape();
        return rec("reshape", y, new Tensor[]{x}, gy -> new Tensor[]{gy.reshape(xs)});
    }

    public Tensor concat(int dim, Tensor... xs) {
        Tensor y = ops.concat(xs, dim);
        if (!Tape.needsRecord(xs)) return y;
        int d = dim < 0 ? dim + xs[0].rank() : dim;
        int[] sizes = new int[xs.length];
        boolean[] need = new boolean[xs.length];
        for (int i = 0; i < xs.length; i++) { sizes[i] = xs[i].dim(d); need[i] = needs(xs[i]); }
        return rec("concat", y, xs, gy -> {
            Tensor[] g = new Tensor[sizes.length];
            int off = 0;
            for (int i = 0; i < sizes.length; i++) {
                if (need[i]) g[i] = ops.slice(gy, d, off, off + sizes[i]);
                off += sizes[i];
            }
            return g;
        });
    }

    public Tensor slice(Tensor x, int dim, int start, int end) {
        Tensor y = ops.slice(x, dim, start, end);
        if (!Tape.needsRecord(x)) return y;
        int[] xs = x.shape();
        return rec("slice", y, new Tensor[]{x}, gy -> new Tensor[]{ops.sliceBackward(gy, xs, dim, start, end)});
    }

    public Tensor permute(Tensor x, int... perm) {
        Tensor y = ops.permute(x, perm);
        if (!Tape.needsRecord(x)) return y;
        int[] inv = new int[perm.length];
        for (int i = 0; i < perm.length; i++) inv[perm[i] < 0 ? perm[i] + perm.length : perm[i]] = i;
        return rec("permute", y, new Tensor[]{x}, gy -> new Tensor[]{ops.permute(gy, inv)});
    }

    public Tensor pad(Tensor x, int[] pads, float value) {
        Tensor y = ops.pad(x, pads, value);
        if (!Tape.needsRecord(x)) return y;
        return rec("pad", y, new Tensor[]{x}, gy -> new Tensor[]{ops.padBackward(gy, pads)});
    }

    /** The same values, cut from the tape (a new leaf that requires no gradient). */
    public Tensor detach(Tensor x) {
        return x.requiresGrad() ? x.copy() : x;
    }
}
