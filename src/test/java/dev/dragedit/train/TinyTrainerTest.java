package dev.dragedit.train;

import dev.dragedit.cli.Main;
import dev.dragedit.models.clip.ClipTextModel;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.AutoencoderKL;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** train-tiny at 32×32: overfitting a fixed batch, the written folder, exact resume, and option errors. */
class TinyTrainerTest {
    private static TinyTrainer.Config config(Path out, int vae, int unet, int stopAfter) {
        return new TinyTrainer.Config(out, vae, unet, 2, 32, 7, 1, 2, 1e-3f, 5e-4f, 2, 2, 2, 2f, stopAfter, false);
    }

    /** With the VAE options of the bundled model's run: object-weighted L1, cosine schedule, a logvar init. */
    private static TinyTrainer.Config tuned(Path out, int vae, int unet, int stopAfter) {
        return new TinyTrainer.Config(out, vae, unet, 2, 32, 7, 1, 2, 1e-3f, 5e-4f, 2, 2, 2, 2f, stopAfter, false, -4f, 4f, true);
    }

    private static PrintWriter quiet() { return new PrintWriter(new StringWriter()); }

    /** 8 Adam steps of the VAE on scenes 11 and 12 (object weights or none): the first and the last loss. */
    private static float[] vaeLosses(TinyTrainer tr, boolean weighted) {
        TrainableParams p = new TrainableParams(1, null);
        AutoencoderKL vae = new AutoencoderKL(TinyModels.vae(32, 1f), p);
        AdamState opt = new AdamState(dev.dragedit.ops.cpu.CpuOps.INSTANCE, p.params(), p.trainableKeys(), dev.dragedit.ops.AdamParams.adam(2e-3f));
        long[] seeds = {11, 12};
        Tensor x = tr.images(seeds), w = weighted ? tr.objectWeights(seeds) : null;
        float first = 0, last = 0;
        for (int i = 0; i < 8; i++) {
            float l = tr.vaeStep(vae, x, w, new SplittableRandom(5));
            opt.step();
            opt.zeroGrad();
            if (i == 0) first = l;
            last = l;
        }
        return new float[]{first, last};
    }

    @Test
    void vaeStepsLowerTheLossOnAFixedBatch(@TempDir Path tmp) {
        float[] l = vaeLosses(new TinyTrainer(config(tmp, 1, 1, 0), quiet()), false);
        assertTrue(l[1] < 0.8f * l[0], "VAE loss " + l[0] + " → " + l[1]);
    }

    @Test
    void unetStepsLowerTheLossOnAFixedBatch(@TempDir Path tmp) {
        TinyTrainer tr = new TinyTrainer(config(tmp, 1, 1, 0), quiet());
        AutoencoderKL vae = new AutoencoderKL(TinyModels.vae(32, 1f), new TrainableParams(1, null));
        TrainableParams up = new TrainableParams(2, null), tp = new TrainableParams(3, k -> k.startsWith("text_model.embeddings."));
        UNet2DConditionModel unet = new UNet2DConditionModel(TinyModels.unet(8), up);
        ClipTextModel text = new ClipTextModel(TinyModels.text(), tp);
        Map<String, Tensor> all = new java.util.LinkedHashMap<>(AdamState.prefixed(up.params(), "u/"));
        all.putAll(AdamState.prefixed(tp.params(), "t/"));
        List<String> keys = new java.util.ArrayList<>();
        up.trainableKeys().forEach(k -> keys.add("u/" + k));
        tp.trainableKeys().forEach(k -> keys.add("t/" + k));
        assertFalse(keys.contains("t/text_model.embeddings.token_embedding.weight"));
        AdamState opt = new AdamState(dev.dragedit.ops.cpu.CpuOps.INSTANCE, all, keys, dev.dragedit.ops.AdamParams.adam(2e-3f));
        float first = 0, last = 0;
        for (int i = 0; i < 8; i++) {
            float l = tr.unetStep(vae, 1f, unet, text, new SplittableRandom(9));
            opt.step();
            opt.zeroGrad();
            if (i == 0) first = l;
            last = l;
        }
        assertTrue(last < 0.8f * first, "UNet loss " + first + " → " + last);
    }

