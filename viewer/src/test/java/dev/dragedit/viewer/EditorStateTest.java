package dev.dragedit.viewer;

import dev.dragedit.drag.Images;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The viewer's edit model: points (click alternation, clamping, picking, moves, removal), mask strokes (discs along
 * each segment, exactly the pixels within the radius, no gaps on long jumps, the first stroke creating the mask),
 * finished drags and new images, and undo/redo over every kind of change — including a long random mix checked state
 * by state both ways — with the version counters the renderer relies on and the undo memory of many strokes on a
 * large image.
 */
class EditorStateTest {

    private static Images.Rgb image(int w, int h, int seed) {
        byte[] px = new byte[3 * w * h];
        new Random(seed).nextBytes(px);
        return new Images.Rgb(h, w, px);
    }

    private static EditorState state(int w, int h) {
        return new EditorState(image(w, h, 1));
    }

    // ------------------------------------------------------------------ points

    @Test
    void clicksAlternateHandleAndTargetAndPointsXyHasCompletePairsOnly() {
        EditorState s = state(100, 80);
        s.click(10, 20);
        assertEquals(List.of(new EditorState.Pair(10, 20, null, null)), s.pairs());
        assertFalse(s.pairs().get(0).complete());
        assertEquals(0, s.pointsXy().length, "a pending pair is not a drag");
        s.click(30, 25);
        s.click(50, 60);
        assertEquals(List.of(new EditorState.Pair(10, 20, 30.0, 25.0), new EditorState.Pair(50, 60, null, null)), s.pairs());
        assertArrayEquals(new double[][]{{10, 20}, {30, 25}}, s.pointsXy());
        s.click(70.5, 5.25);
        assertArrayEquals(new double[][]{{10, 20}, {30, 25}, {50, 60}, {70.5, 5.25}}, s.pointsXy());
        assertEquals(4, s.undoDepth(), "one undo step per click");
    }

    @Test
    void clicksAreClampedIntoTheImage() {
        EditorState s = state(100, 80);
        s.click(-5, 200);
        s.click(100, -0.1);
        EditorState.Pair p = s.pairs().get(0);
        assertEquals(0, p.hx());
        assertEquals(Math.nextDown(80.0), p.hy());
        assertTrue(p.hy() < 80, "inside [0, h): what dragedit edit accepts");
        assertEquals(Math.nextDown(100.0), p.tx());
        assertEquals(0, p.ty());
        assertThrows(IllegalArgumentException.class, () -> s.click(Double.NaN, 3));
    }

    @Test
    void pointAtPicksTheNearestWithinTheRadius() {
        EditorState s = state(100, 100);
        s.click(10, 10);  // 0
        s.click(20, 10);  // 1
        s.click(14, 10);  // 2
        assertEquals(2, s.pointAt(13, 10, 5), "handle 1 at distance 1 beats handle 0 at 3 and target 0 at 7");
        assertEquals(0, s.pointAt(11.9, 10, 5));
        assertEquals(1, s.pointAt(19, 12, 5));
        assertEquals(-1, s.pointAt(50, 50, 5));
        assertEquals(-1, s.pointAt(26, 10, 5.9));
        assertEquals(1, s.pointAt(26, 10, 6), "the radius is inclusive");
        assertEquals(-1, s.pointAt(15, 11, 0.5));
    }

    @Test
    void aMoveIsLiveAndOneUndoStep() {
        EditorState s = state(100, 100);
        s.click(10, 10);
        s.click(30, 30);
        int depth = s.undoDepth();
        long v = s.version();
        s.beginMove(1);
        s.moveTo(40, 40);
        assertTrue(s.version() > v, "the renderer sees the live move");
        long v2 = s.version();
        s.moveTo(45, 200);
        assertTrue(s.version() > v2);
        assertEquals(new EditorState.Pair(10, 10, 45.0, Math.nextDown(100.0)), s.pairs().get(0), "moves are clamped too");
        s.endMove();
        assertEquals(depth + 1, s.undoDepth(), "many moveTo, one step");
        s.undo();
        assertEquals(new EditorState.Pair(10, 10, 30.0, 30.0), s.pairs().get(0));
        s.redo();
        assertEquals(new EditorState.Pair(10, 10, 45.0, Math.nextDown(100.0)), s.pairs().get(0));

        s.beginMove(0); // a click on a point without moving it is no step
        s.endMove();
        assertEquals(depth + 1, s.undoDepth());
        assertThrows(IllegalStateException.class, () -> s.moveTo(1, 1));
        assertThrows(IllegalArgumentException.class, () -> s.beginMove(4));
    }

