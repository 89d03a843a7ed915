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

    private static PrintWriter quiet() { return new PrintWriter(new StringWriter()); }

    @Test
    void vaeStepsLowerTheLossOnAFixedBatch(@TempDir Path tmp) {
        TinyTrainer tr = new TinyTrainer(config(tmp, 1, 1, 0), quiet());
        TrainableParams p = new TrainableParams(1, null);
        AutoencoderKL vae = new AutoencoderKL(TinyModels.vae(32, 1f), p);
        AdamState opt = new AdamState(dev.dragedit.ops.cpu.CpuOps.INSTANCE, p.params(), p.trainableKeys(), dev.dragedit.ops.AdamParams.adam(2e-3f));
        Tensor x = tr.images(new long[]{11, 12});
        float first = 0, last = 0;
        for (int i = 0; i < 8; i++) {
            float l = tr.vaeStep(vae, x, new SplittableRandom(5));
            opt.step();
            opt.zeroGrad();
            if (i == 0) first = l;
            last = l;
        }
        assertTrue(last < 0.8f * first, "VAE loss " + first + " → " + last);
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
    void badFlagsGiveOneMessage(@TempDir Path tmp) {
        for (String[] args : new String[][]{
                {"train-tiny", "--out", tmp.toString(), "--size", "48"},
                {"train-tiny", "--out", tmp.toString(), "--batch", "0"},
                {"train-tiny", "--out", tmp.toString(), "--resume"},
                {"train-tiny", "--steps-vae", "3"},
                {"train-tiny", "--out", tmp.toString(), "--steps-unet", "many"}}) {
            StringWriter out = new StringWriter(), err = new StringWriter();
            int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
            assertEquals(Main.EXIT_USAGE, code, String.join(" ", args) + ": " + err);
            assertTrue(err.toString().startsWith("dragedit: "), err.toString());
        }
    }
}
