package dev.dragedit.viewer;

import dev.dragedit.cli.Main;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code dragedit view}'s failures: each is one clear line and the documented exit code (2 bad input / no display,
 * 1 a script event that fails), and nothing is left half-written. The headless ones open a real EGL window, so on a
 * machine without EGL they fail rather than skip, as the viewer's acceptance test does.
 */
class ViewerCommandTest {
    record Run(int code, String out, String err) {}

    static Run view(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "view";
        System.arraycopy(args, 0, all, 1, args.length);
        int code = Main.run(all, new PrintWriter(o, true), new PrintWriter(e, true));
        return new Run(code, o.toString(), e.toString());
    }

    @Test
    void theDefaultSceneStartsWithTheDemosKnobsAnImageWithDragDiffusionsAndOptionsWin() {
        ViewerCommand none = new ViewerCommand();
        new picocli.CommandLine(none).parseArgs();
        RunParams scene = none.initialParams("a red ellipse on a checker");
        assertEquals("a red ellipse on a checker", scene.prompt());
        assertEquals(ViewerCommand.DEFAULT_SCENE_SEED, scene.seed());
        assertEquals(dev.dragedit.eval.EvalCommand.SYNTHETIC_LR, scene.lr());
        assertEquals(dev.dragedit.eval.EvalCommand.SYNTHETIC_STEPS, scene.steps());
        assertEquals(dev.dragedit.eval.EvalCommand.SYNTHETIC_LORA_LR, scene.loraLr());
        assertEquals(dev.dragedit.eval.EvalCommand.SYNTHETIC_REACH, scene.reach());

        RunParams image = none.initialParams(null);
        assertEquals(0.01, image.lr());
        assertEquals(80, image.steps());
        assertEquals(dev.dragedit.drag.DragDiffusion.DEFAULT_LORA_LR, image.loraLr());
        assertEquals(2.0, image.reach());
        assertEquals("", image.prompt());

        ViewerCommand given = new ViewerCommand();
        new picocli.CommandLine(given).parseArgs("--reach", "3", "--lora-lr", "1e-3", "--lr", "0.05", "--steps", "7", "--prompt", "p",
                "--seed", "9");
        for (RunParams p : new RunParams[]{given.initialParams("caption"), given.initialParams(null)}) {
            assertEquals(3.0, p.reach());
            assertEquals(1e-3, p.loraLr());
            assertEquals(0.05, p.lr());
            assertEquals(7, p.steps());
            assertEquals("p", p.prompt());
            assertEquals(9, p.seed());
        }
    }

    @Test
    void aScriptEventThatFailsIsExit1NamingTheEvent(@TempDir Path dir) throws IOException {
        Path script = dir.resolve("s.json");
        Files.writeString(script, "{\"window\": [320, 240], \"events\": [{\"do\": \"frames\", \"n\": 2}, {\"do\": \"undo\"},"
                + " {\"do\": \"screenshot\", \"path\": \"never.png\"}]}");
        Run r = view("--model", ViewerScriptTest.model().toString(), "--script", script.toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("events[1] (undo)") && r.err().contains("nothing to undo"), r.err());
        assertFalse(Files.exists(dir.resolve("never.png")), "events after the failure do not run");
    }

