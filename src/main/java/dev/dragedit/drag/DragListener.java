package dev.dragedit.drag;

import dev.dragedit.tensor.Tensor;

import java.util.List;

/**
 * Receives the drag loop's progress (DragDiffusion prints the tracked points; the edit command's progress line, the
 * sidecar's per-iteration record, the video previews and drag-trace hang off this). Callbacks run on the loop's thread.
 */
public interface DragListener {
    /**
     * At iteration 0, when tensors are wanted: F0 (the resized features at the initial latent), x_prev_0 and the noise
     * prediction there (both null when the loop skipped the noise prediction). Not called when no iteration runs.
     */
    default void onStart(Tensor f0, Tensor xPrev0, Tensor unetOutput0) {}

    /** After each completed iteration (its Adam step done). {@code latent} is the current latent on the loop's device: read, do not modify. */
    void onIteration(DragIteration it, Tensor latent);

    /** When the loop stops because every handle is within reach (before that iteration's loss): the tracked handles. */
    default void onReached(int index, List<DragPoint> handles) {}

    /**
     * Whether {@link #onPrediction} should be called; asking makes every iteration run the whole UNet (the noise
     * prediction is otherwise skipped when there is no mask).
     */
    default boolean wantsPrediction() { return false; }

    /**
     * Each iteration, after point tracking and before its Adam step: the handles where tracking put them and the
     * clean-latent estimate pred_x0 = (z − √(1−ᾱ_t)·ε)/√ᾱ_t at the iteration's latent (DragPipeline.step's pred_x0),
     * off the tape, on the loop's device. Also called at the iteration where the loop stops on reaching the targets.
     */
    default void onPrediction(int index, List<DragPoint> handles, Tensor predX0) {}

    /** Whether {@link DragIteration#tensors()} should be filled (copies cost time and memory on large models). */
    default boolean wantsTensors() { return false; }

    /**
     * Asked before each iteration: true ends the loop there, as if the iteration limit had been reached (the result
     * is the latent after the iterations done so far, {@link DragLoop.Result#stopped} set). A viewer's Stop button
     * lands here, so it takes effect within one iteration and the edit still completes.
     */
    default boolean stopRequested() { return false; }

    DragListener NONE = (it, latent) -> {};
}
