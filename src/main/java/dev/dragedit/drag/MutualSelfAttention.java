package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.sd.Attention;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * DragDiffusion's utils/attn_utils.py {@code MutualSelfAttentionControl} with {@code register_attention_editor_diffusers}:
 * during the final denoise of the batch [z_ref; z_edit], the self-attention of chosen transformer layers at chosen
 * steps lets every branch's queries attend to the reference branch's keys and values (branch 0; with classifier-free
 * guidance the batch is [uncond ref, uncond edit, cond ref, cond edit] and each half uses its own first element).
 * Cross-attention and the other layers/steps run plain attention.
 * <p>
 * Counting as AttentionBase does: every attention call (self and cross) advances {@code cur_att_layer}; the transformer
 * layer index is cur_att_layer / 2 (attn1 and attn2 of one block); after as many calls as the UNet has attention
 * modules, {@code cur_step} advances. Defaults as DragDiffusion's run_drag builds it: start_step 0, start_layer 10
 * (layers 10–15 = up_blocks[2] and up_blocks[3] in SD1.5), total_steps 50, so every step of the 35-step denoise is
 * edited. The reference computes the edited output by concatenating the branches' queries along the tokens and
 * attending to K, V of branch 0; here K, V of branch 0 are repeated across the batch instead — the same softmax rows.
 */
public final class MutualSelfAttention implements Attention.Editor {
    private final BitSet steps = new BitSet(), layers = new BitSet();
    private final float guidanceScale;
    private final List<Attention> registered = new ArrayList<>();
    private int numAttLayers = -1;
    private int curStep, curAttLayer;

    /** layer_idx = start_layer..15, step_idx = start_step..total_steps−1 (MutualSelfAttentionControl's defaults). */
    public MutualSelfAttention(int startStep, int startLayer, int totalSteps, float guidanceScale) {
        this(range(startStep, totalSteps), range(startLayer, 16), guidanceScale);
    }

    /** Explicit step and layer indices (MutualSelfAttentionControl's step_idx / layer_idx). */
    public MutualSelfAttention(int[] stepIdx, int[] layerIdx, float guidanceScale) {
        for (int s : stepIdx) {
            if (s < 0) throw new IllegalArgumentException("mutual self-attention: step index " + s + " is negative");
            steps.set(s);
        }
        for (int l : layerIdx) {
            if (l < 0) throw new IllegalArgumentException("mutual self-attention: layer index " + l + " is negative");
            layers.set(l);
        }
        if (!(guidanceScale > 0f)) throw new IllegalArgumentException("mutual self-attention: guidance scale " + guidanceScale + " must be positive");
        this.guidanceScale = guidanceScale;
    }

    /** run_drag's editor: start_step 0, start_layer 10, total_steps 50, guidance 1. */
    public static MutualSelfAttention dragDiffusionDefaults() { return new MutualSelfAttention(0, 10, 50, 1f); }

    /**
     * run_drag's editor for any UNet: start_layer 10 means "the transformer layers of up_blocks[2] and up_blocks[3]"
     * in SD 1.5 (16 layers), so this editor takes the layers of the last two up blocks of {@code unet} — layers 10–15
     * for SD 1.x's shape (the same as {@link #dragDiffusionDefaults}), 6–9 for the bundled model, whose 10 layers
     * would otherwise get no mutual self-attention at all. Steps 0–49, guidance 1, as run_drag.
     */
    public static MutualSelfAttention dragDiffusionDefaults(UNet2DConditionModel unet) {
        List<String> names = new ArrayList<>();
        for (Attention.Site s : Attention.sites(unet)) names.add(s.name());
        return new MutualSelfAttention(range(0, 50), lastTwoUpBlockLayers(names, unet.config.numBlocks()), 1f);
    }

    /** Transformer layer indices (site index / 2) of the sites under up_blocks.(n−2) and up_blocks.(n−1). */
    static int[] lastTwoUpBlockLayers(List<String> siteNames, int upBlocks) {
        BitSet picked = new BitSet();
        for (int i = 0; i < siteNames.size(); i++) {
            String n = siteNames.get(i);
            if (n.startsWith("up_blocks." + (upBlocks - 2) + ".") || n.startsWith("up_blocks." + (upBlocks - 1) + ".")) picked.set(i / 2);
        }
        return picked.stream().toArray();
    }

    /** The transformer layers this editor edits. */
    int[] layers() { return layers.stream().toArray(); }

    private static int[] range(int from, int to) {
        int[] r = new int[Math.max(0, to - from)];
        for (int i = 0; i < r.length; i++) r[i] = from + i;
        return r;
    }

    /** Hooks this editor onto every attention of the UNet and starts counting from step 0, layer 0. */
    public void register(UNet2DConditionModel unet) {
        unregister();
        for (Attention.Site s : Attention.sites(unet)) {
            s.attention().setEditor(this);
            registered.add(s.attention());
        }
        numAttLayers = registered.size();
        reset();
    }

    /** Removes the hooks {@link #register} set (those still pointing at this editor). */
    public void unregister() {
        for (Attention a : registered) if (a.editor() == this) a.setEditor(null);
        registered.clear();
        numAttLayers = -1;
    }

    /** Back to step 0, layer 0 (a fresh MutualSelfAttentionControl). */
    public void reset() {
        curStep = 0;
        curAttLayer = 0;
    }

    /** The UNet evaluation (denoising step) the next attention call belongs to. */
    public int currentStep() { return curStep; }

    @Override
    public Tensor attend(Functional f, Attention layer, Tensor q, Tensor k, Tensor v, boolean isCross, float scale) {
        boolean edit = !isCross && steps.get(curStep) && layers.get(curAttLayer / 2);
        Tensor out = edit ? mutual(f, q, k, v, scale) : f.attention(q, k, v, scale, false);
        // AttentionBase.__call__: count the call; a full UNet pass advances the step.
        if (++curAttLayer == numAttLayers) {
            curAttLayer = 0;
            curStep++;
        }
        return out;
    }

    /** Every branch's queries against K, V of its group's reference branch (element 0, or 0 and 2 under guidance). */
    private Tensor mutual(Functional f, Tensor q, Tensor k, Tensor v, float scale) {
        int b = q.dim(0);
        int groups = guidanceScale > 1f ? 2 : 1;
        if (b % groups != 0 || b / groups < 1)
            throw new IllegalArgumentException("mutual self-attention: batch " + b + " is not " + groups + " group(s) of [reference, edited…]");
        int per = b / groups;
        Tensor[] ks = new Tensor[b], vs = new Tensor[b];
        for (int g = 0; g < groups; g++) {
            Tensor k0 = f.slice(k, 0, g * per, g * per + 1), v0 = f.slice(v, 0, g * per, g * per + 1);
            for (int i = 0; i < per; i++) {
                ks[g * per + i] = k0;
                vs[g * per + i] = v0;
            }
        }
        Tensor kr = b == 1 ? ks[0] : f.concat(0, ks), vr = b == 1 ? vs[0] : f.concat(0, vs);
        return f.attention(q, kr, vr, scale, false);
    }
}
