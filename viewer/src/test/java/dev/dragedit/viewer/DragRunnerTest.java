package dev.dragedit.viewer;

import dev.dragedit.drag.Images;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * DragRunner on the bundled tiny model (models/tiny) at 64×64 on the CPU, with the shortest runs that pass every
 * phase: a frame for every LoRA step, every drag iteration (preview, tracked handles, distances, it/s, device, memory)
 * and every phase, in order; trails that follow the handles; Stop landing within one step, in the drag (the result
 * still made) and in the LoRA fit (no result); the preview modes; and failures (a folder that is no model, bad knobs,
 * a second start) as "failed" frames or exceptions at start, never a dead worker.
 */
class DragRunnerTest {
    static DragRunner runner;

    /** models/tiny of this repository, found from the working directory (viewer/ or the root). */
    static Path tinyModel() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path m = d.resolve("models").resolve("tiny");
            if (Files.isRegularFile(m.resolve("model_index.json"))) return m;
        }
        throw new IllegalStateException("models/tiny not found above " + Path.of("").toAbsolutePath());
    }

    static Images.Rgb picture() { return dev.dragedit.bench.EditBench.picture(64, 64); }

    static RunParams params(int lora, int steps) {
        return new RunParams("a disc", 3, steps, 0.01, 0.1, 1, 3, 0.5, lora, 4);
    }

    /** Waits for the run to end; fails after 60 s. */
    static void await(DragRunner r) throws InterruptedException {
        long end = System.nanoTime() + 60_000_000_000L;
        while (r.running()) {
            assertTrue(System.nanoTime() < end, "the run did not finish in 60 s");
            Thread.sleep(5);
        }
    }

    @BeforeAll
    static void open() { runner = new DragRunner(tinyModel(), "cpu"); }

    @AfterAll
    static void close() { runner.close(); }

    @Test
    void publishesAFrameForEveryLoraStepIterationAndPhase() throws Exception {
        List<RunFrame> frames = Collections.synchronizedList(new ArrayList<>());
        runner.setFrameListener(frames::add);
        try {
            runner.start(picture(), new double[][]{{20, 32}, {44, 32}}, null, params(2, 4));
            assertThrows(IllegalStateException.class, () -> runner.start(picture(), new double[][]{{20, 32}, {44, 32}}, null, params(0, 1)));
            await(runner);
        } finally {
            runner.setFrameListener(null);
        }
        DragRunner.Result r = runner.result();
        assertNotNull(r, "a result: " + runner.latest());
        List<String> phases = new ArrayList<>();
        for (RunFrame f : frames) if (phases.isEmpty() || !phases.get(phases.size() - 1).equals(f.phase())) phases.add(f.phase());
        assertEquals(List.of("text", "lora", "inversion", "drag", "denoise", "decode", "done"), phases);
        List<RunFrame> lora = frames.stream().filter(f -> f.phase().equals("lora") && f.step() > 0).toList();
        assertEquals(List.of(1, 2), lora.stream().map(RunFrame::step).toList());
        assertTrue(lora.stream().allMatch(f -> Double.isFinite(f.loss()) && f.steps() == 2));
        List<RunFrame> drag = frames.stream().filter(f -> f.phase().equals("drag") && f.step() > 0).toList();
        int its = runner.stepsDone();
        assertTrue(its >= 1 && its <= 4, its + " iterations");
        assertEquals(its, drag.size(), "one frame per iteration");
        for (int i = 0; i < drag.size(); i++) {
            RunFrame f = drag.get(i);
            assertEquals(i + 1, f.step());
            assertEquals(4, f.steps());
            assertTrue(Double.isFinite(f.loss()));
            assertNotNull(f.preview());
            assertEquals(64, f.preview().width());
            assertEquals(1, f.handlesXy().length);
            double d = Math.hypot(f.handlesXy()[0][0] - 44, f.handlesXy()[0][1] - 32);
            assertEquals(d, f.distances()[0][0], 1e-9);
            assertTrue(f.memoryBytes() > 0);
            assertTrue(f.device().contains("Cpu"), f.device());
            if (i > 0) assertTrue(f.itPerSec() > 0 && Double.isFinite(f.itPerSec()), "it/s " + f.itPerSec());
        }
        assertEquals(r.previews().size(), r.previewHandles().size());
        assertTrue(r.previews().size() >= its);
        RunFrame last = runner.latest();
        assertEquals("done", last.phase());
        assertSame(r.edited(), last.preview());
        assertFalse(r.stopped());
        assertEquals(64, r.edited().height());
        List<double[][]> trails = runner.trails();
        assertEquals(1, trails.size());
        assertArrayEquals(new double[]{20, 32}, trails.get(0)[0]);
        assertTrue(trails.get(0).length >= its + 1, "the clicked handle, then one position per iteration");
        assertArrayEquals(r.finalHandlesXy()[0], trails.get(0)[trails.get(0).length - 1]);
        assertEquals("dragedit view", r.sidecar().get("command").asText());
        assertEquals(4, r.sidecar().get("spec").get("steps").asInt());
        assertNotEquals("none", runner.previewKind());
    }

    @Test
    void stopLandsWithinOneStepAndTheDenoiseStillMakesTheResult() throws Exception {
        runner.start(picture(), new double[][]{{12, 20}, {50, 40}}, null, params(0, 60));
        long end = System.nanoTime() + 60_000_000_000L;
        while (runner.stepsDone() < 1 && runner.running()) {
            assertTrue(System.nanoTime() < end);
            Thread.sleep(1);
        }
        int at = runner.stepsDone();
        runner.stop();
        await(runner);
        DragRunner.Result r = runner.result();
        assertNotNull(r, "" + runner.latest());
        assertTrue(r.stopped());
        assertTrue(runner.stepsDone() <= at + 1, "stopped at " + at + ", ran " + runner.stepsDone());
        assertEquals("stopped", runner.latest().phase());
        assertSame(r.edited(), runner.latest().preview());
        assertEquals(runner.stepsDone(), r.sidecar().get("spec").get("steps").asInt(), "the replay asks for the iterations run");
        assertTrue(r.sidecar().get("stopped").asBoolean());

        // During the LoRA fit: abandoned, no result, and the runner works again afterwards.
        runner.setFrameListener(f -> { if (f.phase().equals("lora") && f.step() == 1) runner.stop(); });
        try {
            runner.start(picture(), new double[][]{{12, 20}, {50, 40}}, null, params(50, 3));
            await(runner);
        } finally {
            runner.setFrameListener(null);
        }
        assertNull(runner.result());
        assertEquals("stopped", runner.latest().phase());
        assertTrue(runner.latest().message().contains("lora"), runner.latest().message());
        runner.start(picture(), new double[][]{{12, 20}, {50, 40}}, null, params(0, 1));
        await(runner);
        assertEquals("done", runner.latest().phase(), runner.latest().message());
    }

    @Test
    void bothPreviewModesDrawTheDrag() throws Exception {
        for (DragRunner.PreviewMode m : new DragRunner.PreviewMode[]{DragRunner.PreviewMode.FAST, DragRunner.PreviewMode.FULL}) {
            runner.setPreviewMode(m);
            try {
                runner.start(picture(), new double[][]{{20, 32}, {44, 32}}, null, params(0, 2));
                await(runner);
            } finally {
                runner.setPreviewMode(DragRunner.PreviewMode.AUTO);
            }
            DragRunner.Result r = runner.result();
            assertNotNull(r, "" + runner.latest());
            assertEquals(m == DragRunner.PreviewMode.FAST ? "fast" : "vae", runner.previewKind());
            Images.Rgb p = r.previews().get(0);
            // A preview of the disc picture is not flat: it has the disc's bright pixels and the dark background.
            int min = 255, max = 0;
            for (byte b : p.pixels()) { min = Math.min(min, b & 0xff); max = Math.max(max, b & 0xff); }
            assertTrue(max - min > 40, m + ": preview range " + min + ".." + max);
        }
    }

    @Test
    void failuresEndInAFailedFrameOrAClearErrorAtStart(@TempDir Path tmp) throws Exception {
        try (DragRunner bad = new DragRunner(tmp, "cpu")) {
            bad.start(picture(), new double[][]{{20, 32}, {44, 32}}, null, params(0, 1));
            await(bad);
            RunFrame f = bad.latest();
            assertEquals("failed", f.phase());
            assertTrue(f.message().contains(tmp.toString()) && f.message().contains("not a Stable Diffusion folder"), f.message());
            assertNull(bad.result());
            bad.start(picture(), new double[][]{{20, 32}, {44, 32}}, null, params(0, 1)); // the worker lives on
            await(bad);
            assertEquals("failed", bad.latest().phase());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> runner.start(picture(), new double[][]{{20, 32}, {44, 32}}, null, new RunParams("", 1, 3, 0, 0.1, 1, 3, 0.5, 0, 4)));
        assertTrue(e.getMessage().contains("lr 0.0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> runner.start(picture(), new double[][]{{20, 32}, {70, 32}}, null, params(0, 1)));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> runner.start(picture(), new double[][]{{20, 32}, {40, 32}}, new float[10], params(0, 1)));
        assertTrue(e.getMessage().contains("mask"), e.getMessage());
        assertFalse(runner.running());
    }
}