    @Test
    void resumedRunEqualsUninterruptedRunAndFolderLoads(@TempDir Path tmp) throws Exception {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        TinyTrainer.Result full = new TinyTrainer(config(a, 3, 3, 0), quiet()).run(false);
        assertTrue(full.finished());
        // Interrupted in the VAE stage, then in the UNet stage, then finished.
        assertFalse(new TinyTrainer(config(b, 3, 3, 2), quiet()).run(false).finished());
        assertFalse(new TinyTrainer(config(b, 3, 3, 3), quiet()).run(true).finished());
        TinyTrainer.Result resumed = new TinyTrainer(config(b, 3, 3, 0), quiet()).run(true);
        assertTrue(resumed.finished());
        assertEquals(full.scalingFactor(), resumed.scalingFactor());
        assertArrayEquals(full.unetLosses(), resumed.unetLosses());
        for (var pair : List.of(List.of(full.vae(), resumed.vae()), List.of(full.unet(), resumed.unet()), List.of(full.text(), resumed.text())))
            for (var e : pair.get(0).entrySet())
                assertArrayEquals(e.getValue().data(), pair.get(1).get(e.getKey()).data(), e.getKey());

        StableDiffusion sd = StableDiffusion.load(a, Placement.cpu(), null);
        var f = sd.functional();
        Tensor ctx = sd.encodePrompts(f, List.of("a red disc"));
        Tensor eps = sd.unet.forward(f, Tensor.zeros(1, 4, 8, 8), 10f, ctx).out();
        assertArrayEquals(new int[]{1, 4, 8, 8}, eps.shape());
        for (String file : new String[]{"README.md", "samples.png", "reconstructions.png", "loss_vae.png", "loss_unet.png"})
            assertTrue(Files.isRegularFile(a.resolve(file)), file);
        assertFalse(Files.exists(a.resolve("checkpoint")));
    }

    @Test
    void cosineScheduleWarmsUpThenDecaysToATenth() {
        assertEquals(1e-3f, TinyTrainer.learningRate(1e-3f, false, 7, 100));
        assertEquals(1e-3f / 2, TinyTrainer.learningRate(1e-3f, true, 1, 100), 1e-9);   // warm-up: 2 steps
        assertEquals(1e-3f, TinyTrainer.learningRate(1e-3f, true, 2, 100), 1e-9);
        assertEquals(0.55e-3f, TinyTrainer.learningRate(1e-3f, true, 51, 100), 1e-9);   // half-way through the decay
        assertEquals(1e-4f, TinyTrainer.learningRate(1e-3f, true, 100, 100), 1e-9);
        float prev = Float.MAX_VALUE;
        for (int s = 2; s <= 100; s++) {
            float lr = TinyTrainer.learningRate(1e-3f, true, s, 100);
            assertTrue(lr <= prev, "step " + s);
            prev = lr;
        }
    }

