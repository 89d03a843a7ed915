// A ParamSource for training: every parameter a model asks for is a fresh CPU F32 leaf that requires a gradient,
// initialised as RandomWeights does (PyTorch's default inits, deterministic per seed and key) or taken from a map of
// saved tensors (a resumed checkpoint), and recorded under its checkpoint key, so the model can be written back with
// exactly the names its loader expects (SafeTensors.write(file, params())).
// Keys matching `frozen` are made but do not require a gradient (e.g. CLIP's embedding tables, which our text model
// gathers on the CPU outside the tape, so no gradient could reach them).
package dev.dragedit.train;

import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.RandomWeights;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

public final class TrainableParams implements ParamSource {
    private final RandomWeights init;
    private final Map<String, Tensor> saved;
    private final Predicate<String> frozen;
    private final Map<String, Tensor> made = new LinkedHashMap<>();

    /** Random initial values from seed (RandomWeights' initialisations). */
    public TrainableParams(long seed, Predicate<String> frozen) {
        this(seed, null, frozen);
    }

    /**
     * Values from {@code saved} (every key the model asks for must be there, with its shape); with saved null, random
     * values from seed.
     */
    public TrainableParams(long seed, Map<String, Tensor> saved, Predicate<String> frozen) {
        this.init = new RandomWeights(seed, Placement.cpu());
        this.saved = saved;
        this.frozen = frozen == null ? k -> false : frozen;
    }

    @Override public Placement placement() { return Placement.cpu(); }

    @Override public boolean has(String key) { return saved == null || saved.containsKey(key); }

    @Override
    public Tensor param(String key, int... shape) {
        Tensor prev = made.get(key);
        if (prev != null) {
            if (!Arrays.equals(prev.shape(), shape))
                throw new WeightsException("trainable params: " + key + " was requested twice with different shapes");
            return prev;
        }
        Tensor t;
        if (saved != null) {
            Tensor s = saved.get(key);
            if (s == null) throw new WeightsException("checkpoint: missing tensor " + key + " " + Arrays.toString(shape));
            if (!Arrays.equals(s.shape(), shape))
                throw new WeightsException("checkpoint: " + key + " has shape " + Arrays.toString(s.shape()) + ", expected " + Arrays.toString(shape));
            t = Placement.cpu().place(s).copy();
        } else {
            t = init.param(key, shape).copy();   // a private copy: RandomWeights keeps its own
        }
        t.requiresGrad(!frozen.test(key));
        made.put(key, t);
        return t;
    }

    /** Every parameter made, by checkpoint key, in request order (the model's declaration order). */
    public Map<String, Tensor> params() { return Collections.unmodifiableMap(made); }

    /** The keys of the parameters that require a gradient, in order. */
    public List<String> trainableKeys() {
        List<String> out = new ArrayList<>();
        for (var e : made.entrySet()) if (e.getValue().requiresGrad()) out.add(e.getKey());
        return out;
    }

    /** Number of scalar parameters (all, or only trainable ones). */
    public long count(boolean trainableOnly) {
        long n = 0;
        for (Tensor t : made.values()) if (!trainableOnly || t.requiresGrad()) n += t.numel();
        return n;
    }
}
