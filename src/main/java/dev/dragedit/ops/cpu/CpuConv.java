package dev.dragedit.ops.cpu;

import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

/**
 * conv2d and conv_transpose2d with their backwards, as torch.nn.functional (NCHW, cross-correlation, zero
 * padding per side, dilation, groups). This class validates and maps shapes; the work is in {@link ConvKernels}
 * (im2col + {@link Gemm#sgemm}).
 * <p>
 * A transposed convolution is the adjoint of a convolution, so it is run on that convolution's geometry with the
 * roles swapped: conv2d's input is the transposed conv's output [N, Cout, Ho, Wo], conv2d's output is the transposed
 * conv's input [N, Cin, H, W], and the weight [Cin, Cout/groups, kh, kw] is exactly conv2d's [Cout', Cin'/groups, …].
 * Then convTranspose2d = conv2d's input gradient, its dx = conv2d forward, its dw = conv2d's weight gradient with
 * the two activations swapped.
 */
final class CpuConv {
    private CpuConv() {}

    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        ConvGeometry g = convGeometry("conv2d", x, w, p);
        checkBias("conv2d", bias, g.cout());
        Tensor y = Tensor.zeros(g.n(), g.cout(), g.ho(), g.wo());                   // [N, Cout, Ho, Wo]
        ConvKernels.forward(x.data(), w.data(), bias == null ? null : bias.data(), y.data(), g);
        return y;
    }

    public static Tensor[] conv2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, boolean needX, boolean needW, boolean needBias) {
        ConvGeometry g = convGeometry("conv2dBackward", x, w, p);
        checkF32("conv2dBackward", "gy", gy);
        checkShape("conv2dBackward", "gy", gy, new int[]{g.n(), g.cout(), g.ho(), g.wo()}, "[N, Cout, Ho, Wo]");
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = Tensor.zeros(x.shape());                                           // [N, Cin, H, W]
            ConvKernels.backwardData(gy.data(), w.data(), dx.data(), g);
        }
        if (needW) {
            dw = Tensor.zeros(w.shape());                                           // [Cout, Cin/groups, kh, kw]
            ConvKernels.backwardWeight(gy.data(), x.data(), dw.data(), g);
        }
        if (needBias) {
            db = Tensor.zeros(g.cout());                                            // [Cout]
            ConvKernels.biasGrad(gy.data(), db.data(), g.n(), g.cout(), g.outPlane());
        }
        return new Tensor[]{dx, dw, db};
    }

    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, int outPadH, int outPadW) {
        ConvGeometry g = transposeGeometry("convTranspose2d", x, w, p, outPadH, outPadW);
        checkBias("convTranspose2d", bias, g.cin());
        Tensor y = Tensor.zeros(g.n(), g.cin(), g.h(), g.w());                     // [N, Cout, Ho, Wo]
        ConvKernels.backwardData(x.data(), w.data(), y.data(), g);
        if (bias != null) ConvKernels.addBias(y.data(), bias.data(), g.n(), g.cin(), g.inPlane());
        return y;
    }

    public static Tensor[] convTranspose2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW, boolean needX, boolean needW, boolean needBias) {
        ConvGeometry g = transposeGeometry("convTranspose2dBackward", x, w, p, outPadH, outPadW);
        checkF32("convTranspose2dBackward", "gy", gy);
        checkShape("convTranspose2dBackward", "gy", gy, new int[]{g.n(), g.cin(), g.h(), g.w()}, "[N, Cout, Ho, Wo]");
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = Tensor.zeros(x.shape());                                           // [N, Cin, H, W]
            ConvKernels.forward(gy.data(), w.data(), null, dx.data(), g);
        }
        if (needW) {
            dw = Tensor.zeros(w.shape());                                           // [Cin, Cout/groups, kh, kw]
            ConvKernels.backwardWeight(x.data(), gy.data(), dw.data(), g);
        }
        if (needBias) {
            db = Tensor.zeros(g.cin());                                             // [Cout]
            ConvKernels.biasGrad(gy.data(), db.data(), g.n(), g.cin(), g.inPlane());
        }
        return new Tensor[]{dx, dw, db};
    }

    // ---------------------------------------------------------------- validation and geometry

    private static ConvGeometry convGeometry(String op, Tensor x, Tensor w, Conv2dParams p) {
        checkF32(op, "x", x);
        checkF32(op, "w", w);
        if (p == null) throw new IllegalArgumentException(op + ": params must not be null");
        checkRank(op, "x", x, "[N, Cin, H, W]");
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3), groups = p.groups();
        if (cin % groups != 0)
            throw new IllegalArgumentException(op + ": x has " + cin + " input channels (shape " + Arrays.toString(x.shape())
                    + "), not divisible by groups=" + groups);
        checkRank(op, "w", w, "[Cout, Cin/groups=" + cin / groups + ", kh, kw]");
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        if (w.dim(1) != cin / groups || kh < 1 || kw < 1)
            throw new IllegalArgumentException(op + ": w has shape " + Arrays.toString(w.shape()) + ", expected [Cout, Cin/groups="
                    + cin / groups + ", kh ≥ 1, kw ≥ 1]");
        if (cout % groups != 0)
            throw new IllegalArgumentException(op + ": w has " + cout + " output channels (shape " + Arrays.toString(w.shape())
                    + "), not divisible by groups=" + groups);
        int spanH = p.dilationH() * (kh - 1) + 1, spanW = p.dilationW() * (kw - 1) + 1;
        int padH = h + p.padTop() + p.padBottom(), padW = wd + p.padLeft() + p.padRight();
        if (padH < spanH || padW < spanW)
            throw new IllegalArgumentException(op + ": padded input " + padH + "×" + padW + " (x " + Arrays.toString(x.shape())
                    + " with padding) is smaller than the dilated kernel " + spanH + "×" + spanW);
        return new ConvGeometry(n, cin, h, wd, cout, kh, kw, p.outH(h, kh), p.outW(wd, kw), p.strideH(), p.strideW(),
                p.padTop(), p.padLeft(), p.dilationH(), p.dilationW(), groups);
    }

    /** The geometry of the convolution whose input gradient the transposed convolution is. */
    private static ConvGeometry transposeGeometry(String op, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW) {
        checkF32(op, "x", x);
        checkF32(op, "w", w);
        if (p == null) throw new IllegalArgumentException(op + ": params must not be null");
        checkRank(op, "x", x, "[N, Cin, H, W]");
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3), groups = p.groups();
        if (cin % groups != 0)
            throw new IllegalArgumentException(op + ": x has " + cin + " input channels (shape " + Arrays.toString(x.shape())
                    + "), not divisible by groups=" + groups);
        checkRank(op, "w", w, "[Cin=" + cin + ", Cout/groups, kh, kw]");
        int kh = w.dim(2), kw = w.dim(3), cout = w.dim(1) * groups;
        if (w.dim(0) != cin || kh < 1 || kw < 1)
            throw new IllegalArgumentException(op + ": w has shape " + Arrays.toString(w.shape()) + ", expected [Cin=" + cin
                    + ", Cout/groups, kh ≥ 1, kw ≥ 1]");
        if (outPadH < 0 || outPadW < 0
                || (outPadH >= p.strideH() && outPadH >= p.dilationH()) || (outPadW >= p.strideW() && outPadW >= p.dilationW()))
            throw new IllegalArgumentException(op + ": output padding " + outPadH + "×" + outPadW
                    + " must be ≥ 0 and smaller than either stride (" + p.strideH() + "×" + p.strideW() + ") or dilation ("
                    + p.dilationH() + "×" + p.dilationW() + ")");
        long ho = (long) (h - 1) * p.strideH() - p.padTop() - p.padBottom() + (long) p.dilationH() * (kh - 1) + 1 + outPadH;
        long wo = (long) (wd - 1) * p.strideW() - p.padLeft() - p.padRight() + (long) p.dilationW() * (kw - 1) + 1 + outPadW;
        if (h < 1 || wd < 1 || ho < 1 || wo < 1)
            throw new IllegalArgumentException(op + ": output size " + ho + "×" + wo + " from x " + Arrays.toString(x.shape())
                    + ", kernel " + kh + "×" + kw + " and the padding is not positive");
        if (ho > Integer.MAX_VALUE || wo > Integer.MAX_VALUE)
            throw new IllegalArgumentException(op + ": output size " + ho + "×" + wo + " is too large");
        return new ConvGeometry(n, cout, (int) ho, (int) wo, cin, kh, kw, h, wd, p.strideH(), p.strideW(),
                p.padTop(), p.padLeft(), p.dilationH(), p.dilationW(), groups);
    }

    private static void checkF32(String op, String arg, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + arg + " must not be null");
        if (t.dtype() != DType.F32 || !"cpu".equals(t.device().name()))
            throw new IllegalArgumentException(op + ": " + arg + " must be an F32 CPU tensor, found " + t.dtype() + " on "
                    + t.device().name());
    }

    private static void checkRank(String op, String arg, Tensor t, String expected) {
        if (t.rank() != 4)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(t.shape()) + ", expected " + expected);
    }

    private static void checkShape(String op, String arg, Tensor t, int[] shape, String names) {
        if (!Arrays.equals(t.shape(), shape))
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(t.shape()) + ", expected "
                    + names + " = " + Arrays.toString(shape));
    }

    private static void checkBias(String op, Tensor bias, int cout) {
        if (bias == null) return;
        checkF32(op, "bias", bias);
        if (bias.rank() != 1 || bias.dim(0) != cout)
            throw new IllegalArgumentException(op + ": bias has shape " + Arrays.toString(bias.shape()) + ", expected [Cout="
                    + cout + "]");
    }
}
