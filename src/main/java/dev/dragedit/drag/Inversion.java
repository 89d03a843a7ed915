package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.AutoencoderKL;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Deterministic DDIM inversion of a real image into the noisy latent z_t that DragDiffusion optimises: DragDiffusion
 * (ebe659a) drag_pipeline.py {@code DragPipeline.image2latent} and {@code DragPipeline.invert}, as utils/ui_utils.py
 * {@code run_drag} calls them (fixtures README "drag-loop / Algorithm", spec dragdiffusion.md §1.2):
 * <pre>
 * z0 = sf · VAE.encode(image).mean                            (image2latent: the posterior mean, no sampling; sf = 0.18215 for SD1.x)
 * set_timesteps(n); for k = 0 .. n_actual−1, t_k = reversed(timesteps)[k] = 1, 21, …:
 *     ε = UNet(z, t_k, c)                  (guidance 1: one pass; g &gt; 1: ε_u + g·(ε_c − ε_u) on the batch [z, z])
 *     z = inv_step(ε, t_k, z)              (DragPipeline.inv_step: from noise level t_k − T/n up to t_k)
 * invert_code = z, at noise level t = timesteps[n − n_actual] (681 for n = 50, strength 0.7)
 * </pre>
 * with n_actual = round(strength · n) (Python's round, halves to even). Everything runs without recording gradients.
 * The trajectory (z before each step, then invert_code) can be kept or streamed to a {@link Listener}.
 */
public final class Inversion {
    private Inversion() {}


    /** Called after each inversion step k (0-based) at timestep t with the latent it produced (on the model's device). */
    @FunctionalInterface
    public interface Listener {
        void step(int k, int t, Tensor latent);
    }

    /**
     * What {@link #invert} returns: invertCode = the latent at noise level {@code t}; {@code timesteps} the n_actual
     * timesteps inverted through (ascending); {@code latents} the trajectory — entry k the latent before step k, entry 0
     * = z0, the last = invertCode — or empty when it was not kept.
     */
    public record Result(Tensor invertCode, int t, int[] timesteps, List<Tensor> latents) {
        public Result {
            timesteps = timesteps.clone();
            latents = List.copyOf(latents);
        }

        @Override public int[] timesteps() { return timesteps.clone(); }
    }

    /** DragDiffusion's n_actual_inference_step = round(strength · n), Python's round (a half goes to the even integer). */
    public static int actualSteps(int numInferenceSteps, double strength) {
        if (numInferenceSteps < 1) throw new IllegalArgumentException("inversion: the number of DDIM steps " + numInferenceSteps + " must be at least 1");
        if (!(strength > 0 && strength <= 1))
            throw new IllegalArgumentException("inversion: strength " + strength + " must be in (0, 1] (the fraction of the DDIM steps inverted)");
        int k = (int) Math.rint(strength * numInferenceSteps);
        if (k < 1)
            throw new IllegalArgumentException("inversion: strength " + strength + " × " + numInferenceSteps
                    + " steps rounds to 0 inversion steps; raise --strength or --steps");
        return k;
    }

    /**
     * DragPipeline.image2latent: scaling_factor × the VAE posterior mean. DragDiffusion multiplies by the literal
     * 0.18215, SD1.x's VAE scaling_factor; the VAE config's factor is used here (that value for every SD1.x VAE), so a
     * VAE trained with another factor (the bundled tiny model) gets the latents its UNet was trained on. image is
     * [B, 3, H, W] in [−1, 1] (placed where the VAE lives); no gradients are recorded.
     */
    public static Tensor image2latent(Functional f, AutoencoderKL vae, Tensor image) {
        int[] s = image.shape();
        if (s.length != 4 || s[1] != vae.config.inChannels() || s[0] < 1)
            throw new IllegalArgumentException("image2latent: image has shape " + Arrays.toString(s) + ", expected [batch, "
                    + vae.config.inChannels() + ", height, width] in [-1, 1]");
        try (Tape.Scope g = Tape.noGrad()) {
            return f.scale(vae.encode(f, on(vae.placement(), image)).mean(), vae.scalingFactor());
        }
    }

    /**
     * DragPipeline.invert with guidance 1 (DragDiffusion's setting for real images): z0 [B, 4, h, w] and the text
     * embedding [B, 77, D] on the UNet's device. {@code scheduler} gets set_timesteps(numInferenceSteps), as in the
     * reference. {@code keepTrajectory} keeps every latent in the result; listener (may be null) sees each step.
     */
    public static Result invert(Functional f, UNet2DConditionModel unet, DdimScheduler scheduler, Tensor z0, Tensor textEmbeddings,
                                int numInferenceSteps, int actualSteps, boolean keepTrajectory, Listener listener) {
        return invert(f, unet, scheduler, z0, textEmbeddings, null, 1f, numInferenceSteps, actualSteps, keepTrajectory, listener);
    }

    /**
     * DragPipeline.invert with classifier-free guidance when guidanceScale &gt; 1: ε = ε_u + g·(ε_c − ε_u), the UNet run
     * on the batch [z, z] with context [uncond, cond] (the reference's order). The reference's own g &gt; 1 branch
     * cannot run (it reads an undefined {@code text_input}); this is what that branch means to compute, with the
     * unconditional embedding given by the caller. guidanceScale ≤ 1 runs one pass and ignores uncond.
     */
    public static Result invert(Functional f, UNet2DConditionModel unet, DdimScheduler scheduler, Tensor z0, Tensor textEmbeddings,
                                Tensor uncondEmbeddings, float guidanceScale, int numInferenceSteps, int actualSteps,
                                boolean keepTrajectory, Listener listener) {
        if (actualSteps < 1 || actualSteps > numInferenceSteps)
            throw new IllegalArgumentException("inversion: " + actualSteps + " inversion steps of " + numInferenceSteps
                    + " DDIM steps; expected 1.." + numInferenceSteps);
        int[] zs = z0.shape(), cs = textEmbeddings.shape();
        if (zs.length != 4 || zs[1] != unet.config.inChannels)
            throw new IllegalArgumentException("inversion: latent has shape " + Arrays.toString(zs) + ", expected [batch, "
                    + unet.config.inChannels + ", h, w]");
        if (cs.length != 3 || cs[0] != zs[0])
            throw new IllegalArgumentException("inversion: text embeddings have shape " + Arrays.toString(cs) + ", expected ["
                    + zs[0] + ", tokens, " + unet.config.crossAttentionDim + "] (one per latent)");
        boolean cfg = guidanceScale > 1f;
        if (cfg && (uncondEmbeddings == null || !Arrays.equals(uncondEmbeddings.shape(), cs)))
            throw new IllegalArgumentException("inversion: guidance " + guidanceScale + " needs unconditional embeddings of shape "
                    + Arrays.toString(cs) + (uncondEmbeddings == null ? "" : ", got " + Arrays.toString(uncondEmbeddings.shape())));

        scheduler.setTimesteps(numInferenceSteps);
        int[] desc = scheduler.timesteps();
        int[] ts = new int[actualSteps];
        for (int k = 0; k < actualSteps; k++) ts[k] = desc[desc.length - 1 - k]; // reversed(scheduler.timesteps)
        int t = desc[numInferenceSteps - actualSteps]; // = ts[actualSteps − 1], where run_drag's optimisation starts

        List<Tensor> trajectory = new ArrayList<>();
        try (Tape.Scope g = Tape.noGrad()) {
            Tensor z = on(unet.placement(), z0);
            Tensor ctx = on(unet.placement(), textEmbeddings);
            Tensor ctxBatch = cfg ? f.concat(0, on(unet.placement(), uncondEmbeddings), ctx) : ctx;
            if (keepTrajectory) trajectory.add(z);
            for (int k = 0; k < actualSteps; k++) {
                Tensor eps;
                if (cfg) {
                    Tensor both = unet.forward(f, f.concat(0, z, z), ts[k], ctxBatch).out();
                    Tensor eu = f.slice(both, 0, 0, zs[0]), ec = f.slice(both, 0, zs[0], 2 * zs[0]);
                    eps = f.add(eu, f.scale(f.sub(ec, eu), guidanceScale));
                } else {
                    eps = unet.forward(f, z, ts[k], ctx).out();
                }
                z = scheduler.invStep(f, eps, ts[k], z).prev();
                if (keepTrajectory) trajectory.add(z);
                if (listener != null) listener.step(k, ts[k], z);
            }
            return new Result(z, t, ts, trajectory);
        }
    }

    /** t where the model computes: CPU tensors are placed (Placement.input), device tensors come back to the CPU for a CPU model. */
    private static Tensor on(Placement pl, Tensor t) {
        return pl.input(!pl.onDevice() && t.onDevice() ? t.toCpu() : t);
    }
}
