package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.DeviceBuffer;
import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.device;
import static dev.dragedit.cuda.ops.CudaOpSupport.sameDevice;

/**
 * StyleGAN2's modulated convolution, upfirdn2d and bias_act (lrelu) with their backwards on a {@link KernelDevice},
 * through the kernels of kernels/stylegan.cu and {@link CudaConv}; same signatures and semantics as
 * {@link dev.dragedit.ops.Ops} and the CPU implementation (dev.dragedit.ops.cpu.StyleGanModConv, Upfirdn2d,
 * StyleGanBiasAct).
 * <p>
 * The modulated convolution is the reference's fused path: a kernel builds the per-sample weights
 * wN = w·s·d [N·Cout, Cin, kh, kw] (d the demodulation coefficient), and the convolution is one grouped conv2d
 * (groups = N) of x viewed as [1, N·Cin, H, W]. The backward takes G = dL/dwN and dx from the grouped
 * conv2dBackward, turns G into dv = d·G − d³·(Σ G·v)·v in place (v = w·s; dv = G without demodulation), then reduces
 * dw[o] = Σ_n dv[n, o]·s[n] and ds[n, i] = Σ_{o, k} dv[n, o, i, k]·w[o, i, k].
 * <p>
 * upfirdn2d is one direct kernel: each output element gathers the taps that land on real input samples, so the
 * zero-inserted image never exists. Its backward is the same kernel with the filter unflipped, up and down swapped
 * and the padding (fw − padX0 − 1, W·upX − outW·downX + padX0 − upX + 1, …) of the CPU code, which reads the
 * forward's taps in reverse and yields exactly the input's size. bias_act's backward reads only y (a value exactly at
 * ±clamp counts as clamped); dbias is reduced per channel by one block without atomics, so it is deterministic.
 * <p>
 * With {@code -Ddragedit.cuda.poison=true} (or CudaOpSupport.poisonOutputs(true)) every output is filled with NaN (bytes 0xFF)
 * before the kernels run, so an element a kernel forgets to write shows up in a test.
 */
public final class CudaStyleGan {
    private CudaStyleGan() {}

    private static final int BLOCK = 256;
    /** Blocks of a grid-stride launch at most; enough to fill any current GPU several times over. */
    private static final int MAX_BLOCKS = 65535;
    /** The upfirdn2d kernel keeps the filter in shared memory: 48 KiB, the default limit without opt-in. */
    private static final int MAX_FILTER_TAPS = 12288;

    // ---------------------------------------------------------------- modulated convolution

    /** Threads of the per-row (n, o) weight kernels. */
    private static final int ROW_BLOCK = 128;

    public static Tensor modulatedConv2d(Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        String op = "modulatedConv2d";
        KernelDevice dev = device(op, "x", x);
        int[] d = modDims(op, dev, x, w, styles, padding);   // {N, Cin, H, W, Cout, kh, kw, Ho, Wo}
        int n = d[0], cin = d[1], cout = d[4];
        Tensor wN = perSampleWeights(dev, w, styles, d, demodulate, 0);               // [N·Cout, Cin, kh, kw]
        try {
            Tensor y = CudaConv.conv2d(x.reshape(1, n * cin, d[2], d[3]), wN, null, Conv2dParams.of(1, padding).withGroups(n));
            return y.reshape(n, cout, d[7], d[8]);                                    // [N, Cout, Ho, Wo]
        } finally {
            wN.release();
        }
    }

