package dev.dragedit.drag;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Four supervision pixels per latent pixel: DragDiffusion's sup_res for SD 1.x, the image's own for 4× VAEs. */
class SupervisionSizeTest {
    @Test
    void sd15KeepsDragDiffusionsHalfResolution() {
        for (int n : new int[]{512, 768, 320, 513}) {
            DragConfig d = DragConfig.defaults(n, n);
            assertEquals(d.supResH(), DragDiffusion.supervisionSize(n, 8), "side " + n);
        }
    }

    @Test
    void smallerVaeFactorsSuperviseAtTheImagesResolutionAtMost() {
        assertEquals(64, DragDiffusion.supervisionSize(64, 4));
        assertEquals(96, DragDiffusion.supervisionSize(96, 4));
        assertEquals(64, DragDiffusion.supervisionSize(64, 2), "never finer than the image");
        assertEquals(64, DragDiffusion.supervisionSize(64, 1));
        assertEquals(128, DragDiffusion.supervisionSize(512, 16), "a 16× VAE: 4 per latent pixel is a quarter of the image");
    }
}
