package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.Attention;
import dev.dragedit.models.sd.AutoencoderKL;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.Posterior;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * LoRA as DragDiffusion's train_lora sets it up, on the unet-tiny / vae-tiny fixtures with a 64×64 synthetic image
 * (latent 8×8): adapters on to_q/to_k/to_v/to_out.0 of all 32 attention modules, a fresh (up = 0) adapter leaves the
 * UNet output bit for bit unchanged, a non-zero one changes it and detaching restores it, only the adapters receive
 * gradients, training lowers the objective on a fixed evaluation set of (t, noise) pairs (CPU), and one emulated-CUDA
 * run of 2 steps at batch 1 gives the CPU's losses within 1e-4 relative (the emulation takes seconds per UNet
 * forward+backward, so the CPU test does the longer training).
 */
class LoraTest {
    private static Path unetDir, vaeDir;
    private static KernelDevice device;
    private static final DdimScheduler SCHEDULE = DdimScheduler.sd15();

    @BeforeAll
    static void locate() {
        unetDir = Fixtures.require("unet-tiny/config.json").getParent();
        vaeDir = Fixtures.require("vae-tiny/config.json").getParent();
    }

    @AfterAll
    static void closeDevice() {
        if (device != null) device.close();
    }

    private static Placement placement(boolean onDevice) {
        if (!onDevice) return Placement.cpu();
        if (device == null) device = Devices.best();
        return Placement.on(device, DType.F32);
    }

    /** A smooth RGB image in [−1, 1], [1, 3, 64, 64]. */
    static Tensor syntheticImage() {
        int h = 64, w = 64;
        float[] d = new float[3 * h * w];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    d[(c * h + y) * w + x] = (float) (0.8 * Math.sin(0.11 * x * (c + 1) + 0.07 * y) * Math.cos(0.05 * y - 0.3 * c));
        return Tensor.of(d, 1, 3, h, w);
    }

    static Tensor randn(long seed, int... shape) { return LoraTrainer.gaussian(shape, new SplittableRandom(seed)); }

