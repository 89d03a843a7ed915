package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

/**
 * StyleGAN2's upfirdn2d on the CPU: upsample by zero insertion, pad (negative pads crop), filter every channel with a
 * 2-D FIR, keep every down-th sample — the semantics of {@code _upfirdn2d_ref} in torch_utils/ops/upfirdn2d.py
 * (gain 1). With U the zero-inserted, padded image and f' the filter as applied,
 * <pre>  y[oy, ox] = Σ_{ky, kx} U[oy·downY + ky − padY0, ox·downX + kx − padX0] · f'[ky, kx]</pre>
 * where f' is f flipped in both axes (flip_filter=False: a true convolution), or f itself for the adjoint.
 * <p>
 * The zero-inserted image is never built: a sample of U is non-zero only at multiples of up, so each output touches
 * about (fh/upY)·(fw/upX) input samples. Along x the outputs split into P = upX/gcd(upX, downX) phases; within one
 * phase every output uses the same filter taps and consecutive outputs step S = downX/gcd input samples. With S = 1
 * (no downsampling: the FIR blur after the transposed conv and the image upsample of the generator) each tap is a
 * contiguous axpy, vectorised with the Vector API ({@link Upfirdn2dSimd}, kept apart so this class loads without the
 * incubator module). Phases accumulate into a row buffer laid out phase by phase and
 * are interleaved into the output row at the end (for P = 1 the output row is the buffer). Rows of all N·C planes
 * are independent and run in parallel.
 * <p>
 * The backward is the reference's own trick: the adjoint of upfirdn2d is upfirdn2d of gy with the filter unflipped
 * (a correlation), up and down swapped and padding (fw − padX0 − 1, W·upX − outW·downX + padX0 − upX + 1, …), which
 * reproduces exactly the taps of the forward read in reverse and yields the input's size.
 */
final class Upfirdn2d {
    private Upfirdn2d() {}

    private static final String OP = "upfirdn2d";
    private static final String OP_BACK = "upfirdn2dBackward";

    static Tensor forward(Tensor x, Tensor f, int upX, int upY, int downX, int downY,
                          int padX0, int padX1, int padY0, int padY1) {
        StyleGanChecks.f32(OP, "x", x);
        StyleGanChecks.rank(OP, "x", x, 4, "[N, C, H, W]");
        checkFactors(OP, f, upX, upY, downX, downY);
        return run(OP, x, f, true, upX, upY, downX, downY, padX0, padX1, padY0, padY1);
    }

    static Tensor backward(Tensor gy, int[] xShape, Tensor f, int upX, int upY, int downX, int downY,
                           int padX0, int padX1, int padY0, int padY1) {
        StyleGanChecks.f32(OP_BACK, "gy", gy);
        checkFactors(OP_BACK, f, upX, upY, downX, downY);
        if (xShape == null || xShape.length != 4)
            throw new IllegalArgumentException(OP_BACK + ": xShape is " + Arrays.toString(xShape) + ", expected [N, C, H, W]");
        for (int s : xShape)
            if (s < 0) throw new IllegalArgumentException(OP_BACK + ": xShape " + Arrays.toString(xShape) + " has a negative dimension");
        int n = xShape[0], c = xShape[1], h = xShape[2], w = xShape[3];
        int fh = f.dim(0), fw = f.dim(1);
        int outH = outSize(OP_BACK, "height", h, upY, downY, padY0, padY1, fh);
        int outW = outSize(OP_BACK, "width", w, upX, downX, padX0, padX1, fw);
        StyleGanChecks.shape(OP_BACK, "gy", gy, new int[]{n, c, outH, outW}, "[N, C, outH, outW]");
        if (Tensor.numel(xShape) == 0) return Tensor.zeros(xShape);
        int qx0 = fw - padX0 - 1, qx1 = w * upX - outW * downX + padX0 - upX + 1;
        int qy0 = fh - padY0 - 1, qy1 = h * upY - outH * downY + padY0 - upY + 1;
        Tensor dx = run(OP_BACK, gy, f, false, downX, downY, upX, upY, qx0, qx1, qy0, qy1);
        if (!Arrays.equals(dx.shape(), xShape))
            throw new IllegalStateException(OP_BACK + ": adjoint has shape " + Arrays.toString(dx.shape())
                    + ", expected " + Arrays.toString(xShape));
        return dx;
    }

