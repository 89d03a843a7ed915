package dev.dragedit.models.sd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.cuda.ops.CudaOps;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The DDIM scheduler against the ddim fixture (diffusers v0.24.0 DDIMScheduler and DragDiffusion's
 * DragPipeline.step / inv_step, README "ddim"): the schedule arrays bit for bit, the 50 timesteps, and every case of
 * every step variant within the README tolerance (1e-5 × max |ref|), on the CPU and on the CUDA backend (the
 * emulation in CI).
 */
class DdimSchedulerTest {
    private static SafeTensors fx;
    private static JsonNode json;
    private static KernelDevice dev;

    @BeforeAll
    static void open() throws IOException {
        fx = SafeTensors.open(Fixtures.require("ddim/ddim.safetensors"));
        json = new ObjectMapper().readTree(Fixtures.require("ddim/ddim.json").toFile());
        dev = Devices.best();
    }

    @AfterAll
    static void close() throws IOException {
        if (fx != null) fx.close();
        if (dev != null) dev.close();
    }

    private static float[] ref(String name) throws IOException { return fx.get(name).to(DType.F32).data(); }

    private static DdimScheduler fixtureScheduler() {
        DdimScheduler s = DdimScheduler.fromConfig(Fixtures.require("ddim/scheduler_config.json"));
        s.setTimesteps(json.get("num_inference_steps").asInt());
        return s;
    }

    @Test
    void betasAndAlphasCumprodAreDiffusersFloat32ValuesBitForBit() throws IOException {
        DdimScheduler s = fixtureScheduler();
        assertArrayEquals(ref("betas"), s.betas(), "betas: float32 linspace of the roots, squared");
        assertArrayEquals(ref("alphas_cumprod"), s.alphasCumprod(), "alphas_cumprod: torch.cumprod of the float32 alphas");
        float[] f64 = ref("alphas_cumprod_float64_formula"), ac = s.alphasCumprod();
        for (int i = 0; i < ac.length; i++)
            assertTrue(Math.abs(ac[i] - f64[i]) <= 2e-6 * Math.abs(f64[i]), "alphas_cumprod[" + i + "] vs the float64 formula");
        assertEquals((float) json.get("final_alpha_cumprod").asDouble(), s.finalAlphaCumprod());
        assertEquals(s.alphasCumprod()[0], s.finalAlphaCumprod(), "set_alpha_to_one false");
        assertArrayEquals(s.alphasCumprod(), DdimScheduler.fromConfig(Fixtures.require("ddim/scheduler_config.json").getParent()).alphasCumprod(),
                "a folder holding scheduler_config.json");
        // The fixture's config and DragDiffusion's hard-coded construction are the same scheduler.
        assertArrayEquals(s.alphasCumprod(), DdimScheduler.sd15().alphasCumprod());
    }

    @Test
    void fiftyLeadingTimestepsWithOffsetOne() throws IOException {
        DdimScheduler s = fixtureScheduler();
        float[] want = ref("timesteps");
        int[] got = s.timesteps();
        assertEquals(want.length, got.length);
        for (int i = 0; i < got.length; i++) assertEquals((int) want[i], got[i], "timesteps[" + i + "]");
        assertEquals(981, got[0]);
        assertEquals(1, got[49]);
        assertEquals(20, s.stepRatio());
    }

    @Test
    void everyCaseOfEveryStepOnTheCpu() throws IOException {
        everyCase(t -> t, new Functional(CpuOps.INSTANCE), "cpu");
    }

    @Test
    void everyCaseOfEveryStepOnTheCudaBackend() throws IOException {
        everyCase(t -> t.toDevice(dev), new Functional(CudaOps.INSTANCE), dev.name());
    }

