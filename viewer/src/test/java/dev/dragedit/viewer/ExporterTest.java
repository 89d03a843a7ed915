package dev.dragedit.viewer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.cli.Main;
import dev.dragedit.drag.Images;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The viewer's save replays: a drag with a mask and non-default knobs, stopped by the user part-way, saved, and
 * {@code dragedit edit --spec saved.json} run in-process gives exactly the saved pixels (same seed, knobs, mask and
 * iteration count). The saved files (image, input, mask, sidecar) and the exported GIF (the input, one frame per
 * preview, the result); a bad name writes nothing.
 */
class ExporterTest {
    @Test
    void aSavedDragReplaysExactlyWithTheEditCommandAndExportsAVideo(@TempDir Path tmp) throws Exception {
        Path model = DragRunnerTest.tinyModel();
        Images.Rgb input = DragRunnerTest.picture();
        byte[] mask = new byte[64 * 64];
        for (int y = 8; y < 56; y++) for (int x = 8; x < 60; x++) mask[y * 64 + x] = 1;
        float[] m255 = new float[mask.length];
        for (int i = 0; i < mask.length; i++) m255[i] = mask[i] * 255f;
        double[][] points = {{20.5, 32}, {44, 30.25}};
        RunParams p = new RunParams("a disc", 11, 40, 0.02, 0.2, 2, 4, 0.5, 1, 4, new int[]{2, 3}, 1e-3, 1.5);
        DragRunner.Result r;
        try (DragRunner runner = new DragRunner(model, "cpu")) {
            runner.setFrameListener(f -> { if (f.phase().equals("drag") && f.step() == 2) runner.stop(); });
            runner.start(input, points, m255, p);
            DragRunnerTest.await(runner);
            r = runner.result();
            assertNotNull(r, "" + runner.latest());
        }
        assertTrue(r.stopped());

        Path png = tmp.resolve("out/saved.png");
        Exporter.save(png, input, mask, r, model, p, points);
        assertArrayEquals(r.edited().pixels(), Images.read(png).pixels());
        assertArrayEquals(input.pixels(), Images.read(tmp.resolve("out/saved-input.png")).pixels());
        Images.Rgb savedMask = Images.read(tmp.resolve("out/saved-mask.png"));
        assertEquals(255, savedMask.get(10, 10, 0));
        assertEquals(0, savedMask.get(2, 2, 0));
        JsonNode side = new ObjectMapper().readTree(tmp.resolve("out/saved.json").toFile());
        assertEquals(png.toAbsolutePath().toString(), side.get("spec").get("out").asText());
        assertEquals(2, side.get("spec").get("steps").asInt());
        assertEquals(0.02, side.get("spec").get("lr").asDouble());
        assertEquals(4, side.get("spec").get("r_p").asInt());
        assertEquals("[2,3]", side.get("spec").get("feature_idx").toString());
        assertEquals("[2,3]", side.get("parameters").get("unet_feature_idx").toString());
        assertEquals(1e-3, side.get("spec").get("lora_lr").asDouble());
        assertEquals(1e-3, side.get("parameters").get("lora_lr").asDouble());
        assertEquals(1.5, side.get("spec").get("reach").asDouble());

        Path again = tmp.resolve("replay/again.png");
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new String[]{"edit", "--spec", tmp.resolve("out/saved.json").toString(), "--out", again.toString()},
                new PrintWriter(out), new PrintWriter(err));
        assertEquals(0, code, out + "\n" + err);
        assertTrue(Arrays.equals(r.edited().pixels(), Images.read(again).pixels()), "the replay gives the saved pixels");
        JsonNode j2 = new ObjectMapper().readTree(tmp.resolve("replay/again.json").toFile());
        assertEquals(side.get("iterations").toString(), j2.get("iterations").toString());

        Path gif = tmp.resolve("out/drag.gif");
        Exporter.exportVideo(gif, input, r, points);
        javax.imageio.ImageReader reader = javax.imageio.ImageIO.getImageReadersByFormatName("gif").next();
        try (javax.imageio.stream.ImageInputStream s = javax.imageio.ImageIO.createImageInputStream(gif.toFile())) {
            reader.setInput(s);
            assertEquals(r.previews().size() + 2, reader.getNumImages(true));
            assertEquals(256, reader.getWidth(0));
        }

        Path jpg = tmp.resolve("bad/x.jpg");
        assertThrows(IllegalArgumentException.class, () -> Exporter.save(jpg, input, mask, r, model, p, points));
        assertFalse(Files.exists(tmp.resolve("bad")));
        assertThrows(IllegalArgumentException.class, () -> Exporter.exportVideo(tmp.resolve("bad/x.avi"), input, r, points));
        assertFalse(Files.exists(tmp.resolve("bad/x.avi")));
    }
}
