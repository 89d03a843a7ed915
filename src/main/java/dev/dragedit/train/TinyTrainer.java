// Trains the tiny latent diffusion model of `dragedit train-tiny` with dragedit's own autograd (CPU, F32):
//  (a) the VAE (TinyModels' AutoencoderKL) on generated scenes, loss = mean|x̂ − x| + kl_weight·KL/(3·H·W) with KL
//      the per-image sum of ½(μ² + σ² − 1 − log σ²) averaged over the batch and kl_weight 1e-6 — the ratio of SD's
//      LPIPSWithDiscriminator (reconstruction summed over pixels, KL weighted 1e-6) without the perceptual and GAN
//      terms; the decoder gets the posterior sample μ + σ·n;
//  (b) then, with the VAE frozen, the UNet and the text encoder jointly on ε-prediction: z = (μ + σ·n)·s with s =
//      1/std of the posterior means of 64 training scenes (written into the VAE config as scaling_factor), t uniform
//      in [0, 1000), x_t = √ᾱ_t·z + √(1−ᾱ_t)·ε with SD1.5's scaled_linear ᾱ, loss = mean over the batch of
//      MSE(UNet(x_t, t, text(caption)), ε); captions are replaced by "" with probability 0.1 so the model also learns
//      the unconditional prediction (classifier-free guidance). The text encoder's token and position embeddings stay
//      frozen at their random init: our CLIP gathers the embedding rows on the CPU outside the tape, so no gradient
//      reaches them; its transformer layers and final LayerNorm are trained.
// The UNet takes one timestep per call, so the samples of a batch go through it one by one and their losses are
// summed before a single backward (the text encoder's graph is shared by the batch).
// Randomness is counter-based: the draws of step s of stage k come from SplittableRandom(mix(seed, k, s)), so the
// generator's whole state is (seed, stage, step) and a resumed run draws exactly what the uninterrupted run would.
// Checkpoints (DIR/checkpoint/state.safetensors + state.json) hold the weights, Adam's moments and step, the stage,
// the step, the RNG state and the loss history; --resume restarts from them bit for bit.
package dev.dragedit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.drag.Images;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.clip.ClipTextConfig;
import dev.dragedit.models.clip.ClipTextModel;
import dev.dragedit.models.clip.ClipTokenizer;
import dev.dragedit.models.sd.AutoencoderKL;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.Posterior;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.models.sd.UNetConfig;
import dev.dragedit.models.sd.VaeConfig;
import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.Unary;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.scenes.Scene;
import dev.dragedit.scenes.SceneGenerator;
import dev.dragedit.tensor.Tensor;

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

public final class TinyTrainer {
    /** Everything a run depends on; the same config with --resume continues a run exactly. */
    public record Config(Path out, int stepsVae, int stepsUnet, int batch, int size, long seed, int logEvery,
                         int checkpointEvery, float lrVae, float lrUnet, int heldOut, int samples, int ddimSteps,
                         float guidance, int stopAfter, boolean keepCheckpoint, float logvarInit, float objectWeight,
                         boolean cosine, Path initFrom) {
        /** Without --init-from (random initial weights). */
        public Config(Path out, int stepsVae, int stepsUnet, int batch, int size, long seed, int logEvery,
                      int checkpointEvery, float lrVae, float lrUnet, int heldOut, int samples, int ddimSteps,
                      float guidance, int stopAfter, boolean keepCheckpoint, float logvarInit, float objectWeight,
                      boolean cosine) {
            this(out, stepsVae, stepsUnet, batch, size, seed, logEvery, checkpointEvery, lrVae, lrUnet, heldOut, samples,
                    ddimSteps, guidance, stopAfter, keepCheckpoint, logvarInit, objectWeight, cosine, null);
        }

        /** The options before --logvar-init, --object-weight and --cosine existed: those off (0, 0, false). */
        public Config(Path out, int stepsVae, int stepsUnet, int batch, int size, long seed, int logEvery,
                      int checkpointEvery, float lrVae, float lrUnet, int heldOut, int samples, int ddimSteps,
                      float guidance, int stopAfter, boolean keepCheckpoint) {
            this(out, stepsVae, stepsUnet, batch, size, seed, logEvery, checkpointEvery, lrVae, lrUnet, heldOut, samples,
                    ddimSteps, guidance, stopAfter, keepCheckpoint, 0f, 0f, false, null);
        }

        public Config {
            if (!(objectWeight >= 0)) throw new IllegalArgumentException("--object-weight must be ≥ 0, got " + objectWeight);
            if (!(logvarInit <= 0 && logvarInit >= -30)) throw new IllegalArgumentException("--logvar-init must be in [-30, 0], got " + logvarInit);
            if (stepsVae < 0 || stepsUnet < 0) throw new IllegalArgumentException("step counts must be ≥ 0");
            if (batch < 1) throw new IllegalArgumentException("--batch must be ≥ 1, got " + batch);
            if (size < 32 || size % 32 != 0)
                throw new IllegalArgumentException("--size must be a multiple of 32 and ≥ 32 (the VAE downsamples 4×, the UNet 8× more), got " + size);
            if (logEvery < 1) throw new IllegalArgumentException("--log-every must be ≥ 1");
            if (checkpointEvery < 1) throw new IllegalArgumentException("--checkpoint-every must be ≥ 1");
            if (heldOut < 1 || samples < 1 || ddimSteps < 1) throw new IllegalArgumentException("--eval-scenes, --samples and --ddim-steps must be ≥ 1");
        }

        int latent() { return size / TinyModels.VAE_DOWNSCALE; }
    }

