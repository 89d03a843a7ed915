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

    /** Whether {@link DragIteration#tensors()} should be filled (copies cost time and memory on large models). */
    default boolean wantsTensors() { return false; }

    DragListener NONE = (it, latent) -> {};
}
