package dev.dragedit.video;

import dev.dragedit.drag.Images;
import dev.dragedit.drag.Images.Rgb;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;

/**
 * Drawing for the previews of a drag edit: nearest-neighbour upscaling (edits are often 64×64, far too small to show
 * points on), the drag points themselves — a red disc with a white ring at each handle, a blue disc at each target and
 * a light arrow with a dark outline from handle to target, so it shows on any background — and before/after pictures
 * side by side. Drawing is Java2D on an off-screen {@link BufferedImage}, anti-aliased; it needs no display and works
 * with {@code -Djava.awt.headless=true}. Every method returns a new image and leaves its inputs as they are.
 * <p>
 * <b>Point convention.</b> A point (x, y) is in pixels of the original (not upscaled) image and names the <i>centre</i>
 * of pixel (x, y), as DragDiffusion's integer points do. In an image upscaled by {@code scale} that pixel covers
 * [x·scale, (x+1)·scale), so the point is drawn at the continuous Java2D coordinate ((x + 0.5)·scale, (y + 0.5)·scale),
 * i.e. at pixel index ((x + 0.5)·scale − 0.5, (y + 0.5)·scale − 0.5): the middle of the block the pixel became.
 */
public final class Overlay {
    private Overlay() {}

    /** Largest side {@link #upscale} produces. */
    public static final int MAX_SIDE = 4096;

    /** Handle colour: pure red, which the GIF writer keeps exactly. */
    public static final Color HANDLE = new Color(255, 0, 0);
    /** Target colour: pure blue, which the GIF writer keeps exactly. */
    public static final Color TARGET = new Color(0, 0, 255);
    /** Arrow fill (light) and outline (dark). */
    private static final Color ARROW = new Color(255, 236, 120);
    private static final Color ARROW_OUTLINE = new Color(20, 20, 20, 220);
    /** Grey between the two halves of {@link #sideBySide}. */
    public static final int GAP_GREY = 128;

