package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.AutoencoderKL;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.Posterior;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.ops.AdamParams;
import dev.dragedit.optim.Adam;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fits a {@link Lora} to one image: DragDiffusion's utils/lora_utils.py {@code train_lora}. Every step draws a batch
 * of the same image's latent, latent_dist.sample()·scaling_factor, adds DDPM noise at a random training timestep per
 * sample (x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε, DDPMScheduler.add_noise with the model's schedule), predicts ε with the UNet
 * conditioned on the prompt's embedding, and takes one AdamW step on MSE(ε̂, ε) (mean over the batch) — only the
 * adapters require a gradient, the UNet, VAE and text encoder stay frozen. Defaults (§1.1 of the spec): rank 16,
 * 80 steps, batch 4, AdamW lr 5e-4, β (0.9, 0.999), weight decay 1e-2, eps 1e-8, constant rate, seed 0.
 * <p>
 * Differences from the reference, and why they do not change what is computed: the image is encoded once (the VAE is
 * frozen and the image is the same every step; only the posterior sample is redrawn); the reference's
 * Resize(512)+RandomCrop(512) is the identity for the 512×512 images it gets, and here the whole (multiple-of-8)
 * image is used; the samples of a batch go through the UNet one at a time because the UNet takes one timestep per
 * call (the UNet treats batch elements independently, so the mean of the per-sample losses is the batch loss);
 * everything runs in F32 (the reference uses fp16 autocast); random numbers come from Java's generator, not torch's.
 */
public final class LoraTrainer {
    private LoraTrainer() {}

    /** The hyperparameters of train_lora; every field overridable. */
    public record Config(int rank, Float alpha, int steps, int batchSize, float lr, float weightDecay, long seed) {
        public Config {
            if (rank < 1) throw new IllegalArgumentException("LoRA: rank " + rank + " must be at least 1");
            if (steps < 0) throw new IllegalArgumentException("LoRA: steps " + steps + " must be ≥ 0");
            if (batchSize < 1) throw new IllegalArgumentException("LoRA: batch size " + batchSize + " must be at least 1");
            if (!(lr >= 0f)) throw new IllegalArgumentException("LoRA: learning rate " + lr + " must be ≥ 0");
            if (!(weightDecay >= 0f)) throw new IllegalArgumentException("LoRA: weight decay " + weightDecay + " must be ≥ 0");
        }

        /** DragDiffusion's defaults: rank 16, no alpha, 80 steps, batch 4, lr 5e-4, weight decay 1e-2, seed 0. */
        public static Config defaults() { return new Config(16, null, 80, 4, 5e-4f, 1e-2f, 0L); }

        public Config withSteps(int n) { return new Config(rank, alpha, n, batchSize, lr, weightDecay, seed); }
        public Config withBatchSize(int n) { return new Config(rank, alpha, steps, n, lr, weightDecay, seed); }
        public Config withRank(int r) { return new Config(r, alpha, steps, batchSize, lr, weightDecay, seed); }
        public Config withLr(float v) { return new Config(rank, alpha, steps, batchSize, v, weightDecay, seed); }
        public Config withSeed(long s) { return new Config(rank, alpha, steps, batchSize, lr, weightDecay, s); }

        /** torch.optim.AdamW(lr, betas=(0.9, 0.999), weight_decay, eps=1e-8). */
        public AdamParams adamW() { return AdamParams.adamW(lr, weightDecay); }
    }

    /** Receives each finished step (1-based) and its batch loss. */
    @FunctionalInterface
    public interface Listener {
        void step(int step, int steps, float loss);
    }

    /**
     * Trains fresh adapters on {@code image} ([1, 3, H, W] in [−1, 1], a CPU tensor; H and W multiples of 8·2^(UNet
     * blocks − 1) / 8, i.e. latent sizes the UNet accepts) with {@code textEmbedding} ([1, tokens, cross_attention_dim],
     * CPU) and returns them, attached to the UNet. {@code schedule} supplies ᾱ_t (the DDPM training schedule, which
     * DDIM shares). listener may be null.
     */
    public static Lora train(UNet2DConditionModel unet, AutoencoderKL vae, DdimScheduler schedule, Tensor image,
                             Tensor textEmbedding, Config cfg, Listener listener) {
        checkImage(image);
        Posterior post;
        try (var g = Tape.noGrad()) {
            post = vae.encode(vae.functional(), vae.placement().input(image));
        }
        return train(unet, post, vae.scalingFactor(), schedule, textEmbedding, cfg, listener);
    }

    /**
     * As {@link #train(UNet2DConditionModel, AutoencoderKL, DdimScheduler, Tensor, Tensor, Config, Listener)} from
     * the image's VAE posterior (already encoded, e.g. for the inversion; on any device) and the VAE's scaling factor.
     */
    public static Lora train(UNet2DConditionModel unet, Posterior post, float sf, DdimScheduler schedule,
                             Tensor textEmbedding, Config cfg, Listener listener) {
        Placement pl = unet.placement();
        if (pl.onDevice() && pl.dtype() != DType.F32)
            throw new IllegalArgumentException("LoRA training needs F32 weights (the optimiser keeps F32 parameters); the UNet is placed as " + pl);
        Tensor ctx = pl.input(textEmbedding);
        int T = schedule.config().numTrainTimesteps();

        Lora lora = Lora.create(unet, cfg.rank(), cfg.alpha(), cfg.seed());
        lora.attach();
        List<Tensor> params = lora.parameters();
        for (Tensor p : params) p.requiresGrad(true);
        Functional f = new Functional(pl.ops());
        Adam adamW = new Adam(pl.ops(), params, cfg.adamW());
        // One generator for the data (the training seed decides the adapters' init and the data alike, as set_seed(0) does).
        SplittableRandom rng = new SplittableRandom(cfg.seed() ^ 0x5DEECE66DL);
        try {
            for (int step = 1; step <= cfg.steps(); step++) {
                double lossSum = 0;
                for (int b = 0; b < cfg.batchSize(); b++) {
                    // Order of draws as in train_lora: posterior sample, noise, timestep.
                    Tensor x0 = sampleLatent(post, rng, sf);
                    Tensor eps = gaussian(x0.shape(), rng);
                    int t = rng.nextInt(T);
                    Tensor l = loss(f, unet, schedule, pl.input(x0), ctx, t, pl.input(eps));
                    lossSum += l.toCpu().item();
                    Tape.backward(cfg.batchSize() == 1 ? l : f.scale(l, 1f / cfg.batchSize()));
                }
                adamW.step();
                adamW.zeroGrad();
                if (listener != null) listener.step(step, cfg.steps(), (float) (lossSum / cfg.batchSize()));
            }
        } catch (RuntimeException e) {
            lora.detach();
            throw e;
        } finally {
            for (Tensor p : params) {
                p.requiresGrad(false);
                p.setGrad(null);
            }
        }
        return lora;
    }

    /**
     * MSE(UNet(√ᾱ_t·x0 + √(1−ᾱ_t)·ε, t, ctx), ε) for one sample (x0, ε on the UNet's placement, [1, C, h, w]):
     * the training objective, recorded for autograd when something requires a gradient.
     */
    public static Tensor loss(Functional f, UNet2DConditionModel unet, DdimScheduler schedule, Tensor x0, Tensor ctx, int t, Tensor eps) {
        float a = schedule.alphaCumprod(t);
        // add_noise: alphas_cumprod[t] ** 0.5 and (1 − alphas_cumprod[t]) ** 0.5 as float32 scalars.
        Tensor noisy = f.add(f.scale(x0, (float) Math.sqrt(a)), f.scale(eps, (float) Math.sqrt(1f - a)));
        Tensor pred = unet.forward(f, noisy, (float) t, ctx).out();
        return f.mseLoss(pred, eps);
    }

    /**
     * The objective's mean over a fixed evaluation set of (timestep, noise) pairs at latent x0 (CPU tensors, [1, C, h,
     * w]), without recording: to compare adapters (or none) on the same draws.
     */
    public static double evalLoss(UNet2DConditionModel unet, DdimScheduler schedule, Tensor x0, Tensor textEmbedding, int[] ts, Tensor[] noises) {
        if (ts.length != noises.length || ts.length == 0)
            throw new IllegalArgumentException("LoRA eval: " + ts.length + " timesteps and " + noises.length + " noises; expected the same positive count");
        Placement pl = unet.placement();
        Functional f = new Functional(pl.ops());
        double sum = 0;
        try (var g = Tape.noGrad()) {
            Tensor x = pl.input(x0), ctx = pl.input(textEmbedding);
            for (int i = 0; i < ts.length; i++) sum += loss(f, unet, schedule, x, ctx, ts[i], pl.input(noises[i])).toCpu().item();
        }
        return sum / ts.length;
    }

    /** latent_dist.sample() · scaling_factor, on the CPU. */
    private static Tensor sampleLatent(Posterior post, SplittableRandom rng, float sf) {
        Tensor mean = post.mean().toCpu(), std = post.std().toCpu();
        float[] md = mean.data(), sd = std.data(), z = new float[md.length];
        for (int i = 0; i < z.length; i++) z[i] = (md[i] + sd[i] * (float) rng.nextGaussian()) * sf;
        return Tensor.of(z, mean.shape());
    }

    /** N(0, 1) noise of the given shape (CPU). */
    public static Tensor gaussian(int[] shape, SplittableRandom rng) {
        float[] z = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < z.length; i++) z[i] = (float) rng.nextGaussian();
        return Tensor.of(z, shape);
    }

    private static void checkImage(Tensor image) {
        int[] s = image.shape();
        if (s.length != 4 || s[0] != 1 || s[1] != 3)
            throw new IllegalArgumentException("LoRA: image has shape " + Arrays.toString(s) + ", expected [1, 3, H, W] in [−1, 1]");
    }
}