    /** Returns {dx, dw, dstyles}. */
    public static Tensor[] modulatedConv2dBackward(Tensor gy, Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        String op = "modulatedConv2dBackward";
        KernelDevice dev = device(op, "x", x);
        int[] d = modDims(op, dev, x, w, styles, padding);   // {N, Cin, H, W, Cout, kh, kw, Ho, Wo}
        int n = d[0], cin = d[1], cout = d[4], k2 = d[5] * d[6];
        sameDevice(op, "gy", gy, dev);
        int[] yShape = {n, cout, d[7], d[8]};
        if (!Arrays.equals(gy.shape(), yShape))
            throw new IllegalArgumentException(op + ": gy has shape " + Arrays.toString(gy.shape()) + ", expected "
                    + Arrays.toString(yShape) + " [N, Cout, Ho, Wo]");
        try (DeviceBuffer dcoef = demodulate ? DeviceBuffer.alloc(dev, 4L * n * cout) : null) {   // [N·Cout]
            Tensor wN = perSampleWeights(dev, w, styles, d, demodulate, dcoef == null ? 0 : dcoef.ptr());
            Tensor[] g;
            try {
                g = CudaConv.conv2dBackward(gy.reshape(1, n * cout, d[7], d[8]), x.reshape(1, n * cin, d[2], d[3]), wN,
                        Conv2dParams.of(1, padding).withGroups(n), true, true, false);
            } finally {
                wN.release();
            }
            Tensor dx = g[0].reshape(n, cin, d[2], d[3]);                             // [N, Cin, H, W]
            Tensor dv = g[1];                                                         // G [N·Cout, Cin, kh, kw], to dv
            try {
                if (demodulate)
                    dev.launch("modconv_dv_bwd_f32", Dim3.of(n * cout), Dim3.of(ROW_BLOCK), 0, KernelArgs.create()
                            .ptr(dv.devicePtr()).ptr(w.devicePtr()).ptr(styles.devicePtr()).ptr(dcoef.ptr())
                            .i32(cout).i32(cin).i32(k2));
                Tensor dw = output(dev, w.shape());                                   // [Cout, Cin, kh, kw]
                dev.launch("modconv_dw_bwd_f32", grid(w.numel()), Dim3.of(BLOCK), 0, KernelArgs.create()
                        .ptr(dv.devicePtr()).ptr(styles.devicePtr()).ptr(dw.devicePtr()).i32(n).i32(cout).i32(cin).i32(k2));
                Tensor ds = output(dev, n, cin);                                      // [N, Cin]
                dev.launch("modconv_ds_bwd_f32", Dim3.cover((long) n * cin, BLOCK / 32), Dim3.of(BLOCK), 0, KernelArgs.create()
                        .ptr(dv.devicePtr()).ptr(w.devicePtr()).ptr(ds.devicePtr()).i32(n).i32(cout).i32(cin).i32(k2));
                return new Tensor[]{dx, dw, ds};
            } finally {
                dv.release();
            }
        }
    }

    /** wN = w·s·d as [N·Cout, Cin, kh, kw]; the coefficients d go to dcoefPtr when it is not 0. */
    private static Tensor perSampleWeights(KernelDevice dev, Tensor w, Tensor styles, int[] d, boolean demodulate, long dcoefPtr) {
        int n = d[0], cin = d[1], cout = d[4];
        Tensor wN = output(dev, n * cout, cin, d[5], d[6]);                           // [N·Cout, Cin, kh, kw]
        dev.launch("modconv_weight_fwd_f32", Dim3.of(n * cout), Dim3.of(ROW_BLOCK), 0, KernelArgs.create()
                .ptr(w.devicePtr()).ptr(styles.devicePtr()).ptr(wN.devicePtr()).ptr(dcoefPtr)
                .i32(cout).i32(cin).i32(d[5] * d[6]).i32(demodulate ? 1 : 0));
        return wN;
    }

    /** Validates the arguments; returns {N, Cin, H, W, Cout, kh, kw, Ho, Wo}. */
    private static int[] modDims(String op, KernelDevice dev, Tensor x, Tensor w, Tensor styles, int padding) {
        sameDevice(op, "w", w, dev);
        sameDevice(op, "styles", styles, dev);
        if (x.rank() != 4)
            throw new IllegalArgumentException(op + ": x has shape " + Arrays.toString(x.shape()) + ", expected [N, Cin, H, W]");
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        if (w.rank() != 4 || w.dim(1) != cin)
            throw new IllegalArgumentException(op + ": w has shape " + Arrays.toString(w.shape()) + ", expected [Cout, Cin=" + cin + ", k, k]");
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        if (styles.rank() != 2 || styles.dim(0) != n || styles.dim(1) != cin)
            throw new IllegalArgumentException(op + ": styles has shape " + Arrays.toString(styles.shape())
                    + ", expected [N=" + n + ", Cin=" + cin + "]");
        if (padding < 0) throw new IllegalArgumentException(op + ": padding must be ≥ 0, found " + padding);
        if (kh < 1 || kw < 1 || n < 1 || cin < 1 || cout < 1)
            throw new IllegalArgumentException(op + ": x " + Arrays.toString(x.shape()) + " and w "
                    + Arrays.toString(w.shape()) + " must have N, Cin, Cout, kh and kw ≥ 1");
        int outH = h + 2 * padding - kh + 1, outW = wd + 2 * padding - kw + 1;
        if (outH < 1 || outW < 1)
            throw new IllegalArgumentException(op + ": x " + Arrays.toString(x.shape()) + " with padding " + padding
                    + " is smaller than the kernel " + kh + "×" + kw);
        return new int[]{n, cin, h, wd, cout, kh, kw, outH, outW};
    }

