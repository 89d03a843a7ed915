package dev.dragedit.models.nn;

import dev.dragedit.tensor.Tensor;

/**
 * Where a model's parameters come from, by checkpoint key: a checkpoint on disk ({@link Weights}, strict: every key
 * must exist with the declared shape and every tensor of the file must be asked for) or random values
 * ({@link RandomWeights}, for benchmarks and tests). Models declare each parameter once, in their constructor, with
 * the exact key of the reference checkpoint and its shape, so loading is a lookup and a mismatch is caught with the
 * key in the message. Parameters come back already placed ({@link Placement}): F32 on the CPU, or in the device's
 * storage type on a kernel device.
 */
public interface ParamSource {
    /** The parameter {@code key} (relative to this source's prefix), which must have exactly {@code shape}. */
    Tensor param(String key, int... shape);

    /** Whether the checkpoint has {@code key}: for optional parameters (a bias a config may leave out). */
    boolean has(String key);

    /** Where parameters are placed. */
    Placement placement();

    /** A view whose keys are prefixed by {@code prefix + "."} (nesting composes: {@code sub("a").sub("b")} = "a.b."). */
    default ParamSource sub(String prefix) {
        ParamSource parent = this;
        String p = prefix + ".";
        return new ParamSource() {
            @Override public Tensor param(String key, int... shape) { return parent.param(p + key, shape); }
            @Override public boolean has(String key) { return parent.has(p + key); }
            @Override public Placement placement() { return parent.placement(); }
            @Override public ParamSource sub(String more) { return parent.sub(p + more); }
        };
    }
}
