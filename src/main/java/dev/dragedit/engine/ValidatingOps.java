package dev.dragedit.engine;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.Unary;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code --validate}: the op set under test (the CUDA ops) shadowed by the CPU op set. Every op runs on the checked
 * ops first, and its result is what the caller gets; then the reference op ({@link CpuOps}) runs on CPU F32 copies of
 * the same inputs (16-bit tensors widened exactly, so both sides see identical values) and every output is compared.
 * The first divergence throws a {@link ValidationException}. Non-tensor arguments pass through unchanged. The
 * in-place {@link #adamStep} is checked by running the reference step on copies taken before the device step and
 * comparing param, m and v afterwards.
 *
 * <p>The measure, per output element: rel = |got − want| / (|want| + rms(want)), rms over the output's finite
 * elements, so an element that cancels to nearly zero is judged against the size of what cancelled rather than against
 * 0 (a GEMM entry of 1e-9 among entries of order 1 is allowed the error of an order-1 entry). NaN and ±Inf must agree
 * exactly: a NaN the CPU does not produce is a bug, not noise.
 * <ul>
 *   <li>F32: rel ≤ 1e-4. Both sides round the same inputs in F32 and differ only in the order of summation (trees of
 *       partial sums on the device, blocked or float64 sums on the CPU) and in the last bits of exp/erf/rsqrt. Order
 *       changes the sum of L terms by ~√L·2⁻²⁴ of its magnitude in practice (≈2e-5 at L = 10⁵, the longest reductions
 *       of the SD1.5 UNet), so 1e-4 leaves headroom while any indexing, masking or race bug — an error of order 1 —
 *       is far outside.</li>
 *   <li>Any tensor of the op F16 or BF16: rel ≤ 2e-2. The kernels accumulate in F32 but store outputs (and some
 *       intermediates, e.g. attention probabilities or workspaces) in 16 bits: each store rounds by up to 2⁻¹¹ (F16)
 *       or 2⁻⁸ = 3.9e-3 (BF16), and a chain of up to four such roundings stays below 2e-2. The CPU result is rounded to
 *       the output's dtype before comparing, so overflow to ±Inf in F16 agrees.</li>
 * </ul>
 * The blind spot of this measure is a single-element output that is a sum of large terms cancelling to nearly zero:
 * there rms(want) = |want| leaves no headroom. The models' single-element outputs are losses, sums of non-negative
 * terms, which do not cancel.
 *
 * <p>Counts: {@link #validated()}, and per op the worst rel seen ({@link #worst()}), for the line
 * {@link #summary()} printed at the end of a run. Adding an op to {@link Ops} fails to compile here until it is
 * handled: this class implements the interface method by method on purpose (no reflective proxy).
 */
public final class ValidatingOps implements Ops {
    private final Ops checked;
    private final Ops reference;
    private final String deviceName;

    private long validated;
    private final Map<String, Double> worstByOp = new LinkedHashMap<>();

    /** Shadows {@code checked} (the CUDA ops) with {@link CpuOps}. */
    public ValidatingOps(Ops checked) { this(checked, CpuOps.INSTANCE); }

    /** Shadows {@code checked} with {@code reference}, which takes CPU F32 tensors. */
    public ValidatingOps(Ops checked, Ops reference) {
        if (checked == null || reference == null) throw new IllegalArgumentException("ValidatingOps: checked and reference op sets are required");
        if (checked instanceof ValidatingOps) throw new IllegalArgumentException("ValidatingOps: " + checked.name() + " is already validated");
        this.checked = checked;
        this.reference = reference;
        this.deviceName = checked.name();
    }

    @Override public String name() { return checked.name() + "+validate"; }

    /** The op set whose results callers get. */
    public Ops checked() { return checked; }

    /** How many ops ran and matched so far. */
    public synchronized long validated() { return validated; }

    /** Per op (in first-use order), the worst rel error seen over its outputs. */
    public synchronized Map<String, Double> worst() { return new LinkedHashMap<>(worstByOp); }

    /** "validated 1234 ops against cpu, worst rel error 3.1e-06 (conv2d)", or that nothing ran. */
    public synchronized String summary() {
        if (validated == 0) return "validated 0 ops against " + reference.name();
        String op = null;
        double w = -1;
        for (Map.Entry<String, Double> e : worstByOp.entrySet()) {
            if (e.getValue() > w) { w = e.getValue(); op = e.getKey(); }
        }
        return String.format(Locale.ROOT, "validated %d ops against %s, worst rel error %.2g (%s)", validated, reference.name(), w, op);
    }

    // ---------------------------------------------------------------- element-wise, broadcasting

    @Override public Tensor add(Tensor a, Tensor b) { return one("add", "a b", checked.add(a, b), in -> reference.add(in.t(0), in.t(1)), a, b); }
    @Override public Tensor sub(Tensor a, Tensor b) { return one("sub", "a b", checked.sub(a, b), in -> reference.sub(in.t(0), in.t(1)), a, b); }
    @Override public Tensor mul(Tensor a, Tensor b) { return one("mul", "a b", checked.mul(a, b), in -> reference.mul(in.t(0), in.t(1)), a, b); }
    @Override public Tensor div(Tensor a, Tensor b) { return one("div", "a b", checked.div(a, b), in -> reference.div(in.t(0), in.t(1)), a, b); }
    @Override public Tensor affine(Tensor a, float s, float t) { return one("affine", "a s t", checked.affine(a, s, t), in -> reference.affine(in.t(0), s, t), a, s, t); }
    @Override public Tensor sumTo(Tensor g, int[] shape) { return one("sumTo", "g shape", checked.sumTo(g, shape), in -> reference.sumTo(in.t(0), shape), g, shape); }
    @Override public Tensor expand(Tensor x, int[] shape) { return one("expand", "x shape", checked.expand(x, shape), in -> reference.expand(in.t(0), shape), x, shape); }
    @Override public Tensor clamp(Tensor x, float lo, float hi) { return one("clamp", "x lo hi", checked.clamp(x, lo, hi), in -> reference.clamp(in.t(0), lo, hi), x, lo, hi); }
    @Override public Tensor clampBackward(Tensor gy, Tensor x, float lo, float hi) { return one("clampBackward", "gy x lo hi", checked.clampBackward(gy, x, lo, hi), in -> reference.clampBackward(in.t(0), in.t(1), lo, hi), gy, x, lo, hi); }
    @Override public Tensor unary(Unary f, Tensor x) { return one("unary", "f x", checked.unary(f, x), in -> reference.unary(f, in.t(1)), f, x); }
    @Override public Tensor unaryBackward(Unary f, Tensor gy, Tensor x) { return one("unaryBackward", "f gy x", checked.unaryBackward(f, gy, x), in -> reference.unaryBackward(f, in.t(1), in.t(2)), f, gy, x); }
    @Override public Tensor geglu(Tensor x) { return one("geglu", "x", checked.geglu(x), in -> reference.geglu(in.t(0)), x); }
    @Override public Tensor gegluBackward(Tensor gy, Tensor x) { return one("gegluBackward", "gy x", checked.gegluBackward(gy, x), in -> reference.gegluBackward(in.t(0), in.t(1)), gy, x); }

    // ---------------------------------------------------------------- reductions and losses

    @Override public Tensor sum(Tensor x, int[] dims, boolean keepDim) { return one("sum", "x dims keepDim", checked.sum(x, dims, keepDim), in -> reference.sum(in.t(0), dims, keepDim), x, dims, keepDim); }
    @Override public Tensor mean(Tensor x, int[] dims, boolean keepDim) { return one("mean", "x dims keepDim", checked.mean(x, dims, keepDim), in -> reference.mean(in.t(0), dims, keepDim), x, dims, keepDim); }
    @Override public Tensor l1Loss(Tensor a, Tensor b) { return one("l1Loss", "a b", checked.l1Loss(a, b), in -> reference.l1Loss(in.t(0), in.t(1)), a, b); }
    @Override public Tensor l1LossBackward(Tensor gy, Tensor a, Tensor b) { return one("l1LossBackward", "gy a b", checked.l1LossBackward(gy, a, b), in -> reference.l1LossBackward(in.t(0), in.t(1), in.t(2)), gy, a, b); }
    @Override public Tensor mseLoss(Tensor a, Tensor b) { return one("mseLoss", "a b", checked.mseLoss(a, b), in -> reference.mseLoss(in.t(0), in.t(1)), a, b); }
    @Override public Tensor mseLossBackward(Tensor gy, Tensor a, Tensor b) { return one("mseLossBackward", "gy a b", checked.mseLossBackward(gy, a, b), in -> reference.mseLossBackward(in.t(0), in.t(1), in.t(2)), gy, a, b); }

    // ---------------------------------------------------------------- linear algebra

    @Override public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) { return one("matmul", "a b transA transB", checked.matmul(a, b, transA, transB), in -> reference.matmul(in.t(0), in.t(1), transA, transB), a, b, transA, transB); }
    @Override public Tensor linear(Tensor x, Tensor w, Tensor bias) { return one("linear", "x w bias", checked.linear(x, w, bias), in -> reference.linear(in.t(0), in.t(1), in.t(2)), x, w, bias); }
    @Override public Tensor[] linearBackward(Tensor gy, Tensor x, Tensor w, boolean needX, boolean needW, boolean needBias) {
        return many("linearBackward", "gy x w needX needW needBias", "dx dw dbias", checked.linearBackward(gy, x, w, needX, needW, needBias),
                in -> reference.linearBackward(in.t(0), in.t(1), in.t(2), needX, needW, needBias), gy, x, w, needX, needW, needBias);
    }

    // ---------------------------------------------------------------- convolution

    @Override public Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) { return one("conv2d", "x w bias p", checked.conv2d(x, w, bias, p), in -> reference.conv2d(in.t(0), in.t(1), in.t(2), p), x, w, bias, p); }
    @Override public Tensor[] conv2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, boolean needX, boolean needW, boolean needBias) {
        return many("conv2dBackward", "gy x w p needX needW needBias", "dx dw dbias", checked.conv2dBackward(gy, x, w, p, needX, needW, needBias),
                in -> reference.conv2dBackward(in.t(0), in.t(1), in.t(2), p, needX, needW, needBias), gy, x, w, p, needX, needW, needBias);
    }
    @Override public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, int outPadH, int outPadW) {
        return one("convTranspose2d", "x w bias p outPadH outPadW", checked.convTranspose2d(x, w, bias, p, outPadH, outPadW),
                in -> reference.convTranspose2d(in.t(0), in.t(1), in.t(2), p, outPadH, outPadW), x, w, bias, p, outPadH, outPadW);
    }
    @Override public Tensor[] convTranspose2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW,
                                                      boolean needX, boolean needW, boolean needBias) {
        return many("convTranspose2dBackward", "gy x w p outPadH outPadW needX needW needBias", "dx dw dbias",
                checked.convTranspose2dBackward(gy, x, w, p, outPadH, outPadW, needX, needW, needBias),
                in -> reference.convTranspose2dBackward(in.t(0), in.t(1), in.t(2), p, outPadH, outPadW, needX, needW, needBias),
                gy, x, w, p, outPadH, outPadW, needX, needW, needBias);
    }
    @Override public Tensor modulatedConv2d(Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        return one("modulatedConv2d", "x w styles demodulate padding", checked.modulatedConv2d(x, w, styles, demodulate, padding),
                in -> reference.modulatedConv2d(in.t(0), in.t(1), in.t(2), demodulate, padding), x, w, styles, demodulate, padding);
    }
    @Override public Tensor[] modulatedConv2dBackward(Tensor gy, Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        return many("modulatedConv2dBackward", "gy x w styles demodulate padding", "dx dw dstyles",
                checked.modulatedConv2dBackward(gy, x, w, styles, demodulate, padding),
                in -> reference.modulatedConv2dBackward(in.t(0), in.t(1), in.t(2), in.t(3), demodulate, padding), gy, x, w, styles, demodulate, padding);
    }
    @Override public Tensor upfirdn2d(Tensor x, Tensor f, int upX, int upY, int downX, int downY, int padX0, int padX1, int padY0, int padY1) {
        return one("upfirdn2d", "x f upX upY downX downY padX0 padX1 padY0 padY1",
                checked.upfirdn2d(x, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1),
                in -> reference.upfirdn2d(in.t(0), in.t(1), upX, upY, downX, downY, padX0, padX1, padY0, padY1),
                x, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1);
    }
    @Override public Tensor upfirdn2dBackward(Tensor gy, int[] xShape, Tensor f, int upX, int upY, int downX, int downY,
                                              int padX0, int padX1, int padY0, int padY1) {
        return one("upfirdn2dBackward", "gy xShape f upX upY downX downY padX0 padX1 padY0 padY1",
                checked.upfirdn2dBackward(gy, xShape, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1),
                in -> reference.upfirdn2dBackward(in.t(0), xShape, in.t(2), upX, upY, downX, downY, padX0, padX1, padY0, padY1),
                gy, xShape, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1);
    }
    @Override public Tensor biasAct(Tensor x, Tensor bias, float alpha, float gain, float clamp) {
        return one("biasAct", "x bias alpha gain clamp", checked.biasAct(x, bias, alpha, gain, clamp),
                in -> reference.biasAct(in.t(0), in.t(1), alpha, gain, clamp), x, bias, alpha, gain, clamp);
    }
    @Override public Tensor[] biasActBackward(Tensor gy, Tensor y, boolean needBias, float alpha, float gain, float clamp) {
        return many("biasActBackward", "gy y needBias alpha gain clamp", "dx dbias", checked.biasActBackward(gy, y, needBias, alpha, gain, clamp),
                in -> reference.biasActBackward(in.t(0), in.t(1), needBias, alpha, gain, clamp), gy, y, needBias, alpha, gain, clamp);
    }

    // ---------------------------------------------------------------- normalisation, softmax, attention

    @Override public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return one("groupNorm", "x groups gamma beta eps", checked.groupNorm(x, groups, gamma, beta, eps),
                in -> reference.groupNorm(in.t(0), groups, in.t(2), in.t(3), eps), x, groups, gamma, beta, eps);
    }
    @Override public Tensor[] groupNormBackward(Tensor gy, Tensor x, int groups, Tensor gamma, float eps, boolean needGammaBeta) {
        return many("groupNormBackward", "gy x groups gamma eps needGammaBeta", "dx dgamma dbeta",
                checked.groupNormBackward(gy, x, groups, gamma, eps, needGammaBeta),
                in -> reference.groupNormBackward(in.t(0), in.t(1), groups, in.t(3), eps, needGammaBeta), gy, x, groups, gamma, eps, needGammaBeta);
    }
    @Override public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return one("layerNorm", "x gamma beta eps", checked.layerNorm(x, gamma, beta, eps), in -> reference.layerNorm(in.t(0), in.t(1), in.t(2), eps), x, gamma, beta, eps);
    }
    @Override public Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor gamma, float eps, boolean needGammaBeta) {
        return many("layerNormBackward", "gy x gamma eps needGammaBeta", "dx dgamma dbeta", checked.layerNormBackward(gy, x, gamma, eps, needGammaBeta),
                in -> reference.layerNormBackward(in.t(0), in.t(1), in.t(2), eps, needGammaBeta), gy, x, gamma, eps, needGammaBeta);
    }
    @Override public Tensor softmax(Tensor x) { return one("softmax", "x", checked.softmax(x), in -> reference.softmax(in.t(0)), x); }
    @Override public Tensor softmaxBackward(Tensor gy, Tensor y) { return one("softmaxBackward", "gy y", checked.softmaxBackward(gy, y), in -> reference.softmaxBackward(in.t(0), in.t(1)), gy, y); }
    @Override public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        return one("attention", "q k v scale causal", checked.attention(q, k, v, scale, causal),
                in -> reference.attention(in.t(0), in.t(1), in.t(2), scale, causal), q, k, v, scale, causal);
    }
    @Override public Tensor[] attentionBackward(Tensor gy, Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        return many("attentionBackward", "gy q k v scale causal", "dq dk dv", checked.attentionBackward(gy, q, k, v, scale, causal),
                in -> reference.attentionBackward(in.t(0), in.t(1), in.t(2), in.t(3), scale, causal), gy, q, k, v, scale, causal);
    }

    // ---------------------------------------------------------------- resampling

    @Override public Tensor upsampleNearest2x(Tensor x) { return one("upsampleNearest2x", "x", checked.upsampleNearest2x(x), in -> reference.upsampleNearest2x(in.t(0)), x); }
    @Override public Tensor upsampleNearest2xBackward(Tensor gy) { return one("upsampleNearest2xBackward", "gy", checked.upsampleNearest2xBackward(gy), in -> reference.upsampleNearest2xBackward(in.t(0)), gy); }
    @Override public Tensor resizeBilinear(Tensor x, int outH, int outW) { return one("resizeBilinear", "x outH outW", checked.resizeBilinear(x, outH, outW), in -> reference.resizeBilinear(in.t(0), outH, outW), x, outH, outW); }
    @Override public Tensor resizeBilinearBackward(Tensor gy, int inH, int inW) { return one("resizeBilinearBackward", "gy inH inW", checked.resizeBilinearBackward(gy, inH, inW), in -> reference.resizeBilinearBackward(in.t(0), inH, inW), gy, inH, inW); }
    @Override public Tensor gridSample(Tensor x, Tensor grid, boolean alignCorners) { return one("gridSample", "x grid alignCorners", checked.gridSample(x, grid, alignCorners), in -> reference.gridSample(in.t(0), in.t(1), alignCorners), x, grid, alignCorners); }
    @Override public Tensor[] gridSampleBackward(Tensor gy, Tensor x, Tensor grid, boolean alignCorners, boolean needX, boolean needGrid) {
        return many("gridSampleBackward", "gy x grid alignCorners needX needGrid", "dx dgrid", checked.gridSampleBackward(gy, x, grid, alignCorners, needX, needGrid),
                in -> reference.gridSampleBackward(in.t(0), in.t(1), in.t(2), alignCorners, needX, needGrid), gy, x, grid, alignCorners, needX, needGrid);
    }

    // ---------------------------------------------------------------- shape

    @Override public Tensor concat(Tensor[] xs, int dim) { return one("concat", "xs dim", checked.concat(xs, dim), in -> reference.concat(in.list(0), dim), xs, dim); }
    @Override public Tensor slice(Tensor x, int dim, int start, int end) { return one("slice", "x dim start end", checked.slice(x, dim, start, end), in -> reference.slice(in.t(0), dim, start, end), x, dim, start, end); }
    @Override public Tensor sliceBackward(Tensor gy, int[] inShape, int dim, int start, int end) {
        return one("sliceBackward", "gy inShape dim start end", checked.sliceBackward(gy, inShape, dim, start, end), in -> reference.sliceBackward(in.t(0), inShape, dim, start, end), gy, inShape, dim, start, end);
    }
    @Override public Tensor permute(Tensor x, int[] perm) { return one("permute", "x perm", checked.permute(x, perm), in -> reference.permute(in.t(0), perm), x, perm); }
    @Override public Tensor pad(Tensor x, int[] pads, float value) { return one("pad", "x pads value", checked.pad(x, pads, value), in -> reference.pad(in.t(0), pads, value), x, pads, value); }
    @Override public Tensor padBackward(Tensor gy, int[] pads) { return one("padBackward", "gy pads", checked.padBackward(gy, pads), in -> reference.padBackward(in.t(0), pads), gy, pads); }

    // ---------------------------------------------------------------- optimisers (in place)

    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, int step, AdamParams hp) {
        // The step overwrites param, m and v: the reference needs them as they were before it.
        Inputs before = new Inputs(new Object[] {param, grad, m, v, step, hp}, true);
        checked.adamStep(param, grad, m, v, step, hp);
        Tensor[] got = {param, m, v};
        verify("adamStep", "param grad m v step hp", "param m v", got, () -> {
            reference.adamStep(before.t(0), before.t(1), before.t(2), before.t(3), step, hp);
            return new Tensor[] {before.t(0), before.t(2), before.t(3)};
        }, new Object[] {param, grad, m, v, step, hp});
    }

    // ---------------------------------------------------------------- the checking

    /** The reference op on the CPU copies of the arguments. */
    private interface Reference1 { Tensor run(Inputs in); }
    private interface ReferenceN { Tensor[] run(Inputs in); }
    private interface Outputs { Tensor[] run(); }

    /** CPU F32 copies of an op's tensor arguments, made on first use (after the checked op ran). */
    private static final class Inputs {
        private final Object[] args;
        private final Object[] copies;

        private final boolean own;

        /** own: copy now, never sharing storage with an argument (for an in-place reference op). */
        Inputs(Object[] args, boolean own) {
            this.args = args;
            this.copies = new Object[args.length];
            this.own = own;
            if (own) for (int i = 0; i < args.length; i++) copy(i);
        }

        Tensor t(int i) { return (Tensor) copy(i); }

        Tensor[] list(int i) { return (Tensor[]) copy(i); }

        private Object copy(int i) {
            if (copies[i] == null && args[i] != null) {
                Object a = args[i];
                if (a instanceof Tensor t) copies[i] = own ? ownCpuF32(t) : cpuF32(t);
                else if (a instanceof Tensor[] ts) {
                    Tensor[] c = new Tensor[ts.length];
                    for (int k = 0; k < ts.length; k++) c[k] = ts[k] == null ? null : own ? ownCpuF32(ts[k]) : cpuF32(ts[k]);
                    copies[i] = c;
                } else copies[i] = a;
            }
            return copies[i];
        }
    }

    private Tensor one(String op, String argNames, Tensor got, Reference1 ref, Object... args) {
        Inputs in = new Inputs(args, false);
        verify(op, argNames, "y", new Tensor[] {got}, () -> new Tensor[] {ref.run(in)}, args);
        return got;
    }

    private Tensor[] many(String op, String argNames, String outNames, Tensor[] got, ReferenceN ref, Object... args) {
        Inputs in = new Inputs(args, false);
        verify(op, argNames, outNames, got, () -> ref.run(in), args);
        return got;
    }

    private void verify(String op, String argNames, String outNames, Tensor[] got, Outputs ref, Object[] args) {
        Tensor[] want;
        try {
            want = ref.run();
        } catch (RuntimeException e) {
            throw new ValidationException(op, "", Double.POSITIVE_INFINITY, 0, "validate: " + call(op, argNames, args) + " ran on "
                    + deviceName + " but the CPU reference failed: " + e.getMessage(), e);
        }
        boolean half = anyHalf(args);
        String[] outs = outNames.split(" ");
        double worst = 0;
        int n = Math.max(got == null ? 0 : got.length, want == null ? 0 : want.length);
        for (int i = 0; i < n; i++) {
            Tensor g = got != null && i < got.length ? got[i] : null;
            Tensor w = want != null && i < want.length ? want[i] : null;
            String out = i < outs.length ? outs[i] : "output " + i;
            if (g == null && w == null) continue;
            if (g == null || w == null) {
                throw new ValidationException(op, out, Double.POSITIVE_INFINITY, 0, "validate: " + call(op, argNames, args) + " diverges from "
                        + reference.name() + " in " + out + ": " + (g == null ? "null on " + deviceName + ", a tensor on the CPU"
                        : "a tensor on " + deviceName + ", null on the CPU"), null);
            }
            OutputComparison c = new OutputComparison(g, w, half);
            if (!c.ok()) {
                throw new ValidationException(op, out, c.maxRelError, c.tolerance, "validate: " + call(op, argNames, args) + " diverges from "
                        + reference.name() + " in " + out + " " + Arrays.toString(g.shape()) + " " + g.dtype() + ": "
                        + c.describe(g.shape(), deviceName), null);
            }
            worst = Math.max(worst, c.maxRelError);
        }
        record(op, worst);
    }

    private synchronized void record(String op, double worst) {
        validated++;
        worstByOp.merge(op, worst, Math::max);
    }

    private static boolean anyHalf(Object[] args) {
        for (Object a : args) {
            if (a instanceof Tensor t && isHalf(t)) return true;
            if (a instanceof Tensor[] ts) for (Tensor t : ts) if (t != null && isHalf(t)) return true;
        }
        return false;
    }

    private static boolean isHalf(Tensor t) { return t.dtype() == DType.F16 || t.dtype() == DType.BF16; }

    /** "conv2d(x [1, 32, 24, 24] F16, w [32, 32, 3, 3] F16, bias null, p Conv2dParams[…])". */
    static String call(String op, String argNames, Object[] args) {
        String[] names = argNames.split(" ");
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String name = i < names.length ? names[i] : "arg" + i;
            parts.add(name + " " + describe(args[i]));
        }
        return op + "(" + String.join(", ", parts) + ")";
    }

    private static String describe(Object a) {
        if (a == null) return "null";
        if (a instanceof Tensor t) return Arrays.toString(t.shape()) + " " + t.dtype();
        if (a instanceof Tensor[] ts) {
            List<String> each = new ArrayList<>();
            for (Tensor t : ts) each.add(describe(t));
            return "{" + String.join(", ", each) + "}";
        }
        if (a instanceof int[] ints) return Arrays.toString(ints);
        return String.valueOf(a);
    }

    /** A CPU F32 tensor with t's values: a copy of t's data when t is on a device or 16-bit, else t itself. */
    static Tensor cpuF32(Tensor t) {
        return t.toCpu().to(DType.F32);
    }

    /** Like {@link #cpuF32} but never t's own storage, so the reference may run in place on it. */
    private static Tensor ownCpuF32(Tensor t) {
        Tensor c = cpuF32(t);
        return c == t ? t.copy() : c;
    }
}
