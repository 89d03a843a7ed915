// Element-wise ops: broadcasting arithmetic (add, sub, mul, div), affine, clamp, the Unary functions with their
// derivatives, GEGLU, and the pair expand / sumTo that materialises a broadcast and undoes it in the backward pass.
//
// Binary ops walk the result in contiguous runs (Broadcast.forEachRun), so the common cases — equal shapes, a
// per-channel [C, 1, 1] operand, a trailing vector — are long vector-vector or vector-scalar SIMD loops, and any other
// broadcast pays index arithmetic once per run rather than per element. Same-shape maps split the flat range across
// threads. sumTo is a sum over the broadcast dimensions, done by CpuReduce's strided reduction.
package dev.dragedit.ops.cpu;

import dev.dragedit.ops.Unary;
import dev.dragedit.ops.shape.ReduceShapes;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

import static dev.dragedit.ops.cpu.ElementwiseChecks.f32;
import static dev.dragedit.ops.cpu.ElementwiseChecks.str;

final class CpuElementwise {
    private CpuElementwise() {}

    /** Elements per parallel chunk for the cheap maps; the transcendental ones split finer. */
    private static final int GRAIN = Broadcast.GRAIN, GRAIN_HEAVY = 1 << 12;

    // ------------------------------------------------------------------ broadcasting arithmetic

    public static Tensor add(Tensor a, Tensor b) { return binary("add", ElementwiseMath.Binary.ADD, a, b); }

    public static Tensor sub(Tensor a, Tensor b) { return binary("sub", ElementwiseMath.Binary.SUB, a, b); }

    public static Tensor mul(Tensor a, Tensor b) { return binary("mul", ElementwiseMath.Binary.MUL, a, b); }

    public static Tensor div(Tensor a, Tensor b) { return binary("div", ElementwiseMath.Binary.DIV, a, b); }

    private static Tensor binary(String name, ElementwiseMath.Binary op, Tensor a, Tensor b) {
        float[] ad = f32(name, "a", a), bd = f32(name, "b", b);
        int[] outShape = Broadcast.shape(name, a.shape(), b.shape());
        Tensor out = Tensor.zeros(outShape);
        float[] o = out.data();
        boolean simd = Simd.enabled();
        Broadcast.forEachRun(outShape, Broadcast.strides(a.shape(), outShape), Broadcast.strides(b.shape(), outShape),
                (ao, as, bo, bs, oo, n) -> {
                    if (simd) {
                        if (as == 1 && bs == 1) ElementwiseVec.binaryVV(op, ad, ao, bd, bo, o, oo, n);
                        else if (as == 1) ElementwiseVec.binaryVS(op, ad, ao, bd[bo], o, oo, n);
                        else if (bs == 1) ElementwiseVec.binarySV(op, ad[ao], bd, bo, o, oo, n);
                        else Arrays.fill(o, oo, oo + n, op.apply(ad[ao], bd[bo]));
                    } else {
                        for (int i = 0; i < n; i++) o[oo + i] = op.apply(ad[ao + i * as], bd[bo + i * bs]);
                    }
                });
        return out;
    }

    public static Tensor affine(Tensor a, float s, float t) {
        float[] x = f32("affine", "a", a);
        Tensor out = Tensor.zeros(a.shape());
        float[] o = out.data();
        Parallel.forRange(x.length, GRAIN, (from, to) -> {
            if (Simd.enabled()) ElementwiseVec.affine(x, s, t, o, from, to);
            else for (int i = from; i < to; i++) o[i] = x[i] * s + t;
        });
        return out;
    }

    // ------------------------------------------------------------------ broadcast and its backward

    public static Tensor expand(Tensor x, int[] shape) {
        float[] xd = f32("expand", "x", x);
        ElementwiseChecks.shapeNotNull("expand", "shape", shape);
        if (!Broadcast.broadcastsTo(x.shape(), shape))
            throw new IllegalArgumentException("expand: x of shape " + str(x.shape()) + " cannot be broadcast to " + str(shape)
                    + ": expected rank ≤ " + shape.length + " and each dimension equal to the target's or 1");
        Tensor out = Tensor.zeros(shape);
        float[] o = out.data();
        int[] sx = Broadcast.strides(x.shape(), shape);
        Broadcast.forEachRun(shape, sx, new int[shape.length], (xo, xs, unused, unusedStep, oo, n) -> {
            if (xs == 1) System.arraycopy(xd, xo, o, oo, n);
            else Arrays.fill(o, oo, oo + n, xd[xo]);
        });
        return out;
    }

    /**
     * Sums g over the dimensions along which {@code shape} was broadcast to g's shape: the leading dimensions that
     * {@code shape} lacks and those where it has size 1. Extra leading 1s in {@code shape} are allowed.
     */
    public static Tensor sumTo(Tensor g, int[] shape) {
        f32("sumTo", "g", g);
        int[] gs = g.shape();
        boolean[] reduced = ReduceShapes.sumToDims(gs, shape);
        return Tensor.of(CpuReduce.reduceSum(g.data(), gs, reduced, 1.0), shape);
    }

    // ------------------------------------------------------------------ clamp

