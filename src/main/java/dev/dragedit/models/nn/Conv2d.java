package dev.dragedit.models.nn;

import dev.dragedit.autograd.Functional;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.tensor.Tensor;

/** torch.nn.Conv2d (square kernel, symmetric padding, with bias): {@code weight} [out, in, k, k], {@code bias} [out]. */
public final class Conv2d {
    public final Tensor weight, bias;
    public final int in, out, kernel;
    public final Conv2dParams params;

    public Conv2d(ParamSource p, int in, int out, int kernel, int stride, int padding) {
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.weight = p.param("weight", out, in, kernel, kernel);
        this.bias = p.param("bias", out);
        this.params = Conv2dParams.of(stride, padding);
    }

    public Tensor forward(Functional f, Tensor x) { return f.conv2d(x, weight, bias, params); }
}
