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

    /** Parameter i's first and second moments (the live tensors, F32 where the parameter is), for checkpoints. */
    public Tensor firstMoment(int i) { return m.get(i); }

    public Tensor secondMoment(int i) { return v.get(i); }

    /**
     * Restores a checkpointed state: copies of each parameter's moments (CPU or device tensors of the parameter's
     * shape, placed where the parameter is) and the step count, so the next {@link #step} continues bit for bit.
     */
    public void restore(List<Tensor> firstMoments, List<Tensor> secondMoments, int steps) {
        if (firstMoments.size() != params.size() || secondMoments.size() != params.size())
            throw new IllegalArgumentException("Adam: " + firstMoments.size() + "/" + secondMoments.size() + " moments for " + params.size() + " parameters");
        if (steps < 0) throw new IllegalArgumentException("Adam: step count " + steps + " must be ≥ 0");
        for (int i = 0; i < params.size(); i++) {
            m.set(i, placed(firstMoments.get(i), params.get(i), i));
            v.set(i, placed(secondMoments.get(i), params.get(i), i));
        }
        step = steps;
    }

    private static Tensor placed(Tensor t, Tensor p, int i) {
        if (!java.util.Arrays.equals(t.shape(), p.shape()))
            throw new IllegalArgumentException("Adam: moment of parameter " + i + " has shape " + java.util.Arrays.toString(t.shape())
                    + ", expected " + java.util.Arrays.toString(p.shape()));
        Tensor c = t.onDevice() ? t.toCpu() : t;
        c = c == t ? c.copy() : c;
        return p.onDevice() ? c.toDevice(p.kernelDevice()) : c;
    }

    public AdamParams params() { return hp; }
    public void setLearningRate(float lr) { hp = new AdamParams(lr, hp.beta1(), hp.beta2(), hp.eps(), hp.weightDecay(), hp.decoupled()); }
}