    public static Tensor clamp(Tensor x, float lo, float hi) {
        float[] xd = f32("clamp", "x", x);
        Tensor out = Tensor.zeros(x.shape());
        float[] o = out.data();
        Parallel.forRange(xd.length, GRAIN, (from, to) -> {
            if (Simd.enabled()) ElementwiseVec.clamp(xd, lo, hi, o, from, to);
            else for (int i = from; i < to; i++) o[i] = Math.min(Math.max(xd[i], lo), hi);
        });
        return out;
    }

    public static Tensor clampBackward(Tensor gy, Tensor x, float lo, float hi) {
        float[] g = f32("clampBackward", "gy", gy), xd = f32("clampBackward", "x", x);
        ElementwiseChecks.sameShape("clampBackward", "x", x, "gy", gy);
        Tensor out = Tensor.zeros(x.shape());
        float[] o = out.data();
        Parallel.forRange(xd.length, GRAIN, (from, to) -> {
            if (Simd.enabled()) ElementwiseVec.clampBackward(g, xd, lo, hi, o, from, to);
            else for (int i = from; i < to; i++) o[i] = xd[i] >= lo && xd[i] <= hi ? g[i] : 0f;
        });
        return out;
    }

    // ------------------------------------------------------------------ unary functions

    private static boolean heavy(Unary f) {
        return switch (f) {
            case NEG, ABS, SQUARE, SIGN, RELU -> false;
            default -> true;
        };
    }

    public static Tensor unary(Unary f, Tensor x) {
        if (f == null) throw new IllegalArgumentException("unary: f is null, expected a Unary function");
        float[] xd = f32("unary " + f, "x", x);
        Tensor out = Tensor.zeros(x.shape());
        float[] o = out.data();
        Parallel.forRange(xd.length, heavy(f) ? GRAIN_HEAVY : GRAIN, (from, to) -> {
            if (Simd.enabled()) ElementwiseVec.unary(f, xd, o, from, to);
            else for (int i = from; i < to; i++) o[i] = ElementwiseMath.unary(f, xd[i]);
        });
        return out;
    }

    public static Tensor unaryBackward(Unary f, Tensor gy, Tensor x) {
        if (f == null) throw new IllegalArgumentException("unaryBackward: f is null, expected a Unary function");
        String name = "unaryBackward " + f;
        float[] g = f32(name, "gy", gy), xd = f32(name, "x", x);
        ElementwiseChecks.sameShape(name, "x", x, "gy", gy);
        Tensor out = Tensor.zeros(x.shape());
        float[] o = out.data();
        Parallel.forRange(xd.length, heavy(f) ? GRAIN_HEAVY : GRAIN, (from, to) -> {
            if (Simd.enabled()) ElementwiseVec.unaryBackward(f, g, xd, o, from, to);
            else for (int i = from; i < to; i++) o[i] = g[i] * ElementwiseMath.derivative(f, xd[i]);
        });
        return out;
    }

    // ------------------------------------------------------------------ GEGLU

    /** The half width n of a GEGLU input [..., 2n]. */
    private static int gegluHalf(String op, Tensor x) {
        if (x.rank() == 0 || x.dim(-1) % 2 != 0)
            throw new IllegalArgumentException(op + ": x has shape " + str(x.shape()) + ", expected [..., 2n] with an even last dimension");
        return x.dim(-1) / 2;
    }

    public static Tensor geglu(Tensor x) {
        float[] xd = f32("geglu", "x", x);
        int n = gegluHalf("geglu", x);
        int[] outShape = x.shape();
        outShape[outShape.length - 1] = n;                 // [..., 2n] → [..., n]
        Tensor out = Tensor.zeros(outShape);
        if (n == 0) return out;
        float[] o = out.data();
        int rows = xd.length / (2 * n);
        Parallel.forRange(rows, Math.max(1, GRAIN_HEAVY / n), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                if (Simd.enabled()) ElementwiseVec.gegluRow(xd, r * 2 * n, n, o, r * n);
                else for (int j = 0; j < n; j++) o[r * n + j] = xd[r * 2 * n + j] * ElementwiseMath.gelu(xd[r * 2 * n + n + j]);
            }
        });
        return out;
    }

    public static Tensor gegluBackward(Tensor gy, Tensor x) {
        float[] g = f32("gegluBackward", "gy", gy), xd = f32("gegluBackward", "x", x);
        int n = gegluHalf("gegluBackward", x);
        int[] yShape = x.shape();
        yShape[yShape.length - 1] = n;
        if (!Arrays.equals(gy.shape(), yShape))
            throw new IllegalArgumentException("gegluBackward: gy has shape " + str(gy.shape()) + ", expected " + str(yShape)
                    + " (x " + str(x.shape()) + " with its last dimension halved)");
        Tensor dx = Tensor.zeros(x.shape());
        if (n == 0) return dx;
        float[] d = dx.data();
        int rows = xd.length / (2 * n);
        Parallel.forRange(rows, Math.max(1, GRAIN_HEAVY / n), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int xo = r * 2 * n, go = r * n;
                if (Simd.enabled()) {
                    ElementwiseVec.gegluBackwardRow(g, go, xd, xo, n, d);
                } else {
                    for (int j = 0; j < n; j++) {
                        float gate = xd[xo + n + j];
                        d[xo + j] = g[go + j] * ElementwiseMath.gelu(gate);
                        d[xo + n + j] = g[go + j] * xd[xo + j] * ElementwiseMath.geluGrad(gate);
                    }
                }
            }
        });
        return dx;
    }
}
