package dev.dragedit.ops;

/**
 * Geometry of a 2-D convolution (cross-correlation, as torch.nn.functional.conv2d): stride, padding per side
 * (top, bottom, left, right; zeros), dilation and groups. Weight layout [Cout, Cin/groups, kh, kw].
 */
public record Conv2dParams(int strideH, int strideW, int padTop, int padBottom, int padLeft, int padRight,
                           int dilationH, int dilationW, int groups) {
    public Conv2dParams {
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("conv2d: stride must be ≥ 1, found " + strideH + "×" + strideW);
        if (padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0) throw new IllegalArgumentException("conv2d: padding must be ≥ 0");
        if (dilationH < 1 || dilationW < 1) throw new IllegalArgumentException("conv2d: dilation must be ≥ 1");
        if (groups < 1) throw new IllegalArgumentException("conv2d: groups must be ≥ 1, found " + groups);
    }

    /** Square stride and symmetric padding, no dilation, one group. */
    public static Conv2dParams of(int stride, int padding) {
        return new Conv2dParams(stride, stride, padding, padding, padding, padding, 1, 1, 1);
    }

    public Conv2dParams withGroups(int g) {
        return new Conv2dParams(strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW, g);
    }

    public int outH(int h, int kh) { return (h + padTop + padBottom - dilationH * (kh - 1) - 1) / strideH + 1; }
    public int outW(int w, int kw) { return (w + padLeft + padRight - dilationW * (kw - 1) - 1) / strideW + 1; }
}