    /** Defaults: 37–48 min at the 2.4–1.5 VAE and 2.2–1.9 UNet steps/s measured on this 2-core machine (see the command's help). */
    public static final int DEFAULT_STEPS_VAE = 1500, DEFAULT_STEPS_UNET = 3500, DEFAULT_BATCH = 4;
    public static final float DEFAULT_LOGVAR_INIT = 0f, DEFAULT_OBJECT_WEIGHT = 4f;
    public static final boolean DEFAULT_COSINE = true;
    static final float KL_WEIGHT = 1e-6f;
    static final double COND_DROPOUT = 0.1;
    static final int SCALE_SCENES = 64;
    private static final long HELD_OUT_STREAM = 0x6A09E667F3BCC909L;

    /** The trained models and the run's numbers. */
    public record Result(Map<String, Tensor> vae, Map<String, Tensor> unet, Map<String, Tensor> text, float scalingFactor,
                         float[] vaeLosses, float[] unetLosses, double psnr, boolean finished, double vaeStepsPerSec,
                         double unetStepsPerSec) {}

    private final Config cfg;
    private final PrintWriter log;
    private final Ops ops = CpuOps.INSTANCE;
    private final Functional f = new Functional(CpuOps.INSTANCE);
    private final SceneGenerator scenes;
    private final ClipTokenizer tokenizer;
    private final DdimScheduler schedule = DdimScheduler.sd15();
    private final ObjectMapper json = new ObjectMapper();
    private final List<Float> vaeLosses = new ArrayList<>(), unetLosses = new ArrayList<>();
    private double vaeRate = Double.NaN, unetRate = Double.NaN;
    private int stepsThisRun;
    private String commandLine = "(API call)";

    /** The command line recorded in the README. */
    public TinyTrainer commandLine(String c) { this.commandLine = c; return this; }

    public TinyTrainer(Config cfg, PrintWriter log) {
        this.cfg = cfg;
        this.log = log;
        this.scenes = new SceneGenerator(cfg.size(), cfg.size());
        this.tokenizer = ClipTokenizer.bundled();
    }

    Path checkpointDir() { return cfg.out().resolve("checkpoint"); }

    // ------------------------------------------------------------------ the run

