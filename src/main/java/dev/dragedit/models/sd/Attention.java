package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Linear;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

/**
 * diffusers Attention (models/attention_processor.py, Attention + AttnProcessor2_0) as Stable Diffusion 1.x's
 * BasicTransformerBlock uses it: q = to_q(h), k = to_k(ctx), v = to_v(ctx) — bias-free linears, ctx = h for
 * self-attention (attn1) and the text embedding for cross-attention (attn2) —; heads are contiguous channel slices
 * (channel = head·d + i); per head softmax(q·kᵀ/√d)·v with no mask; heads concatenated; {@code to_out.0} (with bias;
 * to_out.1 is dropout). Keys: to_q, to_k, to_v (weight only), to_out.0 (weight, bias).
 */
public final class Attention {
    final Linear toQ, toK, toV, toOut;
    public final int heads, headDim;

    /** queryDim → heads·headDim for q; contextDim → heads·headDim for k and v; back to queryDim. */
    public Attention(ParamSource p, int queryDim, int contextDim, int heads, int headDim) {
        this.heads = heads;
        this.headDim = headDim;
        int inner = heads * headDim;
        toQ = new Linear(p.sub("to_q"), queryDim, inner, false);
        toK = new Linear(p.sub("to_k"), contextDim, inner, false);
        toV = new Linear(p.sub("to_v"), contextDim, inner, false);
        toOut = new Linear(p.sub("to_out").sub("0"), inner, queryDim, true);
    }

    /** h [B, L, queryDim], ctx [B, M, contextDim] (h itself for self-attention) → [B, L, queryDim]. */
    public Tensor forward(Functional f, Tensor h, Tensor ctx) {
        int b = h.dim(0), l = h.dim(1), m = ctx.dim(1);
        Tensor q = splitHeads(f, toQ.forward(f, h), b, l);
        Tensor k = splitHeads(f, toK.forward(f, ctx), b, m);
        Tensor v = splitHeads(f, toV.forward(f, ctx), b, m);
        Tensor o = f.attention(q, k, v, (float) (1.0 / Math.sqrt(headDim)), false);   // [B, H, L, d]
        o = f.reshape(f.permute(o, 0, 2, 1, 3), b, l, heads * headDim);               // heads back side by side
        return toOut.forward(f, o);
    }

    /** [B, L, H·d] → [B, H, L, d] (diffusers' view(B, −1, H, d).transpose(1, 2)). */
    private Tensor splitHeads(Functional f, Tensor x, int b, int l) {
        return f.permute(f.reshape(x, b, l, heads, headDim), 0, 2, 1, 3);
    }
}
