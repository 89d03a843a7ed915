package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers CrossAttnDownBlock2D and DownBlock2D (models/unet_2d_blocks.py) in one class, since they differ only by
 * the Transformer2DModel after each resnet: for each layer h = resnets[j](h, temb), then (cross-attention blocks)
 * h = attentions[j](h, ctx); every layer's output is a skip; the optional downsampler's output is one more skip.
 * Keys: resnets.j, attentions.j, downsamplers.0.
 */
public final class DownBlock2D {
    final List<ResnetBlock2D> resnets = new ArrayList<>();
    final List<Transformer2DModel> attentions;   // null for DownBlock2D
    final Downsample2D downsampler;              // null for the last block

    public DownBlock2D(ParamSource p, UNetConfig cfg, int block, int in, int out, boolean crossAttn, boolean addDownsample) {
        attentions = crossAttn ? new ArrayList<>() : null;
        for (int j = 0; j < cfg.layersPerBlock[block]; j++) {
            resnets.add(new ResnetBlock2D(p.sub("resnets").sub(Integer.toString(j)), j == 0 ? in : out, out,
                    cfg.timeEmbedDim, cfg.normNumGroups, cfg.normEps));
            if (crossAttn)
                attentions.add(new Transformer2DModel(p.sub("attentions").sub(Integer.toString(j)), out, cfg.heads[block],
                        cfg.transformerLayers[block], cfg.crossAttentionDim, cfg.normNumGroups));
        }
        downsampler = addDownsample ? new Downsample2D(p.sub("downsamplers").sub("0"), out, cfg.downsamplePadding) : null;
    }

    /** Runs the block on h; appends its skips to {@code skips} and returns the block's output (the last skip). */
    public Tensor forward(Functional f, Tensor h, Tensor temb, Tensor ctx, List<Tensor> skips) {
        for (int j = 0; j < resnets.size(); j++) {
            h = resnets.get(j).forward(f, h, temb);
            if (attentions != null) h = attentions.get(j).forward(f, h, ctx);
            skips.add(h);
        }
        if (downsampler != null) {
            h = downsampler.forward(f, h);
            skips.add(h);
        }
        return h;
    }

    /** How many skips the block appends. */
    public int skipCount() { return resnets.size() + (downsampler != null ? 1 : 0); }
}
