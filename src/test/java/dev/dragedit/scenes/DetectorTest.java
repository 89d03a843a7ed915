package dev.dragedit.scenes;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class DetectorTest {
    private final SceneGenerator gen = new SceneGenerator(64, 64);

    @Test
    void findsEveryObjectOf200Scenes() {
        List<Double> errs = new ArrayList<>();
        double max = 0;
        for (long seed = 1000; seed < 1200; seed++) {
            Scene s = gen.generate(seed);
            for (SceneObject o : s.objects()) {
                double[] p = Detector.find(s.image(), o);
                assertNotNull(p, "seed " + seed + ": " + o);
                double e = Math.hypot(p[0] - o.cx(), p[1] - o.cy());
                errs.add(e);
                max = Math.max(max, e);
            }
        }
        errs.sort(null);
        double mean = errs.stream().mapToDouble(Double::doubleValue).average().orElse(0);
        System.out.printf(Locale.ROOT, "detector: %d objects, mean error %.4f px, median %.4f, p95 %.4f, max %.4f%n",
                errs.size(), mean, errs.get(errs.size() / 2), errs.get((int) (errs.size() * 0.95)), max);
        assertTrue(max < BOUND, "max error " + max);
        assertTrue(mean < MEAN_BOUND, "mean error " + mean);
    }

    /**
     * Measured on seeds 1000..1199 at 64×64 (296 objects): mean 0.088 px, median 0.083, p95 0.174, max 0.300; on seeds
     * 0..199 at 32², 48², 96², 128²: max 0.453, 0.371, 0.470, 0.411 (means 0.06..0.11); after moved(): max 0.240. The
     * residual comes from anti-aliased edge pixels, which match or not depending on the background behind them (a
     * dark stripe on one side, a light one on the other); the bounds leave a 2× margin over the worst case seen and
     * stay inside the 1 px the brief asks for (other sizes: the worst seen is 0.47, still under 0.6).
     */
    static final double BOUND = 0.6, MEAN_BOUND = 0.2;

    @Test
    void otherSizes() {
        for (int size : new int[]{32, 48, 96, 128}) {
            SceneGenerator g = new SceneGenerator(size, size);
            double max = 0, sum = 0;
            int n = 0;
            for (long seed = 0; seed < 200; seed++) {
                Scene s = g.generate(seed);
                for (SceneObject o : s.objects()) {
                    double[] p = Detector.find(s.image(), o);
                    assertNotNull(p, size + " seed " + seed + ": " + o);
                    double e = Math.hypot(p[0] - o.cx(), p[1] - o.cy());
                    max = Math.max(max, e);
                    sum += e;
                    n++;
                }
            }
            System.out.printf(Locale.ROOT, "detector at %d×%d: %d objects, mean error %.4f px, max %.4f%n", size, size, n, sum / n, max);
            assertTrue(max < BOUND, size + ": max error " + max);
        }
    }

    @Test
    void findsTheMovedPosition() {
        SplittableRandom rng = new SplittableRandom(11);
        double max = 0;
        int n = 0;
        for (long seed = 0; seed < 100; seed++) {
            Scene s = gen.generate(seed);
            int k = rng.nextInt(s.objects().size());
            SceneObject o = s.objects().get(k);
            double r = o.boundingRadius() + 1;
            double nx = 0, ny = 0;
            for (int tries = 0; tries < 1000; tries++) {
                nx = r + (64 - 2 * r) * rng.nextDouble();
                ny = r + (64 - 2 * r) * rng.nextDouble();
                boolean clear = true;
                for (int j = 0; j < s.objects().size(); j++) {
                    if (j == k) continue;
                    SceneObject q = s.objects().get(j);
                    if (Math.hypot(q.cx() - nx, q.cy() - ny) < q.boundingRadius() + o.boundingRadius() + 2) clear = false;
                }
                if (clear) break;
            }
            Scene m = gen.moved(s, k, nx, ny);
            double[] p = Detector.find(m.image(), m.objects().get(k));
            assertNotNull(p);
            double e = Math.hypot(p[0] - nx, p[1] - ny);
            max = Math.max(max, e);
            n++;
        }
        System.out.printf(Locale.ROOT, "detector after moved(): %d moves, max error %.4f px%n", n, max);
        assertTrue(max < BOUND, "max error " + max);
    }

    @Test
    void removedObjectIsNotFound() {
        for (long seed = 0; seed < 200; seed++) {
            Scene s = gen.generate(seed);
            // Each object removed in turn: gone, the other still found.
            for (int k = 0; k < s.objects().size(); k++) {
                List<SceneObject> rest = new ArrayList<>(s.objects());
                SceneObject gone = rest.remove(k);
                Scene r = gen.render(s, rest);
                assertNull(Detector.find(r.image(), gone), "seed " + seed + ": " + gone);
                for (SceneObject o : rest) assertNotNull(Detector.find(r.image(), o));
            }
            // No palette colour anywhere in a bare background.
            Scene bare = gen.render(s, List.of());
            for (int c = 0; c < SceneGenerator.PALETTE.length; c++) {
                int[] p = SceneGenerator.PALETTE[c];
                SceneObject probe = new SceneObject(Shape.DISC, p[0], p[1], p[2], SceneGenerator.PALETTE_NAMES[c], 32, 32, 8, 8, 0);
                boolean[] m = Detector.mask(bare.image(), p[0], p[1], p[2]);
                int hits = 0;
                for (boolean b : m) if (b) hits++;
                assertEquals(0, hits, "seed " + seed + " background '" + s.background() + "' matches " + probe.colourName());
            }
        }
    }

    @Test
    void paletteColoursDoNotMatchEachOther() {
        for (int i = 0; i < SceneGenerator.PALETTE.length; i++)
            for (int j = 0; j < SceneGenerator.PALETTE.length; j++) {
                if (i == j) continue;
                int[] a = SceneGenerator.PALETTE[i];
                SceneObject o = new SceneObject(Shape.DISC, a[0], a[1], a[2], SceneGenerator.PALETTE_NAMES[i], 32, 32, 10, 10, 0);
                Scene s = gen.render(gen.generate(3), List.of(o));
                int[] b = SceneGenerator.PALETTE[j];
                assertNull(Detector.find(s.image(), new SceneObject(Shape.DISC, b[0], b[1], b[2], "x", 32, 32, 10, 10, 0)),
                        SceneGenerator.PALETTE_NAMES[i] + " taken for " + SceneGenerator.PALETTE_NAMES[j]);
            }
    }
}
