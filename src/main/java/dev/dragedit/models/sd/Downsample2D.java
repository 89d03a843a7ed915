package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Conv2d;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

/**
 * diffusers Downsample2D (models/downsampling.py) with use_conv true, as the UNet's down blocks use it: a 3×3 conv,
 * stride 2, padding {@code downsample_padding} (1 in SD1.x). Key: conv.
 */
public final class Downsample2D {
    final Conv2d conv;

    public Downsample2D(ParamSource p, int channels, int padding) {
        conv = new Conv2d(p.sub("conv"), channels, channels, 3, 2, padding);
    }

    public Tensor forward(Functional f, Tensor x) { return conv.forward(f, x); }
}
