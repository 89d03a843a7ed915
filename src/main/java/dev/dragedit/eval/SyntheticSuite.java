package dev.dragedit.eval;

import dev.dragedit.drag.Images;
import dev.dragedit.scenes.Scene;
import dev.dragedit.scenes.SceneGenerator;
import dev.dragedit.scenes.SceneObject;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The synthetic drag benchmark: scenes from {@link SceneGenerator} where the right answer is known. Case i is scene
 * {@code seed + i}; its first object is dragged from its centre to a target 15–30% of the image's side away, in a
 * direction chosen (deterministically) so the moved object stays inside the image, clear of the other object; the
 * ground truth is the same scene with the object rendered at the target ({@link SceneGenerator#moved}); the editable
 * region (the mask the edit gets) is the capsule swept by the object's bounding circle, grown by 2 px, from its
 * centre to the target. Points are continuous pixel coordinates (pixel (i, j) centred at (i + 0.5, j + 0.5)), as the
 * scenes and the detector use them; {@link Case#handlePixel} / {@link Case#targetPixel} are the pixel indices an
 * editor is given.
 */
public final class SyntheticSuite {
    private SyntheticSuite() {}

    /** One case: the scene, the dragged object, its target centre, the ground truth, the editable mask (1 = may change, [h·w]). */
    public record Case(int index, long seed, Scene scene, SceneObject object, double targetX, double targetY, Scene truth, boolean[] editable) {
        public double[] handlePixel() { return new double[]{object.cx() - 0.5, object.cy() - 0.5}; }

        public double[] targetPixel() { return new double[]{targetX - 0.5, targetY - 0.5}; }

        /** The distance to drag, in pixels. */
        public double distance() { return Math.hypot(targetX - object.cx(), targetY - object.cy()); }

        /** The mask as an image (white = may change), for editors that read masks from files. */
        public Images.Rgb maskImage() {
            int h = scene.image().height(), w = scene.image().width();
            byte[] px = new byte[3 * h * w];
            for (int i = 0; i < h * w; i++) if (editable[i]) px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = (byte) 255;
            return new Images.Rgb(h, w, px);
        }
    }

    public static List<Case> cases(int n, long seed, int size) {
        if (n < 1) throw new IllegalArgumentException("synthetic suite: n " + n + " must be ≥ 1");
        SceneGenerator gen = new SceneGenerator(size, size);
        List<Case> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(make(gen, i, seed + i));
        return out;
    }

    static Case make(SceneGenerator gen, int index, long seed) {
        Scene scene = gen.generate(seed);
        SceneObject obj = scene.objects().get(0);
        int w = gen.width(), h = gen.height();
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 17);
        double br = obj.boundingRadius();
        double[] best = null;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int attempt = 0; attempt < 64; attempt++) {
            double dist = (0.15 + 0.15 * rng.nextDouble()) * Math.min(w, h);
            double ang = 2 * Math.PI * rng.nextDouble();
            double tx = obj.cx() + dist * Math.cos(ang), ty = obj.cy() + dist * Math.sin(ang);
            // Room: how far the moved object's bounding circle stays from the border and from the other object.
            double room = Math.min(Math.min(tx - br, w - tx - br), Math.min(ty - br, h - ty - br));
            for (int k = 1; k < scene.objects().size(); k++) {
                SceneObject o = scene.objects().get(k);
                room = Math.min(room, Math.hypot(tx - o.cx(), ty - o.cy()) - br - o.boundingRadius());
            }
            if (room >= 1) {
                best = new double[]{tx, ty};
                break;
            }
            if (room > bestScore) {
                bestScore = room;
                best = new double[]{tx, ty};
            }
        }
        double tx = Math.rint(best[0] - 0.5) + 0.5, ty = Math.rint(best[1] - 0.5) + 0.5; // a pixel centre
        Scene truth = gen.moved(scene, 0, tx, ty);
        boolean[] editable = new boolean[w * h];
        double r = br + 2;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                editable[y * w + x] = segmentDistance(x + 0.5, y + 0.5, obj.cx(), obj.cy(), tx, ty) <= r;
        return new Case(index, seed, scene, obj, tx, ty, truth, editable);
    }

    /** Distance from (px, py) to the segment (ax, ay)–(bx, by). */
    static double segmentDistance(double px, double py, double ax, double ay, double bx, double by) {
        double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        double t = len2 == 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
        return Math.hypot(px - ax - t * dx, py - ay - t * dy);
    }
}
