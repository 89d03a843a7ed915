package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Conv2d;
import dev.dragedit.models.nn.GroupNorm;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

/**
 * The VAE encoder: diffusers v0.24.0 {@code Encoder} (models/autoencoders/vae.py) with DownEncoderBlock2D blocks
 * (models/unets/unet_2d_blocks.py) and Downsample2D (models/downsampling.py), double_z = true:
 * <pre>conv_in (3×3) → down_blocks[i]: layers_per_block × ResnetBlock2D (no time embedding, GN eps 1e-6), all but the
 * last ending in a downsampler → mid_block (resnet, attention, resnet) → conv_norm_out (GN) → SiLU → conv_out (3×3,
 * 2·latent_channels)</pre>
 * The downsampler is Downsample2D with padding 0: it pads one zero row at the bottom and one zero column at the right
 * (F.pad(x, (0, 1, 0, 1))) and applies a 3×3 stride-2 conv without padding. That is exactly a conv whose zero padding
 * is 0 on top/left and 1 on bottom/right, which is how it is computed here (no padded copy of the activation).
 * Keys under {@code encoder.}: conv_in, down_blocks.i.resnets.j.*, down_blocks.i.downsamplers.0.conv, mid_block.*,
 * conv_norm_out, conv_out.
 */
public final class VaeEncoder {
    /** Downsample2D(padding = 0): pad (0, 1, 0, 1), then stride 2, no padding. */
    static final Conv2dParams DOWNSAMPLE = new Conv2dParams(2, 2, 0, 1, 0, 1, 1, 1, 1);

    final Conv2d convIn, convOut;
    final ResnetBlock2D[][] resnets;
    final Conv2d[] downsamplers;
    final AutoencoderKL.MidBlock mid;
    final GroupNorm convNormOut;
    final VaeConfig cfg;

    public VaeEncoder(VaeConfig cfg, ParamSource p) {
        this.cfg = cfg;
        int n = cfg.levels(), g = cfg.normNumGroups();
        float eps = VaeConfig.NORM_EPS;
        convIn = new Conv2d(p.sub("conv_in"), cfg.inChannels(), cfg.channels(0), 3, 1, 1);
        resnets = new ResnetBlock2D[n][];
        downsamplers = new Conv2d[n];
        int ch = cfg.channels(0);
        for (int i = 0; i < n; i++) {
            ParamSource b = p.sub("down_blocks." + i);
            int out = cfg.channels(i);
            resnets[i] = new ResnetBlock2D[cfg.layersPerBlock()];
            for (int j = 0; j < cfg.layersPerBlock(); j++) {
                resnets[i][j] = new ResnetBlock2D(b.sub("resnets." + j), ch, out, 0, g, eps);
                ch = out;
            }
            // Declared as a plain stride-2 conv for its weights; forward applies it with the DOWNSAMPLE geometry.
            if (i < n - 1) downsamplers[i] = new Conv2d(b.sub("downsamplers.0.conv"), out, out, 3, 2, 0);
        }
        mid = new AutoencoderKL.MidBlock(p.sub("mid_block"), ch, g, eps, cfg.midBlockAddAttention());
        convNormOut = new GroupNorm(p.sub("conv_norm_out"), g, ch, eps);
        convOut = new Conv2d(p.sub("conv_out"), ch, 2 * cfg.latentChannels(), 3, 1, 1);
    }

    /** x [B, in_channels, H, W] (pixels in [−1, 1]) → [B, 2·latent_channels, H/8, W/8] for SD1.5 (before quant_conv). */
    public Tensor forward(Functional f, Tensor x) {
        if (x.rank() != 4 || x.dim(1) != cfg.inChannels())
            throw new IllegalArgumentException("VAE encoder: input has shape " + Arrays.toString(x.shape())
                    + ", expected [batch, " + cfg.inChannels() + ", height, width]");
        Tensor h = convIn.forward(f, x);
        for (int i = 0; i < resnets.length; i++) {
            for (ResnetBlock2D r : resnets[i]) h = r.forward(f, h, null);
            if (downsamplers[i] != null) {
                Conv2d d = downsamplers[i];
                h = f.conv2d(h, d.weight, d.bias, DOWNSAMPLE);
            }
        }
        h = mid.forward(f, h);
        return convOut.forward(f, f.silu(convNormOut.forward(f, h)));
    }
}