    @Test
    void removingAHandleRemovesThePairAndATargetLeavesItPending() {
        EditorState s = state(100, 100);
        s.click(10, 10);
        s.click(20, 20);
        s.click(30, 30);
        s.click(40, 40);
        s.removePoint(1); // target 0
        assertEquals(List.of(new EditorState.Pair(10, 10, null, null), new EditorState.Pair(30, 30, 40.0, 40.0)), s.pairs());
        assertArrayEquals(new double[][]{{30, 30}, {40, 40}}, s.pointsXy());
        assertFalse(s.hasPoint(1));
        assertThrows(IllegalArgumentException.class, () -> s.removePoint(1), "that target is gone");
        s.click(25, 15); // the next click gives pair 0 its target again
        assertEquals(new EditorState.Pair(10, 10, 25.0, 15.0), s.pairs().get(0));

        s.removePoint(2); // handle 1: the whole pair
        assertEquals(List.of(new EditorState.Pair(10, 10, 25.0, 15.0)), s.pairs());
        s.undo();
        assertEquals(2, s.pairs().size());
        assertEquals(new EditorState.Pair(30, 30, 40.0, 40.0), s.pairs().get(1));
        s.undo();
        s.undo();
        assertEquals(new EditorState.Pair(10, 10, 20.0, 20.0), s.pairs().get(0), "undo brings the removed target back");
        assertThrows(IllegalArgumentException.class, () -> s.removePoint(-1));
        assertThrows(IllegalArgumentException.class, () -> s.removePoint(4));
    }

    @Test
    void clearPointsIsOneStep() {
        EditorState s = state(50, 50);
        s.click(1, 1);
        s.click(2, 2);
        s.click(3, 3);
        List<EditorState.Pair> before = s.pairs();
        s.clearPoints();
        assertTrue(s.pairs().isEmpty());
        s.undo();
        assertEquals(before, s.pairs());
        int depth = s.undoDepth();
        s.clearPoints();
        s.clearPoints(); // nothing left to clear: no step
        assertEquals(depth + 1, s.undoDepth());
    }

    // ------------------------------------------------------------------ mask

    /** Pixels whose centre lies within r of segment a-b (the brush's definition for r ≥ 1). */
    private static boolean[] capsule(int w, int h, double ax, double ay, double bx, double by, double r) {
        boolean[] in = new boolean[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double cx = x + 0.5, cy = y + 0.5, dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
                double t = l2 == 0 ? 0 : Math.max(0, Math.min(1, ((cx - ax) * dx + (cy - ay) * dy) / l2));
                in[y * w + x] = Math.hypot(ax + t * dx - cx, ay + t * dy - cy) <= r;
            }
        return in;
    }

    @Test
    void aStrokePaintsDiscsAlongEachSegmentWithNoGapsOnLongJumps() {
        int w = 120, h = 90;
        EditorState s = state(w, h);
        s.beginStroke(true, 3);
        s.strokeTo(5, 5);
        byte[] m = s.mask();
        boolean[] disc = capsule(w, h, 5, 5, 5, 5, 3);
        for (int i = 0; i < m.length; i++) assertEquals(disc[i] ? 1 : 0, m[i], "first position paints a disc; pixel " + i);
        s.strokeTo(110, 80); // one far jump
        s.strokeTo(110, 10);
        s.endStroke();
        m = s.mask();
        boolean[] a = capsule(w, h, 5, 5, 110, 80, 3), b = capsule(w, h, 110, 80, 110, 10, 3);
        int painted = 0;
        for (int i = 0; i < m.length; i++) {
            assertEquals(a[i] || b[i] ? 1 : 0, m[i], "pixel (" + i % w + ", " + i / w + ")");
            painted += m[i];
        }
        assertTrue(painted > 600, "a long band, not two discs: " + painted);
        // every sample along the jump is covered: no gaps
        for (double t = 0; t <= 1; t += 0.001) {
            double x = 5 + t * 105, y = 5 + t * 75;
            assertEquals(1, s.maskAt((int) x, (int) y));
        }
    }

