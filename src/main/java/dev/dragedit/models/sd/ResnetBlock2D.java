package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Conv2d;
import dev.dragedit.models.nn.GroupNorm;
import dev.dragedit.models.nn.Linear;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

/**
 * diffusers ResnetBlock2D (resnet.py) as Stable Diffusion 1.x uses it, in the UNet (with the time embedding) and in
 * the VAE (without): h = conv1(SiLU(norm1 x)); h += time_emb_proj(SiLU temb)[:, :, None, None]; h = conv2(SiLU(norm2
 * h)); out = shortcut(x) + h, where shortcut is the 1×1 {@code conv_shortcut} when the channel count changes and the
 * identity otherwise. Dropout 0, output_scale_factor 1, GroupNorm with {@code groups} groups and {@code eps}.
 * Keys: norm1, conv1, time_emb_proj (only with a time embedding), norm2, conv2, conv_shortcut.
 */
public final class ResnetBlock2D {
    final GroupNorm norm1, norm2;
    final Conv2d conv1, conv2, convShortcut;
    final Linear timeEmbProj;
    public final int in, out;

    /** temb = 0 builds the block without a time embedding (the VAE's). */
    public ResnetBlock2D(ParamSource p, int in, int out, int temb, int groups, float eps) {
        this.in = in;
        this.out = out;
        norm1 = new GroupNorm(p.sub("norm1"), groups, in, eps);
        conv1 = new Conv2d(p.sub("conv1"), in, out, 3, 1, 1);
        timeEmbProj = temb > 0 ? new Linear(p.sub("time_emb_proj"), temb, out, true) : null;
        norm2 = new GroupNorm(p.sub("norm2"), groups, out, eps);
        conv2 = new Conv2d(p.sub("conv2"), out, out, 3, 1, 1);
        convShortcut = in != out ? new Conv2d(p.sub("conv_shortcut"), in, out, 1, 1, 0) : null;
    }

    /** x [B, in, H, W], temb [B, temb] (null for a block built without one) → [B, out, H, W]. */
    public Tensor forward(Functional f, Tensor x, Tensor temb) {
        Tensor h = conv1.forward(f, f.silu(norm1.forward(f, x)));
        if (timeEmbProj != null) {
            if (temb == null) throw new IllegalArgumentException("ResnetBlock2D: this block needs a time embedding");
            Tensor t = timeEmbProj.forward(f, f.silu(temb));             // [B, out]
            int[] ts = t.shape();
            h = f.add(h, f.reshape(t, ts[0], ts[1], 1, 1));
        }
        h = conv2.forward(f, f.silu(norm2.forward(f, h)));
        Tensor skip = convShortcut != null ? convShortcut.forward(f, x) : x;
        return f.add(skip, h);
    }
}