    /**
     * The image scaled by the integer factor k = max(1, ⌈minSide / min(w, h)⌉), nearest neighbour, with k lowered so
     * that neither side exceeds {@value #MAX_SIDE} (but not below 1); {@code img} itself when k is 1.
     */
    public static Rgb upscale(Rgb img, int minSide) {
        int k = factor(img, minSide);
        if (k == 1) return img;
        int w = img.width(), h = img.height(), ow = w * k, oh = h * k;
        byte[] src = img.pixels(), out = new byte[3 * ow * oh];
        byte[] row = new byte[3 * ow];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++)
                for (int j = 0; j < k; j++) System.arraycopy(src, (y * w + x) * 3, row, (x * k + j) * 3, 3);
            for (int j = 0; j < k; j++) System.arraycopy(row, 0, out, (y * k + j) * 3 * ow, row.length);
        }
        return new Rgb(oh, ow, out);
    }

    /** The factor {@link #upscale} uses for this image and minSide. */
    public static int factor(Rgb img, int minSide) {
        int small = Math.min(img.width(), img.height()), big = Math.max(img.width(), img.height());
        int k = Math.max(1, (int) Math.ceil(minSide / (double) small));
        return Math.max(1, Math.min(k, MAX_SIDE / big));
    }

    /**
     * A copy of img with the drag points drawn: for each pair i an arrow from handle i to target i (head at the
     * target), a red disc with a thin white ring at the handle and a blue disc at the target, targets on top. Points
     * are (x, y) in original-image pixels, multiplied by {@code scale} (the upscale factor) as the class comment says;
     * the disc radius is max(3, min(w, h)/60) pixels of the drawn image. Null or empty arrays draw nothing; null
     * handles with targets draw the targets alone (an edit's result: where the points were meant to go).
     *
     * @throws IllegalArgumentException when handles (not null) and targets differ in count, a point is not two finite numbers,
     *                                  or scale is not positive
     */
    public static Rgb drawPoints(Rgb img, double[][] handlesXy, double[][] targetsXy, double scale) {
        int nh = handlesXy == null ? 0 : handlesXy.length, nt = targetsXy == null ? 0 : targetsXy.length;
        if (handlesXy != null && nh != nt) throw new IllegalArgumentException(nh + " handle points but " + nt + " target points; they come in pairs");
        if (!(scale > 0) || Double.isInfinite(scale)) throw new IllegalArgumentException("scale " + scale + " must be positive");
        for (int i = 0; i < nh; i++) checkPoint("handle", i, handlesXy[i]);
        for (int i = 0; i < nt; i++) checkPoint("target", i, targetsXy[i]);
        if (nt == 0) return new Rgb(img.height(), img.width(), img.pixels().clone());

        BufferedImage bi = Images.toBuffered(img);
        Graphics2D g = bi.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            double r = Math.max(3, Math.min(img.width(), img.height()) / 60.0);
            double lw = Math.max(1.5, r / 2.5);          // arrow shaft width
            double ring = Math.max(1, r / 4);            // white ring around a handle
            double[][] h = nh == 0 ? new double[0][] : scaled(handlesXy, scale), t = scaled(targetsXy, scale);
            for (int i = 0; i < nh; i++) arrow(g, h[i][0], h[i][1], t[i][0], t[i][1], r, lw);
            for (int i = 0; i < nh; i++) {
                disc(g, h[i][0], h[i][1], r + ring, Color.WHITE);
                disc(g, h[i][0], h[i][1], r, HANDLE);
            }
            for (int i = 0; i < nt; i++) disc(g, t[i][0], t[i][1], r, TARGET);
        } finally {
            g.dispose();
        }
        return fromBuffered(bi);
    }

    /**
     * left and right next to each other, {@code gap} pixels of neutral grey ({@value #GAP_GREY}) between them; the
     * shorter one is centred vertically and padded with the same grey.
     */
    public static Rgb sideBySide(Rgb left, Rgb right, int gap) {
        if (gap < 0) throw new IllegalArgumentException("gap " + gap + " must not be negative");
        int h = Math.max(left.height(), right.height()), w = left.width() + gap + right.width();
        byte[] out = new byte[3 * w * h];
        java.util.Arrays.fill(out, (byte) GAP_GREY);
        paste(out, w, h, left, 0);
        paste(out, w, h, right, left.width() + gap);
        return new Rgb(h, w, out);
    }

    // ------------------------------------------------------------------ helpers

    private static void paste(byte[] out, int w, int h, Rgb img, int x0) {
        int y0 = (h - img.height()) / 2, rowBytes = 3 * img.width();
        for (int y = 0; y < img.height(); y++)
            System.arraycopy(img.pixels(), y * rowBytes, out, ((y0 + y) * w + x0) * 3, rowBytes);
    }

    private static void checkPoint(String what, int i, double[] p) {
        if (p == null || p.length != 2 || !Double.isFinite(p[0]) || !Double.isFinite(p[1]))
            throw new IllegalArgumentException(what + " point " + i + " must be two finite numbers (x, y), got "
                    + java.util.Arrays.toString(p));
    }

    /** Points in Java2D coordinates of the drawn image: the centre of the block each original pixel became. */
    private static double[][] scaled(double[][] pts, double scale) {
        double[][] out = new double[pts.length][];
        for (int i = 0; i < pts.length; i++) out[i] = new double[] {(pts[i][0] + 0.5) * scale, (pts[i][1] + 0.5) * scale};
        return out;
    }

    private static void disc(Graphics2D g, double cx, double cy, double r, Color c) {
        g.setColor(c);
        g.fill(new Ellipse2D.Double(cx - r, cy - r, 2 * r, 2 * r));
    }

    /**
     * An arrow from (x0, y0) to the edge of the target disc around (x1, y1): a dark outline first, the light arrow on
     * top. Nothing when the two points are closer than a disc radius (the discs say it all).
     */
    private static void arrow(Graphics2D g, double x0, double y0, double x1, double y1, double r, double lw) {
        double dx = x1 - x0, dy = y1 - y0, len = Math.hypot(dx, dy);
        if (len < 2 * r) return;
        double ux = dx / len, uy = dy / len;
        double tipX = x1 - ux * r, tipY = y1 - uy * r;                  // tip on the target disc's edge
        double head = Math.min(Math.max(3 * lw, 1.6 * r), len - 2 * r); // head length, not past the handle disc
        double half = head * 0.55;
        double bx = tipX - ux * head, by = tipY - uy * head;            // middle of the head's base
        Path2D.Double tri = new Path2D.Double();
        tri.moveTo(tipX, tipY);
        tri.lineTo(bx - uy * half, by + ux * half);
        tri.lineTo(bx + uy * half, by - ux * half);
        tri.closePath();
        Line2D.Double shaft = new Line2D.Double(x0, y0, bx + ux * lw * 0.5, by + uy * lw * 0.5);
        double outline = Math.max(1, lw * 0.6);
        g.setColor(ARROW_OUTLINE);
        g.setStroke(new BasicStroke((float) (lw + 2 * outline), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        g.draw(shaft);
        g.setStroke(new BasicStroke((float) (2 * outline), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        g.draw(tri);
        g.fill(tri);
        g.setColor(ARROW);
        g.setStroke(new BasicStroke((float) lw, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND));
        g.draw(shaft);
        g.fill(tri);
    }

    private static Rgb fromBuffered(BufferedImage bi) {
        int w = bi.getWidth(), h = bi.getHeight();
        int[] argb = bi.getRGB(0, 0, w, h, null, 0, w);
        byte[] px = new byte[3 * argb.length];
        for (int i = 0; i < argb.length; i++) {
            px[3 * i] = (byte) (argb[i] >> 16);
            px[3 * i + 1] = (byte) (argb[i] >> 8);
            px[3 * i + 2] = (byte) argb[i];
        }
        return new Rgb(h, w, px);
    }
}
