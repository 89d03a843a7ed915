package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.GroupNorm;
import dev.dragedit.models.nn.Linear;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

/**
 * The single-head spatial self-attention of the VAE mid blocks: diffusers v0.24.0 {@code Attention}
 * (models/attention_processor.py, AttnProcessor2_0) as UNetMidBlock2D (models/unets/unet_2d_blocks.py) builds it for
 * the VAE: heads = 1 with head dim C (attention_head_dim = C), GroupNorm {@code group_norm} with eps 1e-6, biased
 * linears {@code to_q/to_k/to_v} and {@code to_out.0}, residual connection, rescale_output_factor 1:
 * <pre>r = x; h = GN(x) as tokens [B, H·W, C] (token y·W + x); out = to_out(softmax(q kᵀ/√C) v) back to [B, C, H, W] + r</pre>
 * The old key spelling (query/key/value/proj_attn) is mapped by {@link VaeKeys}.
 */
public final class VaeAttention {
    final GroupNorm groupNorm;
    final Linear toQ, toK, toV, toOut;
    public final int channels;

    public VaeAttention(ParamSource p, int channels, int groups, float eps) {
        this.channels = channels;
        groupNorm = new GroupNorm(p.sub("group_norm"), groups, channels, eps);
        toQ = new Linear(p.sub("to_q"), channels, channels, true);
        toK = new Linear(p.sub("to_k"), channels, channels, true);
        toV = new Linear(p.sub("to_v"), channels, channels, true);
        toOut = new Linear(p.sub("to_out.0"), channels, channels, true);
    }

    /** x [B, C, H, W] → [B, C, H, W]. */
    public Tensor forward(Functional f, Tensor x) {
        int b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), n = h * w;
        // diffusers applies the GroupNorm before flattening (it transposes to [B, C, HW] for it): the same statistics.
        Tensor tokens = f.permute(f.reshape(groupNorm.forward(f, x), b, c, n), 0, 2, 1);   // [B, HW, C]
        Tensor q = f.reshape(toQ.forward(f, tokens), b, 1, n, c);
        Tensor k = f.reshape(toK.forward(f, tokens), b, 1, n, c);
        Tensor v = f.reshape(toV.forward(f, tokens), b, 1, n, c);
        Tensor a = f.attention(q, k, v, (float) (1.0 / Math.sqrt(c)), false);              // [B, 1, HW, C]
        Tensor o = toOut.forward(f, f.reshape(a, b, n, c));                                 // [B, HW, C]
        return f.add(f.reshape(f.permute(o, 0, 2, 1), b, c, h, w), x);
    }
}
