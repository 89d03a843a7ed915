// The end of a train-tiny run: writes the trained models as a diffusers Stable Diffusion folder (unet/, vae/ with the
// measured scaling_factor in its config, text_encoder/ (weights in F16: the 49408×64 token table alone is 12.6 MB in
// F32, and our loaders read F16 safetensors), tokenizer/ (the bundled SD1.x files), scheduler/ (DDIM, SD1.5 betas),
// model_index.json), loads it back strictly with StableDiffusion.load, and from the loaded model measures the VAE's
// reconstruction PSNR on held-out scenes and draws DDIM samples (from N(0, 1) noise, guidance 1 and classifier-free
// guidance) for held-out captions; then the loss plots, the PNG grids and README.md.
package dev.dragedit.train;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.drag.Images;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.clip.ClipTextModel;
import dev.dragedit.models.clip.ClipTokenizer;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.AutoencoderKL;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.scenes.Scene;
import dev.dragedit.scenes.SceneGenerator;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

final class TinyReport {
    private final TinyTrainer.Config cfg;
    private final PrintWriter log;
    private final SceneGenerator scenes;
    private final long[] heldOut;
    private final String command;

    TinyReport(TinyTrainer.Config cfg, PrintWriter log, SceneGenerator scenes, long[] heldOut, String command) {
        this.cfg = cfg;
        this.log = log;
        this.scenes = scenes;
        this.heldOut = heldOut;
        this.command = command;
    }

    /** Writes the folder and the report; returns the mean reconstruction PSNR (dB) over the held-out scenes. */
    double write(Map<String, Tensor> vaeW, Map<String, Tensor> unetW, Map<String, Tensor> textW, float sf,
                 AutoencoderKL vaeTrained, UNet2DConditionModel unetTrained, ClipTextModel textTrained,
                 float[] vaeLosses, float[] unetLosses, double vaeRate, double unetRate) throws IOException {
        Path out = cfg.out();
        writeFolder(out, vaeW, unetW, textW, sf);
        StableDiffusion sd = StableDiffusion.load(out, Placement.cpu(), null);
        log.printf(Locale.ROOT, "wrote %s (%s) and loaded it back with StableDiffusion.load%n", out, mb(folderBytes(out)));

        LossPlot.write(out.resolve("loss_vae.png"), "VAE: L1 reconstruction + 1e-6·KL", "loss", vaeLosses);
        LossPlot.write(out.resolve("loss_unet.png"), "UNet + text encoder: ε-prediction MSE", "loss", unetLosses);

        Functional f = sd.functional();
        // Reconstructions (posterior mode) of the held-out scenes.
        double psnrSum = 0;
        List<Images.Rgb> originals = new ArrayList<>(), recons = new ArrayList<>();
        List<String> captions = new ArrayList<>();
        try (var g = Tape.noGrad()) {
            for (int i = 0; i < cfg.heldOut(); i++) {
                Scene s = scenes.generate(heldOut[i]);
                Tensor x = Images.toTensor(s.image());
                Tensor rec = sd.vae.decode(f, sd.vae.encode(f, x).mode());
                Images.Rgb r = Images.toPixels(rec, false);
                psnrSum += psnr(s.image(), r);
                if (i < 8) { originals.add(s.image()); recons.add(r); }
            }
            for (int i = 0; i < cfg.samples(); i++) captions.add(scenes.generate(heldOut[i]).caption());
        }
        double psnr = psnrSum / cfg.heldOut();
        log.printf(Locale.ROOT, "VAE reconstruction PSNR on %d held-out scenes: %.2f dB%n", cfg.heldOut(), psnr);
        grid(out.resolve("reconstructions.png"), List.of(originals, recons), List.of("held-out scene", "VAE reconstruction"));

        // Samples: DDIM from noise, guidance 1 and cfg.guidance().
        long t0 = System.nanoTime();
        List<Images.Rgb> ref = new ArrayList<>(), g1 = new ArrayList<>(), gw = new ArrayList<>();
        try (var g = Tape.noGrad()) {
            Tensor uncond = sd.encodePrompts(f, List.of(""));
            for (int i = 0; i < cfg.samples(); i++) {
                Tensor cond = sd.encodePrompts(f, List.of(captions.get(i)));
                ref.add(scenes.generate(heldOut[i]).image());
                g1.add(sample(sd, f, cond, uncond, 1f, sf, i));
                gw.add(sample(sd, f, cond, uncond, cfg.guidance(), sf, i));
            }
        }
        log.printf(Locale.ROOT, "sampled %d captions × 2 guidance scales with DDIM %d steps in %.1f s%n", cfg.samples(),
                cfg.ddimSteps(), (System.nanoTime() - t0) / 1e9);
        List<List<Images.Rgb>> cols = new ArrayList<>();
        for (int i = 0; i < ref.size(); i++) cols.add(List.of(ref.get(i), g1.get(i), gw.get(i)));
        grid(out.resolve("samples.png"), transpose(cols), List.of("held-out scene of the caption", "sample, guidance 1",
                String.format(Locale.ROOT, "sample, guidance %.1f", cfg.guidance())));

        readme(out, sf, vaeLosses, unetLosses, psnr, captions, vaeRate, unetRate);
        return psnr;
    }

