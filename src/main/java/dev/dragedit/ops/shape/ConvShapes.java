package dev.dragedit.ops.shape;

import dev.dragedit.ops.Conv2dParams;

import java.util.Arrays;

/**
 * Shape validation and geometry of conv2d and conv_transpose2d (NCHW, PyTorch semantics), shared by every backend so
 * that the checks, the output sizes and the error messages are one piece of code. It works on shapes only: each
 * backend checks dtype and device first (in its own words), then asks this class for the geometry its kernels run on.
 * <p>
 * A transposed convolution is the adjoint of a convolution, so its geometry is that convolution's, with the roles
 * swapped: conv2d's input is the transposed conv's output [N, Cout, Ho, Wo] and conv2d's output size is the
 * transposed conv's input size H × W.
 */
public final class ConvShapes {
    private ConvShapes() {}

    /**
     * One convolution as im2col kernels see it: input [n, cin, h, w], weight [cout, cin/groups, kh, kw], output
     * [n, cout, ho, wo], with stride, top/left padding (bottom/right padding only decides ho and wo) and dilation.
     * The output size is explicit because a transposed convolution sets it to its own input size.
     */
    public record Geometry(int n, int cin, int h, int w, int cout, int kh, int kw, int ho, int wo,
                           int sh, int sw, int pt, int pl, int dh, int dw, int groups) {}

    /** Validates x [N, Cin, H, W] and w [Cout, Cin/groups, kh, kw] for conv2d with p; returns its geometry. */
    public static Geometry conv(String op, int[] x, int[] w, Conv2dParams p) {
        if (p == null) throw new IllegalArgumentException(op + ": params must not be null");
        checkRank(op, "x", x, "[N, Cin, H, W]");
        int n = x[0], cin = x[1], h = x[2], wd = x[3], groups = p.groups();
        if (cin % groups != 0)
            throw new IllegalArgumentException(op + ": x has " + cin + " input channels (shape " + Arrays.toString(x)
                    + "), not divisible by groups=" + groups);
        checkRank(op, "w", w, "[Cout, Cin/groups=" + cin / groups + ", kh, kw]");
        int cout = w[0], kh = w[2], kw = w[3];
        if (w[1] != cin / groups || kh < 1 || kw < 1)
            throw new IllegalArgumentException(op + ": w has shape " + Arrays.toString(w) + ", expected [Cout, Cin/groups="
                    + cin / groups + ", kh ≥ 1, kw ≥ 1]");
        if (cout % groups != 0)
            throw new IllegalArgumentException(op + ": w has " + cout + " output channels (shape " + Arrays.toString(w)
                    + "), not divisible by groups=" + groups);
        int spanH = p.dilationH() * (kh - 1) + 1, spanW = p.dilationW() * (kw - 1) + 1;
        int padH = h + p.padTop() + p.padBottom(), padW = wd + p.padLeft() + p.padRight();
        if (padH < spanH || padW < spanW)
            throw new IllegalArgumentException(op + ": padded input " + padH + "×" + padW + " (x " + Arrays.toString(x)
                    + " with padding) is smaller than the dilated kernel " + spanH + "×" + spanW);
        return new Geometry(n, cin, h, wd, cout, kh, kw, p.outH(h, kh), p.outW(wd, kw), p.strideH(), p.strideW(),
                p.padTop(), p.padLeft(), p.dilationH(), p.dilationW(), groups);
    }

    /**
     * Validates x [N, Cin, H, W] and w [Cin, Cout/groups, kh, kw] for conv_transpose2d; returns the geometry of the
     * convolution whose input gradient the transposed convolution is.
     */
    public static Geometry transpose(String op, int[] x, int[] w, Conv2dParams p, int outPadH, int outPadW) {
        if (p == null) throw new IllegalArgumentException(op + ": params must not be null");
        checkRank(op, "x", x, "[N, Cin, H, W]");
        int n = x[0], cin = x[1], h = x[2], wd = x[3], groups = p.groups();
        if (cin % groups != 0)
            throw new IllegalArgumentException(op + ": x has " + cin + " input channels (shape " + Arrays.toString(x)
                    + "), not divisible by groups=" + groups);
        checkRank(op, "w", w, "[Cin=" + cin + ", Cout/groups, kh, kw]");
        int kh = w[2], kw = w[3], cout = w[1] * groups;
        if (w[0] != cin || kh < 1 || kw < 1)
            throw new IllegalArgumentException(op + ": w has shape " + Arrays.toString(w) + ", expected [Cin=" + cin
                    + ", Cout/groups, kh ≥ 1, kw ≥ 1]");
        if (outPadH < 0 || outPadW < 0
                || (outPadH >= p.strideH() && outPadH >= p.dilationH()) || (outPadW >= p.strideW() && outPadW >= p.dilationW()))
            throw new IllegalArgumentException(op + ": output padding " + outPadH + "×" + outPadW
                    + " must be ≥ 0 and smaller than either stride (" + p.strideH() + "×" + p.strideW() + ") or dilation ("
                    + p.dilationH() + "×" + p.dilationW() + ")");
        long ho = (long) (h - 1) * p.strideH() - p.padTop() - p.padBottom() + (long) p.dilationH() * (kh - 1) + 1 + outPadH;
        long wo = (long) (wd - 1) * p.strideW() - p.padLeft() - p.padRight() + (long) p.dilationW() * (kw - 1) + 1 + outPadW;
        if (h < 1 || wd < 1 || ho < 1 || wo < 1)
            throw new IllegalArgumentException(op + ": output size " + ho + "×" + wo + " from x " + Arrays.toString(x)
                    + ", kernel " + kh + "×" + kw + " and the padding is not positive");
        if (ho > Integer.MAX_VALUE || wo > Integer.MAX_VALUE)
            throw new IllegalArgumentException(op + ": output size " + ho + "×" + wo + " is too large");
        // conv2d's input is this op's output [N, Cout, Ho, Wo], conv2d's output size is this op's input H × W.
        return new Geometry(n, cout, (int) ho, (int) wo, cin, kh, kw, h, wd, p.strideH(), p.strideW(),
                p.padTop(), p.padLeft(), p.dilationH(), p.dilationW(), groups);
    }

    /** Checks that arg's shape is exactly {@code expected}, named by {@code names} in the message. */
    public static void checkShape(String op, String arg, int[] shape, int[] expected, String names) {
        if (!Arrays.equals(shape, expected))
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(shape) + ", expected "
                    + names + " = " + Arrays.toString(expected));
    }

    /** Checks that a bias has shape [cout]. */
    public static void checkBias(String op, int[] bias, int cout) {
        if (bias.length != 1 || bias[0] != cout)
            throw new IllegalArgumentException(op + ": bias has shape " + Arrays.toString(bias) + ", expected [Cout="
                    + cout + "]");
    }

    private static void checkRank(String op, String arg, int[] shape, String expected) {
        if (shape.length != 4)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(shape) + ", expected " + expected);
    }
}