    // ---------------------------------------------------------------- upfirdn2d

    public static Tensor upfirdn2d(Tensor x, Tensor f, int upX, int upY, int downX, int downY,
                                   int padX0, int padX1, int padY0, int padY1) {
        String op = "upfirdn2d";
        KernelDevice dev = device(op, "x", x);
        if (x.rank() != 4)
            throw new IllegalArgumentException(op + ": x has shape " + Arrays.toString(x.shape()) + ", expected [N, C, H, W]");
        checkFactors(op, f, dev, upX, upY, downX, downY);
        return run(op, dev, x, f, true, upX, upY, downX, downY, padX0, padX1, padY0, padY1);
    }

    public static Tensor upfirdn2dBackward(Tensor gy, int[] xShape, Tensor f, int upX, int upY, int downX, int downY,
                                           int padX0, int padX1, int padY0, int padY1) {
        String op = "upfirdn2dBackward";
        KernelDevice dev = device(op, "gy", gy);
        checkFactors(op, f, dev, upX, upY, downX, downY);
        if (xShape == null || xShape.length != 4)
            throw new IllegalArgumentException(op + ": xShape is " + Arrays.toString(xShape) + ", expected [N, C, H, W]");
        for (int s : xShape)
            if (s < 0) throw new IllegalArgumentException(op + ": xShape " + Arrays.toString(xShape) + " has a negative dimension");
        int h = xShape[2], w = xShape[3], fh = f.dim(0), fw = f.dim(1);
        int outH = outSize(op, "height", h, upY, downY, padY0, padY1, fh);
        int outW = outSize(op, "width", w, upX, downX, padX0, padX1, fw);
        int[] expected = {xShape[0], xShape[1], outH, outW};
        if (!Arrays.equals(gy.shape(), expected))
            throw new IllegalArgumentException(op + ": gy has shape " + Arrays.toString(gy.shape()) + ", expected "
                    + Arrays.toString(expected) + " [N, C, outH, outW]");
        if (Tensor.numel(xShape) == 0) return output(dev, xShape);
        int qx0 = fw - padX0 - 1, qx1 = w * upX - outW * downX + padX0 - upX + 1;
        int qy0 = fh - padY0 - 1, qy1 = h * upY - outH * downY + padY0 - upY + 1;
        Tensor dx = run(op, dev, gy, f, false, downX, downY, upX, upY, qx0, qx1, qy0, qy1);   // [N, C, H, W]
        if (!Arrays.equals(dx.shape(), xShape))
            throw new IllegalStateException(op + ": adjoint has shape " + Arrays.toString(dx.shape())
                    + ", expected " + Arrays.toString(xShape));
        return dx;
    }

