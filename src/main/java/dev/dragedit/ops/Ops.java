package dev.dragedit.ops;

import dev.dragedit.tensor.Tensor;

/**
 * The op set. Every model is written against this interface and runs on any implementation of it
 * ({@code CpuOps} in Java, the CUDA backend later). Layout is NCHW, as in the reference PyTorch code.
 * <p>
 * Forward ops return new tensors and never modify their inputs (the optimiser steps are the in-place exception).
 * Each backward takes the gradient of the output ({@code gy}) plus what the forward saw, and returns the gradients
 * of the inputs in the documented order; an entry is null when its input was null or its {@code need} flag false.
 * Broadcasting follows NumPy/PyTorch rules.
 */
public interface Ops {
    String name();

    // ---------------------------------------------------------------- element-wise, broadcasting

    Tensor add(Tensor a, Tensor b);
    Tensor sub(Tensor a, Tensor b);
    Tensor mul(Tensor a, Tensor b);
    Tensor div(Tensor a, Tensor b);
    /** a·s + t. */
    Tensor affine(Tensor a, float s, float t);
    /** Sums a broadcast gradient back down to {@code shape} (the backward of broadcasting). */
    Tensor sumTo(Tensor g, int[] shape);
    /** Materialises the broadcast of x to {@code shape}. */
    Tensor expand(Tensor x, int[] shape);
    /** min(max(x, lo), hi). */
    Tensor clamp(Tensor x, float lo, float hi);
    /** gy where lo ≤ x ≤ hi (inclusive, as torch.clamp's backward), else 0. */
    Tensor clampBackward(Tensor gy, Tensor x, float lo, float hi);

    Tensor unary(Unary f, Tensor x);
    /** gy·f'(x). */
    Tensor unaryBackward(Unary f, Tensor gy, Tensor x);

    /** GEGLU as in diffusers: x [..., 2n] → x[..., :n]·gelu(x[..., n:]) [..., n]. */
    Tensor geglu(Tensor x);
    Tensor gegluBackward(Tensor gy, Tensor x);

    // ---------------------------------------------------------------- reductions and losses

    /** Sum over {@code dims} (all when empty); negative dims count from the end. */
    Tensor sum(Tensor x, int[] dims, boolean keepDim);
    Tensor mean(Tensor x, int[] dims, boolean keepDim);
    /** mean(|a − b|) as a one-element tensor (torch.nn.functional.l1_loss, reduction='mean'). */
    Tensor l1Loss(Tensor a, Tensor b);
    /** Gradient w.r.t. a (the gradient w.r.t. b is its negation); gy is a one-element tensor. */
    Tensor l1LossBackward(Tensor gy, Tensor a, Tensor b);
    /** mean((a − b)²) as a one-element tensor. */
    Tensor mseLoss(Tensor a, Tensor b);
    Tensor mseLossBackward(Tensor gy, Tensor a, Tensor b);

    // ---------------------------------------------------------------- linear algebra

