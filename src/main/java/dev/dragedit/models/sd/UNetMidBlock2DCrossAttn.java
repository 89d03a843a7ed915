package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers UNetMidBlock2DCrossAttn (models/unet_2d_blocks.py) with num_layers 1 and output_scale_factor 1:
 * h = resnets[0](h, temb); then for each layer h = attentions[i](h, ctx); h = resnets[i+1](h, temb).
 * Keys: resnets.0, attentions.0, resnets.1.
 */
public final class UNetMidBlock2DCrossAttn {
    final List<ResnetBlock2D> resnets = new ArrayList<>();
    final List<Transformer2DModel> attentions = new ArrayList<>();

    public UNetMidBlock2DCrossAttn(ParamSource p, UNetConfig cfg, int channels) {
        int last = cfg.numBlocks() - 1;
        resnets.add(new ResnetBlock2D(p.sub("resnets").sub("0"), channels, channels, cfg.timeEmbedDim, cfg.normNumGroups, cfg.normEps));
        attentions.add(new Transformer2DModel(p.sub("attentions").sub("0"), channels, cfg.heads[last],
                cfg.transformerLayers[last], cfg.crossAttentionDim, cfg.normNumGroups));
        resnets.add(new ResnetBlock2D(p.sub("resnets").sub("1"), channels, channels, cfg.timeEmbedDim, cfg.normNumGroups, cfg.normEps));
    }

    public Tensor forward(Functional f, Tensor h, Tensor temb, Tensor ctx) {
        h = resnets.get(0).forward(f, h, temb);
        for (int i = 0; i < attentions.size(); i++) {
            h = attentions.get(i).forward(f, h, ctx);
            h = resnets.get(i + 1).forward(f, h, temb);
        }
        return h;
    }
}
