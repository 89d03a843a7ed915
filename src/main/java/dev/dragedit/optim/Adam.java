package dev.dragedit.optim;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * torch.optim.Adam / AdamW over a list of leaf tensors: keeps the first and second moments per parameter and
 * calls the op set's fused update ({@link Ops#adamStep}) for each parameter that has a gradient.
 */
public final class Adam {
    private final Ops ops;
    private final List<Tensor> params;
    private final List<Tensor> m = new ArrayList<>(), v = new ArrayList<>();
    private AdamParams hp;
    private int step;

    public Adam(Ops ops, List<Tensor> params, AdamParams hp) {
        this.ops = ops;
        this.params = List.copyOf(params);
        this.hp = hp;
        for (Tensor p : this.params) {
            if (!p.requiresGrad()) throw new IllegalArgumentException("Adam: parameter " + p + " does not require a gradient");
            // The moments live where the parameter does (the fused update takes all four on one device), in F32.
            m.add(p.onDevice() ? Tensor.zeros(p.shape()).toDevice(p.kernelDevice()) : Tensor.zeros(p.shape()));
            v.add(p.onDevice() ? Tensor.zeros(p.shape()).toDevice(p.kernelDevice()) : Tensor.zeros(p.shape()));
        }
    }

    /** Applies one update from the parameters' current gradients (parameters without one are skipped). */
    public void step() {
        step++;
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p.grad() != null) ops.adamStep(p, p.grad(), m.get(i), v.get(i), step, hp);
        }
    }

    public void zeroGrad() {
        for (Tensor p : params) p.setGrad(null);
    }

    public int steps() { return step; }
    public AdamParams params() { return hp; }
    public void setLearningRate(float lr) { hp = new AdamParams(lr, hp.beta1(), hp.beta2(), hp.eps(), hp.weightDecay(), hp.decoupled()); }
}