    private static void checkFactors(String op, Tensor f, int upX, int upY, int downX, int downY) {
        StyleGanChecks.f32(op, "f", f);
        StyleGanChecks.rank(op, "f", f, 2, "[fh, fw]");
        if (f.dim(0) < 1 || f.dim(1) < 1)
            throw new IllegalArgumentException(op + ": f has shape " + Arrays.toString(f.shape()) + ", expected a non-empty [fh, fw]");
        StyleGanChecks.positive(op, "upX", upX);
        StyleGanChecks.positive(op, "upY", upY);
        StyleGanChecks.positive(op, "downX", downX);
        StyleGanChecks.positive(op, "downY", downY);
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

    /**
     * The polyphase kernel shared by forward (flip = true) and adjoint (flip = false). Arguments are validated by the
     * callers except the output size, which depends on the padding.
     */
    private static Tensor run(String op, Tensor x, Tensor f, boolean flip, int upX, int upY, int downX, int downY,
                              int padX0, int padX1, int padY0, int padY1) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int fh = f.dim(0), fw = f.dim(1);
        int outH = outSize(op, "height", h, upY, downY, padY0, padY1, fh);
        int outW = outSize(op, "width", w, upX, downX, padX0, padX1, fw);
        Tensor out = Tensor.zeros(n, c, outH, outW);                                   // [N, C, outH, outW]
        if (out.numel() == 0 || h == 0 || w == 0) return out;
        RowPlan plan = new RowPlan(w, fw, upX, downX, padX0, outW, flip);
        float[] xd = x.data(), fd = f.data(), od = out.data();
        int rowWork = Math.max(1, plan.taps * ((fh + upY - 1) / upY) * Math.max(1, outW / plan.phases));
        Parallel.forRange(n * c * outH, Math.max(1, 32768 / rowWork), (r0, r1) -> {
            float[] buf = plan.phases == 1 ? null : new float[outW];
            for (int r = r0; r < r1; r++) {
                int plane = r / outH, oy = r % outH;
                float[] acc = buf == null ? od : buf;
                int accOff = buf == null ? r * outW : 0;
                if (buf != null) Arrays.fill(buf, 0f);
                for (int ky = 0; ky < fh; ky++) {
                    int u = oy * downY + ky - padY0;                       // row of the zero-inserted, unpadded image
                    if (Math.floorMod(u, upY) != 0) continue;
                    int iy = Math.floorDiv(u, upY);
                    if (iy < 0 || iy >= h) continue;
                    int fRow = (flip ? fh - 1 - ky : ky) * fw;
                    int xRow = (plane * h + iy) * w;
                    plan.accumulateRow(xd, xRow, fd, fRow, acc, accOff);
                }
                if (buf != null) plan.interleave(buf, od, r * outW);
            }
        });
        return out;
    }

    /**
     * The horizontal taps of one output row, grouped by phase. Tap t belongs to phase p = tapPhase[t], multiplies the
     * filter column tapF[t], and for the j-th output of its phase reads input column tapD0[t] + j·S, for
     * tapLo[t] ≤ j < tapHi[t] (the columns inside the image; outside, U is zero padding).
     */
    private static final class RowPlan {
        final int phases, stride, taps, outW;
        final int[] phaseOff, tapPhase, tapF, tapD0, tapLo, tapHi;

        RowPlan(int w, int fw, int up, int down, int pad0, int outW, boolean flip) {
            int g = gcd(up, down);
            this.phases = up / g;
            this.stride = down / g;
            this.outW = outW;
            phaseOff = new int[phases];
            int[] ph = new int[fw * phases], fi = new int[fw * phases], d0s = new int[fw * phases];
            int[] los = new int[fw * phases], his = new int[fw * phases];
            int t = 0, off = 0;
            for (int p = 0; p < phases; p++) {
                phaseOff[p] = off;
                int count = p < outW ? (outW - p + phases - 1) / phases : 0;   // outputs ox = p + j·P
                off += count;
                for (int kx = 0; kx < fw; kx++) {
                    int num = p * down + kx - pad0;                            // U column of output p at tap kx
                    if (Math.floorMod(num, up) != 0) continue;
                    int d0 = Math.floorDiv(num, up);
                    int lo = Math.max(0, ceilDiv(-d0, stride));
                    int hi = Math.min(count, Math.floorDiv(w - 1 - d0, stride) + 1);
                    if (lo >= hi) continue;
                    ph[t] = p; fi[t] = flip ? fw - 1 - kx : kx; d0s[t] = d0; los[t] = lo; his[t] = hi;
                    t++;
                }
            }
            taps = t;
            tapPhase = Arrays.copyOf(ph, t); tapF = Arrays.copyOf(fi, t); tapD0 = Arrays.copyOf(d0s, t);
            tapLo = Arrays.copyOf(los, t); tapHi = Arrays.copyOf(his, t);
        }

        /** acc[accOff + phaseOff[p] + j] += f[fRow + tapF] · x[xRow + tapD0 + j·S] for every tap. */
        void accumulateRow(float[] x, int xRow, float[] f, int fRow, float[] acc, int accOff) {
            for (int t = 0; t < taps; t++) {
                float cf = f[fRow + tapF[t]];
                int lo = tapLo[t], len = tapHi[t] - lo;
                int a = accOff + phaseOff[tapPhase[t]] + lo;
                int xi = xRow + tapD0[t] + lo * stride;
                if (stride == 1) {
                    axpy(cf, x, xi, acc, a, len);
                } else {
                    for (int j = 0; j < len; j++) acc[a + j] += cf * x[xi + j * stride];
                }
            }
        }

        /** Output column p + j·P takes buffer entry phaseOff[p] + j. */
        void interleave(float[] buf, float[] out, int outOff) {
            for (int p = 0; p < phases; p++) {
                int base = phaseOff[p];
                int count = (p + 1 < phases ? phaseOff[p + 1] : outW) - base;
                for (int j = 0; j < count; j++) out[outOff + p + j * phases] = buf[base + j];
            }
        }
    }

    /** y[yo + i] += a·x[xo + i]; the vector head is {@link Upfirdn2dSimd#axpy}, only reached when SIMD is on. */
    private static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        int i = Simd.enabled() ? Upfirdn2dSimd.axpy(a, x, xo, y, yo, n) : 0;
        for (; i < n; i++) y[yo + i] += a * x[xo + i];
    }

    private static int gcd(int a, int b) {
        while (b != 0) { int t = a % b; a = b; b = t; }
        return a;
    }

    private static int ceilDiv(int a, int b) {
        return -Math.floorDiv(-a, b);
    }
}
