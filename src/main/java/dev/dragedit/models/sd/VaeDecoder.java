package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Conv2d;
import dev.dragedit.models.nn.GroupNorm;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

/**
 * The VAE decoder: diffusers v0.24.0 {@code Decoder} (models/autoencoders/vae.py) with UpDecoderBlock2D blocks
 * (models/unets/unet_2d_blocks.py) and Upsample2D (models/upsampling.py), norm_type "group":
 * <pre>conv_in (3×3, latent → C[-1]) → mid_block (resnet, attention, resnet) → up_blocks[i] over the reversed
 * block_out_channels: (layers_per_block + 1) × ResnetBlock2D (no time embedding, GN eps 1e-6, no skip inputs), all but
 * the last ending in nearest-2× upsampling + 3×3 conv → conv_norm_out (GN) → SiLU → conv_out (3×3, out_channels)</pre>
 * post_quant_conv belongs to AutoencoderKL, not here. Keys under {@code decoder.}: conv_in, mid_block.*,
 * up_blocks.i.resnets.j.*, up_blocks.i.upsamplers.0.conv, conv_norm_out, conv_out.
 */
public final class VaeDecoder {
    final Conv2d convIn, convOut;
    final ResnetBlock2D[][] resnets;
    final Conv2d[] upsamplers;
    final AutoencoderKL.MidBlock mid;
    final GroupNorm convNormOut;
    final VaeConfig cfg;

    public VaeDecoder(VaeConfig cfg, ParamSource p) {
        this.cfg = cfg;
        int n = cfg.levels(), g = cfg.normNumGroups();
        float eps = VaeConfig.NORM_EPS;
        int top = cfg.channels(n - 1);
        convIn = new Conv2d(p.sub("conv_in"), cfg.latentChannels(), top, 3, 1, 1);
        mid = new AutoencoderKL.MidBlock(p.sub("mid_block"), top, g, eps, cfg.midBlockAddAttention());
        resnets = new ResnetBlock2D[n][];
        upsamplers = new Conv2d[n];
        int ch = top;
        for (int i = 0; i < n; i++) {
            ParamSource b = p.sub("up_blocks." + i);
            int out = cfg.channels(n - 1 - i);
            resnets[i] = new ResnetBlock2D[cfg.layersPerBlock() + 1];
            for (int j = 0; j < resnets[i].length; j++) {
                resnets[i][j] = new ResnetBlock2D(b.sub("resnets." + j), ch, out, 0, g, eps);
                ch = out;
            }
            if (i < n - 1) upsamplers[i] = new Conv2d(b.sub("upsamplers.0.conv"), out, out, 3, 1, 1);
        }
        convNormOut = new GroupNorm(p.sub("conv_norm_out"), g, ch, eps);
        convOut = new Conv2d(p.sub("conv_out"), ch, cfg.outChannels(), 3, 1, 1);
    }

    /** z [B, latent_channels, h, w] (after post_quant_conv) → image [B, out_channels, h·2^(n−1), w·2^(n−1)]. */
    public Tensor forward(Functional f, Tensor z) {
        if (z.rank() != 4 || z.dim(1) != cfg.latentChannels())
            throw new IllegalArgumentException("VAE decoder: latent has shape " + Arrays.toString(z.shape())
                    + ", expected [batch, " + cfg.latentChannels() + ", height, width]");
        Tensor h = mid.forward(f, convIn.forward(f, z));
        for (int i = 0; i < resnets.length; i++) {
            for (ResnetBlock2D r : resnets[i]) h = r.forward(f, h, null);
            if (upsamplers[i] != null) h = upsamplers[i].forward(f, f.upsampleNearest2x(h));
        }
        return convOut.forward(f, f.silu(convNormOut.forward(f, h)));
    }
}
