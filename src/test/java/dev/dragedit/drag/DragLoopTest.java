package dev.dragedit.drag;

import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * DragLoop's control flow beyond the fixture's path (CPU, unet-tiny, the fixture's inputs): the stop when every
 * handle is within 2.0 of its target (check_handle_reach_target, before any loss), the skip of a single handle within
 * reach while the others are supervised, the mask term only for a mask with a nonzero sum, and clear errors for
 * invalid settings and points.
 */
class DragLoopTest {
    static UNet2DConditionModel unet;

    @BeforeAll
    static void load() throws Exception {
        DragLoopFixtureTest.load();
        unet = UNet2DConditionModel.load(DragLoopFixtureTest.unetDir, Placement.cpu(), null);
    }

    static Tensor ref(String name) { return DragLoopFixtureTest.ref.get(name); }

    static List<DragPoint> handles() { return DragLoopFixtureTest.points(ref("handle_points_init")); }

    @Test
    void stopsBeforeAnyStepWhenEveryHandleIsWithinReach() {
        DragLoop loop = new DragLoop(unet, DragLoopFixtureTest.scheduler(), DragLoopFixtureTest.fixtureConfig(3));
        List<DragPoint> targets = new ArrayList<>();
        for (DragPoint p : handles()) targets.add(new DragPoint(p.row() + 1, p.col() + 1)); // distance √2 < 2
        int[] reachedAt = {-1};
        DragListener l = new DragListener() {
            @Override public void onIteration(DragIteration it, Tensor latent) { fail("no iteration may run"); }
            @Override public void onReached(int index, List<DragPoint> h) { reachedAt[0] = index; }
        };
        DragLoop.Result r = loop.run(ref("init_code"), ref("text_embeddings"), 681, handles(), targets, ref("interp_mask"), l);
        assertTrue(r.reached());
        assertEquals(0, r.iterations());
        assertEquals(0, reachedAt[0]);
        assertArrayEquals(ref("init_code").data(), r.latent().data(), "the latent is unchanged");
    }

    @Test
    void aHandleWithinReachIsSkippedAndNoMaskMeansNoMaskTerm() {
        DragLoop loop = new DragLoop(unet, DragLoopFixtureTest.scheduler(), DragLoopFixtureTest.fixtureConfig(1));
        List<DragPoint> targets = new ArrayList<>(DragLoopFixtureTest.points(ref("target_points")));
        targets.set(0, handles().get(0)); // handle 0 is already at its target
        for (Tensor mask : new Tensor[]{null, Tensor.zeros(1, 1, 16, 16)}) {
            List<DragIteration> its = new ArrayList<>();
            DragLoop.Result r = loop.run(ref("init_code"), ref("text_embeddings"), 681, handles(), targets, mask, (it, z) -> its.add(it));
            assertEquals(1, r.iterations());
            assertFalse(r.reached());
            DragIteration it = its.get(0);
            assertTrue(Double.isNaN(it.motionTerms()[0]), "handle 0 is skipped");
            // Iteration 0's features are F0, so handle 1's term is the fixture's iteration-0 term.
            double want = ref("iter0_motion_term1").item();
            assertEquals(want, it.motionTerms()[1], 1e-4 * want);
            assertEquals(0.0, it.maskTerm());
            assertEquals(it.motionTerms()[1], it.loss(), 1e-12);
            assertNull(it.tensors(), "tensors only for a listener that asks");
            assertFalse(java.util.Arrays.equals(ref("init_code").data(), r.latent().data()), "Adam moved the latent");
        }
    }

    @Test
    void aStopRequestEndsTheLoopBeforeTheNextIterationAsIfTheLimitWereReached() {
        DragLoop loop = new DragLoop(unet, DragLoopFixtureTest.scheduler(), DragLoopFixtureTest.fixtureConfig(5));
        List<DragPoint> targets = DragLoopFixtureTest.points(ref("target_points"));
        int[] done = {0}, asked = {0};
        DragListener l = new DragListener() {
            @Override public void onIteration(DragIteration it, Tensor latent) { done[0]++; }
            @Override public boolean stopRequested() { asked[0]++; return done[0] >= 2; }
        };
        DragLoop.Result stopped = loop.run(ref("init_code"), ref("text_embeddings"), 681, handles(), targets, ref("interp_mask"), l);
        assertTrue(stopped.stopped());
        assertFalse(stopped.reached());
        assertEquals(2, stopped.iterations());
        assertEquals(3, asked[0], "asked before each iteration, the third answered yes");
        DragLoop.Result two = new DragLoop(unet, DragLoopFixtureTest.scheduler(), DragLoopFixtureTest.fixtureConfig(2))
                .run(ref("init_code"), ref("text_embeddings"), 681, handles(), targets, ref("interp_mask"), null);
        assertFalse(two.stopped());
        assertArrayEquals(two.latent().data(), stopped.latent().data(), "the latent of a 2-iteration run");
        assertEquals(two.handles(), stopped.handles());
        DragLoop.Result none = loop.run(ref("init_code"), ref("text_embeddings"), 681, handles(), targets, ref("interp_mask"),
                new DragListener() {
                    @Override public void onIteration(DragIteration it, Tensor latent) { fail("stopped before the first iteration"); }
                    @Override public boolean stopRequested() { return true; }
                });
        assertTrue(none.stopped());
        assertEquals(0, none.iterations());
        assertArrayEquals(ref("init_code").data(), none.latent().data());
    }

    @Test
    void invalidSettingsAndPointsAreClearErrors() {
        assertThrows(IllegalArgumentException.class, () -> new DragConfig(64, 64, 1, 3, 0.1, 0, 3, new int[]{3}, 2.0));
        assertThrows(IllegalArgumentException.class, () -> new DragConfig(64, 64, -1, 3, 0.1, 0.01, 3, new int[]{3}, 2.0));
        assertThrows(IllegalArgumentException.class, () -> new DragConfig(64, 64, 1, 3, 0.1, 0.01, 3, new int[]{}, 2.0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                new DragLoop(unet, DragLoopFixtureTest.scheduler(), new DragConfig(64, 64, 1, 3, 0.1, 0.01, 3, new int[]{5}, 2.0)));
        assertTrue(e.getMessage().contains("unet_feature_idx 5"), e.getMessage());
        DragLoop loop = new DragLoop(unet, DragLoopFixtureTest.scheduler(), DragLoopFixtureTest.fixtureConfig(1));
        e = assertThrows(IllegalArgumentException.class, () -> loop.run(ref("init_code"), ref("text_embeddings"), 681,
                List.of(new DragPoint(70, 3)), List.of(new DragPoint(10, 10)), null, null));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DragInputs.handlesAndTargets(new double[][]{{1, 2}}, 128, 128, 64, 64));
    }
}
