package dev.dragedit.scenes;

import dev.dragedit.drag.Images;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class SceneGeneratorTest {
    private final SceneGenerator gen = new SceneGenerator(64, 64);

    @Test
    void sameSeedSameBytesDifferentSeedsDiffer() {
        for (long seed = 0; seed < 20; seed++) {
            Scene a = gen.generate(seed), b = new SceneGenerator(64, 64).generate(seed);
            assertArrayEquals(a.image().pixels(), b.image().pixels(), "seed " + seed);
            assertEquals(a.caption(), b.caption());
            assertEquals(a.objects(), b.objects());
            assertFalse(Arrays.equals(a.image().pixels(), gen.generate(seed + 1).image().pixels()), "seeds " + seed + ", " + (seed + 1));
        }
    }

    @Test
    void bytesArePinned() {
        // Guards cross-JVM reproducibility: a checksum of a few scenes computed once; any change of arithmetic shows.
        long h = 1125899906842597L;
        for (long seed = 0; seed < 8; seed++)
            for (byte v : gen.generate(seed).image().pixels()) h = 31 * h + v;
        System.out.println("scenes checksum " + h);
        assertEquals(EXPECTED_CHECKSUM, h);
    }

    static final long EXPECTED_CHECKSUM = -2836022727969177597L;

    @Test
    void objectsInsideAndApart() {
        for (int size : new int[]{32, 64, 96}) {
            SceneGenerator g = new SceneGenerator(size, size + 8);
            for (long seed = 0; seed < 300; seed++) {
                Scene s = g.generate(seed);
                assertTrue(s.objects().size() == 1 || s.objects().size() == 2);
                for (SceneObject o : s.objects()) {
                    double r = o.boundingRadius();
                    assertTrue(o.cx() - r >= 0 && o.cx() + r <= size && o.cy() - r >= 0 && o.cy() + r <= size + 8, o + " in " + size);
                    double rel = Math.max(o.rx(), o.ry()) / size;
                    assertTrue(rel >= 0.05 && rel <= 0.27, "size " + rel);
                }
                if (s.objects().size() == 2) {
                    SceneObject a = s.objects().get(0), b = s.objects().get(1);
                    assertNotEquals(a.colourName(), b.colourName());
                    // No point inside both (sampled finely).
                    for (double y = 0; y < size + 8; y += 0.25)
                        for (double x = 0; x < size; x += 0.25)
                            assertFalse(a.contains(x, y) && b.contains(x, y), "overlap at " + x + "," + y + " seed " + seed);
                }
            }
        }
    }

    @Test
    void captionNamesObjectsAndBackground() {
        for (long seed = 0; seed < 300; seed++) {
            Scene s = gen.generate(seed);
            String c = s.caption();
            assertTrue(c.matches("[a-z]+( [a-z]+)*"), c);
            assertTrue(c.split(" ").length <= 20, c);
            for (SceneObject o : s.objects()) {
                assertTrue(c.contains(" " + o.colourName() + " " + o.shape().word()), c);
            }
            assertTrue(c.endsWith(" " + s.background() + " background"), c);
            if (seed < 12) System.out.println(c);
        }
        assertEquals("a yellow square and a purple triangle on a grey checker background",
                SceneGenerator.caption(List.of(
                        new SceneObject(Shape.SQUARE, 235, 205, 40, "yellow", 10, 10, 5, 5, 0),
                        new SceneObject(Shape.TRIANGLE, 150, 60, 200, "purple", 40, 40, 5, 5, 0)), "grey checker"));
        assertEquals("an orange disc on a mottled teal background", SceneGenerator.caption(
                List.of(new SceneObject(Shape.DISC, 240, 130, 30, "orange", 10, 10, 5, 5, 0)), "mottled teal"));
    }

    @Test
    void shapeCentroidsAreTheCentres() {
        for (Shape sh : Shape.values()) {
            SceneObject o = new SceneObject(sh, 1, 2, 3, "x", 20.3, 21.7, 10, 7, 0.7);
            if (sh == Shape.DISC || sh == Shape.SQUARE || sh == Shape.TRIANGLE) o = new SceneObject(sh, 1, 2, 3, "x", 20.3, 21.7, 10, 10, 0.7);
            double sx = 0, sy = 0; long n = 0;
            for (double y = 0; y < 45; y += 0.05)
                for (double x = 0; x < 45; x += 0.05)
                    if (o.contains(x, y)) { sx += x; sy += y; n++; }
            assertEquals(20.3, sx / n, 0.02, sh.toString());
            assertEquals(21.7, sy / n, 0.02, sh.toString());
            double r = o.boundingRadius();
            for (double a = 0; a < 6.3; a += 0.01)
                assertFalse(o.contains(o.cx() + (r + 0.01) * Math.cos(a), o.cy() + (r + 0.01) * Math.sin(a)), sh + " outside its bounding radius");
        }
    }

    @Test
    void renderKeepsBackgroundExactly() {
        for (long seed = 0; seed < 50; seed++) {
            Scene s = gen.generate(seed);
            Scene same = gen.render(s, s.objects());
            assertArrayEquals(s.image().pixels(), same.image().pixels());
            assertEquals(s.caption(), same.caption());
            Scene empty = gen.render(s, List.of());
            Scene again = gen.render(same, List.of());   // a rendered scene remembers the background too
            assertArrayEquals(empty.image().pixels(), again.image().pixels());
            // Outside the objects' boxes, the empty scene equals the original.
            boolean[] near = near(s.objects(), 64, 64, 0);
            byte[] a = s.image().pixels(), b = empty.image().pixels();
            for (int i = 0; i < 64 * 64; i++)
                if (!near[i]) for (int c = 0; c < 3; c++) assertEquals(a[3 * i + c], b[3 * i + c]);
        }
        assertThrows(IllegalArgumentException.class,
                () -> gen.render(new Scene(new Images.Rgb(64, 64, new byte[64 * 64 * 3]), "a", List.of(), "grey checker"), List.of()));
    }

    @Test
    void movedChangesOnlyPixelsNearOldAndNewPositions() {
        SplittableRandom rng = new SplittableRandom(7);
        int changedTotal = 0;
        for (long seed = 0; seed < 100; seed++) {
            Scene s = gen.generate(seed);
            int k = rng.nextInt(s.objects().size());
            SceneObject o = s.objects().get(k);
            double r = o.boundingRadius() + 1;
            double nx = r + (64 - 2 * r) * rng.nextDouble(), ny = r + (64 - 2 * r) * rng.nextDouble();
            Scene m = gen.moved(s, k, nx, ny);
            assertEquals(s.caption(), m.caption());
            assertEquals(s.background(), m.background());
            assertEquals(nx, m.objects().get(k).cx());
            assertEquals(ny, m.objects().get(k).cy());
            List<SceneObject> both = List.of(o, o.at(nx, ny));
            boolean[] near = near(both, 64, 64, 1);
            byte[] a = s.image().pixels(), b = m.image().pixels();
            for (int i = 0; i < 64 * 64; i++) {
                boolean diff = a[3 * i] != b[3 * i] || a[3 * i + 1] != b[3 * i + 1] || a[3 * i + 2] != b[3 * i + 2];
                if (diff) changedTotal++;
                assertFalse(diff && !near[i], "seed " + seed + ": pixel " + i % 64 + "," + i / 64 + " changed far from the object");
            }
        }
        assertTrue(changedTotal > 100 * 30, "moves changed " + changedTotal + " pixels");
    }

    /** Pixels within the bounding circles (plus margin) of the objects. */
    static boolean[] near(List<SceneObject> objs, int w, int h, double margin) {
        boolean[] n = new boolean[w * h];
        for (SceneObject o : objs) {
            double r = o.boundingRadius() + 1 + margin;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double dx = x + 0.5 - o.cx(), dy = y + 0.5 - o.cy();
                    if (dx * dx + dy * dy <= r * r) n[y * w + x] = true;
                }
        }
        return n;
    }

    @Test
    void contactSheet() throws Exception {
        // 16 scenes, 4×4, scaled ×3, written to the build directory only (for looking at; not committed).
        int s = 64, z = 3, cols = 4;
        byte[] px = new byte[3 * (s * z * cols) * (s * z * cols)];
        int W = s * z * cols;
        for (int k = 0; k < 16; k++) {
            Scene sc = gen.generate(k);
            int ox = (k % cols) * s * z, oy = (k / cols) * s * z;
            for (int y = 0; y < s * z; y++)
                for (int x = 0; x < s * z; x++)
                    for (int c = 0; c < 3; c++)
                        px[3 * ((oy + y) * W + ox + x) + c] = sc.image().pixels()[3 * ((y / z) * s + x / z) + c];
            System.out.println("sheet " + k + ": " + sc.caption());
        }
        Path classes = Path.of(SceneGeneratorTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path out = classes.getParent().resolve("scenes-contact-sheet.png");
        Images.write(out, new Images.Rgb(W, W, px));
        assertTrue(Files.size(out) > 0);
        System.out.println("contact sheet: " + out);
    }
}
