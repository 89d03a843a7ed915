// One in-place Adam / AdamW step, following torch.optim.Adam and AdamW (single-tensor path, amsgrad off) operation by
// operation in float32, so a parameter trajectory matches PyTorch's to rounding:
//   g ← g + wd·p               (Adam's L2 term, when not decoupled; grad itself is left untouched)
//   p ← p·(1 − lr·wd)          (AdamW's decoupled decay, applied first)
//   m ← m + (1 − β1)·(g − m)   (torch's lerp)
//   v ← β2·v + (1 − β2)·g·g
//   p ← p − (lr/(1 − β1^t))·m / (√v / √(1 − β2^t) + ε)
// The bias corrections are computed in double, like torch's Python floats, then used as float scalars.
package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import static dev.dragedit.ops.cpu.ElementwiseChecks.f32;

final class CpuOptim {
    private CpuOptim() {}

    /** The per-step scalars of the update (l2 = 0 and decay = 1 when unused). */
    record Coefficients(float l2, float decay, float oneMinusBeta1, float beta2, float oneMinusBeta2,
                        float bc2Sqrt, float eps, float negStepSize) {}

    public static void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, int step, AdamParams hp) {
        float[] p = f32("adamStep", "param", param), g = f32("adamStep", "grad", grad);
        float[] md = f32("adamStep", "m", m), vd = f32("adamStep", "v", v);
        ElementwiseChecks.sameShape("adamStep", "param", param, "grad", grad);
        ElementwiseChecks.sameShape("adamStep", "param", param, "m", m);
        ElementwiseChecks.sameShape("adamStep", "param", param, "v", v);
        if (hp == null) throw new IllegalArgumentException("adamStep: hp is null, expected AdamParams");
        if (step < 1) throw new IllegalArgumentException("adamStep: step is " + step + ", expected a 1-based step ≥ 1");
        check(hp.lr() >= 0, "lr", hp.lr(), "≥ 0");
        check(hp.eps() >= 0, "eps", hp.eps(), "≥ 0");
        check(hp.beta1() >= 0 && hp.beta1() < 1, "beta1", hp.beta1(), "in [0, 1)");
        check(hp.beta2() >= 0 && hp.beta2() < 1, "beta2", hp.beta2(), "in [0, 1)");
        check(hp.weightDecay() >= 0, "weightDecay", hp.weightDecay(), "≥ 0");
        if (p == g || p == md || p == vd || g == md || g == vd || md == vd)
            throw new IllegalArgumentException("adamStep: param, grad, m and v must not share storage");

        double bc1 = 1 - Math.pow(hp.beta1(), step), bc2 = 1 - Math.pow(hp.beta2(), step);
        float wd = hp.weightDecay();
        Coefficients k = new Coefficients(
                hp.decoupled() ? 0f : wd,
                hp.decoupled() ? 1f - hp.lr() * wd : 1f,
                1f - hp.beta1(), hp.beta2(), 1f - hp.beta2(),
                (float) Math.sqrt(bc2), hp.eps(), (float) (-hp.lr() / bc1));
        Parallel.forRange(p.length, Broadcast.GRAIN / 4, (from, to) -> {
            int i = Simd.enabled() ? ElementwiseVec.adam(p, g, md, vd, from, to, k) : from;
            for (; i < to; i++) {
                float gi = g[i], pi = p[i];
                if (k.l2() != 0f) gi = gi + k.l2() * pi;
                if (k.decay() != 1f) pi = pi * k.decay();
                float mi = md[i] + (gi - md[i]) * k.oneMinusBeta1();
                float vi = vd[i] * k.beta2() + gi * k.oneMinusBeta2() * gi;
                float denom = (float) Math.sqrt(vi) / k.bc2Sqrt() + k.eps();
                md[i] = mi;
                vd[i] = vi;
                p[i] = pi + mi * k.negStepSize() / denom;
            }
        });
    }

    private static void check(boolean ok, String name, float value, String expected) {
        if (!ok) throw new IllegalArgumentException("adamStep: " + name + " is " + value + ", expected " + expected);
    }
}