    public Result run(boolean resume) throws IOException {
        Files.createDirectories(cfg.out());
        Map<String, Tensor> saved = null;
        JsonNode state = null;
        if (resume) {
            Path sj = checkpointDir().resolve("state.json");
            if (!Files.isRegularFile(sj)) throw new IllegalArgumentException("--resume: no checkpoint in " + checkpointDir());
            state = json.readTree(sj.toFile());
            checkSameConfig(state.get("config"));
            saved = readAll(checkpointDir().resolve("state.safetensors"));
            for (JsonNode n : state.get("vae_losses")) vaeLosses.add(n.floatValue());
            for (JsonNode n : state.get("unet_losses")) unetLosses.add(n.floatValue());
            if (state.has("vae_steps_per_s")) vaeRate = state.get("vae_steps_per_s").asDouble();
            log.printf(Locale.ROOT, "resuming from %s: stage %s, step %d%n", checkpointDir(), state.get("stage").asText(), state.get("step").asInt());
        }
        String stage = state == null ? "vae" : state.get("stage").asText();
        int done = state == null ? 0 : state.get("step").asInt();

        // (a) VAE
        VaeConfig vaeCfg = TinyModels.vae(cfg.size(), 1f);
        // --init-from: a finished train-tiny folder's weights are the starting point (a resumed checkpoint wins).
        Map<String, Tensor> init = saved == null && cfg.initFrom() != null ? initWeights(cfg.initFrom()) : null;
        TrainableParams vaeP = new TrainableParams(cfg.seed() + 1, saved != null ? sub(saved, "vae/") : init == null ? null : sub(init, "vae/"), null);
        AutoencoderKL vae = new AutoencoderKL(vaeCfg, vaeP);
        if (saved == null && init == null && stage.equals("vae") && done == 0) initLogvar(vaeP);
        if (stage.equals("vae")) {
            boolean complete = trainVae(vae, vaeP, saved, done);
            if (!complete) return partial(vaeP, null, null, Float.NaN);
            done = 0;
            saved = null;
        }
        for (Tensor t : vaeP.params().values()) t.requiresGrad(false);
        float sf = state != null && stage.equals("unet") ? state.get("scaling_factor").floatValue() : scalingFactor(vae);

        // (b) UNet + text encoder
        UNetConfig unetCfg = TinyModels.unet(cfg.latent());
        ClipTextConfig textCfg = TinyModels.text();
        TrainableParams unetP = new TrainableParams(cfg.seed() + 2, saved != null ? sub(saved, "unet/") : init == null ? null : sub(init, "unet/"), null);
        TrainableParams textP = new TrainableParams(cfg.seed() + 3, saved != null ? sub(saved, "text_encoder/") : init == null ? null : sub(init, "text_encoder/"),
                k -> k.startsWith("text_model.embeddings."));
        UNet2DConditionModel unet = new UNet2DConditionModel(unetCfg, unetP);
        ClipTextModel text = new ClipTextModel(textCfg, textP);
        boolean complete = trainUnet(vae, vaeP, sf, unet, unetP, text, textP, saved, done);
        if (!complete) return partial(vaeP, unetP, textP, sf);

        for (Tensor t : unetP.params().values()) t.requiresGrad(false);
        for (Tensor t : textP.params().values()) t.requiresGrad(false);
        double psnr = new TinyReport(cfg, log, scenes, heldOutSeeds(Math.max(cfg.heldOut(), cfg.samples())), commandLine).write(vaeP.params(), unetP.params(), textP.params(), sf,
                vae, unet, text, floats(vaeLosses), floats(unetLosses), vaeRate, unetRate);
        if (!cfg.keepCheckpoint()) deleteTree(checkpointDir());
        return new Result(vaeP.params(), unetP.params(), textP.params(), sf, floats(vaeLosses), floats(unetLosses), psnr,
                true, vaeRate, unetRate);
    }

    private Result partial(TrainableParams vae, TrainableParams unet, TrainableParams text, float sf) {
        log.printf(Locale.ROOT, "stopped after %d steps (--stop-after); continue with --resume%n", stepsThisRun);
        return new Result(vae.params(), unet == null ? null : unet.params(), text == null ? null : text.params(), sf,
                floats(vaeLosses), floats(unetLosses), Double.NaN, false, vaeRate, unetRate);
    }

    /** Whether the run should stop now (the --stop-after budget of steps is spent). */
    private boolean budgetSpent() { return cfg.stopAfter() > 0 && stepsThisRun >= cfg.stopAfter(); }

    // ------------------------------------------------------------------ stage (a): VAE