    @Test
    void everySegmentPaintsExactlyThePixelsWithinTheRadius() {
        int w = 70, h = 50;
        Random r = new Random(99);
        for (int k = 0; k < 300; k++) {
            double ax = r.nextDouble() * 90 - 10, ay = r.nextDouble() * 70 - 10, bx, by;
            switch (k % 5) { // horizontal, vertical and zero-length segments too: the row intervals have special cases there
                case 0 -> { bx = r.nextDouble() * 90 - 10; by = ay; }
                case 1 -> { bx = ax; by = r.nextDouble() * 70 - 10; }
                case 2 -> { bx = ax; by = ay; }
                default -> { bx = r.nextDouble() * 90 - 10; by = r.nextDouble() * 70 - 10; }
            }
            double rad = 1 + r.nextDouble() * 12;
            EditorState s = state(w, h);
            s.beginStroke(true, rad);
            s.strokeTo(ax, ay);
            s.strokeTo(bx, by);
            s.endStroke();
            boolean[] want = capsule(w, h, ax, ay, bx, by, rad);
            byte[] m = s.mask();
            for (int i = 0; i < w * h; i++)
                if ((m == null ? 0 : m[i]) != (want[i] ? 1 : 0))
                    throw new AssertionError("segment " + ax + "," + ay + " → " + bx + "," + by + " r " + rad + ": pixel (" + i % w + ", " + i / w + ")");
        }
    }

    @Test
    void aBrushThinnerThanAPixelStillLeavesAConnectedLine() {
        EditorState s = state(64, 64);
        s.beginStroke(true, 0.2);
        s.strokeTo(1.3, 2.7);
        s.strokeTo(60.1, 41.9);
        s.endStroke();
        for (double t = 0; t <= 1; t += 0.0005) {
            double x = 1.3 + t * 58.8, y = 2.7 + t * 39.2;
            assertEquals(1, s.maskAt((int) x, (int) y), "gap at " + x + ", " + y);
        }
        // and nothing far from the line
        byte[] m = s.mask();
        for (int i = 0; i < m.length; i++)
            if (m[i] == 1) {
                double cx = i % 64 + 0.5, cy = i / 64 + 0.5;
                double d = Math.abs((cx - 1.3) * 39.2 - (cy - 2.7) * 58.8) / Math.hypot(58.8, 39.2);
                assertTrue(d <= Math.sqrt(0.5) + 1e-9, "pixel " + cx + ", " + cy + " is " + d + " from the line");
            }
    }

    @Test
    void theFirstStrokeCreatesTheMaskWithTheOtherValue() {
        EditorState s = state(40, 30);
        assertFalse(s.hasMask());
        assertNull(s.mask());
        assertNull(s.maskAsFloats255());
        assertEquals(1, s.maskAt(3, 3), "no mask: everything may change");
        s.beginStroke(false, 4); // "keep" first: everything else may change
        s.strokeTo(20, 15);
        s.endStroke();
        byte[] m = s.mask();
        assertEquals(0, m[15 * 40 + 20]);
        assertEquals(1, m[0]);
        float[] f = s.maskAsFloats255();
        assertEquals(0f, f[15 * 40 + 20]);
        assertEquals(255f, f[0]);
        s.undo();
        assertFalse(s.hasMask(), "undoing the first stroke removes the mask");
        s.redo();
        assertArrayEquals(m, s.mask());

        EditorState t = state(40, 30);
        t.beginStroke(true, 4); // "may change" first: everything else is kept
        t.strokeTo(20, 15);
        t.endStroke();
        assertEquals(1, t.mask()[15 * 40 + 20]);
        assertEquals(0, t.mask()[0]);
    }

