// The Vector API kernels of the element-wise, reduction and optimiser ops, kept in one class so that nothing touches
// jdk.incubator.vector unless Simd.enabled(). Each kernel covers a whole contiguous run, the vector loop first and the
// remainder with the scalar definition from ElementwiseMath, so callers never handle tails.
//
// Every function gets its own loop (no switch inside a vector loop): a vector value merged from several branches can
// defeat C2's unboxing and allocate per iteration. Transcendentals use the Vector API's EXP/LOG/TANH (SVML on x86).
// The exact GELU has no vector erf to lean on, so Φ is built from e^{−x²/2} (with x² split into hi + lo by an FMA, so
// the exponent's rounding error does not grow with x²) times the erfcx polynomial of ElementwiseMath: a few ulp.
package dev.dragedit.ops.cpu;

import dev.dragedit.ops.Unary;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

final class ElementwiseVec {
    private ElementwiseVec() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final FloatVector ZERO = FloatVector.zero(S);
    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);
    /** Beyond |x| = 15, e^{−x²/2} is below the smallest float; clamping keeps ∞·0 out of the GELU tails. */
    private static final float GELU_CLAMP = 15f;
    private static final float[] P = ElementwiseMath.ERFCX_POLY;
    private static final float HALF_INV_SQRT2 = (float) (0.5 * ElementwiseMath.INV_SQRT2);
    private static final float INV_SQRT_2PI = (float) ElementwiseMath.INV_SQRT_2PI;
    /** Elements summed in float lanes before the partial sum is moved into a double. */
    private static final int SUM_BLOCK = 2048;

    private static FloatVector load(float[] a, int i) { return FloatVector.fromArray(S, a, i); }

    // ------------------------------------------------------------------ broadcasting arithmetic

    /** o = a op b over n elements. */
    static void binaryVV(ElementwiseMath.Binary op, float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int i = 0, ub = S.loopBound(n);
        switch (op) {
            case ADD -> { for (; i < ub; i += L) load(a, ao + i).add(load(b, bo + i)).intoArray(o, oo + i); }
            case SUB -> { for (; i < ub; i += L) load(a, ao + i).sub(load(b, bo + i)).intoArray(o, oo + i); }
            case MUL -> { for (; i < ub; i += L) load(a, ao + i).mul(load(b, bo + i)).intoArray(o, oo + i); }
            case DIV -> { for (; i < ub; i += L) load(a, ao + i).div(load(b, bo + i)).intoArray(o, oo + i); }
        }
        for (; i < n; i++) o[oo + i] = op.apply(a[ao + i], b[bo + i]);
    }

    /** o = a op s over n elements. */
    static void binaryVS(ElementwiseMath.Binary op, float[] a, int ao, float s, float[] o, int oo, int n) {
        int i = 0, ub = S.loopBound(n);
        FloatVector sv = FloatVector.broadcast(S, s);
        switch (op) {
            case ADD -> { for (; i < ub; i += L) load(a, ao + i).add(sv).intoArray(o, oo + i); }
            case SUB -> { for (; i < ub; i += L) load(a, ao + i).sub(sv).intoArray(o, oo + i); }
            case MUL -> { for (; i < ub; i += L) load(a, ao + i).mul(sv).intoArray(o, oo + i); }
            case DIV -> { for (; i < ub; i += L) load(a, ao + i).div(sv).intoArray(o, oo + i); }
        }
        for (; i < n; i++) o[oo + i] = op.apply(a[ao + i], s);
    }

    /** o = s op b over n elements. */
    static void binarySV(ElementwiseMath.Binary op, float s, float[] b, int bo, float[] o, int oo, int n) {
        int i = 0, ub = S.loopBound(n);
        FloatVector sv = FloatVector.broadcast(S, s);
        switch (op) {
            case ADD -> { for (; i < ub; i += L) sv.add(load(b, bo + i)).intoArray(o, oo + i); }
            case SUB -> { for (; i < ub; i += L) sv.sub(load(b, bo + i)).intoArray(o, oo + i); }
            case MUL -> { for (; i < ub; i += L) sv.mul(load(b, bo + i)).intoArray(o, oo + i); }
            case DIV -> { for (; i < ub; i += L) sv.div(load(b, bo + i)).intoArray(o, oo + i); }
        }
        for (; i < n; i++) o[oo + i] = op.apply(s, b[bo + i]);
    }

    // ------------------------------------------------------------------ same-shape maps over [from, to)

    static void affine(float[] a, float s, float t, float[] o, int from, int to) {
        int i = from, ub = from + S.loopBound(to - from);
        for (; i < ub; i += L) load(a, i).mul(s).add(t).intoArray(o, i);
        for (; i < to; i++) o[i] = a[i] * s + t;
    }

    static void clamp(float[] x, float lo, float hi, float[] o, int from, int to) {
        int i = from, ub = from + S.loopBound(to - from);
        for (; i < ub; i += L) load(x, i).max(lo).min(hi).intoArray(o, i);
        for (; i < to; i++) o[i] = Math.min(Math.max(x[i], lo), hi);
    }

    static void clampBackward(float[] gy, float[] x, float lo, float hi, float[] o, int from, int to) {
        int i = from, ub = from + S.loopBound(to - from);
        for (; i < ub; i += L) {
            FloatVector xv = load(x, i);
            VectorMask<Float> inside = xv.compare(VectorOperators.GE, lo).and(xv.compare(VectorOperators.LE, hi));
            ZERO.blend(load(gy, i), inside).intoArray(o, i);
        }
        for (; i < to; i++) o[i] = x[i] >= lo && x[i] <= hi ? gy[i] : 0f;
    }

    private static FloatVector sigmoid(FloatVector x) {
        return ONE.div(ONE.add(VecMath.exp(x.neg())));
    }

    private static FloatVector sign(FloatVector x) {
        return ZERO.blend(ONE, x.compare(VectorOperators.GT, 0f)).blend(ONE.neg(), x.compare(VectorOperators.LT, 0f));
    }

    /** e^{−a²/2} for a = min(|x|, 15), with a² = hi + lo exactly so the exponent is correct to the last bit. */
    private static FloatVector gaussExp(FloatVector a) {
        FloatVector hi = a.mul(a);
        FloatVector lo = a.fma(a, hi.neg());
        return VecMath.exp(hi.mul(-0.5f)).mul(lo.fma(-0.5f, 1f));
    }

    /** Φ(−a) = ½·erfc(a/√2) from a = min(|x|, 15) and e = e^{−a²/2}: ½·t·q(t)·e with t = 1/(1 + a/(2√2)). */
    private static FloatVector lowerTail(FloatVector a, FloatVector e) {
        FloatVector t = ONE.div(a.fma(HALF_INV_SQRT2, 1f));
        FloatVector q = FloatVector.broadcast(S, P[P.length - 1]);
        for (int k = P.length - 2; k >= 0; k--) q = q.fma(t, FloatVector.broadcast(S, P[k]));
        return t.mul(q).mul(e).mul(0.5f);
    }

    /** Φ(x) from the lower tail Φ(−|x|). */
    private static FloatVector cdf(FloatVector x, FloatVector lower) {
        return lower.blend(ONE.sub(lower), x.compare(VectorOperators.GT, 0f));
    }

    private static FloatVector gelu(FloatVector x) {
        FloatVector a = x.abs().min(GELU_CLAMP);
        return x.mul(cdf(x, lowerTail(a, gaussExp(a))));
    }

    private static FloatVector geluGrad(FloatVector x) {
        FloatVector a = x.abs().min(GELU_CLAMP);
        FloatVector e = gaussExp(a);
        return cdf(x, lowerTail(a, e)).add(x.mul(e).mul(INV_SQRT_2PI));
    }

    /** y = f(x) over [from, to). */
    static void unary(Unary f, float[] x, float[] y, int from, int to) {
        int i = from, ub = from + S.loopBound(to - from);
        switch (f) {
            case NEG -> { for (; i < ub; i += L) load(x, i).neg().intoArray(y, i); }
            case ABS -> { for (; i < ub; i += L) load(x, i).abs().intoArray(y, i); }
            case SQUARE -> { for (; i < ub; i += L) { FloatVector v = load(x, i); v.mul(v).intoArray(y, i); } }
            case SQRT -> { for (; i < ub; i += L) load(x, i).sqrt().intoArray(y, i); }
            case RSQRT -> { for (; i < ub; i += L) ONE.div(load(x, i).sqrt()).intoArray(y, i); }
            case EXP -> { for (; i < ub; i += L) VecMath.exp(load(x, i)).intoArray(y, i); }
            case LOG -> { for (; i < ub; i += L) load(x, i).lanewise(VectorOperators.LOG).intoArray(y, i); }
            case SIGN -> { for (; i < ub; i += L) sign(load(x, i)).intoArray(y, i); }
            case RELU -> { for (; i < ub; i += L) load(x, i).max(0f).intoArray(y, i); }
            case SIGMOID -> { for (; i < ub; i += L) sigmoid(load(x, i)).intoArray(y, i); }
            case TANH -> { for (; i < ub; i += L) VecMath.tanh(load(x, i)).intoArray(y, i); }
            case SILU -> { for (; i < ub; i += L) { FloatVector v = load(x, i); v.mul(sigmoid(v)).intoArray(y, i); } }
            case GELU -> { for (; i < ub; i += L) gelu(load(x, i)).intoArray(y, i); }
            case QUICK_GELU -> {
                for (; i < ub; i += L) { FloatVector v = load(x, i); v.mul(sigmoid(v.mul(ElementwiseMath.QUICK_GELU_K))).intoArray(y, i); }
            }
        }
        for (; i < to; i++) y[i] = ElementwiseMath.unary(f, x[i]);
    }

    /** o = gy·f'(x) over [from, to). */
    static void unaryBackward(Unary f, float[] gy, float[] x, float[] o, int from, int to) {
        int i = from, ub = from + S.loopBound(to - from);
        switch (f) {
            case NEG -> { for (; i < ub; i += L) load(gy, i).neg().intoArray(o, i); }
            case ABS -> { for (; i < ub; i += L) load(gy, i).mul(sign(load(x, i))).intoArray(o, i); }
            case SQUARE -> { for (; i < ub; i += L) load(gy, i).mul(load(x, i).mul(2f)).intoArray(o, i); }
            case SQRT -> {
                FloatVector half = FloatVector.broadcast(S, 0.5f);
                for (; i < ub; i += L) load(gy, i).mul(half.div(load(x, i).sqrt())).intoArray(o, i);
            }
            case RSQRT -> {
                for (; i < ub; i += L) {
                    FloatVector r = ONE.div(load(x, i).sqrt());
                    load(gy, i).mul(r.mul(r).mul(r).mul(-0.5f)).intoArray(o, i);
                }
            }
            case EXP -> { for (; i < ub; i += L) load(gy, i).mul(VecMath.exp(load(x, i))).intoArray(o, i); }
            case LOG -> { for (; i < ub; i += L) load(gy, i).mul(ONE.div(load(x, i))).intoArray(o, i); }
            case SIGN -> { for (; i < ub; i += L) ZERO.intoArray(o, i); }
            case RELU -> {
                for (; i < ub; i += L) ZERO.blend(load(gy, i), load(x, i).compare(VectorOperators.GT, 0f)).intoArray(o, i);
            }
            case SIGMOID -> {
                for (; i < ub; i += L) { FloatVector s = sigmoid(load(x, i)); load(gy, i).mul(s.mul(ONE.sub(s))).intoArray(o, i); }
            }
            case TANH -> {
                for (; i < ub; i += L) {
                    FloatVector t = VecMath.tanh(load(x, i));
                    load(gy, i).mul(ONE.sub(t.mul(t))).intoArray(o, i);
                }
            }
            case SILU -> {
                for (; i < ub; i += L) {
                    FloatVector v = load(x, i), s = sigmoid(v);
                    load(gy, i).mul(s.mul(ONE.add(v.mul(ONE.sub(s))))).intoArray(o, i);
                }
            }
            case GELU -> { for (; i < ub; i += L) load(gy, i).mul(geluGrad(load(x, i))).intoArray(o, i); }
            case QUICK_GELU -> {
                for (; i < ub; i += L) {
                    FloatVector kv = load(x, i).mul(ElementwiseMath.QUICK_GELU_K), s = sigmoid(kv);
                    load(gy, i).mul(s.mul(ONE.add(kv.mul(ONE.sub(s))))).intoArray(o, i);
                }
            }
        }
        for (; i < to; i++) o[i] = gy[i] * ElementwiseMath.derivative(f, x[i]);
    }

    // ------------------------------------------------------------------ GEGLU rows

    /** out[oo + j] = x[xo + j]·gelu(x[xo + n + j]) for j < n. */
    static void gegluRow(float[] x, int xo, int n, float[] out, int oo) {
        int j = 0, ub = S.loopBound(n);
        for (; j < ub; j += L) load(x, xo + j).mul(gelu(load(x, xo + n + j))).intoArray(out, oo + j);
        for (; j < n; j++) out[oo + j] = x[xo + j] * ElementwiseMath.gelu(x[xo + n + j]);
    }

    /** dx[xo + j] = gy·gelu(g), dx[xo + n + j] = gy·a·gelu'(g), with a = x[xo + j], g = x[xo + n + j]. */
    static void gegluBackwardRow(float[] gy, int go, float[] x, int xo, int n, float[] dx) {
        int j = 0, ub = S.loopBound(n);
        for (; j < ub; j += L) {
            FloatVector g = load(gy, go + j), gate = load(x, xo + n + j);
            g.mul(gelu(gate)).intoArray(dx, xo + j);
            g.mul(load(x, xo + j)).mul(geluGrad(gate)).intoArray(dx, xo + n + j);
        }
        for (; j < n; j++) {
            float g = gy[go + j], gate = x[xo + n + j];
            dx[xo + j] = g * ElementwiseMath.gelu(gate);
            dx[xo + n + j] = g * x[xo + j] * ElementwiseMath.geluGrad(gate);
        }
    }

    // ------------------------------------------------------------------ reductions

    /** Σ x[off .. off+len), float lanes per block of 2048, blocks added in double. */
    static double sum(float[] x, int off, int len) {
        double total = 0;
        int i = 0;
        while (i < len) {
            int end = Math.min(len, i + SUM_BLOCK), ub = i + ((end - i) / (2 * L)) * (2 * L);
            FloatVector a0 = ZERO, a1 = ZERO;
            for (; i < ub; i += 2 * L) {
                a0 = a0.add(load(x, off + i));
                a1 = a1.add(load(x, off + i + L));
            }
            float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
            for (; i < end; i++) s += x[off + i];
            total += s;
        }
        return total;
    }

    /** acc[ao + j] += x[xo + j] for j < n. */
    static void addInto(float[] acc, int ao, float[] x, int xo, int n) {
        int j = 0, ub = S.loopBound(n);
        for (; j < ub; j += L) load(acc, ao + j).add(load(x, xo + j)).intoArray(acc, ao + j);
        for (; j < n; j++) acc[ao + j] += x[xo + j];
    }

    /** Σ |a − b| (squared = false) or Σ (a − b)² over [from, to), blocked like {@link #sum}. */
    static double diffSum(float[] a, float[] b, int from, int to, boolean squared) {
        double total = 0;
        int i = from;
        while (i < to) {
            int end = Math.min(to, i + SUM_BLOCK), ub = i + S.loopBound(end - i);
            FloatVector acc = ZERO;
            if (squared) {
                for (; i < ub; i += L) { FloatVector d = load(a, i).sub(load(b, i)); acc = d.fma(d, acc); }
            } else {
                for (; i < ub; i += L) acc = acc.add(load(a, i).sub(load(b, i)).abs());
            }
            float s = acc.reduceLanes(VectorOperators.ADD);
            for (; i < end; i++) { float d = a[i] - b[i]; s += squared ? d * d : Math.abs(d); }
            total += s;
        }
        return total;
    }

    /** o = c·sign(a − b) (l1 = true) or c·(a − b) over [from, to). */
    static void diffGrad(float[] a, float[] b, float c, boolean l1, float[] o, int from, int to) {
        int i = from, ub = from + S.loopBound(to - from);
        if (l1) for (; i < ub; i += L) sign(load(a, i).sub(load(b, i))).mul(c).intoArray(o, i);
        else for (; i < ub; i += L) load(a, i).sub(load(b, i)).mul(c).intoArray(o, i);
        for (; i < to; i++) { float d = a[i] - b[i]; o[i] = c * (l1 ? ElementwiseMath.sign(d) : d); }
    }

    // ------------------------------------------------------------------ Adam

    /** The vector part of CpuOptim.adamRange; returns the index where the scalar loop must take over. */
    static int adam(float[] p, float[] g, float[] m, float[] v, int from, int to, CpuOptim.Coefficients k) {
        int i = from, ub = from + S.loopBound(to - from);
        for (; i < ub; i += L) {
            FloatVector pv = load(p, i), gv = load(g, i);
            if (k.l2() != 0f) gv = gv.add(pv.mul(k.l2()));
            if (k.decay() != 1f) pv = pv.mul(k.decay());
            FloatVector mv = load(m, i), vv = load(v, i);
            mv = mv.add(gv.sub(mv).mul(k.oneMinusBeta1()));
            vv = vv.mul(k.beta2()).add(gv.mul(k.oneMinusBeta2()).mul(gv));
            FloatVector denom = vv.sqrt().div(k.bc2Sqrt()).add(k.eps());
            pv = pv.add(mv.mul(k.negStepSize()).div(denom));
            mv.intoArray(m, i);
            vv.intoArray(v, i);
            pv.intoArray(p, i);
        }
        return i;
    }
}