    private boolean trainVae(AutoencoderKL vae, TrainableParams p, Map<String, Tensor> saved, int done) throws IOException {
        AdamState opt = new AdamState(ops, p.params(), p.trainableKeys(), AdamParams.adam(cfg.lrVae()));
        if (saved != null) opt.loadFrom(saved, "vae.adam/", done);
        log.printf(Locale.ROOT, "VAE: %,d parameters, %d steps, batch %d, %d×%d images → %d×%d×4 latents%n",
                p.count(false), cfg.stepsVae(), cfg.batch(), cfg.size(), cfg.size(), cfg.latent(), cfg.latent());
        Progress prog = new Progress("vae", cfg.stepsVae(), done);
        for (int step = done + 1; step <= cfg.stepsVae(); step++) {
            if (budgetSpent()) return false;
            SplittableRandom rng = rng(0, step);
            long[] seeds = sceneSeeds(rng, cfg.batch());
            Tensor x = images(seeds);
            opt.setLearningRate(learningRate(cfg.lrVae(), cfg.cosine(), step, cfg.stepsVae()));
            float loss = vaeStep(vae, x, cfg.objectWeight() > 0 ? objectWeights(seeds) : null, rng);
            opt.step();
            opt.zeroGrad();
            vaeLosses.add(loss);
            stepsThisRun++;
            prog.step(step, loss);
            if (step % cfg.checkpointEvery() == 0 || step == cfg.stepsVae()) saveCheckpoint("vae", step, Float.NaN, opt, null, p, null, null);
        }
        vaeRate = prog.rate();
        return true;
    }

    /**
     * With --logvar-init v (< 0), the logvar half of quant_conv's bias starts at v instead of PyTorch's uniform init:
     * at the default init σ ≈ 1 while |μ| ≈ 0.5, so the decoder first sees mostly noise and the encoder spends its
     * first thousand steps shrinking σ before the reconstruction can improve.
     */
    void initLogvar(TrainableParams p) {
        if (cfg.logvarInit() == 0f) return;
        Tensor b = p.params().get("quant_conv.bias");
        if (b == null) throw new IllegalStateException("--logvar-init: the VAE has no quant_conv.bias");
        float[] d = b.data();
        for (int i = d.length / 2; i < d.length; i++) d[i] = cfg.logvarInit();
    }