    @Test
    void aStrokeThatChangesNothingIsNoStep() {
        EditorState s = state(40, 30);
        s.beginStroke(true, 3);
        s.strokeTo(-50, -50); // only outside the image
        s.strokeTo(-60, 100);
        s.endStroke();
        assertFalse(s.hasMask());
        assertFalse(s.canUndo());
        s.beginStroke(true, 3);
        s.strokeTo(10, 10);
        s.endStroke();
        int depth = s.undoDepth();
        s.beginStroke(true, 2); // over pixels that already may change
        s.strokeTo(10, 10);
        s.endStroke();
        assertEquals(depth, s.undoDepth());
        assertThrows(IllegalArgumentException.class, () -> s.beginStroke(true, 0));
        assertThrows(IllegalArgumentException.class, () -> s.beginStroke(true, -3));
        assertThrows(IllegalArgumentException.class, () -> s.beginStroke(true, Double.NaN));
        assertThrows(IllegalStateException.class, () -> s.strokeTo(1, 1));
    }

    @Test
    void strokesUndoAndRedoOneByOneAndResetMaskIsOneStep() {
        EditorState s = state(60, 50);
        List<byte[]> masks = new ArrayList<>();
        masks.add(null);
        double[][] path = {{5, 5}, {50, 10}, {30, 45}, {12, 40}};
        for (int k = 0; k < path.length; k++) {
            s.beginStroke(k % 2 == 0, 2 + k);
            s.strokeTo(path[k][0], path[k][1]);
            s.strokeTo(path[(k + 1) % path.length][0], path[(k + 1) % path.length][1]);
            s.endStroke();
            masks.add(s.mask());
        }
        s.resetMask();
        assertFalse(s.hasMask());
        s.resetMask(); // no mask: nothing to reset, no step
        s.undo();
        assertArrayEquals(masks.get(4), s.mask(), "undo of reset brings the whole mask back");
        for (int k = 3; k >= 0; k--) {
            s.undo();
            assertArrayEquals(masks.get(k), s.mask(), "after undoing stroke " + k);
        }
        assertFalse(s.canUndo());
        for (int k = 1; k <= 4; k++) {
            s.redo();
            assertArrayEquals(masks.get(k), s.mask(), "after redoing stroke " + (k - 1));
        }
        s.redo();
        assertFalse(s.hasMask());
        assertFalse(s.canRedo());
    }

    @Test
    void undoInTheMiddleOfAGestureTakesTheGestureBack() {
        EditorState s = state(60, 50);
        s.click(10, 10);
        s.beginStroke(true, 3);
        s.strokeTo(20, 20);
        assertTrue(s.canUndo());
        assertFalse(s.canRedo());
        s.undo();
        assertFalse(s.stroking());
        assertFalse(s.hasMask());
        assertEquals(1, s.pairs().size(), "only the stroke was undone");
        s.beginMove(0);
        s.moveTo(30, 30);
        s.undo();
        assertFalse(s.moving());
        assertEquals(new EditorState.Pair(10, 10, null, null), s.pairs().get(0));
    }

    @Test
    void twoHundredStrokesOnALargeImageKeepUndoSmall() {
        int w = 1024, h = 1024;
        EditorState s = new EditorState(new Images.Rgb(h, w, new byte[3 * w * h]));
        Random r = new Random(7);
        for (int k = 0; k < 200; k++) {
            s.beginStroke(r.nextBoolean(), 10 + r.nextInt(30));
            for (int j = 0; j < 4; j++) s.strokeTo(r.nextDouble() * w, r.nextDouble() * h);
            s.endStroke();
        }
        byte[] last = s.mask();
        long bytes = s.undoMemoryBytes();
        assertTrue(bytes < 16L << 20, "200 strokes on 1024² hold " + bytes + " bytes of undo (whole masks would be 200 MB)");
        assertTrue(s.undoDepth() >= 190, "(nearly) every stroke is a step: " + s.undoDepth());
        while (s.canUndo()) s.undo();
        assertFalse(s.hasMask());
        while (s.canRedo()) s.redo();
        assertArrayEquals(last, s.mask(), "compact undo data restores the mask exactly");
    }

    // ------------------------------------------------------------------ images

