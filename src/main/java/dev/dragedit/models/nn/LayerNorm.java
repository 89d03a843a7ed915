package dev.dragedit.models.nn;

import dev.dragedit.autograd.Functional;
import dev.dragedit.tensor.Tensor;

/** torch.nn.LayerNorm over the last dimension (affine): {@code weight} and {@code bias} [dim]. */
public final class LayerNorm {
    public final Tensor weight, bias;
    public final float eps;

    public LayerNorm(ParamSource p, int dim, float eps) {
        this.eps = eps;
        this.weight = p.param("weight", dim);
        this.bias = p.param("bias", dim);
    }

    public Tensor forward(Functional f, Tensor x) { return f.layerNorm(x, weight, bias, eps); }
}