    @Test
    void headlessRendersTheDefaultSceneAndWritesTheScreenshot(@TempDir Path dir) throws IOException {
        Path png = dir.resolve("shot.png");
        Run r = view("--model", ViewerScriptTest.model().toString(), "--headless", "--screenshot", png.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        dev.dragedit.drag.Images.Rgb img = dev.dragedit.drag.Images.read(png);
        assertEquals(SessionScript.DEFAULT_W, img.width());
        // The canvas's centre shows the scene's pixel there (nearest filtering: the fitted view scales it up).
        ViewTransform v = new ViewTransform(ViewerCommand.DEFAULT_SCENE_SIZE, ViewerCommand.DEFAULT_SCENE_SIZE);
        v.setViewport(Panel.WIDTH, 0, img.width() - Panel.WIDTH, img.height());
        dev.dragedit.drag.Images.Rgb scene = dev.dragedit.eval.SyntheticSuite.cases(1, ViewerCommand.DEFAULT_SCENE_SEED,
                ViewerCommand.DEFAULT_SCENE_SIZE).get(0).scene().image();
        for (int[] q : new int[][]{{32, 32}, {5, 7}, {60, 50}}) {
            double[] s = v.toScreen(q[0] + 0.5, q[1] + 0.5);
            for (int ch = 0; ch < 3; ch++)
                assertEquals(scene.get(q[1], q[0], ch), img.get((int) s[1], (int) s[0], ch), "image pixel " + q[0] + "," + q[1] + " channel " + ch);
        }
    }

    @Test
    void dragAndMaskOptionsArePlacedBeforeTheWindowOpens(@TempDir Path dir) throws IOException {
        int n = ViewerCommand.DEFAULT_SCENE_SIZE;
        // Mask: the left half may change.
        byte[] m = new byte[3 * n * n];
        for (int y = 0; y < n; y++) for (int x = 0; x < n / 2; x++) for (int c = 0; c < 3; c++) m[3 * (y * n + x) + c] = (byte) 255;
        Path maskPng = dir.resolve("mask.png"), plainPng = dir.resolve("plain.png"), png = dir.resolve("shot.png");
        dev.dragedit.drag.Images.write(maskPng, new dev.dragedit.drag.Images.Rgb(n, n, m));
        String model = ViewerScriptTest.model().toString();
        assertEquals(0, view("--model", model, "--headless", "--screenshot", plainPng.toString()).code());
        Run r = view("--model", model, "--headless", "--drag", "10,20:40,44", "--mask", maskPng.toString(), "--screenshot", png.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        dev.dragedit.drag.Images.Rgb plain = dev.dragedit.drag.Images.read(plainPng), img = dev.dragedit.drag.Images.read(png);
        ViewTransform v = new ViewTransform(n, n);
        v.setViewport(Panel.WIDTH, 0, img.width() - Panel.WIDTH, img.height());
        double[] h = v.toScreen(10, 20), t = v.toScreen(40, 44);
        assertArrayEquals(new int[]{255, 0, 0}, rgb(img, h), "the handle is red");
        assertArrayEquals(new int[]{0, 0, 255}, rgb(img, t), "the target is blue");
        // The mask tints the left half (may change) and leaves the right half as the plain image.
        double[] left = v.toScreen(5.5, 50.5), right = v.toScreen(58.5, 5.5);
        assertFalse(java.util.Arrays.equals(rgb(plain, left), rgb(img, left)), "left half tinted");
        assertArrayEquals(rgb(plain, right), rgb(img, right), "right half untouched");

        Run bad = view("--model", model, "--headless", "--drag", "10,20:10,20");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--drag") && bad.err().contains("nothing to drag"), bad.err());
        Run outside = view("--model", model, "--headless", "--drag", "10,20:99,20");
        assertEquals(2, outside.code());
        assertTrue(outside.err().contains("outside"), outside.err());
        Run lr = view("--model", model, "--headless", "--lr", "0");
        assertEquals(2, lr.code());
        assertTrue(lr.err().contains("lr 0.0"), lr.err());
        Run rm = view("--model", model, "--headless", "--r-m", "0");
        assertEquals(2, rm.code());
        assertTrue(rm.err().contains("r_m 0"), rm.err());
        Run rp = view("--model", model, "--headless", "--r-p", "0");
        assertEquals(2, rp.code());
        assertTrue(rp.err().contains("r_p 0"), rp.err());
        Run start = view("--model", model, "--headless", "--start");
        assertEquals(2, start.code());
        assertTrue(start.err().contains("--start needs"), start.err());
        Files.writeString(dir.resolve("small.png"), "x");
        dev.dragedit.drag.Images.write(dir.resolve("small.png"), new dev.dragedit.drag.Images.Rgb(8, 8, new byte[3 * 64]));
        Run mask = view("--model", model, "--headless", "--mask", dir.resolve("small.png").toString());
        assertEquals(2, mask.code());
        assertTrue(mask.err().contains("--mask") && mask.err().contains("8×8"), mask.err());
    }

    private static int[] rgb(dev.dragedit.drag.Images.Rgb img, double[] s) {
        int x = (int) s[0], y = (int) s[1];
        return new int[]{img.get(y, x, 0), img.get(y, x, 1), img.get(y, x, 2)};
    }

    @Test
    void aBrokenScriptIsAUsageError(@TempDir Path dir) throws IOException {
        Path script = dir.resolve("bad.json");
        Files.writeString(script, "{\"events\": [{\"do\": \"clik\", \"x\": 1, \"y\": 2}]}");
        Run r = view("--script", script.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("events[0]"), r.err());
    }

    @Test
    void badInputsAreUsageErrors(@TempDir Path dir) throws IOException {
        Run model = view("--headless", "--model", dir.resolve("nope").toString());
        assertEquals(2, model.code());
        assertTrue(model.err().contains("nope") && model.err().contains("not a folder"), model.err());
        Files.writeString(dir.resolve("x.png"), "not a png");
        Run image = view("--headless", "--model", ViewerScriptTest.model().toString(), dir.resolve("x.png").toString());
        assertEquals(2, image.code(), image.err());
        assertTrue(image.err().contains("x.png"), image.err());
        Run shot = view("--headless", "--model", ViewerScriptTest.model().toString(), "--screenshot", dir.resolve("a.jpg").toString());
        assertEquals(2, shot.code());
        assertTrue(shot.err().contains(".png"), shot.err());
    }

    @Test
    void withoutADisplayTheInteractiveViewerSaysWhatToDo() {
        Assumptions.assumeTrue(System.getenv("DISPLAY") == null && System.getenv("WAYLAND_DISPLAY") == null,
                "a display is present: the interactive viewer would open a window");
        Run r = view("--model", ViewerScriptTest.model().toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("no display") && r.err().contains("--script") && r.err().contains("--headless"), r.err());
    }
}
