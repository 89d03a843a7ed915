package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.cuda.ops.CudaOps;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.Unary;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The VAE posterior q(z | x) = N(mean, exp(logvar)): diffusers v0.24.0 {@code DiagonalGaussianDistribution}
 * (models/autoencoders/vae.py), deterministic = false. {@code mean} is channels 0..L−1 of quant_conv's moments and
 * {@code logvar} channels L..2L−1 clamped to [−30, 20] (done by {@link AutoencoderKL#posterior}); std = exp(logvar/2).
 * Both tensors live where the model computes. DragDiffusion uses {@link #mode()} (= mean) times the scaling factor as
 * the diffusion latent; {@link #sample} draws mean + std·n.
 */
public record Posterior(Tensor mean, Tensor logvar) {
    public Posterior {
        if (!Arrays.equals(mean.shape(), logvar.shape()))
            throw new IllegalArgumentException("Posterior: mean " + Arrays.toString(mean.shape()) + " and logvar "
                    + Arrays.toString(logvar.shape()) + " differ in shape");
    }

    /** The distribution's mode, its mean (diffusers' mode()). */
    public Tensor mode() { return mean; }

    /** exp(0.5·logvar), not recorded for autograd. */
    public Tensor std() { return ops().unary(Unary.EXP, ops().affine(logvar, 0.5f, 0f)); }

    /** exp(0.5·logvar) through f, so a gradient flows to logvar when it requires one. */
    public Tensor std(Functional f) { return f.unary(Unary.EXP, f.scale(logvar, 0.5f)); }

    /** exp(logvar), not recorded. */
    public Tensor var() { return ops().unary(Unary.EXP, logvar); }

    /**
     * mean + std·n with n ~ N(0, 1) drawn from rng, one value per element in NCHW order (diffusers draws with
     * randn_tensor from a torch.Generator; a Java generator cannot reproduce torch's stream, so the seed gives a
     * reproducible sample of the same distribution, not torch's numbers). Not recorded for autograd.
     */
    public Tensor sample(RandomGenerator rng) {
        float[] n = new float[mean.numel()];
        for (int i = 0; i < n.length; i++) n[i] = (float) rng.nextGaussian();
        return sample(new Functional(ops()), Tensor.of(n, mean.shape()));
    }

    /** mean + std·noise for a given noise tensor (CPU or on the model's device, the shape of mean), through f. */
    public Tensor sample(Functional f, Tensor noise) {
        if (!Arrays.equals(noise.shape(), mean.shape()))
            throw new IllegalArgumentException("Posterior.sample: noise has shape " + Arrays.toString(noise.shape())
                    + ", expected " + Arrays.toString(mean.shape()));
        if (mean.onDevice() && !noise.onDevice()) noise = noise.toDevice(mean.kernelDevice(), mean.dtype());
        else if (!mean.onDevice() && noise.onDevice()) noise = noise.toCpu().to(DType.F32);
        return f.add(mean, f.mul(std(f), noise));
    }

    /** The op set that computes on these tensors. */
    private Ops ops() { return mean.onDevice() ? CudaOps.INSTANCE : CpuOps.INSTANCE; }
}
