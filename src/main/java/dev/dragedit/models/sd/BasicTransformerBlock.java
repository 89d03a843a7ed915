package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.LayerNorm;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

/**
 * diffusers BasicTransformerBlock (models/attention.py) as Stable Diffusion 1.x configures it (norm_type
 * "layer_norm", no ada-norm, only_cross_attention false, GEGLU feed-forward, dropout 0):
 * h += attn1(norm1 h); h += attn2(norm2 h, ctx); h += ff(norm3 h). LayerNorm eps 1e-5 with affine parameters.
 * Keys: norm1, attn1, norm2, attn2, norm3, ff.
 */
public final class BasicTransformerBlock {
    final LayerNorm norm1, norm2, norm3;
    final Attention attn1, attn2;
    final FeedForward ff;

    public BasicTransformerBlock(ParamSource p, int dim, int heads, int headDim, int crossAttentionDim) {
        norm1 = new LayerNorm(p.sub("norm1"), dim, 1e-5f);
        attn1 = new Attention(p.sub("attn1"), dim, dim, heads, headDim);
        norm2 = new LayerNorm(p.sub("norm2"), dim, 1e-5f);
        attn2 = new Attention(p.sub("attn2"), dim, crossAttentionDim, heads, headDim);
        norm3 = new LayerNorm(p.sub("norm3"), dim, 1e-5f);
        ff = new FeedForward(p.sub("ff"), dim, 4);
    }

    /** h [B, L, dim], ctx [B, M, crossAttentionDim] → [B, L, dim]. */
    public Tensor forward(Functional f, Tensor h, Tensor ctx) {
        Tensor n = norm1.forward(f, h);
        h = f.add(attn1.forward(f, n, n), h);
        h = f.add(attn2.forward(f, norm2.forward(f, h), ctx), h);
        return f.add(ff.forward(f, norm3.forward(f, h)), h);
    }
}
