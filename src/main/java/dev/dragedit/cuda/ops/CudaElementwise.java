// Element-wise ops on a KernelDevice (kernels/elementwise.cu): broadcasting add/sub/mul/div, affine, expand, clamp and
// its backward, every Unary function and its derivative, GEGLU and its backward, and the in-place Adam/AdamW step —
// the same signatures and semantics as the Ops methods they implement (CpuElementwise / CpuOptim are the
// specification), on device tensors that all live on one device.
//
// Storage types: every op but adamStep takes F32, F16 or BF16 tensors — all inputs of one call in one dtype (else
// CudaOpSupport.sameDeviceAndDtype's message), the result in that dtype — and launches <op>_<dir>_<f32|f16|bf16>;
// the kernels compute in fp32 and round each stored 16-bit value once. Scalars (affine's s and t, clamp's bounds) stay
// float. adamStep is F32 only: the optimiser keeps master weights, gradients and moments in F32 (a 16-bit model
// trains through F32 master copies, since updates far below a 16-bit ulp would round away).
//
// Broadcasting is resolved here, once per call, not per element on the device: the result shape and each operand's
// strides in the result's index space (0 where it broadcasts) are coalesced — size-1 result dimensions dropped,
// neighbours merged where both operands step through them as one — and passed to the kernel as scalars. Equal shapes
// become one contiguous dimension (the kernel's packed path), a per-channel or trailing operand two or three; a
// broadcast that keeps more than six dimensions (rare) runs as several launches over six-dimensional slabs. Every
// launch is a 1-D grid-stride loop of 256-thread blocks with the grid capped, so the geometry is valid for any size.
package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.ops.shape.BroadcastPlan;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static dev.dragedit.cuda.ops.CudaOpSupport.device;
import static dev.dragedit.cuda.ops.CudaOpSupport.floatDevice;
import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.sameDevice;
import static dev.dragedit.cuda.ops.CudaOpSupport.sameDeviceAndDtype;
import static dev.dragedit.cuda.ops.CudaOpSupport.suffix;

public final class CudaElementwise {
    private CudaElementwise() {}

    static final int BLOCK = 256;
    /** Enough blocks to fill the largest GPUs several times over; the grid-stride loops cover the rest. */
    static final int MAX_BLOCKS = 8192;
    /** The dimensions of a coalesced broadcast one launch takes (the kernels' scalar parameters). */
    static final int MAX_RANK = 6;

    // ------------------------------------------------------------------ broadcasting arithmetic

    public static Tensor add(Tensor a, Tensor b) { return binary("add", a, b); }

    public static Tensor sub(Tensor a, Tensor b) { return binary("sub", a, b); }

    public static Tensor mul(Tensor a, Tensor b) { return binary("mul", a, b); }

    public static Tensor div(Tensor a, Tensor b) { return binary("div", a, b); }

    private static Tensor binary(String op, Tensor a, Tensor b) {
        KernelDevice dev = floatDevice(op, "a", a);
        DType dt = a.dtype();
        sameDeviceAndDtype(op, "b", b, dev, dt);
        int[] outShape = BroadcastPlan.shape(op, a.shape(), b.shape());
        Tensor out = output(dev, dt, outShape);
        int n = out.numel();
        if (n == 0) return out;
        Geometry g = Geometry.of(outShape, BroadcastPlan.strides(a.shape(), outShape), BroadcastPlan.strides(b.shape(), outShape));
        g.forEachSlab((oa, ob, oo) -> {
            long es = dt.bytes;
            KernelArgs args = KernelArgs.create().ptr(a.devicePtr() + es * oa).ptr(b.devicePtr() + es * ob)
                    .ptr(out.devicePtr() + es * oo).i32(g.slab).i32(g.rank());
            g.addTo(args, true);
            dev.launch(op + "_fwd_" + suffix(dt), grid(g.kept == 1 ? (g.slab + 3L) / 4 : g.slab), Dim3.of(BLOCK), 0, args);  // 1-D: packed maps
        });
        return out;
    }

