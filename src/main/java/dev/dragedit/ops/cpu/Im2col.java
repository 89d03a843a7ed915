package dev.dragedit.ops.cpu;

import java.util.Arrays;

/**
 * im2col and its adjoint col2im for one (sample, group) of a convolution and one band of output rows [oh0, oh1).
 * <p>
 * The im2col matrix has one row per (input channel c of the group, kernel row ki, kernel column kj), r =
 * (c·kh + ki)·kw + kj, and one column per output pixel of the band, q = (oh − oh0)·wo + ow, holding
 * x[c, oh·sh − pt + ki·dh, ow·sw − pl + kj·dw] or 0 in the padding. So y = W[coutg, k] · cols[k, band] is the
 * convolution of the band. For each row the valid output columns [owLo, owHi) are computed once, so the inner work
 * is a contiguous copy (stride 1: System.arraycopy, which the JIT vectorises) or a strided gather, plus zero fills;
 * col2im is the same walk with the copy turned into an accumulation (vector add for stride 1).
 */
final class Im2col {
    private Im2col() {}

    /**
     * Writes rows [r0, r1) of the band's im2col matrix into cols (row-major, leading dimension (oh1 − oh0)·wo).
     * xOff is the start of the group's first input channel.
     */
    static void im2col(float[] x, int xOff, ConvGeometry g, int oh0, int oh1, float[] cols, int r0, int r1) {
        if (g.sh() == 1 && g.sw() == 1 && g.w() == g.wo()) {
            im2colSame(x, xOff, g, oh0, oh1, cols, r0, r1);
            return;
        }
        int wo = g.wo(), bandCols = (oh1 - oh0) * wo, khw = g.kh() * g.kw(), sw = g.sw();
        for (int r = r0; r < r1; r++) {
            int c = r / khw, ki = (r / g.kw()) % g.kh(), kj = r % g.kw();
            int colOff = kj * g.dw() - g.pl();                               // iw = ow·sw + colOff
            int owLo = firstValid(colOff, sw, wo), owHi = Math.max(owLo, endValid(colOff, sw, g.w(), wo));
            int plane = xOff + c * g.inPlane();
            int dst = r * bandCols;
            for (int oh = oh0; oh < oh1; oh++, dst += wo) {
                int ih = oh * g.sh() - g.pt() + ki * g.dh();
                if (ih < 0 || ih >= g.h()) {
                    Arrays.fill(cols, dst, dst + wo, 0f);
                    continue;
                }
                int src = plane + ih * g.w() + colOff;
                if (owLo > 0) Arrays.fill(cols, dst, dst + owLo, 0f);
                if (sw == 1) {
                    System.arraycopy(x, src + owLo, cols, dst + owLo, owHi - owLo);
                } else {
                    for (int ow = owLo; ow < owHi; ow++) cols[dst + ow] = x[src + ow * sw];
                }
                if (owHi < wo) Arrays.fill(cols, dst + owHi, dst + wo, 0f);
            }
        }
    }