    @Test
    void applyResultReplacesTheImageMovesHandlesKeepsTargetsAndUndoes() {
        EditorState s = state(100, 100);
        Images.Rgb input = s.image();
        s.click(10, 10);
        s.click(50, 50);
        s.click(80, 20);
        s.click(60, 20);
        s.click(5, 95); // pending: untouched by the result
        s.beginStroke(true, 5);
        s.strokeTo(30, 30);
        s.endStroke();
        byte[] mask = s.mask();
        long iv = s.imageVersion();
        Images.Rgb edited = image(100, 100, 2);
        s.applyResult(edited, new double[][]{{48.5, 47}, {61, 21}});
        assertSame(edited, s.image());
        assertEquals(iv + 1, s.imageVersion());
        assertEquals(List.of(new EditorState.Pair(48.5, 47, 50.0, 50.0), new EditorState.Pair(61, 21, 60.0, 20.0),
                new EditorState.Pair(5, 95, null, null)), s.pairs());
        assertArrayEquals(mask, s.mask(), "the mask stays for the next drag");
        s.undo();
        assertSame(input, s.image());
        assertTrue(s.imageVersion() > iv + 1);
        assertEquals(new EditorState.Pair(10, 10, 50.0, 50.0), s.pairs().get(0));
        assertArrayEquals(mask, s.mask());
        s.redo();
        assertSame(edited, s.image());
        assertEquals(48.5, s.pairs().get(0).hx());

        assertThrows(IllegalArgumentException.class, () -> s.applyResult(edited, new double[][]{{1, 1}}), "one handle for two pairs");
        assertThrows(IllegalArgumentException.class, () -> s.applyResult(image(99, 100, 3), new double[][]{{1, 1}, {2, 2}}));
    }

    @Test
    void setImageClearsPointsAndMaskAndUndoBringsThemBack() {
        EditorState s = state(100, 100);
        Images.Rgb first = s.image();
        s.click(10, 10);
        s.click(20, 20);
        s.beginStroke(false, 6);
        s.strokeTo(50, 50);
        s.endStroke();
        byte[] mask = s.mask();
        List<EditorState.Pair> pairs = s.pairs();
        Images.Rgb other = image(64, 48, 5);
        s.setImage(other);
        assertSame(other, s.image());
        assertEquals(64, s.width());
        assertEquals(48, s.height());
        assertTrue(s.pairs().isEmpty());
        assertFalse(s.hasMask());
        s.click(100, 100);
        assertEquals(new EditorState.Pair(Math.nextDown(64.0), Math.nextDown(48.0), null, null), s.pairs().get(0), "clamped to the new size");
        s.undo();
        s.undo();
        assertSame(first, s.image());
        assertEquals(pairs, s.pairs());
        assertArrayEquals(mask, s.mask());
        s.redo();
        assertSame(other, s.image());
        assertFalse(s.hasMask());
    }

    // ------------------------------------------------------------------ undo, redo, versions

    @Test
    void aNewChangeClearsRedo() {
        EditorState s = state(50, 50);
        assertFalse(s.canUndo());
        assertFalse(s.canRedo());
        s.undo(); // nothing to undo: no-op
        s.redo();
        s.click(1, 1);
        s.click(2, 2);
        s.undo();
        assertTrue(s.canRedo());
        s.click(3, 3);
        assertFalse(s.canRedo(), "a new click drops the undone step");
        s.redo();
        assertEquals(new EditorState.Pair(1, 1, 3.0, 3.0), s.pairs().get(0));

        s.undo();
        assertTrue(s.canRedo());
        s.beginStroke(true, 2);
        s.strokeTo(10, 10);
        assertFalse(s.canRedo(), "a stroke in progress will drop it");
        s.endStroke();
        assertFalse(s.canRedo());
    }

    @Test
    void versionsCountChangesAndImageVersionOnlyImageChanges() {
        EditorState s = state(50, 50);
        long v = s.version(), iv = s.imageVersion(), mv = s.maskVersion(), pv = s.pointsVersion();
        s.click(5, 5);
        assertTrue(s.version() > v);
        assertTrue(s.pointsVersion() > pv);
        assertEquals(iv, s.imageVersion());
        assertEquals(mv, s.maskVersion());
        v = s.version();
        s.beginStroke(true, 2);
        s.strokeTo(10, 10);
        s.endStroke();
        assertTrue(s.version() > v);
        assertTrue(s.maskVersion() > mv);
        assertEquals(iv, s.imageVersion());
        v = s.version();
        s.undo();
        assertTrue(s.version() > v, "undo is a change");
        v = s.version();
        s.redo();
        assertTrue(s.version() > v, "redo is a change");
        assertEquals(iv, s.imageVersion());
        v = s.version();
        s.pointAt(5, 5, 3);
        s.pairs();
        s.mask();
        s.pointsXy();
        assertEquals(v, s.version(), "reading is no change");
        s.setImage(image(50, 50, 9));
        assertEquals(iv + 1, s.imageVersion());
        s.undo();
        assertEquals(iv + 2, s.imageVersion());
    }

