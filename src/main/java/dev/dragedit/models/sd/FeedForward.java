package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Linear;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

/**
 * diffusers FeedForward with the GEGLU activation (models/attention.py FeedForward, models/activations.py GEGLU), the
 * feed-forward of Stable Diffusion 1.x's BasicTransformerBlock: p = {@code net.0.proj}(h) (dim → 2·4·dim), split as
 * [a | g] along the channels, a·gelu(g) with the exact erf GELU ({@link dev.dragedit.ops.Ops#geglu} takes the same
 * halves), then {@code net.2} (4·dim → dim; net.1 is dropout).
 */
public final class FeedForward {
    final Linear proj, out;

    public FeedForward(ParamSource p, int dim, int mult) {
        int inner = dim * mult;
        proj = new Linear(p.sub("net").sub("0").sub("proj"), dim, 2 * inner, true);
        out = new Linear(p.sub("net").sub("2"), inner, dim, true);
    }

    /** h [..., dim] → [..., dim]. */
    public Tensor forward(Functional f, Tensor h) {
        return out.forward(f, f.geglu(proj.forward(f, h)));
    }
}
