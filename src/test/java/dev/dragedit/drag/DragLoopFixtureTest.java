package dev.dragedit.drag;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The drag-loop fixture (DragDiffusion ebe659a drag_diffusion_update on unet-tiny, float64 reference rounded to
 * float32) reproduced by {@link DragLoop}: point and mask preparation as run_drag does it, F0 and x_prev_0, and for
 * every iteration the tracked handle points (exactly), the motion and mask terms and the loss (1e-4 relative), the
 * gradient and the latent after the Adam step (1e-4 of the largest reference value) — the README's tolerances.
 * The mask term at iteration 0 must be exactly 0. On the CPU all 3 iterations; on the CUDA backend (the emulation
 * without a GPU, where one UNet forward+backward at 16×16 takes 10–20 s, more on a loaded machine) iteration 0 (one
 * forward and backward: F0, loss, gradient, latent) and the point tracking of iteration 1 (one forward that stops
 * after up_blocks[2], at the reference's iteration-1 latent), to keep the test near 40 s.
 */
class DragLoopFixtureTest {
    static Map<String, Tensor> ref;
    static Path unetDir;
    static KernelDevice device;

    @BeforeAll
    static void load() throws Exception {
        Path file = Fixtures.require("drag-loop/drag.safetensors");
        unetDir = Fixtures.require("unet-tiny/config.json").getParent();
        ref = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (String k : st.names()) ref.put(k, st.get(k).copy());
        }
    }

    @AfterAll
    static void close() {
        if (device != null) device.close();
    }

    /** The fixture's args.json settings (hyperparameters section). */
    static DragConfig fixtureConfig(int iterations) {
        return new DragConfig(64, 64, 1, 3, 0.1, 0.01, iterations, new int[]{3}, 2.0);
    }

    static DdimScheduler scheduler() {
        DdimScheduler s = DdimScheduler.sd15();
        s.setTimesteps(50);
        return s;
    }

    @Test
    void pointsAndMasksArePreparedAsRunDragDoes() {
        Tensor pts = ref.get("points_xy_image");
        double[][] xy = new double[4][2];
        for (int i = 0; i < 4; i++) { xy[i][0] = pts.getDouble(2 * i); xy[i][1] = pts.getDouble(2 * i + 1); }
        List<List<DragPoint>> ht = DragInputs.handlesAndTargets(xy, 128, 128, 64, 64);
        assertEquals(points(ref.get("handle_points_init")), ht.get(0));
        assertEquals(points(ref.get("target_points")), ht.get(1));
        Tensor sup = DragInputs.resizeNearest(DragInputs.binarize(ref.get("mask_full")), 64, 64);
        assertArrayEquals(ref.get("mask_sup").data(), sup.data());
        assertArrayEquals(ref.get("interp_mask").data(), DragInputs.resizeNearest(sup, 16, 16).data());
        // torch.round is half-to-even: 46.5 -> 46, 37.5 -> 38, 30.5 -> 30.
        assertEquals(new DragPoint(46, 44), DragInputs.toSupRes(89, 93, 128, 128, 64, 64));
        assertEquals(new DragPoint(38, 30), DragInputs.toSupRes(61, 75, 128, 128, 64, 64));
    }

    @Test
    void cpuReproducesAllThreeIterations() { check(Placement.cpu(), 3, "cpu"); }

    @Test
    void cudaBackendReproducesIterationZeroAndTheNextTracking() {
        if (device == null) device = Devices.best();
        Placement pl = Placement.on(device, DType.F32);
        Tensor f0 = check(pl, 1, device.name());
        DragLoop loop = new DragLoop(UNet2DConditionModel.load(unetDir, pl, null), scheduler(), fixtureConfig(2));
        Tensor f1 = loop.features(ref.get("iter1_latent_in"), 681, ref.get("text_embeddings"));
        List<PointTracker.Window> ws = new PointTracker(f0, 3).track(f1, points(ref.get("handle_points_init")), points(ref.get("iter0_handle_points")));
        List<DragPoint> tracked = new ArrayList<>();
        for (int k = 0; k < ws.size(); k++) {
            tracked.add(ws.get(k).result());
            assertRel(device.name() + " iter1 tracking" + k + "_dist", ref.get("iter1_tracking" + k + "_dist"), ws.get(k).distTensor(), 1e-4);
        }
        assertEquals(points(ref.get("iter1_handle_points")), tracked);
    }

    static List<DragPoint> points(Tensor t) {
        List<DragPoint> out = new ArrayList<>();
        for (int i = 0; i < t.dim(0); i++) out.add(new DragPoint(t.getDouble(2 * i), t.getDouble(2 * i + 1)));
        return out;
    }

    /** Runs the given number of iterations against the reference; returns F0 (CPU). */
    private Tensor check(Placement pl, int iterations, String where) {
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, pl, null);
        DragLoop loop = new DragLoop(unet, scheduler(), fixtureConfig(iterations));
        List<DragIteration> its = new ArrayList<>();
        Tensor[] start = new Tensor[3];
        DragListener l = new DragListener() {
            @Override public void onStart(Tensor f0, Tensor xPrev0, Tensor eps0) { start[0] = f0; start[1] = xPrev0; start[2] = eps0; }
            @Override public void onIteration(DragIteration it, Tensor latent) { its.add(it); }
            @Override public boolean wantsTensors() { return true; }
        };
        int t = (int) ref.get("t").item();
        assertEquals(681, t);
        DragLoop.Result r = loop.run(ref.get("init_code"), ref.get("text_embeddings"), t, points(ref.get("handle_points_init")),
                points(ref.get("target_points")), ref.get("interp_mask"), l);
        assertEquals(iterations, r.iterations());
        assertFalse(r.reached());
        assertRel(where + " F0", ref.get("F0"), start[0], 1e-4);
        assertRel(where + " unet_output_0", ref.get("unet_output_0"), start[2], 1e-4);
        assertRel(where + " x_prev_0", ref.get("x_prev_0"), start[1], 1e-4);
        for (int i = 0; i < iterations; i++) {
            DragIteration it = its.get(i);
            String w = where + " iter" + i;
            assertEquals(points(ref.get("iter" + i + "_handle_points")), it.handles(), w + " handle points");
            for (int k = 0; k < 2; k++) {
                double mt = ref.get("iter" + i + "_motion_term" + k).item();
                assertEquals(mt, it.motionTerms()[k], 1e-4 * Math.abs(mt), w + " motion_term" + k);
                assertRel(w + " f1_patch" + k, ref.get("iter" + i + "_motion_term" + k + "_f1_patch"), it.tensors().f1Patches().get(k), 1e-4);
            }
            if (i == 0) assertEquals(0.0, it.maskTerm(), w + ": the mask term must be exactly 0 at iteration 0");
            else {
                double mk = ref.get("iter" + i + "_mask_term").item();
                assertEquals(mk, it.maskTerm(), 1e-4 * Math.abs(mk), w + " mask_term");
            }
            double loss = ref.get("iter" + i + "_loss").item();
            assertEquals(loss, it.loss(), 1e-4 * Math.abs(loss), w + " loss");
            assertRel(w + " latent_in", ref.get("iter" + i + "_latent_in"), it.tensors().latentIn(), 1e-4);
            assertRel(w + " feat_raw", ref.get("iter" + i + "_feat_raw"), it.tensors().featRaw(), 1e-4);
            assertRel(w + " x_prev", ref.get("iter" + i + "_x_prev"), it.tensors().xPrev(), 1e-4);
            assertRel(w + " grad", ref.get("iter" + i + "_grad"), it.tensors().grad(), 1e-4);
            assertRel(w + " latent_out", ref.get("iter" + i + "_latent_out"), it.tensors().latentOut(), 1e-4);
            for (int k = 0; i > 0 && k < 2; k++)
                assertRel(w + " tracking" + k + "_dist", ref.get("iter" + i + "_tracking" + k + "_dist"), it.tensors().tracking().get(k).distTensor(), 1e-4);
        }
        if (iterations == 3) {
            assertRel(where + " final_latent", ref.get("final_latent"), r.latent(), 1e-4);
            assertEquals(points(ref.get("iter2_handle_points")), r.handles());
        }
        return start[0];
    }

    /** max |got − want| ≤ tol · max |want|. */
    static void assertRel(String what, Tensor want, Tensor got, double tol) {
        assertNotNull(got, what + ": missing");
        float[] a = want.data(), b = got.toCpu().data();
        assertEquals(a.length, b.length, what + ": size");
        double max = 0, err = 0;
        for (int i = 0; i < a.length; i++) { max = Math.max(max, Math.abs(a[i])); err = Math.max(err, Math.abs(a[i] - b[i])); }
        assertTrue(err <= tol * max, what + ": max abs error " + err + " > " + tol + " · " + max);
    }
}