    /**
     * Stride 1 with output rows as wide as input rows (the "same" convolutions that make up most of a UNet): the
     * valid output rows of one im2col row are then one contiguous run of x, shifted by the kernel offset, so they
     * go in a single copy; only the few columns that fell into the left/right padding (which the copy filled with
     * the neighbouring row's edge pixels) are zeroed afterwards.
     */
    private static void im2colSame(float[] x, int xOff, ConvGeometry g, int oh0, int oh1, float[] cols, int r0, int r1) {
        int wo = g.wo(), w = g.w(), h = g.h(), plane = g.inPlane(), bandCols = (oh1 - oh0) * wo, khw = g.kh() * g.kw();
        for (int r = r0; r < r1; r++) {
            int c = r / khw, ki = (r / g.kw()) % g.kh(), kj = r % g.kw();
            int colOff = kj * g.dw() - g.pl();
            int owLo = firstValid(colOff, 1, wo), owHi = Math.max(owLo, endValid(colOff, 1, w, wo));
            int rowOff = ki * g.dh() - g.pt();                               // ih = oh + rowOff
            int ohA = Math.min(oh1, Math.max(oh0, -rowOff)), ohB = Math.max(ohA, Math.min(oh1, h - rowOff));
            int dst = r * bandCols, planeStart = xOff + c * plane;
            Arrays.fill(cols, dst, dst + (ohA - oh0) * wo, 0f);
            Arrays.fill(cols, dst + (ohB - oh0) * wo, dst + bandCols, 0f);
            if (ohB == ohA) continue;
            if (owHi == owLo) {
                Arrays.fill(cols, dst + (ohA - oh0) * wo, dst + (ohB - oh0) * wo, 0f);
                continue;
            }
            // Linear run q ∈ [qs, qe) of the band reads x[src0 + q]; clip it to the channel's plane.
            int src0 = planeStart + (rowOff + oh0) * w + colOff;
            int qs = (ohA - oh0) * wo, qe = (ohB - oh0) * wo;
            int cs = Math.max(qs, planeStart - src0), ce = Math.min(qe, planeStart + plane - src0);
            if (cs > qs) Arrays.fill(cols, dst + qs, dst + cs, 0f);
            if (ce < qe) Arrays.fill(cols, dst + ce, dst + qe, 0f);
            System.arraycopy(x, src0 + cs, cols, dst + cs, ce - cs);
            if (owLo > 0 || owHi < wo) {
                for (int q = qs; q < qe; q += wo) {
                    for (int ow = 0; ow < owLo; ow++) cols[dst + q + ow] = 0f;
                    for (int ow = owHi; ow < wo; ow++) cols[dst + q + ow] = 0f;
                }
            }
        }
    }

    /**
     * Adds the band's im2col-shaped gradient dcols (leading dimension (oh1 − oh0)·wo) into dx for the group's input
     * channels [c0, c1); dxOff is the start of the group's first input channel. Channels never share dx elements,
     * so disjoint channel ranges may run in parallel.
     */
    static void col2im(float[] dcols, ConvGeometry g, int oh0, int oh1, float[] dx, int dxOff, int c0, int c1) {
        int wo = g.wo(), bandCols = (oh1 - oh0) * wo, sw = g.sw();
        for (int c = c0; c < c1; c++) {
            int plane = dxOff + c * g.inPlane();
            for (int ki = 0; ki < g.kh(); ki++) {
                for (int kj = 0; kj < g.kw(); kj++) {
                    int r = (c * g.kh() + ki) * g.kw() + kj;
                    int colOff = kj * g.dw() - g.pl();
                    int owLo = firstValid(colOff, sw, wo), owHi = Math.max(owLo, endValid(colOff, sw, g.w(), wo));
                    if (owHi == owLo) continue;
                    int src = r * bandCols;
                    for (int oh = oh0; oh < oh1; oh++, src += wo) {
                        int ih = oh * g.sh() - g.pt() + ki * g.dh();
                        if (ih < 0 || ih >= g.h()) continue;
                        int dst = plane + ih * g.w() + colOff;
                        if (sw == 1) {
                            ConvVec.addInto(dx, dst + owLo, dcols, src + owLo, owHi - owLo);
                        } else {
                            for (int ow = owLo; ow < owHi; ow++) dx[dst + ow * sw] += dcols[src + ow];
                        }
                    }
                }
            }
        }
    }

    /** Smallest ow ≥ 0 with ow·sw + colOff ≥ 0, at most wo. */
    private static int firstValid(int colOff, int sw, int wo) {
        return colOff >= 0 ? 0 : Math.min(wo, (-colOff + sw - 1) / sw);
    }

    /** One past the largest ow < wo with ow·sw + colOff ≤ w − 1 (0 when there is none). */
    private static int endValid(int colOff, int sw, int w, int wo) {
        int last = w - 1 - colOff;
        return last < 0 ? 0 : Math.min(wo, last / sw + 1);
    }
}
