package dev.dragedit.models.nn;

import dev.dragedit.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random parameters for any model, with PyTorch's default initialisations so activations keep sensible magnitudes
 * through a full-size network: weights of rank ≥ 2 are U(−b, b) with b = 1/√fan_in (nn.Linear / nn.Conv2d's
 * kaiming_uniform(a = √5)), embeddings ({@code *embedding*}) N(0, 0.02²), rank-1 {@code weight}s (norm scales) 1,
 * biases 0. Deterministic: each tensor's values depend only on the seed and its key, not on the order of requests,
 * so two models built from the same seed are identical. Every request is recorded ({@link #params()}), which gives
 * the full key/shape list of a model, e.g. to write it as a checkpoint.
 */
public final class RandomWeights implements ParamSource {
    private final long seed;
    private final Placement placement;
    private final Map<String, Tensor> made = new LinkedHashMap<>();

    public RandomWeights(long seed, Placement placement) {
        this.seed = seed;
        this.placement = placement;
    }

    @Override public Placement placement() { return placement; }

    /** Every key is available: random weights fit any config. */
    @Override public boolean has(String key) { return true; }

    @Override
    public Tensor param(String key, int... shape) {
        Tensor cpu = made.get(key);
        if (cpu == null) {
            cpu = generate(key, shape);
            made.put(key, cpu);
        } else if (!java.util.Arrays.equals(cpu.shape(), shape)) {
            throw new WeightsException("random weights: " + key + " was requested twice with different shapes");
        }
        return placement.place(cpu);
    }

    /** The CPU F32 tensors made so far, by key, in request order. */
    public Map<String, Tensor> params() { return java.util.Collections.unmodifiableMap(made); }

    private Tensor generate(String key, int[] shape) {
        int n = (int) Tensor.numel(shape);
        float[] v = new float[n];
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ key.hashCode() * 0xC2B2AE3D27D4EB4FL ^ key.length());
        String last = key.substring(key.lastIndexOf('.') + 1);
        if (key.contains("embedding") && shape.length >= 2) {
            for (int i = 0; i < n; i++) v[i] = (float) (0.02 * gaussian(r));
        } else if (shape.length >= 2) {
            long fanIn = n / shape[0];
            double b = 1.0 / Math.sqrt(Math.max(1, fanIn));
            for (int i = 0; i < n; i++) v[i] = (float) (b * (2 * r.nextDouble() - 1));
        } else if (last.equals("weight") || last.equals("gamma")) {
            java.util.Arrays.fill(v, 1f);
        } // biases and other rank ≤ 1 tensors: 0
        return Tensor.of(v, shape);
    }

    private static double gaussian(SplittableRandom r) {
        double u1 = r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