    public static Tensor affine(Tensor a, float s, float t) {
        KernelDevice dev = floatDevice("affine", "a", a);
        Tensor out = output(dev, a.dtype(), a.shape());
        int n = out.numel();
        if (n > 0) launchMap(dev, "affine_fwd_" + suffix(a.dtype()), n, KernelArgs.create().ptr(a.devicePtr()).ptr(out.devicePtr()).i32(n).f32(s).f32(t));
        return out;
    }

    // ------------------------------------------------------------------ broadcast materialised

    public static Tensor expand(Tensor x, int[] shape) {
        KernelDevice dev = floatDevice("expand", "x", x);
        DType dt = x.dtype();
        if (shape == null) throw new IllegalArgumentException("expand: shape is null, expected a shape");
        for (int s : shape)
            if (s < 0) throw new IllegalArgumentException("expand: shape " + Arrays.toString(shape) + " has a negative dimension");
        if (!BroadcastPlan.broadcastsTo(x.shape(), shape))
            throw new IllegalArgumentException("expand: x of shape " + Arrays.toString(x.shape()) + " cannot be broadcast to "
                    + Arrays.toString(shape) + ": expected rank ≤ " + shape.length + " and each dimension equal to the target's or 1");
        Tensor out = output(dev, dt, shape);
        int n = out.numel();
        if (n == 0) return out;
        Geometry g = Geometry.of(shape, BroadcastPlan.strides(x.shape(), shape), new int[shape.length]);
        g.forEachSlab((ox, unused, oo) -> {
            KernelArgs args = KernelArgs.create().ptr(x.devicePtr() + (long) dt.bytes * ox).ptr(out.devicePtr() + (long) dt.bytes * oo)
                    .i32(g.slab).i32(g.rank());
            g.addTo(args, false);
            dev.launch("expand_fwd_" + suffix(dt), grid(g.kept == 1 && g.sa[0] == 1 ? (g.slab + 3L) / 4 : g.slab), Dim3.of(BLOCK), 0, args);
        });
        return out;
    }

    // ------------------------------------------------------------------ clamp

    public static Tensor clamp(Tensor x, float lo, float hi) {
        KernelDevice dev = floatDevice("clamp", "x", x);
        Tensor out = output(dev, x.dtype(), x.shape());
        int n = out.numel();
        if (n > 0) launchMap(dev, "clamp_fwd_" + suffix(x.dtype()), n, KernelArgs.create().ptr(x.devicePtr()).ptr(out.devicePtr()).i32(n).f32(lo).f32(hi));
        return out;
    }

    public static Tensor clampBackward(Tensor gy, Tensor x, float lo, float hi) {
        KernelDevice dev = floatDevice("clampBackward", "gy", gy);
        sameDeviceAndDtype("clampBackward", "x", x, dev, gy.dtype());
        sameShape("clampBackward", "x", x, "gy", gy);
        Tensor dx = output(dev, gy.dtype(), x.shape());
        int n = dx.numel();
        if (n > 0) launchMap(dev, "clamp_bwd_" + suffix(gy.dtype()), n,
                KernelArgs.create().ptr(gy.devicePtr()).ptr(x.devicePtr()).ptr(dx.devicePtr()).i32(n).f32(lo).f32(hi));
        return dx;
    }

    // ------------------------------------------------------------------ unary functions

    /** The kernels' op code of f (kernels/elementwise.cu UNARY_*), by name so that reordering the enum cannot shift it. */
    static int unaryCode(Unary f) {
        return switch (f) {
            case NEG -> 0;
            case ABS -> 1;
            case SQUARE -> 2;
            case SQRT -> 3;
            case RSQRT -> 4;
            case EXP -> 5;
            case LOG -> 6;
            case SIGN -> 7;
            case RELU -> 8;
            case SIGMOID -> 9;
            case TANH -> 10;
            case SILU -> 11;
            case GELU -> 12;
            case QUICK_GELU -> 13;
        };
    }

