package dev.dragedit.viewer;

import dev.dragedit.drag.Images;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * FastPreview's least-squares fit: an image that is exactly an affine function of its latent is reproduced (to the
 * rounding of 8-bit pixels), at the latent's size and upsampled; a latent of one colour upsamples to that colour.
 */
class FastPreviewTest {
    @Test
    void recoversAnAffineLatentToRgbMapAndUpsamples() {
        int h = 6, w = 8;
        Random rnd = new Random(1);
        float[] z = new float[4 * h * w];
        for (int i = 0; i < z.length; i++) z[i] = (float) rnd.nextGaussian();
        double[][] a = {{20, -10, 5, 3, 128}, {-6, 15, 8, -4, 100}, {4, 2, -12, 9, 90}};
        byte[] px = new byte[3 * h * w];
        for (int i = 0; i < h * w; i++)
            for (int c = 0; c < 3; c++) {
                double v = a[c][4];
                for (int k = 0; k < 4; k++) v += a[c][k] * z[k * h * w + i];
                px[3 * i + c] = (byte) Math.max(0, Math.min(255, Math.round(v)));
            }
        Images.Rgb img = new Images.Rgb(h, w, px);
        Tensor lat = Tensor.of(z, 1, 4, h, w);
        FastPreview fp = FastPreview.fit(img, lat);
        Images.Rgb back = fp.apply(lat, h, w);
        for (int i = 0; i < px.length; i++) assertEquals(px[i] & 0xff, back.pixels()[i] & 0xff, 2.0, "pixel value " + i);

        // The same map on a 2× larger image (each latent pixel covering 2×2 pixels) fits the same way.
        byte[] big = new byte[3 * 4 * h * w];
        for (int y = 0; y < 2 * h; y++) for (int x = 0; x < 2 * w; x++) for (int c = 0; c < 3; c++)
            big[3 * (y * 2 * w + x) + c] = px[3 * ((y / 2) * w + x / 2) + c];
        FastPreview fp2 = FastPreview.fit(new Images.Rgb(2 * h, 2 * w, big), lat);
        Images.Rgb up = fp2.apply(lat, 2 * h, 2 * w);
        assertEquals(2 * h, up.height());
        assertEquals(2 * w, up.width());
        float[] flat = new float[4 * h * w];
        for (int k = 0; k < 4; k++) for (int i = 0; i < h * w; i++) flat[k * h * w + i] = z[k * h * w]; // pixel 0's latent everywhere
        Images.Rgb one = fp2.apply(Tensor.of(flat, 1, 4, h, w), 2 * h, 2 * w);
        for (int i = 0; i < one.pixels().length; i++) assertEquals(px[i % 3] & 0xff, one.pixels()[i] & 0xff, 2.0);
        assertThrows(IllegalArgumentException.class, () -> FastPreview.fit(img, Tensor.of(new float[3 * h * w], 1, 3, h, w)));
    }
}
