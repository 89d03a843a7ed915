package dev.dragedit.viewer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The canvas's screen ↔ image map: fit and 100% centre the image, zooming at the cursor keeps the image point under
 * it, the round trip image → screen → image is exact, the scale limits hold, panning moves the image, and a resized
 * window refits a fitted view but keeps a zoomed one centred on the same image point.
 */
class ViewTransformTest {
    private static final double EPS = 1e-9;

    @Test
    void fitCentresTheWholeImageAtTheLargestScale() {
        ViewTransform v = new ViewTransform(200, 100);
        v.setViewport(10, 20, 800, 600);
        v.fit();
        assertEquals(4.0, v.scale(), EPS); // width limits: 800/200 = 4 < 600/100 = 6
        assertArrayEquals(new double[]{10, 20 + (600 - 400) / 2.0}, v.toScreen(0, 0), EPS);
        assertArrayEquals(new double[]{810, 20 + 100 + 400}, v.toScreen(200, 100), EPS);

        v.setViewport(0, 0, 300, 900); // a tall, narrow viewport: the width limits again, 300/200
        assertEquals(1.5, v.scale(), EPS);
        double[] tl = v.toScreen(0, 0), br = v.toScreen(200, 100);
        assertEquals(0, tl[0], EPS);
        assertEquals(300, br[0], EPS);
        assertEquals(450, (tl[1] + br[1]) / 2, EPS, "centred vertically");
        assertTrue(v.fitted());
    }

    @Test
    void fitDoesNotBlowUpATinyImageBeyondTheMaximumScale() {
        ViewTransform v = new ViewTransform(2, 2);
        v.setViewport(0, 0, 1280, 800);
        assertEquals(ViewTransform.MAX_SCALE, v.scale(), EPS);
        assertArrayEquals(new double[]{640, 400}, v.toScreen(1, 1), EPS, "still centred");
    }

    @Test
    void actualSizeIsScaleOneCentred() {
        ViewTransform v = new ViewTransform(100, 50);
        v.setViewport(0, 0, 400, 300);
        v.zoomAt(17, 33, 3.7);
        v.actualSize();
        assertEquals(1, v.scale(), EPS);
        assertArrayEquals(new double[]{150, 125}, v.toScreen(0, 0), EPS);
        assertArrayEquals(new double[]{50, 25}, v.toImage(200, 150), EPS, "the viewport's centre shows the image's centre");
        assertFalse(v.fitted());
    }

    @Test
    void zoomAtKeepsThePointUnderTheCursorFixed() {
        ViewTransform v = new ViewTransform(640, 480);
        v.setViewport(300, 0, 980, 800);
        double[][] cursors = {{350, 40}, {1000, 700}, {777.25, 123.5}, {0, 0}};
        double[] factors = {1.1, 1.1, 2.5, 1 / 1.1, 0.3, 7};
        for (double[] c : cursors)
            for (double f : factors) {
                double[] before = v.toImage(c[0], c[1]);
                double s = v.scale();
                v.zoomAt(c[0], c[1], f);
                assertEquals(Math.max(ViewTransform.MIN_SCALE, Math.min(ViewTransform.MAX_SCALE, s * f)), v.scale(), 1e-12);
                assertArrayEquals(before, v.toImage(c[0], c[1]), 1e-9, "image point under the cursor moved");
            }
    }

    @Test
    void roundTripImageScreenImageIsExact() {
        ViewTransform v = new ViewTransform(333, 177);
        v.setViewport(12, 7, 1000, 700);
        v.zoomAt(400, 300, 3.3);
        v.panBy(-123.5, 47.25);
        for (double x = -10; x <= 343; x += 17.3)
            for (double y = -5; y <= 180; y += 11.1) {
                double[] s = v.toScreen(x, y);
                assertArrayEquals(new double[]{x, y}, v.toImage(s[0], s[1]), 1e-9);
            }
        // and screen → image → screen
        double[] i = v.toImage(555, 444);
        assertArrayEquals(new double[]{555, 444}, v.toScreen(i[0], i[1]), 1e-9);
    }