    private void everyCase(Function<Tensor, Tensor> place, Functional f, String where) throws IOException {
        DdimScheduler s = fixtureScheduler();
        double worst = 0;
        for (JsonNode c : json.get("cases")) {
            int k = c.get("case").asInt(), t = c.get("timestep").asInt();
            Tensor eps = place.apply(fx.get("case" + k + "_model_output"));
            Tensor x = place.apply(fx.get("case" + k + "_sample"));
            String p = "case" + k + "_";
            StepResult ddim = s.step(f, eps, t, x);
            worst = Math.max(worst, check(where + " " + p + "ddim_step_prev_sample", ddim.prev()));
            worst = Math.max(worst, check(where + " " + p + "ddim_step_pred_original_sample", ddim.x0()));
            StepResult drag = s.dragStep(f, eps, t, x);
            worst = Math.max(worst, check(where + " " + p + "drag_step_x_prev", drag.prev()));
            worst = Math.max(worst, check(where + " " + p + "drag_step_pred_x0", drag.x0()));
            StepResult inv = s.invStep(f, eps, t, x);
            worst = Math.max(worst, check(where + " " + p + "inv_step_x_next", inv.prev()));
            worst = Math.max(worst, check(where + " " + p + "inv_step_pred_x0", inv.x0()));
            // The overloads without a Functional pick the op set of the tensors' device.
            assertArrayEquals(ddim.prev().toCpu().data(), s.step(eps, t, x).prev().toCpu().data());
            assertArrayEquals(inv.prev().toCpu().data(), s.invStep(eps, t, x).prev().toCpu().data());
        }
        System.out.printf(Locale.ROOT, "DDIM on %s: worst |got - ref_f32| / max|ref| = %.3g%n", where, worst);
    }

    /** got against the _f32 reference (README: ≤ 1e-5·max|ref|) and the _f64 one (same bound); returns the f32 error. */
    private static double check(String name, Tensor got) throws IOException {
        float[] g = got.toCpu().data();
        double e32 = relErr(g, ref(name.substring(name.indexOf("case")) + "_f32"));
        double e64 = relErr(g, ref(name.substring(name.indexOf("case")) + "_f64"));
        assertTrue(e32 <= 1e-5, name + "_f32: max |diff| / max |ref| = " + e32);
        assertTrue(e64 <= 1e-5, name + "_f64: max |diff| / max |ref| = " + e64);
        return e32;
    }