    private Images.Rgb sample(StableDiffusion sd, Functional f, Tensor cond, Tensor uncond, float guidance, float sf, int i) {
        int l = cfg.latent();
        SplittableRandom rng = new SplittableRandom(cfg.seed() * 31 + 0x5A5A + i);
        Tensor x = TinyTrainer.gaussian(new int[]{1, 4, l, l}, rng);
        DdimScheduler sch = sd.scheduler;
        sch.setTimesteps(cfg.ddimSteps());
        for (int t : sch.timesteps()) {
            Tensor eps = sd.unet.forward(f, x, t, cond).out();
            if (guidance != 1f) {
                Tensor e0 = sd.unet.forward(f, x, t, uncond).out();
                eps = f.add(e0, f.scale(f.sub(eps, e0), guidance));
            }
            x = sch.step(f, eps, t, x).prev();
        }
        return Images.toPixels(sd.vae.decode(f, f.scale(x, 1f / sf)), false);
    }

    static double psnr(Images.Rgb a, Images.Rgb b) {
        byte[] p = a.pixels(), q = b.pixels();
        double se = 0;
        for (int i = 0; i < p.length; i++) { double d = (p[i] & 0xff) - (q[i] & 0xff); se += d * d; }
        double mse = se / p.length;
        return mse == 0 ? 100 : 10 * Math.log10(255.0 * 255.0 / mse);
    }

    // ------------------------------------------------------------------ the diffusers folder

    /** The diffusers layout; weights of the text encoder in F16, the rest in F32. */
    void writeFolder(Path out, Map<String, Tensor> vae, Map<String, Tensor> unet, Map<String, Tensor> text, float sf) throws IOException {
        Path u = out.resolve("unet"), v = out.resolve("vae"), t = out.resolve("text_encoder"), tok = out.resolve("tokenizer"),
                sc = out.resolve("scheduler");
        for (Path d : new Path[]{u, v, t, sc}) Files.createDirectories(d);
        Files.writeString(u.resolve("config.json"), TinyModels.unetJson(cfg.latent()));
        SafeTensors.write(u.resolve("diffusion_pytorch_model.safetensors"), stored(unet, DType.F32), Map.of("format", "pt"));
        Files.writeString(v.resolve("config.json"), TinyModels.vaeJson(cfg.size(), sf));
        SafeTensors.write(v.resolve("diffusion_pytorch_model.safetensors"), stored(vae, DType.F32), Map.of("format", "pt"));
        Files.writeString(t.resolve("config.json"), TinyModels.textJson().replace("\"float32\"", "\"float16\""));
        SafeTensors.write(t.resolve("model.safetensors"), stored(text, DType.F16), Map.of("format", "pt"));
        TinyTrainer.deleteTree(tok);
        ClipTokenizer.writeBundled(tok);
        Files.writeString(sc.resolve("scheduler_config.json"), TinyModels.schedulerJson());
        Files.writeString(out.resolve("model_index.json"), TinyModels.modelIndexJson());
    }

