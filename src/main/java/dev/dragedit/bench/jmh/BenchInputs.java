package dev.dragedit.bench.jmh;

import dev.dragedit.ops.cpu.Simd;
import dev.dragedit.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * What every JMH state needs in its {@code @Setup}: seeded random tensors (so two runs time the same numbers) and
 * the SIMD switch of the {@code simd} parameter, refused loudly when the Vector API is missing, because a
 * "simd=true" row that silently ran the scalar path would be a lie in the results table.
 */
final class BenchInputs {
    private BenchInputs() {}

    /** Uniform in [lo, hi), seeded. */
    static Tensor uniform(long seed, float lo, float hi, int... shape) {
        return Tensor.of(uniformArray(seed, lo, hi, Math.toIntExact(Tensor.numel(shape))), shape);
    }

    static float[] uniformArray(long seed, float lo, float hi, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float) r.nextDouble();
        return a;
    }

    /** Sets the Vector API switch for this fork; a benchmark's {@code @Param simd} lands here. */
    static void simd(boolean on) {
        if (on && !Simd.available()) {
            throw new IllegalStateException("simd=true, but the Vector API is not available in this JVM"
                    + " (it needs --add-modules jdk.incubator.vector and at least 4 float lanes)");
        }
        Simd.set(on);
    }
}