    @Test
    void zoomIsClampedBetweenTheLimits() {
        ViewTransform v = new ViewTransform(100, 100);
        v.setViewport(0, 0, 100, 100);
        for (int i = 0; i < 200; i++) v.zoomAt(50, 50, 1.5);
        assertEquals(ViewTransform.MAX_SCALE, v.scale(), EPS);
        for (int i = 0; i < 200; i++) v.zoomAt(50, 50, 1 / 1.5);
        assertEquals(ViewTransform.MIN_SCALE, v.scale(), EPS);
        assertThrows(IllegalArgumentException.class, () -> v.zoomAt(0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> v.zoomAt(0, 0, -2));
        assertThrows(IllegalArgumentException.class, () -> v.zoomAt(0, 0, Double.NaN));
    }

    @Test
    void aHugeImageCanStillBeZoomedOutToItsFit() {
        ViewTransform v = new ViewTransform(16000, 16000);
        v.setViewport(0, 0, 500, 500);
        double fit = v.scale();
        assertEquals(500.0 / 16000, fit, EPS);
        assertTrue(fit < ViewTransform.MIN_SCALE);
        v.zoomAt(250, 250, 4);
        v.zoomAt(250, 250, 1e-6);
        assertEquals(fit, v.scale(), EPS);
    }

    @Test
    void panMovesTheImageByScreenPixels() {
        ViewTransform v = new ViewTransform(100, 100);
        v.setViewport(0, 0, 200, 200);
        double[] before = v.toScreen(30, 40);
        v.panBy(15, -7);
        double[] after = v.toScreen(30, 40);
        assertArrayEquals(new double[]{before[0] + 15, before[1] - 7}, after, EPS);
        assertFalse(v.fitted());
        v.fit();
        assertArrayEquals(before, v.toScreen(30, 40), EPS, "fit undoes the pan");
    }

    @Test
    void resizingRefitsAFittedViewAndKeepsAZoomedViewsCentre() {
        ViewTransform v = new ViewTransform(100, 100);
        v.setViewport(0, 0, 200, 200);
        v.setViewport(0, 0, 400, 300);
        assertEquals(3, v.scale(), EPS, "fitted view refits");

        v.zoomAt(100, 100, 2);
        double[] centre = v.toImage(200, 150);
        double s = v.scale();
        v.setViewport(50, 0, 600, 500);
        assertEquals(s, v.scale(), EPS, "zoomed view keeps its scale");
        assertArrayEquals(centre, v.toImage(350, 250), 1e-9, "and the image point at the viewport's centre");

        v.setViewport(0, 0, 0, 0); // minimised: nothing changes, nothing breaks
        assertEquals(s, v.scale(), EPS);
    }

    @Test
    void newImageSizeKeepsTheViewportAndFits() {
        ViewTransform v = new ViewTransform(100, 100);
        v.setViewport(0, 0, 800, 400);
        v.zoomAt(10, 10, 5);
        v.setImageSize(400, 400);
        assertEquals(1, v.scale(), EPS);
        assertArrayEquals(new double[]{200, 0}, v.toScreen(0, 0), EPS);
        assertArrayEquals(new double[]{0, 0, 800, 400}, v.viewport(), EPS);
        assertThrows(IllegalArgumentException.class, () -> v.setImageSize(0, 5));
        assertThrows(IllegalArgumentException.class, () -> new ViewTransform(5, -1));
    }

    @Test
    void beforeAnyViewportTheMapIsTheIdentity() {
        ViewTransform v = new ViewTransform(64, 48);
        assertEquals(1, v.scale(), EPS);
        assertArrayEquals(new double[]{12.5, 7}, v.toImage(12.5, 7), EPS);
        assertTrue(v.inViewport(63.9, 47.9));
        assertFalse(v.inViewport(64, 10));
    }
}