    /** A full copy of what the user sees, to compare states. */
    private record Seen(Images.Rgb image, List<EditorState.Pair> pairs, byte[] mask) {
        static Seen of(EditorState s) { return new Seen(s.image(), s.pairs(), s.mask()); }

        void check(EditorState s, String where) {
            assertSame(image, s.image(), where + ": image");
            assertEquals(pairs, s.pairs(), where + ": points");
            assertArrayEquals(mask, s.mask(), where + ": mask");
        }
    }

    @Test
    void aRandomMixOfEveryChangeUndoesAndRedoesStateByState() {
        Random r = new Random(123);
        int w = 80, h = 60;
        EditorState s = state(w, h);
        List<Seen> seen = new ArrayList<>();
        seen.add(Seen.of(s));
        List<String> ops = new ArrayList<>();
        while (ops.size() < 150) {
            int depth = s.undoDepth();
            String op;
            switch (r.nextInt(9)) {
                case 0, 1 -> { s.click(r.nextDouble() * w, r.nextDouble() * h); op = "click"; }
                case 2 -> {
                    int i = r.nextInt(Math.max(1, s.pointSlots()));
                    if (!s.hasPoint(i)) continue;
                    s.beginMove(i);
                    for (int k = 0; k < 3; k++) s.moveTo(r.nextDouble() * w, r.nextDouble() * h);
                    s.endMove();
                    op = "move " + i;
                }
                case 3 -> {
                    int i = r.nextInt(Math.max(1, s.pointSlots()));
                    if (!s.hasPoint(i)) continue;
                    s.removePoint(i);
                    op = "remove " + i;
                }
                case 4, 5 -> {
                    s.beginStroke(r.nextBoolean(), 1 + r.nextDouble() * 8);
                    for (int k = 0; k < 1 + r.nextInt(4); k++) s.strokeTo(r.nextDouble() * w, r.nextDouble() * h);
                    s.endStroke();
                    op = "stroke";
                }
                case 6 -> { s.resetMask(); op = "reset mask"; }
                case 7 -> {
                    int n = s.pointsXy().length / 2;
                    double[][] fin = new double[n][];
                    for (int k = 0; k < n; k++) fin[k] = new double[]{r.nextDouble() * w, r.nextDouble() * h};
                    s.applyResult(image(w, h, r.nextInt()), fin);
                    op = "apply result";
                }
                default -> {
                    if (r.nextInt(4) != 0) continue;
                    w = 40 + r.nextInt(60);
                    h = 40 + r.nextInt(60);
                    s.setImage(image(w, h, r.nextInt()));
                    op = "set image";
                }
            }
            if (s.undoDepth() == depth) continue; // changed nothing (e.g. a reset without mask)
            assertEquals(depth + 1, s.undoDepth(), op + " is one step");
            ops.add(op);
            seen.add(Seen.of(s));
        }
        for (int k = ops.size() - 1; k >= 0; k--) {
            s.undo();
            seen.get(k).check(s, "undo of #" + k + " " + ops.get(k));
        }
        assertFalse(s.canUndo());
        for (int k = 0; k < ops.size(); k++) {
            s.redo();
            seen.get(k + 1).check(s, "redo of #" + k + " " + ops.get(k));
        }
        assertFalse(s.canRedo());
        assertNotEquals(0, ops.stream().filter(o -> o.startsWith("set image")).count(), "the mix covers set image");
        assertNotEquals(0, ops.stream().filter(o -> o.startsWith("apply")).count());
        assertNotEquals(0, ops.stream().filter(o -> o.startsWith("reset")).count());
        assertNotEquals(0, ops.stream().filter(o -> o.startsWith("remove")).count());
        assertNotEquals(0, ops.stream().filter(o -> o.startsWith("move")).count());
        assertTrue(Arrays.asList(ops.toArray()).contains("stroke"));
    }
}