    public static Tensor unary(Unary f, Tensor x) {
        if (f == null) throw new IllegalArgumentException("unary: f is null, expected a Unary function");
        KernelDevice dev = floatDevice("unary " + f, "x", x);
        Tensor out = output(dev, x.dtype(), x.shape());
        int n = out.numel();
        if (n > 0) launchMap(dev, "unary_fwd_" + suffix(x.dtype()), n, KernelArgs.create().ptr(x.devicePtr()).ptr(out.devicePtr()).i32(n).i32(unaryCode(f)));
        return out;
    }

    public static Tensor unaryBackward(Unary f, Tensor gy, Tensor x) {
        if (f == null) throw new IllegalArgumentException("unaryBackward: f is null, expected a Unary function");
        String op = "unaryBackward " + f;
        KernelDevice dev = floatDevice(op, "gy", gy);
        sameDeviceAndDtype(op, "x", x, dev, gy.dtype());
        sameShape(op, "x", x, "gy", gy);
        Tensor dx = output(dev, gy.dtype(), x.shape());
        int n = dx.numel();
        if (n > 0) launchMap(dev, "unary_bwd_" + suffix(gy.dtype()), n,
                KernelArgs.create().ptr(gy.devicePtr()).ptr(x.devicePtr()).ptr(dx.devicePtr()).i32(n).i32(unaryCode(f)));
        return dx;
    }

    // ------------------------------------------------------------------ GEGLU

    /** The half width n of a GEGLU input [..., 2n]. */
    private static int gegluHalf(String op, Tensor x) {
        if (x.rank() == 0 || x.dim(-1) % 2 != 0)
            throw new IllegalArgumentException(op + ": x has shape " + Arrays.toString(x.shape()) + ", expected [..., 2n] with an even last dimension");
        return x.dim(-1) / 2;
    }

    public static Tensor geglu(Tensor x) {
        KernelDevice dev = floatDevice("geglu", "x", x);
        int n = gegluHalf("geglu", x);
        int[] yShape = x.shape();
        yShape[yShape.length - 1] = n;                     // [..., 2n] → [..., n]
        Tensor y = output(dev, x.dtype(), yShape);
        int total = y.numel();
        if (total > 0) dev.launch("geglu_fwd_" + suffix(x.dtype()), grid(total), Dim3.of(BLOCK), 0,
                KernelArgs.create().ptr(x.devicePtr()).ptr(y.devicePtr()).i32(total).i32(n));
        return y;
    }

    public static Tensor gegluBackward(Tensor gy, Tensor x) {
        KernelDevice dev = floatDevice("gegluBackward", "gy", gy);
        sameDeviceAndDtype("gegluBackward", "x", x, dev, gy.dtype());
        int n = gegluHalf("gegluBackward", x);
        int[] yShape = x.shape();
        yShape[yShape.length - 1] = n;
        if (!Arrays.equals(gy.shape(), yShape))
            throw new IllegalArgumentException("gegluBackward: gy has shape " + Arrays.toString(gy.shape()) + ", expected "
                    + Arrays.toString(yShape) + " (x " + Arrays.toString(x.shape()) + " with its last dimension halved)");
        Tensor dx = output(dev, gy.dtype(), x.shape());    // [..., 2n]
        int total = gy.numel();
        if (total > 0) dev.launch("geglu_bwd_" + suffix(gy.dtype()), grid(total), Dim3.of(BLOCK), 0,
                KernelArgs.create().ptr(gy.devicePtr()).ptr(x.devicePtr()).ptr(dx.devicePtr()).i32(total).i32(n));
        return dx;
    }

    // ------------------------------------------------------------------ Adam / AdamW