    private static double relErr(float[] got, float[] want) {
        assertEquals(want.length, got.length);
        double max = 0, diff = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs((double) got[i] - want[i]));
            assertFalse(Float.isNaN(got[i]), "NaN at " + i);
        }
        return diff / max;
    }

    @Test
    void dragStepIsDifferentiable() {
        DdimScheduler s = DdimScheduler.sd15();
        s.setTimesteps(50);
        Functional f = new Functional(CpuOps.INSTANCE);
        Tensor x = Tensor.full(0.5f, 1, 4, 2, 2).requiresGrad(true);
        Tensor eps = Tensor.full(0.25f, 1, 4, 2, 2).requiresGrad(true);
        StepResult r = s.dragStep(f, eps, 681, x);
        Tape.backward(f.sum(r.prev()));
        double a = s.alphaCumprod(681), b = s.alphaCumprod(661);
        double dx = Math.sqrt(b) / Math.sqrt(a), deps = Math.sqrt(1 - b) - Math.sqrt(b) * Math.sqrt(1 - a) / Math.sqrt(a);
        for (float v : x.grad().data()) assertEquals(dx, v, 1e-5 * dx);
        for (float v : eps.grad().data()) assertEquals(deps, v, 1e-5 * Math.abs(deps));
    }

    @Test
    void etaAddsSeededNoiseWithTheDdimSigma() {
        DdimScheduler s = DdimScheduler.sd15();
        s.setTimesteps(50);
        Functional f = new Functional(CpuOps.INSTANCE);
        float[] xv = new float[16], ev = new float[16];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 16; i++) { xv[i] = (float) r.nextGaussian(); ev[i] = (float) r.nextGaussian(); }
        Tensor x = Tensor.of(xv, 1, 4, 2, 2), eps = Tensor.of(ev, 1, 4, 2, 2);
        float eta = 0.7f;
        StepResult a = s.step(f, eps, 481, x, eta, new SplittableRandom(9));
        StepResult b = s.step(f, eps, 481, x, eta, new SplittableRandom(9));
        assertArrayEquals(a.prev().data(), b.prev().data(), "same seed, same noise");
        double at = s.alphaCumprod(481), ap = s.alphaCumprod(461);
        double sigma = eta * Math.sqrt((1 - ap) / (1 - at) * (1 - at / ap));
        SplittableRandom z = new SplittableRandom(9);
        for (int i = 0; i < 16; i++) {
            double x0 = (xv[i] - Math.sqrt(1 - at) * ev[i]) / Math.sqrt(at);
            double want = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap - sigma * sigma) * ev[i] + sigma * (float) z.nextGaussian();
            assertEquals(want, a.prev().data()[i], 1e-5 * (1 + Math.abs(want)), "element " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> s.step(f, eps, 481, x, 0.5f, null));
    }

    @Test
    void otherSpacingsMatchDiffusers() {
        DdimConfig base = DdimConfig.sd15();
        // numpy: np.linspace(0, 999, 50).round()[::-1] and np.round(np.arange(1000, 0, -1000 / 50)) - 1
        assertArrayEquals(new int[]{999, 979, 958, 938, 917, 897, 877, 856, 836, 816, 795, 775, 754, 734, 714, 693, 673,
                652, 632, 612, 591, 571, 550, 530, 510, 489, 469, 449, 428, 408, 387, 367, 347, 326, 306, 285, 265, 245, 224,
                204, 183, 163, 143, 122, 102, 82, 61, 41, 20, 0}, timesteps(with(base, "linspace"), 50));
        int[] trailing = timesteps(with(base, "trailing"), 50);
        for (int i = 0; i < 50; i++) assertEquals(999 - 20 * i, trailing[i]);
        assertArrayEquals(new int[]{999, 832, 666, 500, 333, 166, 0}, timesteps(with(base, "linspace"), 7));
        assertArrayEquals(new int[]{999, 856, 713, 570, 428, 285, 142}, timesteps(with(base, "trailing"), 7));
        assertArrayEquals(new int[]{853, 711, 569, 427, 285, 143, 1}, timesteps(base, 7));
        DdimScheduler s = new DdimScheduler(base);
        assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(1001));
        assertThrows(IllegalStateException.class, () -> s.step(Tensor.zeros(1, 4), 981, Tensor.zeros(1, 4)),
                "stepping before setTimesteps");
        s.setTimesteps(50);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.step(Tensor.zeros(1, 4), 1000, Tensor.zeros(1, 4)));
        assertTrue(e.getMessage().contains("timestep 1000"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.step(Tensor.zeros(1, 4), 981, Tensor.zeros(1, 3)));
        assertTrue(e.getMessage().contains("differ in shape"), e.getMessage());
    }

    private static DdimConfig with(DdimConfig c, String spacing) {
        return new DdimConfig(c.numTrainTimesteps(), c.betaStart(), c.betaEnd(), c.betaSchedule(), c.trainedBetas(),
                c.clipSample(), c.clipSampleRange(), c.setAlphaToOne(), c.stepsOffset(), c.predictionType(), spacing,
                c.rescaleBetasZeroSnr(), "test");
    }

    private static int[] timesteps(DdimConfig c, int n) {
        DdimScheduler s = new DdimScheduler(c);
        s.setTimesteps(n);
        return s.timesteps();
    }

    @Test
    void sd15PndmConfigIsReadAsDragDiffusionDoes(@TempDir Path dir) throws IOException {
        // runwayml/stable-diffusion-v1-5 scheduler/scheduler_config.json
        Path f = dir.resolve("scheduler_config.json");
        Files.writeString(f, "{\"_class_name\": \"PNDMScheduler\", \"_diffusers_version\": \"0.6.0\", \"beta_end\": 0.012,"
                + " \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"num_train_timesteps\": 1000,"
                + " \"set_alpha_to_one\": false, \"skip_prk_steps\": true, \"steps_offset\": 1, \"trained_betas\": null,"
                + " \"clip_sample\": true}");
        DdimScheduler s = DdimScheduler.fromConfig(f);
        assertFalse(s.config().clipSample(), "clip_sample forced false for a non-DDIM config, as DragDiffusion does");
        assertEquals(1, s.config().stepsOffset());
        assertArrayEquals(DdimScheduler.sd15().alphasCumprod(), s.alphasCumprod());
        s.setTimesteps(50);
        assertEquals(981, s.timesteps()[0]);

        // A DDIMScheduler config is read as diffusers reads it: its defaults include clip_sample and set_alpha_to_one true.
        Files.writeString(f, "{\"_class_name\": \"DDIMScheduler\", \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012}");
        DdimScheduler d = DdimScheduler.fromConfig(f);
        assertTrue(d.config().clipSample());
        assertEquals(1f, d.finalAlphaCumprod());
        assertEquals(0, d.config().stepsOffset());
    }

    @Test
    void badConfigsNameTheFileAndTheKey(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("scheduler_config.json");
        Files.writeString(f, "{\"_class_name\": \"DDIMScheduler\", \"beta_schedule\": \"quadratic\"}");
        WeightsException e = assertThrows(WeightsException.class, () -> DdimScheduler.fromConfig(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("beta_schedule \"quadratic\""), e.getMessage());
        Files.writeString(f, "{\"thresholding\": true}");
        e = assertThrows(WeightsException.class, () -> DdimScheduler.fromConfig(f));
        assertTrue(e.getMessage().contains("thresholding"), e.getMessage());
        Files.writeString(f, "{\"num_train_timesteps\": \"many\"}");
        e = assertThrows(WeightsException.class, () -> DdimScheduler.fromConfig(f));
        assertTrue(e.getMessage().contains("num_train_timesteps"), e.getMessage());
        Files.writeString(f, "{\"num_train_timesteps\": 4, \"trained_betas\": [0.1, 0.2]}");
        e = assertThrows(WeightsException.class, () -> DdimScheduler.fromConfig(f));
        assertTrue(e.getMessage().contains("trained_betas has 2 values"), e.getMessage());
        Path missing = dir.resolve("nope.json");
        e = assertThrows(WeightsException.class, () -> DdimScheduler.fromConfig(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void otherScheduleFormulas() {
        // linear: torch.linspace(1e-4, 0.02, 1000); squaredcos_cap_v2: the cosine alpha-bar, betas capped at 0.999.
        DdimConfig sd = DdimConfig.sd15();
        DdimScheduler lin = new DdimScheduler(new DdimConfig(1000, 1e-4, 0.02, "linear", null, false, 1, false, 1, "epsilon", "leading", false, "t"));
        float[] b = lin.betas();
        assertEquals(1e-4f, b[0]);
        assertEquals(0.02f, b[999]);
        for (int i = 0; i < 1000; i++) assertEquals(1e-4 + i * (0.02 - 1e-4) / 999, b[i], 1e-6 * b[i]);
        DdimScheduler cos = new DdimScheduler(new DdimConfig(1000, 0, 0, "squaredcos_cap_v2", null, false, 1, false, 1, "epsilon", "leading", false, "t"));
        assertEquals(0.999f, cos.betas()[999]);
        assertTrue(cos.betas()[0] > 0 && cos.betas()[0] < 1e-4);
        // Zero terminal SNR: the last alpha_cumprod becomes 0, the first is kept.
        DdimScheduler z = new DdimScheduler(new DdimConfig(1000, sd.betaStart(), sd.betaEnd(), sd.betaSchedule(), null, false, 1, false, 1, "epsilon", "leading", true, "t"));
        assertEquals(0f, z.alphasCumprod()[999]);
        assertEquals(DdimScheduler.sd15().alphasCumprod()[0], z.alphasCumprod()[0], 1e-6);
    }
}
