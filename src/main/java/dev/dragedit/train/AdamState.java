// torch.optim.Adam over named parameters, with its state open for checkpoints: the first and second moments of
// every parameter (F32, the parameter's shape) and the step count, which optim.Adam keeps private. The update
// itself is the op set's fused adamStep (bias-corrected moments, eps after the square root), the same one optim.Adam
// calls, so training here and there computes the same thing; saving the moments and the step makes a resumed run
// continue bit for bit.
package dev.dragedit.train;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

final class AdamState {
    private final Ops ops;
    private final List<String> keys;
    private final Tensor[] params, m, v;
    private AdamParams hp;
    private int step;

    AdamState(Ops ops, Map<String, Tensor> all, List<String> keys, AdamParams hp) {
        this.ops = ops;
        this.keys = List.copyOf(keys);
        this.hp = hp;
        int n = keys.size();
        params = new Tensor[n];
        m = new Tensor[n];
        v = new Tensor[n];
        for (int i = 0; i < n; i++) {
            Tensor p = all.get(keys.get(i));
            if (p == null || !p.requiresGrad()) throw new IllegalArgumentException("Adam: " + keys.get(i) + " is not a trainable parameter");
            params[i] = p;
            m[i] = Tensor.zeros(p.shape());
            v[i] = Tensor.zeros(p.shape());
        }
    }

    void step() {
        step++;
        for (int i = 0; i < params.length; i++)
            if (params[i].grad() != null) ops.adamStep(params[i], params[i].grad(), m[i], v[i], step, hp);
    }

    void zeroGrad() {
        for (Tensor p : params) p.setGrad(null);
    }

    int steps() { return step; }

    void setLearningRate(float lr) {
        hp = new AdamParams(lr, hp.beta1(), hp.beta2(), hp.eps(), hp.weightDecay(), hp.decoupled());
    }

    /** The moments as checkpoint tensors: prefix + "exp_avg." + key and prefix + "exp_avg_sq." + key. */
    void saveTo(Map<String, Tensor> out, String prefix) {
        for (int i = 0; i < params.length; i++) {
            out.put(prefix + "exp_avg." + keys.get(i), m[i]);
            out.put(prefix + "exp_avg_sq." + keys.get(i), v[i]);
        }
    }

    /** Restores the moments written by {@link #saveTo} and the step count. */
    void loadFrom(Map<String, Tensor> in, String prefix, int steps) {
        for (int i = 0; i < params.length; i++) {
            m[i] = moment(in, prefix + "exp_avg." + keys.get(i), params[i]);
            v[i] = moment(in, prefix + "exp_avg_sq." + keys.get(i), params[i]);
        }
        step = steps;
    }

    private static Tensor moment(Map<String, Tensor> in, String key, Tensor p) {
        Tensor t = in.get(key);
        if (t == null) throw new IllegalStateException("checkpoint: missing optimizer tensor " + key);
        if (!Arrays.equals(t.shape(), p.shape()))
            throw new IllegalStateException("checkpoint: " + key + " has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(p.shape()));
        return t.copy();
    }

    static Map<String, Tensor> prefixed(Map<String, Tensor> params, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : params.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        return out;
    }
}
