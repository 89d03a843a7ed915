package dev.dragedit.eval;

import dev.dragedit.drag.Images;

/**
 * Fidelity of an edit where it should not have changed anything: PSNR and SSIM between the edited image and the
 * ground truth over the pixels outside the editable region. PSNR over the RGB values (peak 255). SSIM as Wang et al.
 * 2004 (the reference implementation's constants): on the luma Y = 0.299 R + 0.587 G + 0.114 B, 11×11 Gaussian window
 * with σ = 1.5 (renormalised where it is cut by the border), C1 = (0.01·255)², C2 = (0.03·255)², the SSIM map averaged
 * over the counted pixels.
 */
public final class ImageMetrics {
    private ImageMetrics() {}

    /** PSNR in dB over pixels where count[i] is true (infinite when they are identical); NaN when none are counted. */
    public static double psnr(Images.Rgb a, Images.Rgb b, boolean[] count) {
        check(a, b, count);
        double se = 0;
        long n = 0;
        for (int i = 0; i < count.length; i++) {
            if (!count[i]) continue;
            for (int c = 0; c < 3; c++) {
                double d = (a.pixels()[3 * i + c] & 0xff) - (b.pixels()[3 * i + c] & 0xff);
                se += d * d;
            }
            n += 3;
        }
        if (n == 0) return Double.NaN;
        double mse = se / n;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(255.0 * 255.0 / mse);
    }

    /** Mean SSIM over pixels where count[i] is true; NaN when none are counted. */
    public static double ssim(Images.Rgb a, Images.Rgb b, boolean[] count) {
        check(a, b, count);
        int h = a.height(), w = a.width();
        double[] ya = luma(a), yb = luma(b);
        int rad = 5;
        double[] g = new double[2 * rad + 1];
        for (int k = -rad; k <= rad; k++) g[k + rad] = Math.exp(-k * k / (2 * 1.5 * 1.5));
        double c1 = Math.pow(0.01 * 255, 2), c2 = Math.pow(0.03 * 255, 2);
        double sum = 0;
        long n = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                if (!count[y * w + x]) continue;
                double ws = 0, ma = 0, mb = 0;
                for (int dy = -rad; dy <= rad; dy++) {
                    int yy = y + dy;
                    if (yy < 0 || yy >= h) continue;
                    for (int dx = -rad; dx <= rad; dx++) {
                        int xx = x + dx;
                        if (xx < 0 || xx >= w) continue;
                        double wt = g[dy + rad] * g[dx + rad];
                        ws += wt;
                        ma += wt * ya[yy * w + xx];
                        mb += wt * yb[yy * w + xx];
                    }
                }
                ma /= ws;
                mb /= ws;
                double va = 0, vb = 0, cov = 0;
                for (int dy = -rad; dy <= rad; dy++) {
                    int yy = y + dy;
                    if (yy < 0 || yy >= h) continue;
                    for (int dx = -rad; dx <= rad; dx++) {
                        int xx = x + dx;
                        if (xx < 0 || xx >= w) continue;
                        double wt = g[dy + rad] * g[dx + rad] / ws;
                        double da = ya[yy * w + xx] - ma, db = yb[yy * w + xx] - mb;
                        va += wt * da * da;
                        vb += wt * db * db;
                        cov += wt * da * db;
                    }
                }
                sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
                n++;
            }
        return n == 0 ? Double.NaN : sum / n;
    }

    private static double[] luma(Images.Rgb img) {
        double[] y = new double[img.height() * img.width()];
        byte[] p = img.pixels();
        for (int i = 0; i < y.length; i++) y[i] = 0.299 * (p[3 * i] & 0xff) + 0.587 * (p[3 * i + 1] & 0xff) + 0.114 * (p[3 * i + 2] & 0xff);
        return y;
    }

    private static void check(Images.Rgb a, Images.Rgb b, boolean[] count) {
        if (a.height() != b.height() || a.width() != b.width())
            throw new IllegalArgumentException("image metrics: " + a.size() + " against " + b.size() + "; the images must have one size");
        if (count.length != a.height() * a.width())
            throw new IllegalArgumentException("image metrics: a mask of " + count.length + " pixels for a " + a.size() + " image");
    }
}
