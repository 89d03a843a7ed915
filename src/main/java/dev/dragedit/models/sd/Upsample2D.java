package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Conv2d;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

/**
 * diffusers Upsample2D (models/upsampling.py) with use_conv true: nearest-neighbour 2× (F.interpolate(scale_factor
 * 2, mode "nearest"): out[y][x] = in[y/2][x/2]), then a 3×3 conv with padding 1. Key: conv.
 */
public final class Upsample2D {
    final Conv2d conv;

    public Upsample2D(ParamSource p, int channels) {
        conv = new Conv2d(p.sub("conv"), channels, channels, 3, 1, 1);
    }

    public Tensor forward(Functional f, Tensor x) { return conv.forward(f, f.upsampleNearest2x(x)); }
}
