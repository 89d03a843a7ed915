package dev.dragedit.viewer;

import dev.dragedit.drag.Images;
import dev.dragedit.tensor.Tensor;

/**
 * A cheap picture of a latent for the live canvas on the CPU: a 4→3 affine map from the latent's channels to RGB,
 * fitted by least squares on the input image's own latent (each latent pixel against the mean colour of the image
 * pixels it covers), applied to the drag's pred_x0 and upsampled bilinearly to the image size. The full VAE decode of
 * every iteration's pred_x0 costs about as much as the drag step itself on a CPU (see DragRunner), which would halve
 * the step rate; this costs a few microseconds per latent pixel. It shows where colours move, not fine detail — the
 * finished edit is always the real decode.
 */
public final class FastPreview {
    /** rgb[c] = Σ_k a[c][k]·z[k] + a[c][4], in 0..255. */
    private final double[][] a;

    private FastPreview(double[][] a) { this.a = a; }

    /** The map of this image (any size) and its latent z0 [1, 4, h, w] (CPU), the image covering the latent's grid. */
    public static FastPreview fit(Images.Rgb image, Tensor z0) {
        int[] s = z0.shape();
        if (s.length != 4 || s[0] != 1 || s[1] != 4)
            throw new IllegalArgumentException("FastPreview: latent of shape " + java.util.Arrays.toString(s) + "; expected [1, 4, h, w]");
        int h = s[2], w = s[3], H = image.height(), W = image.width();
        float[] z = z0.toCpu().data();
        double[][] xtx = new double[5][5], xty = new double[5][3];
        double[] x = new double[5];
        byte[] px = image.pixels();
        for (int i = 0; i < h; i++) {
            int y0 = i * H / h, y1 = Math.max(y0 + 1, (i + 1) * H / h);
            for (int j = 0; j < w; j++) {
                int x0 = j * W / w, x1 = Math.max(x0 + 1, (j + 1) * W / w);
                double[] rgb = new double[3];
                for (int y = y0; y < y1; y++)
                    for (int xx = x0; xx < x1; xx++)
                        for (int c = 0; c < 3; c++) rgb[c] += px[3 * (y * W + xx) + c] & 0xff;
                int n = (y1 - y0) * (x1 - x0);
                for (int k = 0; k < 4; k++) x[k] = z[(k * h + i) * w + j];
                x[4] = 1;
                for (int p = 0; p < 5; p++) {
                    for (int q = 0; q < 5; q++) xtx[p][q] += x[p] * x[q];
                    for (int c = 0; c < 3; c++) xty[p][c] += x[p] * rgb[c] / n;
                }
            }
        }
        // A little ridge keeps the solve defined for a flat image (a constant latent channel).
        double tr = 0;
        for (int p = 0; p < 5; p++) tr += xtx[p][p];
        for (int p = 0; p < 5; p++) xtx[p][p] += 1e-6 * tr / 5 + 1e-12;
        double[][] sol = solve(xtx, xty);
        double[][] a = new double[3][5];
        for (int c = 0; c < 3; c++) for (int p = 0; p < 5; p++) a[c][p] = sol[p][c];
        return new FastPreview(a);
    }

    /** Gaussian elimination with partial pivoting of m·X = b (m 5×5, b 5×3). */
    private static double[][] solve(double[][] m0, double[][] b0) {
        int n = m0.length, k = b0[0].length;
        double[][] m = new double[n][], b = new double[n][];
        for (int i = 0; i < n; i++) { m[i] = m0[i].clone(); b[i] = b0[i].clone(); }
        for (int col = 0; col < n; col++) {
            int piv = col;
            for (int r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[piv][col])) piv = r;
            double[] t = m[col]; m[col] = m[piv]; m[piv] = t;
            t = b[col]; b[col] = b[piv]; b[piv] = t;
            double d = m[col][col];
            for (int r = 0; r < n; r++) {
                if (r == col || m[r][col] == 0) continue;
                double f = m[r][col] / d;
                for (int c = col; c < n; c++) m[r][c] -= f * m[col][c];
                for (int c = 0; c < k; c++) b[r][c] -= f * b[col][c];
            }
        }
        double[][] x = new double[n][k];
        for (int i = 0; i < n; i++) for (int c = 0; c < k; c++) x[i][c] = b[i][c] / m[i][i];
        return x;
    }

    /** The picture of latent [1, 4, h, w] (any device) at outH × outW (bilinear, half-pixel centres like torch's align_corners=False). */
    public Images.Rgb apply(Tensor latent, int outH, int outW) {
        int[] s = latent.shape();
        int h = s[2], w = s[3];
        float[] z = latent.toCpu().data();
        float[] rgb = new float[3 * h * w];
        for (int i = 0; i < h * w; i++)
            for (int c = 0; c < 3; c++) {
                double v = a[c][4];
                for (int k = 0; k < 4; k++) v += a[c][k] * z[k * h * w + i];
                rgb[c * h * w + i] = (float) v;
            }
        byte[] out = new byte[3 * outH * outW];
        for (int y = 0; y < outH; y++) {
            double sy = Math.max(0, (y + 0.5) * h / outH - 0.5);
            int iy = Math.min((int) sy, h - 1), iy1 = Math.min(iy + 1, h - 1);
            double fy = sy - iy;
            for (int x = 0; x < outW; x++) {
                double sx = Math.max(0, (x + 0.5) * w / outW - 0.5);
                int ix = Math.min((int) sx, w - 1), ix1 = Math.min(ix + 1, w - 1);
                double fx = sx - ix;
                for (int c = 0; c < 3; c++) {
                    int o = c * h * w;
                    double v = (1 - fy) * ((1 - fx) * rgb[o + iy * w + ix] + fx * rgb[o + iy * w + ix1])
                            + fy * ((1 - fx) * rgb[o + iy1 * w + ix] + fx * rgb[o + iy1 * w + ix1]);
                    out[3 * (y * outW + x) + c] = (byte) Math.max(0, Math.min(255, (int) Math.round(v)));
                }
            }
        }
        return new Images.Rgb(outH, outW, out);
    }
}
