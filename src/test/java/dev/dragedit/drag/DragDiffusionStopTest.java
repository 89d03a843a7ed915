package dev.dragedit.drag;

import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.StableDiffusion;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * DragDiffusion's stop (a viewer's Stop button) in each phase, and the drag knobs lr, lam, r_m, r_p carried by the
 * request, on the bundled tiny model (models/tiny) at 64×64 with the shortest runs that pass through every phase:
 * a stop during the LoRA fit or the inversion abandons the edit (Cancelled, nothing after that phase runs, the UNet
 * left without adapters); a stop during the drag ends the loop there and the denoise and decode still make the
 * result, which is exactly the result of a run asked for that many iterations (what a saved spec replays).
 */
class DragDiffusionStopTest {
    static StableDiffusion sd;

    /** models/tiny of this repository, found from the working directory (the module or the root). */
    static Path tinyModel() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path m = d.resolve("models").resolve("tiny");
            if (Files.isRegularFile(m.resolve("model_index.json"))) return m;
        }
        throw new IllegalStateException("models/tiny not found above " + Path.of("").toAbsolutePath());
    }

    @BeforeAll
    static void load() {
        sd = StableDiffusion.load(tinyModel(), Placement.cpu());
    }

    static DragDiffusion.Request request(int loraSteps, int dragSteps) {
        return new DragDiffusion.Request(dev.dragedit.bench.EditBench.picture(64, 64), new double[][]{{20, 32}, {36, 32}}, null,
                "a disc", loraSteps, dragSteps, 4, 0.5, 5);
    }

    /** Records the phases and LoRA steps and stops when {@code when} says so. */
    static final class Recorder implements DragDiffusion.Listener {
        final List<String> phases = new ArrayList<>();
        int loraSteps, iterations;
        final java.util.function.Predicate<Recorder> when;

        Recorder(java.util.function.Predicate<Recorder> when) { this.when = when; }

        @Override public void phase(String name, String detail) { phases.add(name); }
        @Override public void loraStep(int step, int steps, float loss) { loraSteps = step; }
        @Override public void iteration(DragIteration it, double maxDistance) { iterations = it.index() + 1; }
        @Override public boolean stopRequested() { return when.test(this); }
        String last() { return phases.isEmpty() ? "" : phases.get(phases.size() - 1); }
    }

    @Test
    void aStopDuringTheLoraFitCancelsAtTheNextStepAndDetachesTheAdapters() {
        Recorder r = new Recorder(x -> x.loraSteps >= 1);
        DragDiffusion.Cancelled c = assertThrows(DragDiffusion.Cancelled.class, () -> DragDiffusion.run(sd, request(5, 3), r));
        assertTrue(c.getMessage().contains("lora"), c.getMessage());
        assertEquals(1, r.loraSteps, "stopped after the step during which it was asked");
        assertEquals(List.of("lora"), r.phases);
        // Without adapters the UNet gives what a fresh, LoRA-less run gives.
        DragDiffusion.Result a = DragDiffusion.run(sd, request(0, 1), null);
        StableDiffusion fresh = StableDiffusion.load(tinyModel(), Placement.cpu());
        DragDiffusion.Result b = DragDiffusion.run(fresh, request(0, 1), null);
        assertArrayEquals(b.image().pixels(), a.image().pixels());
    }

    @Test
    void aStopDuringTheInversionCancelsBeforeTheDrag() {
        Recorder r = new Recorder(x -> x.last().equals("inversion"));
        assertThrows(DragDiffusion.Cancelled.class, () -> DragDiffusion.run(sd, request(0, 3), r));
        assertEquals(List.of("inversion"), r.phases);
    }

    @Test
    void aStopDuringTheDragEndsTheLoopAndStillMakesTheResultOfThatManyIterations() {
        Recorder r = new Recorder(x -> x.iterations >= 2);
        DragDiffusion.Result stopped = DragDiffusion.run(sd, request(0, 6), r);
        assertTrue(stopped.stopped());
        assertEquals(2, stopped.iterations());
        assertEquals(2, stopped.trace().size());
        assertEquals(List.of("inversion", "drag", "denoise", "decode"), r.phases);
        DragDiffusion.Result two = DragDiffusion.run(sd, request(0, 2), null);
        assertFalse(two.stopped());
        assertArrayEquals(two.image().pixels(), stopped.image().pixels(), "stopping after 2 iterations = asking for 2");
        assertEquals(two.handles(), stopped.handles());
    }

    @Test
    void theDragKnobsReachTheLoopAndBadOnesAreClearErrors() {
        DragDiffusion.Request def = request(0, 2);
        assertEquals(0.01, def.lr());
        assertEquals(0.1, def.lam());
        assertEquals(1, def.rM());
        assertEquals(3, def.rP());
        DragDiffusion.Result a = DragDiffusion.run(sd, def, null);
        DragDiffusion.Result same = DragDiffusion.run(sd, def.withKnobs(0.01, 0.1, 1, 3), null);
        assertArrayEquals(a.image().pixels(), same.image().pixels());
        DragDiffusion.Result fast = DragDiffusion.run(sd, def.withKnobs(0.2, 0.1, 1, 3), null);
        assertNotEquals(a.trace().get(1).loss(), fast.trace().get(1).loss(), "a larger lr moves the latent further");
        DragDiffusion.Result wide = DragDiffusion.run(sd, def.withKnobs(0.01, 0.1, 2, 3), null);
        assertNotEquals(a.trace().get(0).loss(), wide.trace().get(0).loss(), "r_m sets the motion patch");
        for (Object[] bad : new Object[][]{{0.0, 0.1, 1, 3, "lr 0.0"}, {Double.NaN, 0.1, 1, 3, "lr NaN"}, {0.01, -1.0, 1, 3, "lam -1.0"},
                {0.01, 0.1, 0, 3, "r_m 0"}, {0.01, 0.1, 1, 0, "r_p 0"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> def.withKnobs((double) bad[0], (double) bad[1], (int) bad[2], (int) bad[3]));
            assertTrue(e.getMessage().contains((String) bad[4]), e.getMessage() + " / " + Arrays.toString(bad));
        }
    }
}
