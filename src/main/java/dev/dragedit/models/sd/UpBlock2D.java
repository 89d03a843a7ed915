package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers UpBlock2D and CrossAttnUpBlock2D (models/unet_2d_blocks.py) in one class, since they differ only by the
 * Transformer2DModel after each resnet: for each layer h = cat([h, skips.pop()], channels) (h first, the skips taken
 * last-in first-out), h = resnets[j](h, temb), then (cross-attention blocks) h = attentions[j](h, ctx); finally the
 * optional upsampler. Resnet j takes (j = 0 ? prev_output_channel : out) + (j = last ? in : out) channels, exactly
 * as diffusers sizes them. Keys: resnets.j, attentions.j, upsamplers.0.
 */
public final class UpBlock2D {
    final List<ResnetBlock2D> resnets = new ArrayList<>();
    final List<Transformer2DModel> attentions;   // null for UpBlock2D
    final Upsample2D upsampler;                  // null for the last block

    /** layers = layers_per_block + 1 of the mirrored down block; heads and transformer layers of that block. */
    public UpBlock2D(ParamSource p, UNetConfig cfg, int layers, int heads, int transformerLayers, int in, int prevOut,
                     int out, boolean crossAttn, boolean addUpsample) {
        attentions = crossAttn ? new ArrayList<>() : null;
        for (int j = 0; j < layers; j++) {
            int skipCh = j == layers - 1 ? in : out;
            int resIn = j == 0 ? prevOut : out;
            resnets.add(new ResnetBlock2D(p.sub("resnets").sub(Integer.toString(j)), resIn + skipCh, out,
                    cfg.timeEmbedDim, cfg.normNumGroups, cfg.normEps));
            if (crossAttn)
                attentions.add(new Transformer2DModel(p.sub("attentions").sub(Integer.toString(j)), out, heads,
                        transformerLayers, cfg.crossAttentionDim, cfg.normNumGroups));
        }
        upsampler = addUpsample ? new Upsample2D(p.sub("upsamplers").sub("0"), out) : null;
    }

    /** Runs the block on h, consuming {@link #skipCount()} skips from the end of {@code skips}. */
    public Tensor forward(Functional f, Tensor h, Tensor temb, Tensor ctx, List<Tensor> skips) {
        for (int j = 0; j < resnets.size(); j++) {
            Tensor skip = skips.remove(skips.size() - 1);
            if (skip.dim(2) != h.dim(2) || skip.dim(3) != h.dim(3))
                throw new IllegalArgumentException("UNet up block: feature map " + h.dim(2) + "×" + h.dim(3)
                        + " does not match its skip " + skip.dim(2) + "×" + skip.dim(3));
            h = resnets.get(j).forward(f, f.concat(1, h, skip), temb);
            if (attentions != null) h = attentions.get(j).forward(f, h, ctx);
        }
        if (upsampler != null) h = upsampler.forward(f, h);
        return h;
    }

    public int skipCount() { return resnets.size(); }
}
