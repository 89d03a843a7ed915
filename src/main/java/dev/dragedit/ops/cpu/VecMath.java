package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp and tanh on float vectors from IEEE add/mul/fma only, so every lane's result is the same bits whether the code
 * runs interpreted, C1- or C2-compiled. VectorOperators.EXP/TANH are not: compiled by C2 they become the JDK's SVML
 * stubs, interpreted they fall back to per-lane Math calls, and the two differ in the last bit — so the same op on
 * the same input changed its result once the JIT got to it. Reproducibility matters beyond tidiness: DragDiffusion's
 * mask term |x_prev − x_prev_0| must be exactly 0 at the first iteration (its gradient sign is otherwise noise).
 * <p>
 * exp: Cephes expf — x = n·ln2 + r with ln 2 split in two so n·ln2 is exact, exp(r) by a degree-6 polynomial
 * (≤ 1 ulp against Math.exp in float), 2ⁿ applied as two factors 2^⌊n/2⌋·2^(n−⌊n/2⌋) so that the subnormal and the
 * overflow ends come out as Math.exp's (rounded once at the final multiply). x is clamped to [−104, 89] first:
 * beyond, the float result is 0 or +inf anyway. NaN stays NaN.
 * tanh: Cephes tanhf — |x| < 0.625 by an odd polynomial, else 1 − 2/(e^{2|x|} + 1) with the sign of x.
 */
final class VecMath {
    private VecMath() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    private static final float ROUND_MAGIC = 12582912f;         // 1.5·2²³: adding it rounds to an integer
    private static final int ROUND_MAGIC_BITS = 0x4B400000;
    private static final float T0 = -5.70498872745e-3f, T1 = 2.06390887954e-2f, T2 = -5.37397155531e-2f,
            T3 = 1.33314422036e-1f, T4 = -3.33332819422e-1f;

    static FloatVector exp(FloatVector x) {
        x = x.max(-104f).min(89f);
        FloatVector fx = x.fma(FloatVector.broadcast(S, LOG2E), FloatVector.broadcast(S, ROUND_MAGIC));
        FloatVector n = fx.sub(ROUND_MAGIC);
        IntVector ni = fx.reinterpretAsInts().sub(ROUND_MAGIC_BITS);           // n as an integer, |n| ≤ 150
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(S, P0), FloatVector.broadcast(S, P1));
        p = p.fma(r, FloatVector.broadcast(S, P2));
        p = p.fma(r, FloatVector.broadcast(S, P3));
        p = p.fma(r, FloatVector.broadcast(S, P4));
        p = p.fma(r, FloatVector.broadcast(S, P5));
        p = p.fma(r.mul(r), r).add(1f);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1), n2 = ni.sub(n1);   // each within the normal exponents
        FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    static FloatVector tanh(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector z = x.mul(x);
        FloatVector p = z.fma(FloatVector.broadcast(S, T0), FloatVector.broadcast(S, T1));
        p = p.fma(z, FloatVector.broadcast(S, T2));
        p = p.fma(z, FloatVector.broadcast(S, T3));
        p = p.fma(z, FloatVector.broadcast(S, T4));
        FloatVector small = p.mul(z).fma(x, x);
        FloatVector e = exp(a.add(a));
        FloatVector large = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(e.add(1f)));
        large = large.lanewise(VectorOperators.NEG, x.compare(VectorOperators.LT, 0f));
        VectorMask<Float> isSmall = a.compare(VectorOperators.LT, 0.625f);
        return large.blend(small, isSmall.or(x.test(VectorOperators.IS_NAN)));
    }
}
