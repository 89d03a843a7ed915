package dev.dragedit.scenes;

import dev.dragedit.drag.Images;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.WeakHashMap;

/**
 * Synthetic scenes with exact geometry: one or two simple objects (disc, square, triangle, ellipse, three-lobed blob)
 * in saturated palette colours (or white / black), gently shaded, anti-aliased by 4×4 supersampling, on a muted
 * background (gradient, stripes, checker, value noise) whose colours stay away from the palette, so that
 * {@link Detector} can find the objects by colour alone.
 * <p>
 * Everything is computed with explicit arithmetic, {@link SplittableRandom} and {@link StrictMath}, so a seed gives
 * the same bytes on any JVM. Objects lie fully inside the image (bounding circle plus one pixel) and two objects never
 * touch (their rendered pixels, grown by one pixel, are disjoint: positions, then sizes, are resampled until so).
 * <p>
 * {@link #render} and {@link #moved} redraw objects over the exact background of a scene this class made (in this
 * JVM): the background is remembered per image (weakly, so scenes can be garbage-collected).
 */
public final class SceneGenerator {

    /** The object palette: saturated hues at least ~23° apart, plus white and black. */
    static final String[] PALETTE_NAMES = {"red", "orange", "yellow", "green", "blue", "purple", "white", "black"};
    static final int[][] PALETTE = {
            {215, 35, 35}, {240, 130, 30}, {235, 205, 40}, {45, 175, 70},
            {40, 90, 225}, {150, 60, 200}, {240, 240, 240}, {25, 25, 25}};

    /** Muted background colours: chroma ≤ ~40, values kept in [70, 185] (see {@link #clampBg}). */
    static final String[] BG_NAMES = {"grey", "blue", "green", "brown", "beige", "teal", "pink"};
    static final int[][] BG = {
            {128, 128, 128}, {100, 115, 140}, {105, 130, 105}, {135, 115, 95},
            {165, 155, 135}, {95, 130, 130}, {160, 130, 135}};
    static final double BG_MIN = 70, BG_MAX = 185;

    private static final int SS = 4;   // supersampling per axis

    private static final Map<byte[], double[]> BACKGROUNDS = Collections.synchronizedMap(new WeakHashMap<>());

    private final int width, height;

    public SceneGenerator(int width, int height) {
        if (width < 32 || height < 32) throw new IllegalArgumentException("scene size " + width + "×" + height + " must be at least 32×32");
        this.width = width;
        this.height = height;
    }

    public int width() { return width; }

    public int height() { return height; }

    /** A scene determined by seed alone (same seed → same bytes, any JVM). */
    public Scene generate(long seed) {
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        // Background.
        int bgColour = rng.nextInt(BG.length);
        int kind = rng.nextInt(4);
        double[] bg = new double[3 * width * height];
        String bgWords = background(rng, kind, bgColour, bg);

        // Objects.
        int n = rng.nextInt(2) + 1;
        int c1 = rng.nextInt(PALETTE.length);
        int c2 = (c1 + 1 + rng.nextInt(PALETTE.length - 1)) % PALETTE.length;
        Shape s1 = Shape.values()[rng.nextInt(Shape.values().length)];
        Shape s2 = Shape.values()[rng.nextInt(Shape.values().length)];
        double side = Math.min(width, height);
        List<SceneObject> objs = new ArrayList<>();
        double shrink = 1;
        for (int attempt = 0; ; attempt++) {
            if (attempt > 0 && attempt % 25 == 0) shrink *= 0.9;
            objs.clear();
            objs.add(randomObject(rng, s1, c1, side, shrink));
            if (n == 2) objs.add(randomObject(rng, s2, c2, side, shrink));
            if (n == 1 || !touching(objs.get(0), objs.get(1))) break;
        }
        return compose(bg, bgWords, objs);
    }

    /** The same background (exactly) with new objects, drawn in order; the caption names the new objects. */
    public Scene render(Scene scene, List<SceneObject> objects) {
        Images.Rgb img = scene.image();
        if (img.width() != width || img.height() != height)
            throw new IllegalArgumentException("scene is " + img.size() + ", this generator makes " + width + "×" + height);
        double[] bg = BACKGROUNDS.get(img.pixels());
        if (bg == null)
            throw new IllegalArgumentException("scene was not made by a SceneGenerator in this JVM: its background is unknown");
        return compose(bg, scene.background(), objects);
    }

    /** Ground truth of a drag: object objectIndex moved to (newCx, newCy), everything else as it was. */
    public Scene moved(Scene scene, int objectIndex, double newCx, double newCy) {
        List<SceneObject> objs = new ArrayList<>(scene.objects());
        objs.set(objectIndex, objs.get(objectIndex).at(newCx, newCy));
        return render(scene, objs);
    }

