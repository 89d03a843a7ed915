package dev.dragedit.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The peak-throughput kernel: 12 independent vector FMA chains. An FMA has a latency of about four cycles and
 * most x86 cores issue two per cycle, so at least eight chains must be in flight to keep both units busy; twelve
 * leave margin and still fit the 16 vector registers of AVX2. Each chain starts from a different value so the JIT
 * cannot merge them, and converges (a·0.999999 + 0.001 → 1000) so no denormal or overflow slows it.
 * Only loaded when the Vector API is present (the class refers to jdk.incubator.vector).
 */
final class VectorFma {
    private VectorFma() {}

    static final int ACCUMULATORS = 12;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    static int lanes() { return S.length(); }

    /** {@code n} rounds of {@link #ACCUMULATORS} vector FMAs; returns a value the caller must consume. */
    static float burst(int n) {
        FloatVector m = FloatVector.broadcast(S, 0.999999f);
        FloatVector c = FloatVector.broadcast(S, 0.001f);
        FloatVector a0 = FloatVector.broadcast(S, 0.05f);
        FloatVector a1 = FloatVector.broadcast(S, 0.10f);
        FloatVector a2 = FloatVector.broadcast(S, 0.15f);
        FloatVector a3 = FloatVector.broadcast(S, 0.20f);
        FloatVector a4 = FloatVector.broadcast(S, 0.25f);
        FloatVector a5 = FloatVector.broadcast(S, 0.30f);
        FloatVector a6 = FloatVector.broadcast(S, 0.35f);
        FloatVector a7 = FloatVector.broadcast(S, 0.40f);
        FloatVector a8 = FloatVector.broadcast(S, 0.45f);
        FloatVector a9 = FloatVector.broadcast(S, 0.50f);
        FloatVector a10 = FloatVector.broadcast(S, 0.55f);
        FloatVector a11 = FloatVector.broadcast(S, 0.60f);
        for (int i = 0; i < n; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).reduceLanes(VectorOperators.ADD);
    }
}