    /** Learning rate of step {@code step} of {@code total}: constant, or with --cosine 2% linear warm-up then cosine decay to 10%. */
    static float learningRate(float base, boolean cosine, int step, int total) {
        if (!cosine || total <= 1) return base;
        int warm = Math.max(1, total / 50);
        if (step <= warm) return base * step / warm;
        double t = (double) (step - warm) / Math.max(1, total - warm);
        return (float) (base * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * t))));
    }

    /**
     * Per-pixel weights of the reconstruction loss: 1 on the background, 1 + --object-weight inside any object (the
     * scenes' exact geometry, sampled at pixel centres). Objects cover a small part of the image, so a plain mean lets
     * the VAE trade their colour for the background's texture.
     */
    Tensor objectWeights(long[] seeds) {
        int s = cfg.size(), n = seeds.length;
        float[] w = new float[n * 3 * s * s];
        for (int i = 0; i < n; i++) {
            Scene sc = scenes.generate(seeds[i]);
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++) {
                    float v = 1f;
                    for (var o : sc.objects()) if (o.contains(x + 0.5, y + 0.5)) { v += cfg.objectWeight(); break; }
                    for (int c = 0; c < 3; c++) w[((i * 3 + c) * s + y) * s + x] = v;
                }
        }
        return Tensor.of(w, n, 3, s, s);
    }

    /** One VAE loss with its backward; returns the loss value. */
    float vaeStep(AutoencoderKL vae, Tensor x, Tensor weights, SplittableRandom rng) {
        Posterior post = vae.encode(f, x);
        Tensor z = post.sample(f, gaussian(post.mean().shape(), rng));
        Tensor rec = vae.decode(f, z);
        // mean(w·|x̂ − x|) / mean(w): the plain mean L1 when w ≡ 1
        Tensor l1 = weights == null ? f.l1Loss(rec, x)
                : f.scale(f.sum(f.mul(f.abs(f.sub(rec, x)), weights)), 1f / (float) sum(weights));
        // KL per image summed over the latent, averaged over the batch, then on the per-pixel scale of the L1 term.
        Tensor mean = post.mean(), logvar = post.logvar();
        Tensor klTerms = f.sub(f.add(f.square(mean), f.unary(Unary.EXP, logvar)), f.affine(logvar, 1f, 1f));
        float klScale = 0.5f * KL_WEIGHT / (x.dim(0) * (float) (x.numel() / x.dim(0)));
        Tensor loss = f.add(l1, f.scale(f.sum(klTerms), klScale));
        float v = loss.item();
        Tape.backward(loss);
        return v;
    }

    /** 1/std of the posterior means of SCALE_SCENES training scenes (SD's scaling_factor recipe). */
    float scalingFactor(AutoencoderKL vae) {
        SplittableRandom rng = rng(2, 0);
        double s = 0, s2 = 0;
        long n = 0;
        try (var g = Tape.noGrad()) {
            for (int i = 0; i < SCALE_SCENES; i += cfg.batch()) {
                int b = Math.min(cfg.batch(), SCALE_SCENES - i);
                float[] m = vae.encode(f, images(sceneSeeds(rng, b))).mean().data();
                for (float v : m) { s += v; s2 += (double) v * v; n++; }
            }
        }
        double var = s2 / n - (s / n) * (s / n);
        float sf = (float) (1.0 / Math.sqrt(Math.max(var, 1e-12)));
        log.printf(Locale.ROOT, "latent std %.4f over %d scenes → scaling_factor %.5f%n", Math.sqrt(var), SCALE_SCENES, sf);
        return sf;
    }

    // ------------------------------------------------------------------ stage (b): UNet + text encoder

    private boolean trainUnet(AutoencoderKL vae, TrainableParams vaeP, float sf, UNet2DConditionModel unet, TrainableParams unetP,
                              ClipTextModel text, TrainableParams textP, Map<String, Tensor> saved, int done) throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>(AdamState.prefixed(unetP.params(), "unet/"));
        all.putAll(AdamState.prefixed(textP.params(), "text_encoder/"));
        List<String> keys = new ArrayList<>();
        for (String k : unetP.trainableKeys()) keys.add("unet/" + k);
        for (String k : textP.trainableKeys()) keys.add("text_encoder/" + k);
        AdamState opt = new AdamState(ops, all, keys, AdamParams.adam(cfg.lrUnet()));
        if (saved != null) opt.loadFrom(saved, "unet.adam/", done);
        log.printf(Locale.ROOT, "UNet: %,d parameters; text encoder: %,d parameters (%,d trained: the token and position "
                        + "embeddings stay frozen); %d steps, batch %d, latents %d×%d×4%n", unetP.count(false), textP.count(false),
                textP.count(true), cfg.stepsUnet(), cfg.batch(), cfg.latent(), cfg.latent());
        Progress prog = new Progress("unet", cfg.stepsUnet(), done);
        for (int step = done + 1; step <= cfg.stepsUnet(); step++) {
            if (budgetSpent()) return false;
            SplittableRandom rng = rng(1, step);
            opt.setLearningRate(learningRate(cfg.lrUnet(), cfg.cosine(), step, cfg.stepsUnet()));
            float loss = unetStep(vae, sf, unet, text, rng);
            opt.step();
            opt.zeroGrad();
            unetLosses.add(loss);
            stepsThisRun++;
            prog.step(step, loss);
            if (step % cfg.checkpointEvery() == 0 || step == cfg.stepsUnet())
                saveCheckpoint("unet", step, sf, null, opt, vaeP, unetP, textP);
        }
        unetRate = prog.rate();
        return true;
    }

    /** One diffusion loss (batch mean) with its backward; returns its value. */
    float unetStep(AutoencoderKL vae, float sf, UNet2DConditionModel unet, ClipTextModel text, SplittableRandom rng) {
        int b = cfg.batch();
        long[] seeds = sceneSeeds(rng, b);
        List<String> captions = new ArrayList<>();
        Tensor[] imgs = new Tensor[b];
        for (int i = 0; i < b; i++) {
            Scene s = scenes.generate(seeds[i]);
            imgs[i] = Images.toTensor(s.image());
            captions.add(rng.nextDouble() < COND_DROPOUT ? "" : s.caption());
        }
        Tensor z;
        try (var g = Tape.noGrad()) {
            Posterior post = vae.encode(f, ops.concat(imgs, 0));
            z = f.scale(post.sample(f, gaussian(post.mean().shape(), rng)), sf);
        }
        Tensor ctx = text.forward(f, tokenizer.inputIds(captions));
        Tensor total = null;
        for (int i = 0; i < b; i++) {
            int t = rng.nextInt(schedule.config().numTrainTimesteps());
            Tensor eps = gaussian(new int[]{1, z.dim(1), z.dim(2), z.dim(3)}, rng);
            Tensor x0 = ops.slice(z, 0, i, i + 1);
            float a = schedule.alphaCumprod(t);
            Tensor noisy = ops.add(ops.affine(x0, (float) Math.sqrt(a), 0f), ops.affine(eps, (float) Math.sqrt(1f - a), 0f));
            Tensor pred = unet.forward(f, noisy, (float) t, f.slice(ctx, 0, i, i + 1), -1).out();
            Tensor l = f.mseLoss(pred, eps);
            total = total == null ? l : f.add(total, l);
        }
        Tensor loss = f.scale(total, 1f / b);
        float v = loss.item();
        Tape.backward(loss);
        return v;
    }

    // ------------------------------------------------------------------ data and randomness

    /** The generator of step {@code step} of stage {@code stage} (0 VAE, 1 UNet, 2 scaling factor). */
    SplittableRandom rng(int stage, int step) {
        long h = cfg.seed() * 0x9E3779B97F4A7C15L + stage * 0xBF58476D1CE4E5B9L + step * 0x94D049BB133111EBL;
        return new SplittableRandom(h);
    }

    static long[] sceneSeeds(SplittableRandom rng, int n) {
        long[] s = new long[n];
        for (int i = 0; i < n; i++) s[i] = rng.nextLong();
        return s;
    }

    /** Seeds of the held-out scenes: their own stream, never drawn by the training steps' generators. */
    long[] heldOutSeeds(int n) {
        return sceneSeeds(new SplittableRandom(cfg.seed() ^ HELD_OUT_STREAM), n);
    }

    Tensor images(long[] seeds) {
        Tensor[] xs = new Tensor[seeds.length];
        for (int i = 0; i < seeds.length; i++) xs[i] = Images.toTensor(scenes.generate(seeds[i]).image());
        return xs.length == 1 ? xs[0] : CpuOps.INSTANCE.concat(xs, 0);
    }

    static Tensor gaussian(int[] shape, SplittableRandom rng) {
        float[] z = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < z.length; i++) z[i] = (float) rng.nextGaussian();
        return Tensor.of(z, shape);
    }

    // ------------------------------------------------------------------ checkpoints

    private void saveCheckpoint(String stage, int step, float sf, AdamState vaeOpt, AdamState unetOpt,
                                TrainableParams vae, TrainableParams unet, TrainableParams text) throws IOException {
        Path dir = checkpointDir();
        Files.createDirectories(dir);
        Map<String, Tensor> t = new LinkedHashMap<>(AdamState.prefixed(vae.params(), "vae/"));
        if (vaeOpt != null) vaeOpt.saveTo(t, "vae.adam/");
        if (unet != null) {
            t.putAll(AdamState.prefixed(unet.params(), "unet/"));
            t.putAll(AdamState.prefixed(text.params(), "text_encoder/"));
            unetOpt.saveTo(t, "unet.adam/");
        }
        SafeTensors.write(dir.resolve("state.safetensors"), t, Map.of("format", "pt", "stage", stage, "step", Integer.toString(step)));
        ObjectNode o = json.createObjectNode();
        o.put("stage", stage);
        o.put("step", step);
        o.put("adam_step", vaeOpt != null ? vaeOpt.steps() : unetOpt.steps());
        if (!Float.isNaN(sf)) o.put("scaling_factor", sf);
        if (!Double.isNaN(vaeRate)) o.put("vae_steps_per_s", vaeRate);
        ObjectNode r = o.putObject("rng");
        r.put("kind", "counter-based SplittableRandom(mix(seed, stage, step)); the next step's draws need only these");
        r.put("seed", cfg.seed());
        r.put("stage", stage.equals("vae") ? 0 : 1);
        r.put("next_step", step + 1);
        o.set("config", configJson());
        ArrayNode vl = o.putArray("vae_losses");
        for (float v : vaeLosses) vl.add(v);
        ArrayNode ul = o.putArray("unet_losses");
        for (float v : unetLosses) ul.add(v);
        // The weights first, then the JSON: a crash between the two leaves the previous JSON, which the new tensors
        // do not match only in step count; write the JSON atomically so it is never half-written.
        dev.dragedit.io.AtomicFiles.write(dir.resolve("state.json"), json.writerWithDefaultPrettyPrinter().writeValueAsBytes(o));
    }

    ObjectNode configJson() {
        ObjectNode c = json.createObjectNode();
        c.put("steps_vae", cfg.stepsVae());
        c.put("steps_unet", cfg.stepsUnet());
        c.put("batch", cfg.batch());
        c.put("size", cfg.size());
        c.put("seed", cfg.seed());
        c.put("lr_vae", Float.toString(cfg.lrVae()));
        c.put("lr_unet", Float.toString(cfg.lrUnet()));
        c.put("logvar_init", Float.toString(cfg.logvarInit()));
        c.put("object_weight", Float.toString(cfg.objectWeight()));
        c.put("cosine", cfg.cosine());
        if (cfg.initFrom() != null) c.put("init_from", cfg.initFrom().toAbsolutePath().normalize().toString());
        return c;
    }

    private void checkSameConfig(JsonNode saved) {
        ObjectNode now = configJson();
        if (saved == null || !saved.toString().equals(now.toString()))
            throw new IllegalArgumentException("--resume: the checkpoint was made with " + saved + " but this run asks for " + now
                    + "; resume with the same --steps-vae, --steps-unet, --batch, --size, --seed, learning rates, --logvar-init, --object-weight and --cosine");
    }

    /** The weights of a finished train-tiny (diffusers) folder under "vae/", "unet/", "text_encoder/". */
    static Map<String, Tensor> initWeights(Path dir) throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>();
        String[][] parts = {{"vae/", "vae/diffusion_pytorch_model.safetensors"}, {"unet/", "unet/diffusion_pytorch_model.safetensors"},
                {"text_encoder/", "text_encoder/model.safetensors"}};
        for (String[] p : parts) {
            Path f = dir.resolve(p[1]);
            if (!Files.isRegularFile(f)) throw new IllegalArgumentException("--init-from " + dir + ": no " + p[1] + " (expected a folder written by train-tiny)");
            for (var e : readAll(f).entrySet()) all.put(p[0] + e.getKey(), e.getValue());
        }
        return all;
    }

    private static Map<String, Tensor> readAll(Path file) throws IOException {
        SafeTensors st = SafeTensors.open(file);
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String k : st.names()) m.put(k, st.get(k).copy());
        return m;
    }

    private static Map<String, Tensor> sub(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var e : all.entrySet()) if (e.getKey().startsWith(prefix)) m.put(e.getKey().substring(prefix.length()), e.getValue());
        return m;
    }

    private static double sum(Tensor t) {
        double s = 0;
        for (float v : t.data()) s += v;
        return s;
    }

    static float[] floats(List<Float> l) {
        float[] a = new float[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i);
        return a;
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    // ------------------------------------------------------------------ progress

    /** Prints "stage step i/n  loss (mean of the last lines' steps)  steps/s  ETA" every logEvery steps. */
    private final class Progress {
        final String name;
        final int total, first;
        final long start = System.nanoTime();
        long windowStart = System.nanoTime();
        int windowSteps;
        double windowLoss;
        int counted;

        Progress(String name, int total, int done) {
            this.name = name;
            this.total = total;
            this.first = done;
        }

        void step(int step, float loss) {
            windowSteps++;
            counted++;
            windowLoss += loss;
            if (step % cfg.logEvery() != 0 && step != total) return;
            long now = System.nanoTime();
            double rate = windowSteps / ((now - windowStart) / 1e9);
            double eta = (total - step) / Math.max(rate(), 1e-9);
            log.printf(Locale.ROOT, "%-4s step %6d/%d  loss %.5f  %.2f steps/s  ETA %s%n", name, step, total,
                    windowLoss / windowSteps, rate, duration(eta));
            log.flush();
            windowStart = now;
            windowSteps = 0;
            windowLoss = 0;
        }

        double rate() { return counted / ((System.nanoTime() - start) / 1e9); }
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
