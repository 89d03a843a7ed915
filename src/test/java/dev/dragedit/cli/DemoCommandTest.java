package dev.dragedit.cli;

import dev.dragedit.drag.Images;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code dragedit demo} end to end on the tiny fixture model (a short run: no LoRA, 2 DDIM steps, one drag iteration):
 * the scene, its mask, the edited image with its sidecar, the GIF and the before/after picture are written, and the
 * measured distance is printed; without the bundled model the message says where it should be and how to make it.
 */
class DemoCommandTest {
    @Test
    void writesEveryOutputAndReportsTheDistance(@TempDir Path tmp) throws IOException {
        Path sd = ForwardCommandTest.sdFolder(tmp);
        Path dir = tmp.resolve("demo-out");
        ForwardCommandTest.Run r = ForwardCommandTest.run("demo", "--device", "cpu", "--model", sd.toString(), "--out-dir", dir.toString(),
                "--lora-steps", "0", "--steps", "1", "--inference-steps", "2", "--no-view");
        assertEquals(0, r.code(), r.out() + r.err());
        for (String f : List.of("input.png", "mask.png", "edited.png", "edited.json", "drag.gif", "before-after.png"))
            assertTrue(Files.size(dir.resolve(f)) > 0, f);
        assertTrue(r.out().contains("demo: scene 1012, \""), r.out());
        assertTrue(r.out().contains("from the target") || r.out().contains("is not found in the edited image"), r.out());
        Images.Rgb ba = Images.read(dir.resolve("before-after.png"));
        assertEquals(256 + 8 + 256, ba.width());
    }

    @Test
    void aMissingBundledModelSaysHowToGetOne(@TempDir Path tmp) {
        String old = System.getProperty("dragedit.home");
        System.setProperty("dragedit.home", tmp.toString());
        try {
            ForwardCommandTest.Run r = ForwardCommandTest.run("demo", "--device", "cpu", "--out-dir", tmp.resolve("d").toString());
            assertEquals(2, r.code(), r.out() + r.err());
            assertTrue(r.err().contains("the bundled model " + tmp.resolve("models/tiny") + " is missing"), r.err());
            assertTrue(r.err().contains("dragedit train-tiny --out models/tiny"), r.err());
            assertFalse(Files.exists(tmp.resolve("d")), "nothing written");
        } finally {
            if (old == null) System.clearProperty("dragedit.home"); else System.setProperty("dragedit.home", old);
        }
    }
}