    /**
     * One in-place step at 1-based {@code step}, as CpuOptim.adamStep: the same per-step scalars, computed the same way.
     * F32 tensors only: parameters are the F32 master weights and m, v the F32 moments (a 16-bit model keeps F32
     * master copies for the optimiser and casts them down for the forward pass).
     */
    public static void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, int step, AdamParams hp) {
        String[] names = {"param", "grad", "m", "v"};
        Tensor[] all = {param, grad, m, v};
        for (int i = 0; i < 4; i++)
            if (all[i] != null && (all[i].dtype() == DType.F16 || all[i].dtype() == DType.BF16))
                throw new IllegalArgumentException("adamStep: " + names[i] + " is " + all[i].dtype() + ", expected F32: the "
                        + "optimiser keeps master weights, gradients and moments in F32 (keep an F32 master copy of a "
                        + "16-bit parameter and convert with CudaOps.cast)");
        KernelDevice dev = device("adamStep", "param", param);
        sameDevice("adamStep", "grad", grad, dev);
        sameDevice("adamStep", "m", m, dev);
        sameDevice("adamStep", "v", v, dev);
        sameShape("adamStep", "param", param, "grad", grad);
        sameShape("adamStep", "param", param, "m", m);
        sameShape("adamStep", "param", param, "v", v);
        if (hp == null) throw new IllegalArgumentException("adamStep: hp is null, expected AdamParams");
        if (step < 1) throw new IllegalArgumentException("adamStep: step is " + step + ", expected a 1-based step ≥ 1");
        check(hp.lr() >= 0, "lr", hp.lr(), "≥ 0");
        check(hp.eps() >= 0, "eps", hp.eps(), "≥ 0");
        check(hp.beta1() >= 0 && hp.beta1() < 1, "beta1", hp.beta1(), "in [0, 1)");
        check(hp.beta2() >= 0 && hp.beta2() < 1, "beta2", hp.beta2(), "in [0, 1)");
        check(hp.weightDecay() >= 0, "weightDecay", hp.weightDecay(), "≥ 0");
        long p = param.devicePtr(), g = grad.devicePtr(), mp = m.devicePtr(), vp = v.devicePtr();
        if (p == g || p == mp || p == vp || g == mp || g == vp || mp == vp)
            throw new IllegalArgumentException("adamStep: param, grad, m and v must not share storage");
        int n = param.numel();
        if (n == 0) return;
        // Bias corrections in double like torch's Python floats, then float scalars: CpuOptim's Coefficients.
        double bc1 = 1 - Math.pow(hp.beta1(), step), bc2 = 1 - Math.pow(hp.beta2(), step);
        float wd = hp.weightDecay();
        KernelArgs args = KernelArgs.create().ptr(p).ptr(g).ptr(mp).ptr(vp).i32(n)
                .f32(hp.decoupled() ? 0f : wd)
                .f32(hp.decoupled() ? 1f - hp.lr() * wd : 1f)
                .f32(1f - hp.beta1()).f32(hp.beta2()).f32(1f - hp.beta2())
                .f32((float) Math.sqrt(bc2)).f32(hp.eps()).f32((float) (-hp.lr() / bc1));
        dev.launch("adamstep_fwd_f32", grid(n), Dim3.of(BLOCK), 0, args);
    }

    private static void check(boolean ok, String name, float value, String expected) {
        if (!ok) throw new IllegalArgumentException("adamStep: " + name + " is " + value + ", expected " + expected);
    }

    // ------------------------------------------------------------------ storage conversion

    /**
     * x converted to dtype (F32, F16 or BF16) on its device, round to nearest even; x itself when it already has that
     * type. The way device tensors change storage type ({@code Tensor.to} is CPU-only).
     */
    public static Tensor cast(Tensor x, DType dtype) {
        KernelDevice dev = CudaOpSupport.floatDevice("cast", "x", x);
        String to = CudaOpSupport.suffix(dtype);
        if (x.dtype() == dtype) return x;
        Tensor out = CudaOpSupport.output(dev, dtype, x.shape());
        int n = out.numel();
        if (n > 0) dev.launch("cast_" + CudaOpSupport.suffix(x.dtype()) + "_" + to, grid(n), Dim3.of(BLOCK), 0,
                KernelArgs.create().ptr(x.devicePtr()).ptr(out.devicePtr()).i32(n));
        return out;
    }

    // ------------------------------------------------------------------ launch geometry

    /** A grid of 256-thread blocks with one thread per item, capped at {@link #MAX_BLOCKS}. */
    static Dim3 grid(long items) {
        long blocks = Math.max(1, (items + BLOCK - 1) / BLOCK);
        return Dim3.of((int) Math.min(blocks, MAX_BLOCKS));
    }

    /** The maps' kernels take four elements per thread on their packed path (float4, or four 16-bit values). */
    private static void launchMap(KernelDevice dev, String kernel, int n, KernelArgs args) {
        dev.launch(kernel, grid((n + 3L) / 4), Dim3.of(BLOCK), 0, args);
    }

    // ------------------------------------------------------------------ argument checks

    static void sameShape(String op, String an, Tensor a, String bn, Tensor b) {
        if (!a.sameShape(b))
            throw new IllegalArgumentException(op + ": " + bn + " has shape " + Arrays.toString(b.shape()) + ", expected the shape of "
                    + an + " " + Arrays.toString(a.shape()));
    }

    // ------------------------------------------------------------------ broadcasting

    /**
     * A broadcast coalesced into as few dimensions as possible, innermost first. The kernels take the innermost six;
     * a broadcast that keeps more (alternating broadcast and non-broadcast dimensions, rare) is split on the host into
     * slabs of those six dimensions, one launch per combination of the outer indices, with offset pointers.
     */
    static final class Geometry {
        final int[] size, sa, sb;
        /** Kept dimensions; elements per launch (the product of the innermost {@link #MAX_RANK} sizes). */
        final int kept, slab;

        private Geometry(int[] size, int[] sa, int[] sb, int kept) {
            this.size = size;
            this.sa = sa;
            this.sb = sb;
            this.kept = kept;
            long p = 1;
            for (int k = 0; k < Math.min(kept, MAX_RANK); k++) p *= size[k];
            this.slab = (int) p;
        }

        static Geometry of(int[] out, int[] sa, int[] sb) {
            BroadcastPlan p = BroadcastPlan.of(out, sa, sb, MAX_RANK);
            return new Geometry(p.size, p.sa, p.sb, p.kept);
        }

        /** The rank passed to the kernel: at least 1 (a one-element result is one dimension of size 1). */
        int rank() { return Math.max(1, Math.min(kept, MAX_RANK)); }

        interface Slab { void at(int aOff, int bOff, int outOff); }

        /** Calls {@code body} with the element offsets of every slab (just one unless more than six dimensions are kept). */
        void forEachSlab(Slab body) {
            int outer = kept - MAX_RANK;
            if (outer <= 0) { body.at(0, 0, 0); return; }
            int[] coord = new int[outer];
            int oa = 0, ob = 0, oo = 0;
            while (true) {
                body.at(oa, ob, oo);
                oo += slab;
                int k = 0;
                for (; k < outer; k++) {   // odometer over the outer dimensions, innermost first
                    int d = MAX_RANK + k;
                    oa += sa[d];
                    ob += sb[d];
                    if (++coord[k] < size[d]) break;
                    oa -= coord[k] * sa[d];
                    ob -= coord[k] * sb[d];
                    coord[k] = 0;
                }
                if (k == outer) return;
            }
        }

        /** Appends the innermost six sizes, a's strides and (withB) b's strides: the kernels' scalars after rank. */
        void addTo(KernelArgs args, boolean withB) {
            for (int k = 0; k < MAX_RANK; k++) args.i32(size[k]);
            for (int k = 0; k < MAX_RANK; k++) args.i32(sa[k]);
            if (withB) for (int k = 0; k < MAX_RANK; k++) args.i32(sb[k]);
        }
    }
}
