package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Linear;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers Attention (models/attention_processor.py, Attention + AttnProcessor2_0) as Stable Diffusion 1.x's
 * BasicTransformerBlock uses it: q = to_q(h), k = to_k(ctx), v = to_v(ctx) — bias-free linears, ctx = h for
 * self-attention (attn1) and the text embedding for cross-attention (attn2) —; heads are contiguous channel slices
 * (channel = head·d + i); per head softmax(q·kᵀ/√d)·v with no mask; heads concatenated; {@code to_out.0} (with bias;
 * to_out.1 is dropout). Keys: to_q, to_k, to_v (weight only), to_out.0 (weight, bias).
 * <p>
 * Two optional hooks, attached to the loaded model instead of copying it (both null = the plain computation above):
 * <ul>
 * <li>a {@link ProjectionDelta} per projection, added to its output — diffusers' LoRACompatibleLinear
 *     ({@code base(x) + scale·lora_layer(x)}), which is how DragDiffusion's utils/lora_utils.py (LoRAAttnProcessor2_0)
 *     puts its LoRA on to_q/to_k/to_v/to_out.0;</li>
 * <li>an {@link Editor} that replaces the attention of the split q, k, v — DragDiffusion's utils/attn_utils.py
 *     {@code register_attention_editor_diffusers}, whose patched forward hands (q, k, v, is_cross) to an
 *     AttentionBase editor (MutualSelfAttentionControl) and applies to_out to what it returns.</li>
 * </ul>
 * Hooks change shared model state: attach them for one phase and remove them afterwards; not for concurrent use.
 */
public final class Attention {
    final Linear toQ, toK, toV, toOut;
    public final int heads, headDim;
    private final ProjectionDelta[] deltas = new ProjectionDelta[Projection.values().length];
    private Editor editor;

    /** The four projections a delta can be attached to (diffusers' to_q, to_k, to_v, to_out.0). */
    public enum Projection {
        Q("to_q"), K("to_k"), V("to_v"), OUT("to_out.0");
        public final String key;
        Projection(String key) { this.key = key; }
    }

    /** An additive correction of one projection: y = W·x (+ b) + apply(x). */
    @FunctionalInterface
    public interface ProjectionDelta {
        /** x [..., in] → [..., out], through f (so a gradient reaches the delta's own parameters). */
        Tensor apply(Functional f, Tensor x);
    }

    /** Replaces softmax(q·kᵀ·scale)·v for one call of this layer. */
    @FunctionalInterface
    public interface Editor {
        /**
         * q [B, H, L, d], k and v [B, H, M, d] (heads split), isCross false for self-attention (ctx is h itself) →
         * the attention output [B, H, L, d]; {@code layer} is the module being run.
         */
        Tensor attend(Functional f, Attention layer, Tensor q, Tensor k, Tensor v, boolean isCross, float scale);
    }

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
        Tensor q = splitHeads(f, project(f, Projection.Q, h), b, l);
        Tensor k = splitHeads(f, project(f, Projection.K, ctx), b, m);
        Tensor v = splitHeads(f, project(f, Projection.V, ctx), b, m);
        float scale = (float) (1.0 / Math.sqrt(headDim));
        // BasicTransformerBlock passes the normed h twice for attn1: the same object means self-attention, as
        // DragDiffusion's patched forward decides is_cross from whether a context was given.
        Tensor o = editor == null ? f.attention(q, k, v, scale, false)                 // [B, H, L, d]
                : editor.attend(f, this, q, k, v, ctx != h, scale);
        o = f.reshape(f.permute(o, 0, 2, 1, 3), b, l, heads * headDim);               // heads back side by side
        return project(f, Projection.OUT, o);
    }

    /** The projection's linear layer plus its delta, when one is attached. */
    private Tensor project(Functional f, Projection which, Tensor x) {
        Tensor y = linear(which).forward(f, x);
        ProjectionDelta d = deltas[which.ordinal()];
        return d == null ? y : f.add(y, d.apply(f, x));
    }

    private Linear linear(Projection which) {
        return switch (which) {
            case Q -> toQ;
            case K -> toK;
            case V -> toV;
            case OUT -> toOut;
        };
    }

    /** in_features of a projection (what its delta receives). */
    public int inFeatures(Projection which) { return linear(which).in; }

    /** out_features of a projection (what its delta must return). */
    public int outFeatures(Projection which) { return linear(which).out; }

    /** Attaches (or, with null, removes) the delta of one projection. */
    public void setDelta(Projection which, ProjectionDelta delta) { deltas[which.ordinal()] = delta; }

    public ProjectionDelta delta(Projection which) { return deltas[which.ordinal()]; }

    /** Attaches (or, with null, removes) the attention editor. */
    public void setEditor(Editor editor) { this.editor = editor; }

    public Editor editor() { return editor; }

    /** [B, L, H·d] → [B, H, L, d] (diffusers' view(B, −1, H, d).transpose(1, 2)). */
    private Tensor splitHeads(Functional f, Tensor x, int b, int l) {
        return f.permute(f.reshape(x, b, l, heads, headDim), 0, 2, 1, 3);
    }

    // ------------------------------------------------------------------ the UNet's attention modules

    /** One attention module of a UNet: its diffusers module path (e.g. down_blocks.0.attentions.1.transformer_blocks.0.attn1), the module, whether it is attn1. */
    public record Site(String name, Attention attention, boolean selfAttention) {}

    /**
     * Every Attention of the UNet in the order a forward calls them: down blocks, mid block, up blocks; within a
     * Transformer2DModel its transformer blocks, each attn1 then attn2 — the order in which DragDiffusion's
     * AttentionBase counts {@code cur_att_layer} (so site i is call i of one UNet evaluation, and i / 2 is the
     * transformer layer index 0–15 of SD1.5: down 0–5, mid 6, up 7–15).
     */
    public static List<Site> sites(UNet2DConditionModel unet) {
        List<Site> out = new ArrayList<>();
        for (int i = 0; i < unet.downBlocks.size(); i++)
            addAll(out, "down_blocks." + i + ".attentions.", unet.downBlocks.get(i).attentions);
        addAll(out, "mid_block.attentions.", unet.midBlock.attentions);
        for (int i = 0; i < unet.upBlocks.size(); i++)
            addAll(out, "up_blocks." + i + ".attentions.", unet.upBlocks.get(i).attentions);
        return out;
    }

    private static void addAll(List<Site> out, String prefix, List<Transformer2DModel> transformers) {
        if (transformers == null) return;
        for (int j = 0; j < transformers.size(); j++) {
            List<BasicTransformerBlock> blocks = transformers.get(j).blocks;
            for (int k = 0; k < blocks.size(); k++) {
                String p = prefix + j + ".transformer_blocks." + k + ".";
                out.add(new Site(p + "attn1", blocks.get(k).attn1, true));
                out.add(new Site(p + "attn2", blocks.get(k).attn2, false));
            }
        }
    }
}
