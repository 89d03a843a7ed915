package dev.dragedit.video;

import dev.dragedit.drag.Images.Rgb;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class OverlayTest {
    static Rgb solid(int h, int w, int r, int g, int b) {
        byte[] px = new byte[3 * h * w];
        for (int i = 0; i < h * w; i++) { px[3 * i] = (byte) r; px[3 * i + 1] = (byte) g; px[3 * i + 2] = (byte) b; }
        return new Rgb(h, w, px);
    }

    static Rgb gradient(int h, int w) {
        byte[] px = new byte[3 * h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int i = 3 * (y * w + x);
                px[i] = (byte) (x * 7 + y); px[i + 1] = (byte) (y * 13); px[i + 2] = (byte) (x * y);
            }
        return new Rgb(h, w, px);
    }

    static void assertColour(Rgb img, int y, int x, int r, int g, int b) {
        assertArrayEquals(new int[] {r, g, b}, new int[] {img.get(y, x, 0), img.get(y, x, 1), img.get(y, x, 2)},
                "colour at (x=" + x + ", y=" + y + ")");
    }

    @Test
    void upscaleUsesIntegerFactorAndNearestNeighbour() {
        Rgb img = gradient(64, 48);
        assertSame(img, Overlay.upscale(img, 40));
        assertSame(img, Overlay.upscale(img, 48));
        Rgb up = Overlay.upscale(img, 512);           // ceil(512 / 48) = 11
        assertEquals(11, Overlay.factor(img, 512));
        assertEquals(64 * 11, up.height());
        assertEquals(48 * 11, up.width());
        for (int y = 0; y < up.height(); y += 5)
            for (int x = 0; x < up.width(); x += 3)
                for (int c = 0; c < 3; c++) assertEquals(img.get(y / 11, x / 11, c), up.get(y, x, c));
    }

    @Test
    void upscaleIsCappedAt4096() {
        Rgb img = gradient(1000, 10);
        assertEquals(4, Overlay.factor(img, 100_000));   // 4096 / 1000
        Rgb up = Overlay.upscale(img, 100_000);
        assertEquals(4000, up.height());
        assertEquals(40, up.width());
        Rgb tall = gradient(3000, 20);
        assertSame(tall, Overlay.upscale(tall, 512));  // 2 would make 6000 > 4096
    }

    @Test
    void drawsRedHandleBlueTargetAtPixelCentresAfterUpscale() {
        Rgb img = solid(64, 64, 90, 140, 60);
        byte[] before = img.pixels().clone();
        int k = Overlay.factor(img, 512);
        assertEquals(8, k);
        Rgb up = Overlay.upscale(img, 512);
        double[][] handles = {{10, 20}}, targets = {{50, 40}};
        Rgb out = Overlay.drawPoints(up, handles, targets, k);
        assertArrayEquals(before, img.pixels(), "input untouched");
        assertEquals(512, out.width());
        // Pixel (10, 20) became the block [80, 88) × [160, 168): its centre pixels are 83/84, 163/164.
        for (int d : new int[] {83, 84}) {
            assertColour(out, 160 + d - 80, d, 255, 0, 0);
        }
        assertColour(out, (int) ((20 + 0.5) * k), (int) ((10 + 0.5) * k), 255, 0, 0);
        assertColour(out, (int) ((40 + 0.5) * k), (int) ((50 + 0.5) * k), 0, 0, 255);
        // The handle disc has a white ring: some pure white just outside the disc radius (max(3, 512/60) = 8.53).
        int cy = 164, cx = 84;
        boolean white = false;
        for (int x = cx - 14; x < cx - 8; x++) white |= out.get(cy, x, 0) == 255 && out.get(cy, x, 1) == 255 && out.get(cy, x, 2) == 255;
        assertTrue(white, "white ring left of the handle");
        // The arrow crosses the middle of the segment: the pixel there is no longer the background.
        int my = (int) ((30 + 0.5) * k), mx = (int) ((30 + 0.5) * k);
        assertFalse(out.get(my, mx, 0) == 90 && out.get(my, mx, 1) == 140 && out.get(my, mx, 2) == 60, "arrow drawn");
        // Far away from points and arrow: untouched.
        assertColour(out, 500, 10, 90, 140, 60);
    }

    @Test
    void noPointsDrawNothingAndMismatchedCountsAreRejected() {
        Rgb img = gradient(9, 17);
        assertArrayEquals(img.pixels(), Overlay.drawPoints(img, null, null, 1).pixels());
        assertArrayEquals(img.pixels(), Overlay.drawPoints(img, new double[0][], new double[0][], 1).pixels());
        assertArrayEquals(img.pixels(), Overlay.drawPoints(img, null, new double[0][], 3).pixels());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Overlay.drawPoints(img, new double[][] {{1, 2}}, new double[][] {{1, 2}, {3, 4}}, 1));
        assertTrue(e.getMessage().contains("1 handle points but 2 target points"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Overlay.drawPoints(img, new double[][] {{1, 2}}, null, 1));
        assertThrows(IllegalArgumentException.class,
                () -> Overlay.drawPoints(img, new double[][] {{1, Double.NaN}}, new double[][] {{1, 2}}, 1));
        // Targets alone (an edit's result): a blue disc at the target, nothing else.
        Rgb big = gradient(60, 60);
        Rgb only = Overlay.drawPoints(big, null, new double[][] {{30, 30}}, 1);
        assertEquals(0, only.get(30, 30, 0));
        assertEquals(255, only.get(30, 30, 2));
        assertColour(only, 5, 5, big.get(5, 5, 0), big.get(5, 5, 1), big.get(5, 5, 2));
    }

    @Test
    void worksOnTinyImagesAndPointsOutside() {
        Rgb img = gradient(4, 4);
        Rgb out = Overlay.drawPoints(img, new double[][] {{0, 0}, {-5, 100}}, new double[][] {{3, 3}, {100, -5}}, 1);
        assertEquals(4, out.width());
        assertColour(out, 0, 0, 255, 0, 0);
    }

    @Test
    void sideBySidePadsTheShorterWithGrey() {
        Rgb a = solid(4, 3, 255, 0, 0), b = solid(2, 5, 0, 0, 255);
        Rgb s = Overlay.sideBySide(a, b, 2);
        assertEquals(4, s.height());
        assertEquals(10, s.width());
        assertColour(s, 0, 0, 255, 0, 0);
        assertColour(s, 3, 2, 255, 0, 0);
        assertColour(s, 2, 3, 128, 128, 128);   // gap
        assertColour(s, 2, 4, 128, 128, 128);
        assertColour(s, 0, 5, 128, 128, 128);   // padding above b (centred: rows 1..2)
        assertColour(s, 1, 5, 0, 0, 255);
        assertColour(s, 2, 9, 0, 0, 255);
        assertColour(s, 3, 9, 128, 128, 128);
        assertEquals(8, Overlay.sideBySide(a, b, 0).width());
        assertThrows(IllegalArgumentException.class, () -> Overlay.sideBySide(a, b, -1));
        assertTrue(Arrays.equals(a.pixels(), solid(4, 3, 255, 0, 0).pixels()));
    }
}