    /** "a red disc and an orange square on a striped grey background" (objects in drawing order; none: "a grey checker background"). */
    public static String caption(List<SceneObject> objects, String background) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < objects.size(); i++) {
            if (i > 0) b.append(i == objects.size() - 1 ? " and " : " ");
            SceneObject o = objects.get(i);
            b.append(article(o.colourName())).append(' ').append(o.colourName()).append(' ').append(o.shape().word());
        }
        if (!objects.isEmpty()) b.append(" on ");
        return b.append(article(background)).append(' ').append(background).append(" background").toString();
    }

    private static String article(String word) { return "aeiou".indexOf(word.charAt(0)) >= 0 ? "an" : "a"; }

    // ------------------------------------------------------------------ internals

    private SceneObject randomObject(SplittableRandom rng, Shape shape, int colour, double side, double shrink) {
        double s = side * (0.10 + 0.12 * rng.nextDouble()) * shrink;
        double rx, ry;
        switch (shape) {
            case DISC -> { rx = s; ry = s; }
            case SQUARE -> { rx = 0.9 * s; ry = rx; }
            case TRIANGLE -> { rx = 1.2 * s; ry = rx; }
            case ELLIPSE -> { rx = 1.1 * s; ry = rx * (0.5 + 0.3 * rng.nextDouble()); }
            case BLOB -> { rx = s; ry = s * (0.75 + 0.25 * rng.nextDouble()); }
            default -> throw new AssertionError(shape);
        }
        double angle = shape == Shape.DISC ? 0 : 2 * Math.PI * rng.nextDouble();
        int[] p = PALETTE[colour];
        SceneObject proto = new SceneObject(shape, p[0], p[1], p[2], PALETTE_NAMES[colour], 0, 0, rx, ry, angle);
        double m = proto.boundingRadius() + 1;
        double cx = m + (width - 2 * m) * rng.nextDouble();
        double cy = m + (height - 2 * m) * rng.nextDouble();
        return proto.at(cx, cy);
    }

    /** Whether the rendered pixels of a and b, grown by one pixel, meet. */
    private boolean touching(SceneObject a, SceneObject b) {
        double ra = a.boundingRadius(), rb = b.boundingRadius();
        double dx = a.cx() - b.cx(), dy = a.cy() - b.cy();
        if (dx * dx + dy * dy > (ra + rb + 3) * (ra + rb + 3)) return false;
        boolean[] ma = new boolean[width * height];
        coverage(a, (x, y, c) -> ma[y * width + x] = true);
        boolean[] hit = {false};
        coverage(b, (x, y, c) -> {
            for (int j = Math.max(0, y - 1); j <= Math.min(height - 1, y + 1); j++)
                for (int i = Math.max(0, x - 1); i <= Math.min(width - 1, x + 1); i++)
                    if (ma[j * width + i]) hit[0] = true;
        });
        return hit[0];
    }

    private interface CoverageSink { void accept(int x, int y, double coverage); }

    /** Calls sink for every pixel the object covers (coverage in (0, 1], from 4×4 subsamples). */
    private void coverage(SceneObject o, CoverageSink sink) {
        double rad = o.boundingRadius() + 1;
        int x0 = Math.max(0, (int) Math.floor(o.cx() - rad)), x1 = Math.min(width - 1, (int) Math.floor(o.cx() + rad));
        int y0 = Math.max(0, (int) Math.floor(o.cy() - rad)), y1 = Math.min(height - 1, (int) Math.floor(o.cy() + rad));
        double ca = StrictMath.cos(o.angle()), sa = StrictMath.sin(o.angle());
        for (int y = y0; y <= y1; y++) {
            for (int x = x0; x <= x1; x++) {
                int count = 0;
                for (int sy = 0; sy < SS; sy++) {
                    double dy = y + (sy + 0.5) / SS - o.cy();
                    for (int sx = 0; sx < SS; sx++) {
                        double dx = x + (sx + 0.5) / SS - o.cx();
                        if (o.containsLocal(dx * ca + dy * sa, -dx * sa + dy * ca, ca, sa)) count++;
                    }
                }
                if (count > 0) sink.accept(x, y, count / (double) (SS * SS));
            }
        }
    }

    private Scene compose(double[] bg, String bgWords, List<SceneObject> objects) {
        double[] canvas = bg.clone();
        for (SceneObject o : objects) {
            double rad = o.boundingRadius();
            // A gentle radial light: brightest up-left of the centre, falling off by 16% (hue kept: a common factor).
            double lx = o.cx() - 0.3 * rad, ly = o.cy() - 0.3 * rad;
            double[] base = {o.r(), o.g(), o.b()};
            coverage(o, (x, y, c) -> {
                double dx = x + 0.5 - lx, dy = y + 0.5 - ly;
                double d = StrictMath.sqrt(dx * dx + dy * dy) / (1.5 * rad);
                double shade = 1.06 - 0.16 * Math.min(1, d);
                int i = (y * width + x) * 3;
                for (int ch = 0; ch < 3; ch++) {
                    double v = Math.min(255, base[ch] * shade);
                    canvas[i + ch] = canvas[i + ch] * (1 - c) + v * c;
                }
            });
        }
        byte[] px = new byte[canvas.length];
        for (int i = 0; i < px.length; i++) {
            double v = Math.floor(canvas[i] + 0.5);
            px[i] = (byte) (int) Math.max(0, Math.min(255, v));
        }
        BACKGROUNDS.put(px, bg);
        return new Scene(new Images.Rgb(height, width, px), caption(objects, bgWords), objects, bgWords);
    }

    private static double clampBg(double v) { return Math.max(BG_MIN, Math.min(BG_MAX, v)); }

    /** Fills bg (RGB doubles) with a muted pattern and returns its words for the caption. */
    private String background(SplittableRandom rng, int kind, int colour, double[] bg) {
        int[] base = BG[colour];
        double lo = 0.78 + 0.1 * rng.nextDouble(), hi = 1.08 + 0.1 * rng.nextDouble();
        double[] a = new double[3], b = new double[3];
        for (int c = 0; c < 3; c++) { a[c] = clampBg(base[c] * lo); b[c] = clampBg(base[c] * hi); }
        if (rng.nextBoolean()) { double[] t = a; a = b; b = t; }
        String name = BG_NAMES[colour];
        // Pattern direction: 0 horizontal bands (varies along y), 1 vertical (along x), 2 diagonal, 3 other diagonal.
        int dir = rng.nextInt(4);
        double[] ux = {0, 1, StrictMath.sqrt(0.5), StrictMath.sqrt(0.5)};
        double[] uy = {1, 0, StrictMath.sqrt(0.5), -StrictMath.sqrt(0.5)};
        double px = ux[dir], py = uy[dir];
        double period = Math.min(width, height) * (0.1 + 0.15 * rng.nextDouble());
        double phase = rng.nextDouble();
        int cell = (int) (Math.min(width, height) * (0.15 + 0.2 * rng.nextDouble())) + 1;
        int gw = width / cell + 2, gh = height / cell + 2;
        double[] lattice = new double[gw * gh];
        for (int i = 0; i < lattice.length; i++) lattice[i] = rng.nextDouble();
        double diag = Math.abs(px) * width + Math.abs(py) * height;
        double off = py < 0 ? -py * height : 0;
        int ss = kind == 1 || kind == 2 ? SS : 1;   // stripes and checker need anti-aliasing
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                double t = 0;
                for (int sy = 0; sy < ss; sy++) {
                    for (int sx = 0; sx < ss; sx++) {
                        double fx = x + (sx + 0.5) / ss, fy = y + (sy + 0.5) / ss;
                        t += switch (kind) {
                            case 0 -> (fx * px + fy * py + off) / diag;                              // gradient
                            case 1 -> frac((fx * px + fy * py) / period + phase) < 0.5 ? 0 : 1;    // stripes
                            case 2 -> ((int) Math.floor(fx / period + phase) + (int) Math.floor(fy / period + phase)) % 2 == 0 ? 0 : 1;
                            default -> valueNoise(lattice, gw, fx / cell, fy / cell);              // noise
                        };
                    }
                }
                t /= ss * ss;
                int i = (y * width + x) * 3;
                for (int c = 0; c < 3; c++) bg[i + c] = a[c] + (b[c] - a[c]) * t;
            }
        }
        String[] dirWords = {"vertical", "horizontal", "diagonal", "diagonal"};
        return switch (kind) {
            case 0 -> name + " " + dirWords[dir] + " gradient";
            case 1 -> "striped " + name;
            case 2 -> name + " checker";
            default -> "mottled " + name;
        };
    }

    private static double frac(double v) { return v - Math.floor(v); }

    private static double valueNoise(double[] lattice, int gw, double u, double v) {
        int i = (int) Math.floor(u), j = (int) Math.floor(v);
        double fu = u - i, fv = v - j;
        fu = fu * fu * (3 - 2 * fu);
        fv = fv * fv * (3 - 2 * fv);
        double a = lattice[j * gw + i], b = lattice[j * gw + i + 1];
        double c = lattice[(j + 1) * gw + i], d = lattice[(j + 1) * gw + i + 1];
        return (a * (1 - fu) + b * fu) * (1 - fv) + (c * (1 - fu) + d * fu) * fv;
    }
}