    @Test
    void objectWeightsAreOnePlusWInsideObjectsOnly(@TempDir Path tmp) {
        TinyTrainer tr = new TinyTrainer(tuned(tmp, 1, 1, 0), quiet());
        long seed = 11;
        Tensor w = tr.objectWeights(new long[]{seed});
        var scene = new dev.dragedit.scenes.SceneGenerator(32, 32).generate(seed);
        float[] d = w.data();
        int inside = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    boolean in = false;
                    for (var o : scene.objects()) in |= o.contains(x + 0.5, y + 0.5);
                    assertEquals(in ? 5f : 1f, d[(c * 32 + y) * 32 + x], "c" + c + " (" + x + ", " + y + ")");
                    if (in) inside++;
                }
        assertTrue(inside > 0, "the scene has object pixels");
    }

    @Test
    void logvarInitSetsTheLogvarHalfOfQuantConvBias(@TempDir Path tmp) {
        TinyTrainer tr = new TinyTrainer(tuned(tmp, 1, 1, 0), quiet());
        TrainableParams p = new TrainableParams(1, null);
        new AutoencoderKL(TinyModels.vae(32, 1f), p);
        float[] before = p.params().get("quant_conv.bias").data().clone();
        tr.initLogvar(p);
        float[] after = p.params().get("quant_conv.bias").data();
        for (int i = 0; i < 4; i++) assertEquals(before[i], after[i], "mean channel " + i + " untouched");
        for (int i = 4; i < 8; i++) assertEquals(-4f, after[i], "logvar channel " + i);
    }

    @Test
    void weightedVaeStepsLowerTheLossOnAFixedBatch(@TempDir Path tmp) {
        float[] l = vaeLosses(new TinyTrainer(tuned(tmp, 1, 1, 0), quiet()), true);
        assertTrue(l[1] < 0.8f * l[0], "weighted VAE loss " + l[0] + " → " + l[1]);
    }

    @Test
    void tunedRunResumesExactly(@TempDir Path tmp) throws Exception {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        TinyTrainer.Result full = new TinyTrainer(tuned(a, 3, 2, 0), quiet()).run(false);
        assertFalse(new TinyTrainer(tuned(b, 3, 2, 2), quiet()).run(false).finished());
        TinyTrainer.Result resumed = new TinyTrainer(tuned(b, 3, 2, 0), quiet()).run(true);
        assertArrayEquals(full.vaeLosses(), resumed.vaeLosses());
        assertArrayEquals(full.unetLosses(), resumed.unetLosses());
        for (var e : full.vae().entrySet()) assertArrayEquals(e.getValue().data(), resumed.vae().get(e.getKey()).data(), e.getKey());
        // A different option is a different run: resuming it is refused.
        Path c = tmp.resolve("c");
        assertFalse(new TinyTrainer(tuned(c, 3, 2, 2), quiet()).run(false).finished());
        var other = new TinyTrainer.Config(c, 3, 2, 2, 32, 7, 1, 2, 1e-3f, 5e-4f, 2, 2, 2, 2f, 0, false, -4f, 2f, true);
        assertThrows(IllegalArgumentException.class, () -> new TinyTrainer(other, quiet()).run(true));
    }

    @Test
    void initFromStartsFromAFinishedFolder(@TempDir Path tmp) throws Exception {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        TinyTrainer.Result first = new TinyTrainer(config(a, 2, 2, 0), quiet()).run(false);
        // No steps: the weights come back exactly as loaded.
        var zero = new TinyTrainer.Config(b, 0, 0, 2, 32, 7, 1, 2, 1e-3f, 5e-4f, 2, 2, 2, 2f, 0, false, 0f, 4f, true, a);
        TinyTrainer.Result same = new TinyTrainer(zero, quiet()).run(false);
        // (as stored: the folder keeps the frozen token embedding table in F16 to stay small)
        Map<String, Tensor> stored = TinyTrainer.initWeights(a);
        int n = 0;
        for (var part : List.of(List.of("vae/", same.vae()), List.of("unet/", same.unet()), List.of("text_encoder/", same.text()))) {
            @SuppressWarnings("unchecked") Map<String, Tensor> got = (Map<String, Tensor>) part.get(1);
            for (var e : got.entrySet()) {
                Tensor want = stored.get(part.get(0) + e.getKey());
                assertArrayEquals(want.to(dev.dragedit.tensor.DType.F32).data(), e.getValue().data(), e.getKey());
                n++;
            }
        }
        assertEquals(stored.size(), n);
        assertArrayEquals(first.unet().get("conv_in.weight").data(), same.unet().get("conv_in.weight").data());
        assertTrue(Files.readString(b.resolve("README.md")).contains("initial weights: those of `" + a + "`"));
        String readme = Files.readString(b.resolve("README.md"));
        assertTrue(readme.contains("- VAE: not trained in this run (0 steps; its weights are those of `" + a + "`)"), readme);
        assertFalse(readme.contains("NaN"), readme);
        assertFalse(readme.contains("speed this run"), "no speed for stages that did not run:\n" + readme);
        var missing = new TinyTrainer.Config(tmp.resolve("c"), 1, 1, 2, 32, 7, 1, 2, 1e-3f, 5e-4f, 2, 2, 2, 2f, 0, false, 0f, 4f, true, tmp.resolve("nothing"));
        var e = assertThrows(IllegalArgumentException.class, () -> new TinyTrainer(missing, quiet()).run(false));
        assertTrue(e.getMessage().contains("--init-from") && e.getMessage().contains("vae/diffusion_pytorch_model.safetensors"), e.getMessage());
    }

    @Test
    void badFlagsGiveOneMessage(@TempDir Path tmp) {
        for (String[] args : new String[][]{
                {"train-tiny", "--out", tmp.toString(), "--size", "48"},
                {"train-tiny", "--out", tmp.toString(), "--batch", "0"},
                {"train-tiny", "--out", tmp.toString(), "--resume"},
                {"train-tiny", "--steps-vae", "3"},
                {"train-tiny", "--out", tmp.toString(), "--steps-unet", "many"},
                {"train-tiny", "--out", tmp.toString(), "--object-weight", "-1"},
                {"train-tiny", "--out", tmp.toString(), "--logvar-init", "3"},
                {"train-tiny", "--out", tmp.toString(), "--init-from", tmp.resolve("none").toString()}}) {
            StringWriter out = new StringWriter(), err = new StringWriter();
            int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
            assertEquals(Main.EXIT_USAGE, code, String.join(" ", args) + ": " + err);
            assertTrue(err.toString().startsWith("dragedit: "), err.toString());
        }
    }
}
