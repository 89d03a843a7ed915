package dev.dragedit.models.nn;

import dev.dragedit.autograd.Functional;
import dev.dragedit.tensor.Tensor;

/** torch.nn.Linear: y = x·Wᵀ + b with {@code weight} [out, in] and optional {@code bias} [out] under its prefix. */
public final class Linear {
    public final Tensor weight, bias;
    public final int in, out;

    public Linear(ParamSource p, int in, int out, boolean bias) {
        this.in = in;
        this.out = out;
        this.weight = p.param("weight", out, in);
        this.bias = bias ? p.param("bias", out) : null;
    }

    public Tensor forward(Functional f, Tensor x) { return f.linear(x, weight, bias); }
}