    /**
     * Batched matrix product: a [..., M, K] (or [..., K, M] when transA), b [..., K, N] (or [..., N, K] when
     * transB) → [..., M, N]. Leading (batch) dimensions broadcast; a rank-2 operand is shared by every batch.
     */
    Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB);
    /** x [..., in] · wᵀ + bias: w [out, in], bias [out] or null → [..., out] (torch.nn.functional.linear). */
    Tensor linear(Tensor x, Tensor w, Tensor bias);
    /** Returns {dx, dw, dbias}. */
    Tensor[] linearBackward(Tensor gy, Tensor x, Tensor w, boolean needX, boolean needW, boolean needBias);

    // ---------------------------------------------------------------- convolution

    /** x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], bias [Cout] or null → [N, Cout, Ho, Wo]. */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p);
    /** Returns {dx, dw, dbias}. */
    Tensor[] conv2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, boolean needX, boolean needW, boolean needBias);
    /**
     * Transposed convolution (torch conv_transpose2d): x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw] →
     * [N, Cout, (H−1)·s − padTop − padBottom + dil·(kh−1) + 1 + outPadH, …]. Padding in p crops the output.
     */
    Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, int outPadH, int outPadW);
    Tensor[] convTranspose2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW,
                                     boolean needX, boolean needW, boolean needBias);

    /**
     * StyleGAN2 modulated convolution, stride 1, grouped per sample: x [N, Cin, H, W], w [Cout, Cin, k, k],
     * styles [N, Cin]; the weight of sample n is w·styles[n] (per input channel), then divided by
     * sqrt(Σ_{i,k} (w·s)² + 1e-8) per output channel when {@code demodulate}; padding on every side.
     */
    Tensor modulatedConv2d(Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding);
    /** Returns {dx, dw, dstyles}. */
    Tensor[] modulatedConv2dBackward(Tensor gy, Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding);

    /**
     * StyleGAN2 upfirdn2d (reference semantics of torch_utils/ops/upfirdn2d.py, flip_filter=False, gain 1):
     * zero-insert upsample by (upX, upY), pad (padX0, padX1, padY0, padY1; negative crops), convolve every channel
     * with the 2-D FIR f [fh, fw] (a true convolution: f flipped), keep every (downX, downY)-th sample.
     */
    Tensor upfirdn2d(Tensor x, Tensor f, int upX, int upY, int downX, int downY, int padX0, int padX1, int padY0, int padY1);
    Tensor upfirdn2dBackward(Tensor gy, int[] xShape, Tensor f, int upX, int upY, int downX, int downY,
                             int padX0, int padX1, int padY0, int padY1);

    /**
     * StyleGAN2 bias_act with lrelu: y = clamp(act(x + bias) · gain, ±clamp). bias [C] broadcast along dim 1
     * (or null); act is leaky ReLU with slope alpha (alpha = 1 gives the linear activation); clamp ≤ 0 disables it.
     */
    Tensor biasAct(Tensor x, Tensor bias, float alpha, float gain, float clamp);
    /** Returns {dx, dbias}; uses the output y of the forward. */
    Tensor[] biasActBackward(Tensor gy, Tensor y, boolean needBias, float alpha, float gain, float clamp);

    // ---------------------------------------------------------------- normalisation, softmax, attention

    /** x [N, C, ...], gamma/beta [C] or null, statistics per (sample, group) over C/groups·spatial (biased var). */
    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps);
    /** Returns {dx, dgamma, dbeta}. */
    Tensor[] groupNormBackward(Tensor gy, Tensor x, int groups, Tensor gamma, float eps, boolean needGammaBeta);
    /** Over the last dimension; gamma/beta [D] or null. */
    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps);
    Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor gamma, float eps, boolean needGammaBeta);
    /** Softmax over the last dimension. */
    Tensor softmax(Tensor x);
    /** From the forward's output y. */
    Tensor softmaxBackward(Tensor gy, Tensor y);
    /**
     * Scaled dot-product attention: q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] →
     * softmax(q·kᵀ·scale [+ causal mask: key j > query i is masked]) · v, [B, H, Lq, Dv].
     */
    Tensor attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal);
    /** Returns {dq, dk, dv}. */
    Tensor[] attentionBackward(Tensor gy, Tensor q, Tensor k, Tensor v, float scale, boolean causal);

    // ---------------------------------------------------------------- resampling

    /** Nearest-neighbour 2× upsample of the last two dims. */
    Tensor upsampleNearest2x(Tensor x);
    Tensor upsampleNearest2xBackward(Tensor gy);
    /** torch interpolate(mode='bilinear', align_corners=False, antialias=False) of the last two dims. */
    Tensor resizeBilinear(Tensor x, int outH, int outW);
    Tensor resizeBilinearBackward(Tensor gy, int inH, int inW);
    /**
     * torch grid_sample(mode='bilinear', padding_mode='zeros'): x [N, C, H, W], grid [N, Ho, Wo, 2] with (x, y) in
     * [−1, 1] → [N, C, Ho, Wo].
     */
    Tensor gridSample(Tensor x, Tensor grid, boolean alignCorners);
    /** Returns {dx, dgrid}. */
    Tensor[] gridSampleBackward(Tensor gy, Tensor x, Tensor grid, boolean alignCorners, boolean needX, boolean needGrid);

    // ---------------------------------------------------------------- shape

    Tensor concat(Tensor[] xs, int dim);
    /** Elements start ≤ i < end along dim. */
    Tensor slice(Tensor x, int dim, int start, int end);
    /** Scatters gy into zeros of inShape at [start, end) along dim. */
    Tensor sliceBackward(Tensor gy, int[] inShape, int dim, int start, int end);
    Tensor permute(Tensor x, int[] perm);
    /**
     * Constant padding, torch.nn.functional.pad order: pads = (lastBefore, lastAfter, secondLastBefore, …).
     * Negative pads crop.
     */
    Tensor pad(Tensor x, int[] pads, float value);
    Tensor padBackward(Tensor gy, int[] pads);

    // ---------------------------------------------------------------- optimisers (in place)

    /**
     * One Adam/AdamW step at 1-based {@code step}: updates param, m and v in place from grad
     * (torch.optim.Adam / AdamW, amsgrad off).
     */
    void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, int step, AdamParams hp);
}
