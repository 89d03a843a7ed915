package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Conv2d;
import dev.dragedit.models.nn.GroupNorm;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers Transformer2DModel (models/transformer_2d.py) for continuous inputs with use_linear_projection false, as
 * Stable Diffusion 1.x uses it: r = x; h = proj_in(GN(x)) with GroupNorm eps 1e-6 (not the UNet's norm_eps) and a
 * 1×1 conv; tokens [B, H·W, inner] with token index y·W + x; the BasicTransformerBlocks; back to [B, inner, H, W];
 * out = proj_out(h) + r. inner = heads·(C / heads). Keys: norm, proj_in, transformer_blocks.N, proj_out.
 */
public final class Transformer2DModel {
    final GroupNorm norm;
    final Conv2d projIn, projOut;
    final List<BasicTransformerBlock> blocks = new ArrayList<>();
    public final int channels, inner;

    public Transformer2DModel(ParamSource p, int channels, int heads, int layers, int crossAttentionDim, int groups) {
        this.channels = channels;
        int headDim = channels / heads;
        this.inner = heads * headDim;
        norm = new GroupNorm(p.sub("norm"), groups, channels, 1e-6f);
        projIn = new Conv2d(p.sub("proj_in"), channels, inner, 1, 1, 0);
        for (int i = 0; i < layers; i++)
            blocks.add(new BasicTransformerBlock(p.sub("transformer_blocks").sub(Integer.toString(i)), inner, heads, headDim, crossAttentionDim));
        projOut = new Conv2d(p.sub("proj_out"), inner, channels, 1, 1, 0);
    }

    /** x [B, C, H, W], ctx [B, M, crossAttentionDim] → [B, C, H, W]. */
    public Tensor forward(Functional f, Tensor x, Tensor ctx) {
        int b = x.dim(0), hh = x.dim(2), ww = x.dim(3);
        Tensor h = projIn.forward(f, norm.forward(f, x));
        h = f.reshape(f.permute(h, 0, 2, 3, 1), b, hh * ww, inner);                  // NCHW → tokens [B, HW, C]
        for (BasicTransformerBlock blk : blocks) h = blk.forward(f, h, ctx);
        h = f.permute(f.reshape(h, b, hh, ww, inner), 0, 3, 1, 2);                    // tokens → NCHW
        return f.add(projOut.forward(f, h), x);
    }
}
