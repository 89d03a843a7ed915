package dev.dragedit.models.nn;

import dev.dragedit.autograd.Functional;
import dev.dragedit.tensor.Tensor;

/** torch.nn.GroupNorm (affine): {@code weight} and {@code bias} [channels]. */
public final class GroupNorm {
    public final Tensor weight, bias;
    public final int groups, channels;
    public final float eps;

    public GroupNorm(ParamSource p, int groups, int channels, float eps) {
        if (channels % groups != 0)
            throw new IllegalArgumentException("GroupNorm: " + channels + " channels do not split into " + groups + " groups");
        this.groups = groups;
        this.channels = channels;
        this.eps = eps;
        this.weight = p.param("weight", channels);
        this.bias = p.param("bias", channels);
    }

    public Tensor forward(Functional f, Tensor x) { return f.groupNorm(x, groups, weight, bias, eps); }
}
