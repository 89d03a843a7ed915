package dev.dragedit.bench;

/**
 * The peak-throughput kernel without the Vector API (a JVM started without jdk.incubator.vector): the same
 * 12 independent FMA chains as {@link VectorFma}, one float each, through Math.fma (a single instruction on
 * FMA hardware). It measures the scalar peak, which is what the ops reach on such a JVM.
 */
final class ScalarFma {
    private ScalarFma() {}

    static final int ACCUMULATORS = 12;

    /** {@code n} rounds of {@link #ACCUMULATORS} scalar FMAs; returns a value the caller must consume. */
    static float burst(int n) {
        float m = 0.999999f;
        float c = 0.001f;
        float a0 = 0.05f;
        float a1 = 0.10f;
        float a2 = 0.15f;
        float a3 = 0.20f;
        float a4 = 0.25f;
        float a5 = 0.30f;
        float a6 = 0.35f;
        float a7 = 0.40f;
        float a8 = 0.45f;
        float a9 = 0.50f;
        float a10 = 0.55f;
        float a11 = 0.60f;
        for (int i = 0; i < n; i++) {
            a0 = Math.fma(a0, m, c);
            a1 = Math.fma(a1, m, c);
            a2 = Math.fma(a2, m, c);
            a3 = Math.fma(a3, m, c);
            a4 = Math.fma(a4, m, c);
            a5 = Math.fma(a5, m, c);
            a6 = Math.fma(a6, m, c);
            a7 = Math.fma(a7, m, c);
            a8 = Math.fma(a8, m, c);
            a9 = Math.fma(a9, m, c);
            a10 = Math.fma(a10, m, c);
            a11 = Math.fma(a11, m, c);
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    }
}
