package dev.dragedit.scenes;

import dev.dragedit.drag.Images;

/**
 * A model-free object finder for {@link SceneGenerator} scenes: pixels are classified by colour against the object's
 * base colour, and the centroid of the largest 4-connected group of matching pixels is the object's position.
 * <p>
 * Shading multiplies the base colour by a common factor (0.90..1.06), which keeps the direction of the colour in the
 * opponent-colour plane (hue) and scales its length (chroma) and brightness together. So for a saturated colour a
 * pixel matches when its hue is within {@value #HUE_TOL_DEG}° of the base hue and both its chroma and its brightest
 * channel are 0.7..1.3 times the base's; for white / black (chroma below 60) it matches when its own chroma is below
 * 40 and its mean is within 40 of the base mean. Backgrounds are muted (chroma ≤ ~40, values 70..185) so they match
 * none of the palette. Anti-aliased edge pixels, mostly background, fail the test on both sides of the object alike,
 * so they do not shift the centroid.
 */
public final class Detector {
    private Detector() {}

    static final double HUE_TOL_DEG = 12;
    /** Fewest pixels a component must have to count as the object. */
    public static final int MIN_PIXELS = 15;

    private static final double SQRT3_2 = StrictMath.sqrt(3) / 2;
    private static final double COS_TOL = StrictMath.cos(StrictMath.toRadians(HUE_TOL_DEG));

    /**
     * Centre (x, y) of the pixels of img matching obj's colour (the object as rendered), or null when none is
     * visible. Coordinates are continuous (pixel (i, j) has its centre at (i + 0.5, j + 0.5)), as in {@link SceneObject}.
     */
    public static double[] find(Images.Rgb img, SceneObject obj) {
        boolean[] m = mask(img, obj.r(), obj.g(), obj.b());
        int w = img.width(), h = img.height();
        int[] label = new int[w * h];
        int[] stack = new int[w * h];
        int best = 0;
        long bestSx = 0, bestSy = 0;
        int next = 0;
        for (int start = 0; start < m.length; start++) {
            if (!m[start] || label[start] != 0) continue;
            next++;
            int top = 0, size = 0;
            long sx = 0, sy = 0;
            stack[top++] = start;
            label[start] = next;
            while (top > 0) {
                int p = stack[--top];
                int x = p % w, y = p / w;
                size++;
                sx += x;
                sy += y;
                if (x > 0 && m[p - 1] && label[p - 1] == 0) { label[p - 1] = next; stack[top++] = p - 1; }
                if (x < w - 1 && m[p + 1] && label[p + 1] == 0) { label[p + 1] = next; stack[top++] = p + 1; }
                if (y > 0 && m[p - w] && label[p - w] == 0) { label[p - w] = next; stack[top++] = p - w; }
                if (y < h - 1 && m[p + w] && label[p + w] == 0) { label[p + w] = next; stack[top++] = p + w; }
            }
            if (size > best) { best = size; bestSx = sx; bestSy = sy; }
        }
        if (best < MIN_PIXELS) return null;
        return new double[]{bestSx / (double) best + 0.5, bestSy / (double) best + 0.5};
    }

    /** Which pixels of img match the colour (r, g, b), row-major. */
    static boolean[] mask(Images.Rgb img, int r, int g, int b) {
        double ca = r - (g + b) / 2.0, cb = SQRT3_2 * (g - b);
        double chroma = Math.sqrt(ca * ca + cb * cb);
        double maxc = Math.max(r, Math.max(g, b)), mean = (r + g + b) / 3.0;
        boolean achromatic = chroma < 60;
        byte[] px = img.pixels();
        boolean[] m = new boolean[img.width() * img.height()];
        for (int i = 0; i < m.length; i++) {
            int pr = px[3 * i] & 0xff, pg = px[3 * i + 1] & 0xff, pb = px[3 * i + 2] & 0xff;
            double pa = pr - (pg + pb) / 2.0, pbb = SQRT3_2 * (pg - pb);
            double pc = Math.sqrt(pa * pa + pbb * pbb);
            if (achromatic) {
                m[i] = pc < 40 && Math.abs((pr + pg + pb) / 3.0 - mean) < 40;
            } else {
                if (pc < 0.7 * chroma || pc > 1.3 * chroma) continue;
                if ((pa * ca + pbb * cb) < COS_TOL * pc * chroma) continue;
                double pmax = Math.max(pr, Math.max(pg, pb));
                m[i] = pmax >= 0.7 * maxc && pmax <= 1.3 * maxc;
            }
        }
        return m;
    }
}
