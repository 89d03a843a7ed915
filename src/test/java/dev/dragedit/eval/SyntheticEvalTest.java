package dev.dragedit.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.drag.Images;
import dev.dragedit.scenes.Detector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The synthetic suite and its metrics, without a model: the cases are deterministic, their targets keep the moved
 * object inside the image and the mask covers both positions; scoring the ground truth itself gives MD ≈ 0, move
 * ratio ≈ 1 and identical pixels outside the mask (PSNR infinite, SSIM 1); scoring the unedited input gives MD =
 * the drag distance, move ratio ≈ 0; PSNR and SSIM behave on known pairs.
 */
class SyntheticEvalTest {
    @Test
    void casesAreDeterministicAndSensible() {
        List<SyntheticSuite.Case> a = SyntheticSuite.cases(12, 5, 64), b = SyntheticSuite.cases(12, 5, 64);
        for (int i = 0; i < a.size(); i++) {
            SyntheticSuite.Case c = a.get(i);
            assertEquals(c.targetX(), b.get(i).targetX());
            assertEquals(c.targetY(), b.get(i).targetY());
            assertTrue(c.distance() >= 0.15 * 64 - 1 && c.distance() <= 0.3 * 64 + 1, "distance " + c.distance());
            assertTrue(c.editable()[(int) c.object().cy() * 64 + (int) c.object().cx()], "the object's centre may change");
            assertTrue(c.editable()[(int) c.targetY() * 64 + (int) c.targetX()], "the target may change");
            double[] found = Detector.find(c.truth().image(), c.object());
            assertNotNull(found, "the moved object is visible in the ground truth of case " + i);
        }
    }

    @Test
    void theGroundTruthScoresPerfectlyAndTheInputScoresNoMove() {
        for (SyntheticSuite.Case c : SyntheticSuite.cases(6, 77, 64)) {
            EvalCommand.Row truth = EvalCommand.measure(c, c.truth().image(), 1, 0);
            assertTrue(truth.md() < 0.6, "MD of the truth " + truth.md());
            assertEquals(1.0, truth.moveRatio(), 0.03);
            assertEquals(Double.POSITIVE_INFINITY, truth.psnr());
            assertEquals(1.0, truth.ssim(), 1e-12);
            EvalCommand.Row none = EvalCommand.measure(c, c.scene().image(), 1, 0);
            assertEquals(c.distance(), none.md(), 0.6);
            assertEquals(0.0, none.moveRatio(), 0.03);
            assertEquals(Double.POSITIVE_INFINITY, none.psnr(), "outside the mask the input equals the truth");
        }
    }

    @Test
    void psnrAndSsimOnKnownPairs() {
        int h = 20, w = 30;
        byte[] p = new byte[3 * h * w], q = new byte[3 * h * w];
        for (int i = 0; i < p.length; i++) {
            p[i] = (byte) (100 + (i * 7) % 50);
            q[i] = (byte) ((p[i] & 0xff) + 5);
        }
        boolean[] all = new boolean[h * w];
        java.util.Arrays.fill(all, true);
        Images.Rgb a = new Images.Rgb(h, w, p), b = new Images.Rgb(h, w, q);
        assertEquals(10 * Math.log10(255.0 * 255 / 25), ImageMetrics.psnr(a, b, all), 1e-9); // uniform error 5
        double s = ImageMetrics.ssim(a, b, all);
        assertTrue(s > 0.95 && s < 1, "a small brightness shift keeps SSIM near 1: " + s);
        assertTrue(Double.isNaN(ImageMetrics.psnr(a, b, new boolean[h * w])), "nothing counted");
        assertThrows(IllegalArgumentException.class, () -> ImageMetrics.psnr(a, new Images.Rgb(2, 2, new byte[12]), all));
    }

    @Test
    void theCommandRunsTheSuiteAndWritesJsonAndAContactSheet(@TempDir Path tmp) throws Exception {
        Path sd = dev.dragedit.bench.EditBenchCommandTest.tinySdFolder(tmp);
        java.io.StringWriter out = new java.io.StringWriter(), err = new java.io.StringWriter();
        picocli.CommandLine cl = dev.dragedit.cli.Main.commandLine();
        cl.setOut(new java.io.PrintWriter(out));
        cl.setErr(new java.io.PrintWriter(err));
        int code = cl.execute("eval", "--device", "cpu", "--model", sd.toString(), "--n", "2", "--lora-steps", "0", "--steps", "1",
                "--inference-steps", "2", "--report", tmp.resolve("rep").toString());
        assertEquals(0, code, out + "\n" + err);
        assertTrue(out.toString().contains("summary: median MD"), out.toString());
        JsonNode j = new ObjectMapper().readTree(tmp.resolve("rep/eval.json").toFile());
        assertEquals(2, j.get("cases").size());
        assertEquals("[3]", j.get("parameters").get("unet_feature_idx").toString()); // DragDiffusion's
        assertEquals(EvalCommand.SYNTHETIC_LORA_LR, j.get("parameters").get("lora_lr").asDouble());
        assertEquals(EvalCommand.SYNTHETIC_REACH, j.get("parameters").get("reach").asDouble());
        assertTrue(j.get("summary").has("median_md_px"));
        assertTrue(Files.size(tmp.resolve("rep/contact-sheet.png")) > 0);
        Images.Rgb sheet = Images.read(tmp.resolve("rep/contact-sheet.png"));
        assertEquals(3 * 128 + 8, sheet.width());
    }

    @Test
    void badDragKnobsAreUsageErrors(@TempDir Path tmp) {
        for (String[] bad : new String[][]{{"--strength", "0"}, {"--strength", "1.5"}, {"--lr", "0"}, {"--lam", "-1"}, {"--feature-idx", "2,2"}, {"--lora-lr", "0"}, {"--lora-lr", "2"},
                {"--feature-idx", "-1"}, {"--feature-idx", "x"}}) {
            java.io.StringWriter out = new java.io.StringWriter(), err = new java.io.StringWriter();
            int code = dev.dragedit.cli.Main.run(new String[]{"eval", "--n", "1", bad[0], bad[1], "--json", tmp.resolve("e.json").toString()},
                    new java.io.PrintWriter(out), new java.io.PrintWriter(err));
            assertEquals(dev.dragedit.cli.Main.EXIT_USAGE, code, bad[0] + " " + bad[1] + ": " + err);
            assertTrue(err.toString().startsWith("dragedit: "), err.toString());
            assertFalse(Files.exists(tmp.resolve("e.json")));
        }
    }
}
