// optim.Adam over named parameters, for checkpoints: its moments saved and restored under
// "exp_avg.<key>" / "exp_avg_sq.<key>" with the step count, so a resumed run continues bit for bit.
package dev.dragedit.train;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.optim.Adam;
import dev.dragedit.ops.Ops;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

final class AdamState {
    private final List<String> keys;
    private final Adam adam;

    AdamState(Ops ops, Map<String, Tensor> all, List<String> keys, AdamParams hp) {
        this.keys = List.copyOf(keys);
        List<Tensor> params = new ArrayList<>();
        for (String k : keys) {
            Tensor p = all.get(k);
            if (p == null || !p.requiresGrad()) throw new IllegalArgumentException("Adam: " + k + " is not a trainable parameter");
            params.add(p);
        }
        this.adam = new Adam(ops, params, hp);
    }

    void step() { adam.step(); }

    void zeroGrad() { adam.zeroGrad(); }

    int steps() { return adam.steps(); }

    void setLearningRate(float lr) { adam.setLearningRate(lr); }

    /** The moments as checkpoint tensors: prefix + "exp_avg." + key and prefix + "exp_avg_sq." + key. */
    void saveTo(Map<String, Tensor> out, String prefix) {
        for (int i = 0; i < keys.size(); i++) {
            out.put(prefix + "exp_avg." + keys.get(i), adam.firstMoment(i));
            out.put(prefix + "exp_avg_sq." + keys.get(i), adam.secondMoment(i));
        }
    }

    /** Restores the moments written by {@link #saveTo} and the step count. */
    void loadFrom(Map<String, Tensor> in, String prefix, int steps) {
        List<Tensor> m = new ArrayList<>(), v = new ArrayList<>();
        for (String k : keys) {
            m.add(moment(in, prefix + "exp_avg." + k));
            v.add(moment(in, prefix + "exp_avg_sq." + k));
        }
        try {
            adam.restore(m, v, steps);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("checkpoint: " + e.getMessage(), e);
        }
    }

    private static Tensor moment(Map<String, Tensor> in, String key) {
        Tensor t = in.get(key);
        if (t == null) throw new IllegalStateException("checkpoint: missing optimizer tensor " + key);
        return t;
    }

    static Map<String, Tensor> prefixed(Map<String, Tensor> params, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : params.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        return out;
    }
}