    /** "- final STAGE loss (mean of the last k steps): x", or that this run did not train the stage. */
    private static String finalLoss(String stage, float[] losses, java.nio.file.Path initFrom) {
        if (losses.length == 0)
            return "- " + stage + ": not trained in this run (0 steps; its weights are " + (initFrom != null ? "those of `" + initFrom + "`" : "the random initial ones") + ")\n";
        return String.format(Locale.ROOT, "- final %s loss (mean of the last %d steps): %.5f%n", stage, tail(losses), tailMean(losses));
    }

    private static String schedule(TinyTrainer.Config cfg) {
        return cfg.cosine() ? " (2% linear warm-up, then cosine decay to 10%)" : " (constant)";
    }

    private static Map<String, Tensor> stored(Map<String, Tensor> w, DType dtype) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var e : w.entrySet()) m.put(e.getKey(), dtype == DType.F32 ? e.getValue() : e.getValue().to(dtype));
        return m;
    }

    static long folderBytes(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> !p.startsWith(dir.resolve("checkpoint"))).mapToLong(p -> {
                try { return Files.size(p); } catch (IOException e) { return 0; }
            }).sum();
        }
    }

    static String mb(long bytes) { return String.format(Locale.ROOT, "%.2f MB", bytes / 1e6); }

    // ------------------------------------------------------------------ pictures and README

    private static <T> List<List<T>> transpose(List<List<T>> rows) {
        List<List<T>> cols = new ArrayList<>();
        for (int c = 0; c < rows.get(0).size(); c++) {
            List<T> col = new ArrayList<>();
            for (List<T> r : rows) col.add(r.get(c));
            cols.add(col);
        }
        return cols;
    }

    /** rows.get(r) are the images of row r, upscaled (nearest) to at least 128 px, with the row labels on the left. */
    private void grid(Path file, List<List<Images.Rgb>> rows, List<String> labels) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int s = cfg.size(), k = Math.max(1, 128 / s), tile = s * k, gap = 6, labelW = 190;
        int ncol = rows.get(0).size();
        int w = labelW + ncol * (tile + gap) + gap, h = rows.size() * (tile + gap) + gap;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            for (int r = 0; r < rows.size(); r++) {
                int y = gap + r * (tile + gap);
                g.setColor(Color.BLACK);
                g.drawString(labels.get(r), 6, y + tile / 2);
                for (int c = 0; c < ncol; c++)
                    g.drawImage(Images.toBuffered(rows.get(r).get(c)), labelW + gap + c * (tile + gap), y, tile, tile, null);
            }
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
    }

    private void readme(Path out, float sf, float[] vaeLosses, float[] unetLosses, double psnr, List<String> captions,
                        double vaeRate, double unetRate) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("# Tiny latent diffusion model (trained by `dragedit train-tiny`)\n\n");
        b.append("A Stable-Diffusion-1.x-structured model (AutoencoderKL + UNet2DConditionModel + CLIPTextModel, DDIM) trained from "
                + "scratch on CPU with dragedit's own autograd on generated scenes (`dev.dragedit.scenes.SceneGenerator`). "
                + "Load it with `StableDiffusion.load(dir, Placement.cpu(), null)` or as a diffusers folder.\n\n");
        b.append("## Command\n\n```\n").append(command).append("\n```\n\n");
        b.append("## Configuration\n\n");
        b.append(String.format(Locale.ROOT, "- seed: %d%n- data: `SceneGenerator(%d, %d).generate(s)`, a fresh scene for every sample "
                        + "(scene seeds drawn per step from the counter-based generator of (seed, stage, step)); held-out scenes from "
                        + "a separate stream of seeds%n- image size %d×%d, latent %d×%d×4%n- batch %d%n"
                        + "- VAE: %d steps, Adam lr %.1e%s, loss %s + 1e-6·KL (SD's ratio)%s%n"
                        + "- UNet + text encoder: %d steps, Adam lr %.1e%s, ε-prediction MSE, t ~ U{0..999} on SD1.5's scaled_linear "
                        + "schedule (0.00085–0.012), 10%% empty captions; the text encoder's token/position embeddings are frozen "
                        + "(random init: our CLIP embedding lookup has no backward), its 2 layers and final norm are trained%n"
                        + "- scaling_factor = 1/std of the posterior means of %d training scenes = %.5f%n",
                cfg.seed(), cfg.size(), cfg.size(), cfg.size(), cfg.size(), cfg.latent(), cfg.latent(), cfg.batch(),
                cfg.stepsVae(), cfg.lrVae(), schedule(cfg),
                cfg.objectWeight() > 0 ? String.format(Locale.ROOT, "L1 weighted %s inside objects and 1 elsewhere (the scenes' exact geometry), divided by the sum of the weights", (1 + cfg.objectWeight()) == Math.rint(1 + cfg.objectWeight()) ? Integer.toString((int) (1 + cfg.objectWeight())) : Float.toString(1 + cfg.objectWeight())) : "mean L1",
                cfg.logvarInit() != 0 ? String.format(Locale.ROOT, "; the logvar half of quant_conv's bias starts at %g", cfg.logvarInit()) : "",
                cfg.stepsUnet(), cfg.lrUnet(), schedule(cfg), TinyTrainer.SCALE_SCENES, sf));
        if (cfg.initFrom() != null)
            b.append("- initial weights: those of `").append(cfg.initFrom()).append("` (this run fine-tunes them; its Adam moments start at zero)\n");
        b.append("\n## Results\n\n");
        b.append(finalLoss("VAE", vaeLosses, cfg.initFrom()));
        b.append(finalLoss("UNet", unetLosses, cfg.initFrom()));
        b.append(String.format(Locale.ROOT, "- VAE reconstruction PSNR (posterior mode, %d held-out scenes): %.2f dB%n", cfg.heldOut(), psnr));
        List<String> speeds = new ArrayList<>();
        if (vaeLosses.length > 0) speeds.add(String.format(Locale.ROOT, "VAE %.2f steps/s", vaeRate));
        if (unetLosses.length > 0) speeds.add(String.format(Locale.ROOT, "UNet %.2f steps/s", unetRate));
        if (!speeds.isEmpty())
            b.append(String.format(Locale.ROOT, "- speed this run (CPU, %d thread%s): %s%n", dev.dragedit.util.Parallel.THREADS,
                    dev.dragedit.util.Parallel.THREADS == 1 ? "" : "s", String.join(", ", speeds)));
        b.append("\n![VAE loss](loss_vae.png)\n![UNet loss](loss_unet.png)\n\n");
        b.append("## Reconstructions\n\n![reconstructions](reconstructions.png)\n\n");
        b.append(String.format(Locale.ROOT, "## Samples\n\nDDIM %d steps (eta 0) from N(0, 1) noise; guidance 1 and classifier-free guidance %.1f. Captions:%n%n",
                cfg.ddimSteps(), cfg.guidance()));
        for (int i = 0; i < captions.size(); i++) b.append(i + 1).append(". ").append(captions.get(i)).append('\n');
        b.append("\n![samples](samples.png)\n\n## Files\n\n");
        try (var s = Files.walk(out)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                if (p.startsWith(out.resolve("checkpoint")) || p.getFileName().toString().equals("README.md")) continue;
                b.append("- `").append(out.relativize(p)).append("`: ").append(mb(Files.size(p))).append('\n');
            }
        }
        b.append("\nTotal (without README and checkpoint): ").append(mb(folderBytes(out))).append(". The text encoder is stored in F16.\n");
        Files.writeString(out.resolve("README.md"), b.toString());
    }

    private static int tail(float[] v) { return Math.min(v.length, 50); }

    private static double tailMean(float[] v) {
        int n = tail(v);
        double s = 0;
        for (int i = v.length - n; i < v.length; i++) s += v[i];
        return n == 0 ? Double.NaN : s / n;
    }
}
