package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

/**
 * The final denoise of DragDiffusion (drag_pipeline.py {@code DragPipeline.__call__} as run_drag calls it): the batch
 * [z_ref; z_edit] — the inverted latent and the optimised one, both at the inversion timestep — is sampled with
 * diffusers' DDIMScheduler.step (η = 0) over the last n_actual of n_inference timesteps (35 of 50 by default:
 * 681, 661, …, 1), one UNet pass per step with the prompt's embedding for both branches (guidance 1: real-image
 * editing uses no classifier-free guidance), while a {@link MutualSelfAttention} editor (if given) makes the edited
 * branch's self-attention read the reference branch's keys and values. Returns the final latents; branch 1 is the
 * edit (DragDiffusion decodes it with the VAE). Runs without recording gradients; LoRA hooks on the UNet stay active.
 */
public final class Denoise {
    private Denoise() {}

    /** The latents after the last step: all branches [2, C, h, w], and the edited branch [1, C, h, w]. */
    public record Result(Tensor latents, Tensor edited) {}

    /** Receives each finished step: 0-based index among the steps run, their count, the timestep, the new latents. */
    @FunctionalInterface
    public interface Listener {
        void step(int index, int count, int timestep, Tensor latents);
    }

    /**
     * zRef and zEdit [1, C, h, w] at timestep timesteps[n_inference − n_actual] (CPU tensors or tensors already where
     * the UNet computes), textEmbedding [1, tokens, D] (or [2, …] to give each branch its own). editor may be null
     * (plain attention: then both branches denoise independently); listener may be null.
     */
    public static Result run(UNet2DConditionModel unet, DdimScheduler scheduler, Tensor zRef, Tensor zEdit, Tensor textEmbedding,
                             int nInference, int nActual, MutualSelfAttention editor, Listener listener) {
        if (!Arrays.equals(zRef.shape(), zEdit.shape()) || zRef.rank() != 4 || zRef.dim(0) != 1)
            throw new IllegalArgumentException("denoise: reference latent " + Arrays.toString(zRef.shape()) + " and edited latent "
                    + Arrays.toString(zEdit.shape()) + " must both be [1, C, h, w]");
        if (nActual < 1 || nActual > nInference)
            throw new IllegalArgumentException("denoise: " + nActual + " actual steps of " + nInference + "; expected 1.." + nInference);
        int tb = textEmbedding.rank() == 3 ? textEmbedding.dim(0) : -1;
        if (tb != 1 && tb != 2)
            throw new IllegalArgumentException("denoise: text embedding has shape " + Arrays.toString(textEmbedding.shape())
                    + ", expected [1 or 2, tokens, dim]");
        Placement pl = unet.placement();
        Functional f = new Functional(pl.ops());
        scheduler.setTimesteps(nInference);
        int[] ts = scheduler.timesteps();
        int skip = nInference - nActual;
        if (editor != null) editor.register(unet);
        try (var g = Tape.noGrad()) {
            Tensor ctx = place(pl, textEmbedding);
            if (tb == 1) ctx = f.concat(0, ctx, ctx);
            Tensor latents = f.concat(0, place(pl, zRef), place(pl, zEdit));
            for (int i = skip; i < nInference; i++) {
                Tensor eps = unet.forward(f, latents, (float) ts[i], ctx).out();
                latents = scheduler.step(f, eps, ts[i], latents).prev();
                if (listener != null) listener.step(i - skip, nActual, ts[i], latents);
            }
            return new Result(latents, f.slice(latents, 0, 1, 2));
        } finally {
            if (editor != null) editor.unregister();
        }
    }

    /** DragDiffusion's defaults: 50 inference steps of which the last 35 run (inversion strength 0.7), run_drag's editor. */
    public static Result run(UNet2DConditionModel unet, DdimScheduler scheduler, Tensor zRef, Tensor zEdit, Tensor textEmbedding) {
        return run(unet, scheduler, zRef, zEdit, textEmbedding, 50, 35, MutualSelfAttention.dragDiffusionDefaults(unet), null);
    }

    private static Tensor place(Placement pl, Tensor t) {
        return t.onDevice() == pl.onDevice() ? t : pl.input(t);
    }
}