    private static Tensor run(String op, KernelDevice dev, Tensor x, Tensor f, boolean flip, int upX, int upY,
                              int downX, int downY, int padX0, int padX1, int padY0, int padY1) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), fh = f.dim(0), fw = f.dim(1);
        int outH = outSize(op, "height", h, upY, downY, padY0, padY1, fh);
        int outW = outSize(op, "width", w, upX, downX, padX0, padX1, fw);
        Tensor y = output(dev, n, c, outH, outW);                                    // [N, C, outH, outW]
        if (y.numel() == 0) return y;
        if (x.numel() == 0) {
            // Padding only: every output is a sum over no input sample.
            dev.memset(y.devicePtr(), 0, y.sizeBytes());
            return y;
        }
        dev.launch("upfirdn2d_fwd_f32", grid(y.numel()), Dim3.of(BLOCK), 4 * fh * fw, KernelArgs.create()
                .ptr(x.devicePtr()).ptr(f.devicePtr()).ptr(y.devicePtr()).i32(n * c).i32(h).i32(w).i32(outH).i32(outW)
                .i32(fh).i32(fw).i32(upX).i32(upY).i32(downX).i32(downY).i32(padX0).i32(padY0).i32(flip ? 1 : 0));
        return y;
    }

    private static void checkFactors(String op, Tensor f, KernelDevice dev, int upX, int upY, int downX, int downY) {
        sameDevice(op, "f", f, dev);
        if (f.rank() != 2 || f.dim(0) < 1 || f.dim(1) < 1)
            throw new IllegalArgumentException(op + ": f has shape " + Arrays.toString(f.shape()) + ", expected a non-empty [fh, fw]");
        if (f.numel() > MAX_FILTER_TAPS)
            throw new IllegalArgumentException(op + ": f has shape " + Arrays.toString(f.shape()) + ", more than the "
                    + MAX_FILTER_TAPS + " taps that fit the kernel's shared memory");
        int[] v = {upX, upY, downX, downY};
        String[] names = {"upX", "upY", "downX", "downY"};
        for (int i = 0; i < 4; i++)
            if (v[i] < 1) throw new IllegalArgumentException(op + ": " + names[i] + " is " + v[i] + ", expected ≥ 1");
    }

    /** (size·up + pad0 + pad1 − taps) / down + 1, the reference's output size; the padded signal must cover the filter. */
    private static int outSize(String op, String axis, int size, int up, int down, int pad0, int pad1, int taps) {
        long span = (long) size * up + pad0 + pad1 - taps;
        if (span < 0)
            throw new IllegalArgumentException(op + ": upsampled and padded " + axis + " " + ((long) size * up + pad0 + pad1)
                    + " (= " + size + "·" + up + " + " + pad0 + " + " + pad1 + ") is smaller than the filter's " + taps + " taps");
        if (span / down + 1 > Integer.MAX_VALUE - 16) throw new IllegalArgumentException(op + ": output " + axis + " too large");
        return (int) (span / down + 1);
    }

    // ---------------------------------------------------------------- bias_act

    public static Tensor biasAct(Tensor x, Tensor bias, float alpha, float gain, float clamp) {
        String op = "biasAct";
        KernelDevice dev = device(op, "x", x);
        int[] l = layout(op, "x", x, bias != null);                                  // {N, C, inner}
        if (bias != null) {
            sameDevice(op, "bias", bias, dev);
            if (bias.rank() != 1 || bias.dim(0) != l[1])
                throw new IllegalArgumentException(op + ": bias has shape " + Arrays.toString(bias.shape())
                        + ", expected [C = x.shape[1] = " + l[1] + "]");
        }
        Tensor y = output(dev, x.shape());                                           // same shape as x
        if (x.numel() == 0) return y;
        dev.launch("biasact_fwd_f32", grid(x.numel()), Dim3.of(BLOCK), 0, KernelArgs.create()
                .ptr(x.devicePtr()).ptr(bias == null ? 0 : bias.devicePtr()).ptr(y.devicePtr())
                .i64(x.numel()).i32(l[1]).i32(l[2]).f32(alpha).f32(gain).f32(clamp));
        return y;
    }

    public static Tensor[] biasActBackward(Tensor gy, Tensor y, boolean needBias, float alpha, float gain, float clamp) {
        String op = "biasActBackward";
        KernelDevice dev = device(op, "gy", gy);
        sameDevice(op, "y", y, dev);
        if (!gy.sameShape(y))
            throw new IllegalArgumentException(op + ": gy has shape " + Arrays.toString(gy.shape())
                    + ", expected the shape of y " + Arrays.toString(y.shape()));
        int[] l = layout(op, "y", y, needBias);                                      // {N, C, inner}
        Tensor dx = output(dev, y.shape());                                          // same shape as y
        Tensor db = needBias ? output(dev, l[1]) : null;                             // [C]
        if (y.numel() > 0)
            dev.launch("biasact_bwd_f32", grid(y.numel()), Dim3.of(BLOCK), 0, KernelArgs.create()
                    .ptr(gy.devicePtr()).ptr(y.devicePtr()).ptr(dx.devicePtr()).i64(y.numel())
                    .f32(alpha).f32(gain).f32(clamp));
        if (db != null && l[1] > 0)
            dev.launch("biasact_dbias_bwd_f32", Dim3.of(l[1]), Dim3.of(BLOCK), 0, KernelArgs.create()
                    .ptr(gy.devicePtr()).ptr(y.devicePtr()).ptr(db.devicePtr()).i32(l[0]).i32(l[1]).i32(l[2])
                    .f32(alpha).f32(gain).f32(clamp));
        return new Tensor[]{dx, db};
    }

    /** {N, C, Π dims[2:]} when a bias runs along dim 1, else the whole tensor as one channel. */
    private static int[] layout(String op, String arg, Tensor t, boolean perChannel) {
        if (!perChannel) return new int[]{1, 1, t.numel()};
        if (t.rank() < 2)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(t.shape())
                    + ", expected rank ≥ 2 [N, C, ...] to carry a bias along dim 1");
        int inner = 1;
        for (int d = 2; d < t.rank(); d++) inner *= t.dim(d);
        return new int[]{t.dim(0), t.dim(1), inner};
    }

    // ---------------------------------------------------------------- helpers

    private static Dim3 grid(long n) {
        return Dim3.of((int) Math.max(1, Math.min(MAX_BLOCKS, (n + BLOCK - 1) / BLOCK)));
    }

}
