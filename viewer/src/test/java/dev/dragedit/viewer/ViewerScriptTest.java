package dev.dragedit.viewer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.cli.Main;
import dev.dragedit.drag.Images;
import dev.dragedit.eval.SyntheticSuite;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The acceptance test: a real GL window (GLFW null platform + EGL on Mesa's llvmpipe, as in CI) driven by a
 * session script through {@code dragedit view --script}: a drag on the bundled tiny model with small step counts, and
 * the screenshots read back: the handle and target are red and blue at the screen positions the fitted
 * {@link ViewTransform} gives, the mask overlay tints exactly the painted pixels, the canvas changes while the drag
 * runs, undo restores the previous canvas exactly, and the saved sidecar replays with {@code dragedit edit --spec}.
 * Without EGL the viewer exits 2 and these tests FAIL (CI installs it; a machine without it is not a pass).
 */
class ViewerScriptTest {
    static final int W = 640, H = 400;
    static final double BRUSH = 10;

    static Path dir;
    static int code;
    static String out, err;
    static double[] handle, target, strokeA, strokeB;
    static ViewTransform view;
    static long sessionMillis;

    @BeforeAll
    static void runSession() throws IOException {
        dir = Files.createTempDirectory("viewer-script");
        SyntheticSuite.Case c = SyntheticSuite.cases(1, ViewerCommand.DEFAULT_SCENE_SEED, ViewerCommand.DEFAULT_SCENE_SIZE).get(0);
        handle = c.handlePixel();
        target = c.targetPixel();
        // The brush stroke covers the handle and the target (the region that may change).
        strokeA = handle;
        strokeB = target;
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.putArray("window").add(W).add(H);
        root.put("model", model().toString());
        ArrayNode ev = root.putArray("events");
        shot(ev, "s0.png");                                   // the image alone
        ObjectNode paint = ev.addObject().put("do", "paint").put("mode", "may_change").put("radius", BRUSH);
        paint.putArray("points").add(m.createArrayNode().add(strokeA[0]).add(strokeA[1])).add(m.createArrayNode().add(strokeB[0]).add(strokeB[1]));
        shot(ev, "s1.png");                                   // + mask overlay
        ev.addObject().put("do", "show_mask").put("on", false);
        shot(ev, "s1-hidden.png");                            // overlay hidden
        ev.addObject().put("do", "show_mask").put("on", true);
        ev.addObject().put("do", "click").put("x", handle[0]).put("y", handle[1]);
        ev.addObject().put("do", "click").put("x", target[0]).put("y", target[1]);
        set(ev, "lora_steps", 2);
        set(ev, "inference_steps", 10);
        set(ev, "steps", 6);
        ev.addObject().put("do", "set").put("field", "prompt").put("value", c.scene().caption());
        shot(ev, "s2.png");                                   // + points
        ev.addObject().put("do", "start");
        ev.addObject().put("do", "wait_steps").put("n", 2).put("timeout_s", 120);
        shot(ev, "s3.png");                                   // live preview after 2 steps
        ev.addObject().put("do", "wait_done").put("timeout_s", 120);
        shot(ev, "s4.png");                                   // result applied
        ev.addObject().put("do", "save").put("path", "out/edited.png");
        ev.addObject().put("do", "export").put("path", "out/drag.gif");
        ev.addObject().put("do", "undo");
        shot(ev, "s5.png");                                   // back to s2
        ev.addObject().put("do", "undo");
        ev.addObject().put("do", "undo");
        ev.addObject().put("do", "undo");
        shot(ev, "s6.png");                                   // back to s0
        Path script = dir.resolve("session.json");
        Files.write(script, m.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));

        StringWriter o = new StringWriter(), e = new StringWriter();
        long t0 = System.nanoTime();
        code = Main.run(new String[]{"view", "--script", script.toString(), "--screenshot", dir.resolve("final.png").toString()},
                new PrintWriter(o, true), new PrintWriter(e, true));
        sessionMillis = (System.nanoTime() - t0) / 1_000_000;
        out = o.toString();
        err = e.toString();
        System.out.println(out + err + "session: " + sessionMillis + " ms");

        view = new ViewTransform(ViewerCommand.DEFAULT_SCENE_SIZE, ViewerCommand.DEFAULT_SCENE_SIZE);
        view.setViewport(Panel.WIDTH, 0, W - Panel.WIDTH, H);
        view.fit();
    }

    /** The bundled model: surefire runs in the module folder, the model lives at the repository root. */
    static Path model() {
        Path p = Path.of("").toAbsolutePath();
        for (; p != null; p = p.getParent()) if (Files.isDirectory(p.resolve("models/tiny"))) return p.resolve("models/tiny");
        throw new IllegalStateException("models/tiny not found above " + Path.of("").toAbsolutePath());
    }

    private static void shot(ArrayNode ev, String name) { ev.addObject().put("do", "screenshot").put("path", name); }

    private static void set(ArrayNode ev, String field, int v) { ev.addObject().put("do", "set").put("field", field).put("value", v); }

    static Images.Rgb shot(String name) throws IOException {
        assertEquals(0, code, "the scripted viewer failed (exit " + code + "): " + err);
        Images.Rgb img = Images.read(dir.resolve(name));
        assertEquals(W, img.width());
        assertEquals(H, img.height());
        return img;
    }

    static int[] px(Images.Rgb img, double sx, double sy) {
        int x = (int) Math.floor(sx), y = (int) Math.floor(sy);
        return new int[]{img.get(y, x, 0), img.get(y, x, 1), img.get(y, x, 2)};
    }

    static boolean near(int[] p, int r, int g, int b, int tol) {
        return Math.abs(p[0] - r) <= tol && Math.abs(p[1] - g) <= tol && Math.abs(p[2] - b) <= tol;
    }

    /** Screen pixel of the centre of image pixel (ix, iy). */
    static double[] centre(int ix, int iy) { return view.toScreen(ix + 0.5, iy + 0.5); }

    /** Sum of |a − b| over the canvas's image pixels (sampled at each image pixel's centre), and how many differ. */
    static int[] canvasDiff(Images.Rgb a, Images.Rgb b) {
        int sum = 0, n = 0;
        for (int iy = 0; iy < ViewerCommand.DEFAULT_SCENE_SIZE; iy++) {
            for (int ix = 0; ix < ViewerCommand.DEFAULT_SCENE_SIZE; ix++) {
                double[] s = centre(ix, iy);
                int[] p = px(a, s[0], s[1]), q = px(b, s[0], s[1]);
                int d = Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) + Math.abs(p[2] - q[2]);
                sum += d;
                if (d > 0) n++;
            }
        }
        return new int[]{sum, n};
    }

    @Test
    void theScriptedSessionCompletes() {
        assertEquals(0, code, "exit code; stderr: " + err);
        assertTrue(out.contains("llvmpipe") || out.contains("view: "), out);
        assertTrue(Files.isRegularFile(dir.resolve("final.png")), "--screenshot wrote the last frame");
        assertTrue(out.contains("result applied"), out);
    }

    @Test
    void handleAndTargetAreRedAndBlueWhereTheViewPutsThem() throws IOException {
        Images.Rgb before = shot("s0.png"), with = shot("s2.png");
        double[] h = view.toScreen(handle[0], handle[1]), t = view.toScreen(target[0], target[1]);
        assertTrue(near(px(with, h[0], h[1]), 255, 0, 0, 8), "handle pixel " + java.util.Arrays.toString(px(with, h[0], h[1])));
        assertTrue(near(px(with, t[0], t[1]), 0, 0, 255, 8), "target pixel " + java.util.Arrays.toString(px(with, t[0], t[1])));
        // The white ring just outside the disc, on the side away from the arrow.
        double ring = CanvasRenderer.POINT_R + CanvasRenderer.RING / 2;
        assertTrue(near(px(with, h[0] - ring, h[1]), 255, 255, 255, 40), "ring " + java.util.Arrays.toString(px(with, h[0] - ring, h[1])));
        // Without points those pixels are the image (the scene has no pure red or blue).
        assertFalse(near(px(before, h[0], h[1]), 255, 0, 0, 8));
        assertFalse(near(px(before, t[0], t[1]), 0, 0, 255, 8));
        // A point is a small disc, not a smear: 3 disc radii away the canvas is unchanged by it.
        double away = 3 * CanvasRenderer.POINT_R;
        assertArrayEquals(px(shot("s1.png"), h[0], h[1] + away), px(with, h[0], h[1] + away));
    }

    @Test
    void maskOverlayTintsExactlyThePaintedPixels() throws IOException {
        Images.Rgb plain = shot("s0.png"), masked = shot("s1.png"), hidden = shot("s1-hidden.png");
        int inside = 0, outside = 0;
        for (int iy = 0; iy < ViewerCommand.DEFAULT_SCENE_SIZE; iy++) {
            for (int ix = 0; ix < ViewerCommand.DEFAULT_SCENE_SIZE; ix++) {
                double d = segmentDistance(ix + 0.5, iy + 0.5, strokeA, strokeB);
                double[] s = centre(ix, iy);
                int[] p = px(plain, s[0], s[1]), q = px(masked, s[0], s[1]);
                if (d < BRUSH - 1) {
                    inside++;
                    // alpha ~0.3 of yellow (255, 220, 0): blue drops, and the pixel moves towards the tint.
                    int[] expect = new int[3];
                    int[] tint = {CanvasRenderer.MASK_R, CanvasRenderer.MASK_G, CanvasRenderer.MASK_B};
                    double a = CanvasRenderer.MASK_A / 255.0;
                    for (int ch = 0; ch < 3; ch++) expect[ch] = (int) Math.round(p[ch] * (1 - a) + tint[ch] * a);
                    assertTrue(near(q, expect[0], expect[1], expect[2], 3), "painted pixel (" + ix + ", " + iy + "): "
                            + java.util.Arrays.toString(q) + ", expected about " + java.util.Arrays.toString(expect));
                } else if (d > BRUSH + 1) {
                    outside++;
                    assertArrayEquals(p, q, "unpainted pixel (" + ix + ", " + iy + ") changed");
                }
            }
        }
        assertTrue(inside > 100 && outside > 1000, inside + " inside, " + outside + " outside");
        assertArrayEquals(new int[]{0, 0}, canvasDiff(plain, hidden), "Show mask off: the canvas is the plain image");
    }

    static double segmentDistance(double x, double y, double[] a, double[] b) {
        double dx = b[0] - a[0], dy = b[1] - a[1], len2 = dx * dx + dy * dy;
        double t = len2 == 0 ? 0 : Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / len2));
        return Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy);
    }

    @Test
    void theCanvasShowsThePreviewWhileTheDragRuns() throws IOException {
        int[] d = canvasDiff(shot("s2.png"), shot("s3.png"));
        // The preview (a reconstruction from the drag's latent) differs from the input over much of the image.
        assertTrue(d[1] > 64 * 64 / 4, "only " + d[1] + " of " + 64 * 64 + " canvas pixels changed after 2 steps");
    }

    @Test
    void undoRestoresThePreviousCanvasExactly() throws IOException {
        Images.Rgb s2 = shot("s2.png"), s4 = shot("s4.png");
        assertTrue(canvasDiff(s2, s4)[1] > 64 * 64 / 4, "the applied result changed the canvas");
        assertArrayEquals(new int[]{0, 0}, canvasDiff(s2, shot("s5.png")), "undo of the drag: image, points and mask as before the run");
        assertArrayEquals(new int[]{0, 0}, canvasDiff(shot("s0.png"), shot("s6.png")), "three more undos: no points, no mask");
        double[] h = view.toScreen(handle[0], handle[1]);
        assertFalse(near(px(shot("s6.png"), h[0], h[1]), 255, 0, 0, 8), "the handle is gone");
    }

    @Test
    void saveWritesTheFilesAndTheSidecarReplays() throws IOException {
        assertEquals(0, code, err);
        Path outDir = dir.resolve("out");
        for (String f : new String[]{"edited.png", "edited-input.png", "edited-mask.png", "edited.json", "drag.gif"})
            assertTrue(Files.isRegularFile(outDir.resolve(f)), f + " written");
        byte[] gif = Files.readAllBytes(outDir.resolve("drag.gif"));
        assertEquals("GIF8", new String(gif, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
        JsonNode side = new ObjectMapper().readTree(outDir.resolve("edited.json").toFile());
        assertTrue(side.has("spec"), "the sidecar has a replayable spec");
        Path replay = dir.resolve("replay.png");
        StringWriter o = new StringWriter(), e = new StringWriter();
        int rc = Main.run(new String[]{"edit", "--spec", outDir.resolve("edited.json").toString(), "--out", replay.toString()},
                new PrintWriter(o, true), new PrintWriter(e, true));
        assertEquals(0, rc, "replay: " + o + e);
        Images.Rgb a = Images.read(outDir.resolve("edited.png")), b = Images.read(replay);
        assertEquals(a.size(), b.size());
        int max = 0;
        for (int i = 0; i < a.pixels().length; i++) max = Math.max(max, Math.abs((a.pixels()[i] & 0xff) - (b.pixels()[i] & 0xff)));
        assertTrue(max <= 2, "the replayed edit differs from the viewer's by up to " + max + " levels");
    }
}