    @Test
    void adaptersSitOnEveryProjectionOfEveryAttention() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, Placement.cpu(), null);
        Lora lora = Lora.create(unet, 16, null, 0);
        assertEquals(32 * 4, lora.layers().size());
        assertEquals(32 * 4 * 2, lora.parameters().size());
        Lora.Layer first = lora.layers().get(0);
        assertEquals("down_blocks.0.attentions.0.transformer_blocks.0.attn1", first.site);
        assertArrayEquals(new int[]{16, 32}, first.down.shape());
        assertArrayEquals(new int[]{32, 16}, first.up.shape());
        assertEquals(1f, first.scale);
        // down ~ N(0, (1/r)²): the sample standard deviation over all adapters is close to 1/16; up is zero.
        double s = 0, s2 = 0;
        long n = 0;
        for (Lora.Layer l : lora.layers()) {
            for (float v : l.down.data()) { s += v; s2 += (double) v * v; n++; }
            for (float v : l.up.data()) assertEquals(0f, v);
        }
        double sd = Math.sqrt(s2 / n - (s / n) * (s / n));
        assertEquals(1.0 / 16, sd, 0.002);
        Map<String, Tensor> sd0 = lora.stateDict();
        assertTrue(sd0.containsKey("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight"));
        assertTrue(sd0.containsKey("unet.up_blocks.3.attentions.2.transformer_blocks.0.attn2.processor.to_out_lora.up.weight"));
        assertEquals(0.5f, Lora.create(unet, 8, 4f, 0).layers().get(0).scale);
        assertThrows(IllegalArgumentException.class, () -> Lora.create(unet, 0, null, 0));
    }

    @Test
    void freshAdaptersLeaveTheOutputUnchangedOnTheCpu() { freshAdaptersLeaveTheOutputUnchanged(false); }

    @Test
    void freshAdaptersLeaveTheOutputUnchangedOnTheCudaBackend() { freshAdaptersLeaveTheOutputUnchanged(true); }

    private void freshAdaptersLeaveTheOutputUnchanged(boolean onDevice) {
        Placement pl = placement(onDevice);
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, pl, null);
        Functional f = new Functional(pl.ops());
        Tensor x = pl.input(randn(1, 1, 4, 8, 8)), ctx = pl.input(randn(2, 1, 77, 32));
        try (var g = Tape.noGrad()) {
            float[] plain = unet.forward(f, x, 421f, ctx).out().toCpu().data();
            Lora lora = Lora.create(unet, 16, null, 7);
            lora.attach();
            assertTrue(lora.attached());
            assertArrayEquals(plain, unet.forward(f, x, 421f, ctx).out().toCpu().data(), "zero-initialised LoRA changed the output");

            if (onDevice) {   // the rest is the hook plumbing, the same code on both backends: CPU only (emulated forwards take seconds)
                lora.detach();
                return;
            }
            // A non-zero up matrix must change it (the hooks are really in the forward); detaching restores it.
            Lora.Layer l = lora.layers().get(lora.layers().size() - 1);   // up_blocks.3 … attn2.to_out.0
            Tensor up = pl.place(Tensor.full(0.05f, l.up.shape()));
            l.attention.setDelta(l.projection, (ff, in) -> ff.linear(ff.linear(in, l.down, null), up, null));
            float[] other = unet.forward(f, x, 421f, ctx).out().toCpu().data();
            assertFalse(java.util.Arrays.equals(plain, other), "a non-zero adapter did not change the output");
            l.attention.setDelta(l.projection, l);
            lora.detach();
            assertFalse(lora.attached());
            for (Attention.Site s : Attention.sites(unet))
                for (Attention.Projection p : Attention.Projection.values()) assertNull(s.attention().delta(p));
            assertArrayEquals(plain, unet.forward(f, x, 421f, ctx).out().toCpu().data());
        }
    }

    @Test
    void onlyTheAdaptersReceiveGradients() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, Placement.cpu(), null);
        Lora lora = Lora.create(unet, 4, null, 3);
        lora.attach();
        for (Tensor p : lora.parameters()) p.requiresGrad(true);
        Functional f = new Functional(Placement.cpu().ops());
        Tensor loss = LoraTrainer.loss(f, unet, SCHEDULE, randn(4, 1, 4, 8, 8), randn(5, 1, 77, 32), 500, randn(6, 1, 4, 8, 8));
        Tape.backward(loss);
        int nonZeroUp = 0;
        for (Lora.Layer l : lora.layers()) {
            assertNotNull(l.up.grad(), l.site + " " + l.projection + ": no gradient for up");
            assertNotNull(l.down.grad(), l.site + " " + l.projection + ": no gradient for down");
            for (float v : l.down.grad().data()) assertEquals(0f, v, "down's gradient is zero while up is zero");
            for (float v : l.up.grad().data()) if (v != 0f) { nonZeroUp++; break; }
        }
        // At a latent of 8×8 the mid block's self-attention sees one token: softmax over one key is 1 whatever q and
        // k are, so exactly its to_q and to_k adapters get a zero gradient; every other up matrix gets a non-zero one.
        assertEquals(lora.layers().size() - 2, nonZeroUp);
        for (Lora.Layer l : lora.layers())
            if (l.site.startsWith("mid_block") && l.site.endsWith("attn1")
                    && (l.projection == Attention.Projection.Q || l.projection == Attention.Projection.K))
                for (float v : l.up.grad().data()) assertEquals(0f, v);
        lora.detach();
    }

    /** The fixed evaluation set: 4 timesteps across the range, each with its own noise. */
    private static double eval(UNet2DConditionModel unet, Tensor x0, Tensor ctx) {
        int[] ts = {120, 380, 640, 900};
        Tensor[] noises = new Tensor[ts.length];
        for (int i = 0; i < ts.length; i++) noises[i] = randn(100 + i, 1, 4, 8, 8);
        return LoraTrainer.evalLoss(unet, SCHEDULE, x0, ctx, ts, noises);
    }

    private static Tensor meanLatent(AutoencoderKL vae, Tensor image) {
        try (var g = Tape.noGrad()) {
            Tensor mean = vae.encode(vae.functional(), vae.placement().input(image)).mean().toCpu();
            return new Functional(Placement.cpu().ops()).scale(mean, vae.scalingFactor());
        }
    }

    /**
     * DragDiffusion's settings except 40 steps at batch 2 and lr 2e-3 (CPU time: at the default 5e-4 the random-weight
     * tiny UNet's loss moves by under 1% in so few steps): the evaluation loss falls.
     */
    @Test
    void trainingLowersTheObjectiveOnAFixedEvaluationSet() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, Placement.cpu(), null);
        AutoencoderKL vae = AutoencoderKL.load(vaeDir, Placement.cpu(), null);
        Tensor image = syntheticImage(), ctx = randn(9, 1, 77, 32);
        Tensor x0 = meanLatent(vae, image);
        double before = eval(unet, x0, ctx);
        List<Float> losses = new ArrayList<>();
        LoraTrainer.Config cfg = LoraTrainer.Config.defaults().withSteps(40).withBatchSize(2).withLr(2e-3f);
        Lora lora = LoraTrainer.train(unet, vae, SCHEDULE, image, ctx, cfg, (step, steps, loss) -> losses.add(loss));
        assertEquals(40, losses.size());
        assertTrue(lora.attached());
        for (Tensor p : lora.parameters()) assertFalse(p.requiresGrad());
        double after = eval(unet, x0, ctx);
        lora.detach();
        assertEquals(before, eval(unet, x0, ctx), 0.0, "detaching restores the UNet");
        System.out.printf("LoRA eval loss %.6f -> %.6f after %d steps%n", before, after, cfg.steps());
        assertTrue(after < 0.9 * before, "evaluation loss " + before + " -> " + after);
    }

    /**
     * One training step (batch 1) on the CPU and on the CUDA backend from the same posterior (encoded once on the
     * CPU: the emulated VAE at 64×64 would add half a minute without testing the trainer), then the objective at one
     * evaluation pair with the updated adapters: both within 1e-4 relative. One step, not two, keeps the emulated
     * part (a forward+backward and a forward) around 25 s.
     */
    @Test
    void theCudaBackendTrainsLikeTheCpu() {
        LoraTrainer.Config cfg = LoraTrainer.Config.defaults().withSteps(1).withBatchSize(1).withSeed(11);
        AutoencoderKL vae = AutoencoderKL.load(vaeDir, Placement.cpu(), null);
        Posterior post;
        try (var g = Tape.noGrad()) {
            post = vae.encode(vae.functional(), syntheticImage());
        }
        Tensor ctx = randn(9, 1, 77, 32), x0 = new Functional(Placement.cpu().ops()).scale(post.mean(), vae.scalingFactor());
        float[] loss = new float[2];
        double[] evalAfter = new double[2];
        for (int d = 0; d < 2; d++) {
            Placement pl = placement(d == 1);
            UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, pl, null);
            Posterior p = new Posterior(pl.input(post.mean()), pl.input(post.logvar()));
            int k = d;
            LoraTrainer.train(unet, p, vae.scalingFactor(), SCHEDULE, ctx, cfg, (step, steps, l) -> loss[k] = l);
            evalAfter[d] = LoraTrainer.evalLoss(unet, SCHEDULE, x0, ctx, new int[]{500}, new Tensor[]{randn(77, 1, 4, 8, 8)});
        }
        assertEquals(loss[0], loss[1], 1e-4 * Math.abs(loss[0]), "step 1 loss, cpu vs " + device.name());
        assertEquals(evalAfter[0], evalAfter[1], 1e-4 * Math.abs(evalAfter[0]), "loss after the AdamW step, cpu vs " + device.name());
    }

    @Test
    void badArguments() {
        assertThrows(IllegalArgumentException.class, () -> new LoraTrainer.Config(16, null, 80, 0, 5e-4f, 1e-2f, 0));
        assertThrows(IllegalArgumentException.class, () -> new LoraTrainer.Config(16, null, -1, 4, 5e-4f, 1e-2f, 0));
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, Placement.cpu(), null);
        AutoencoderKL vae = AutoencoderKL.load(vaeDir, Placement.cpu(), null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraTrainer.train(unet, vae, SCHEDULE,
                Tensor.zeros(1, 4, 64, 64), randn(1, 1, 77, 32), LoraTrainer.Config.defaults().withSteps(1), null));
        assertTrue(e.getMessage().contains("[1, 3, H, W]"), e.getMessage());
    }
}
