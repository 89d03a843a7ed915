package dev.dragedit.viewer;

import dev.dragedit.drag.Images;

/**
 * One snapshot of a running drag that the UI thread reads ({@link DragRunner#latest()}): the phase ("text", "lora",
 * "inversion", "drag", "denoise", "decode", then "done", "stopped" or "failed"), the LoRA step or drag iteration
 * (1-based) and its limit, the loss (NaN when none), the newest preview picture (null when this frame brings none),
 * the tracked handles and each one's distance to its target in image pixels (null before the drag), the iterations
 * per second over the last few, the device and the memory in use, and a message (the phase's detail or the error).
 * Immutable once published: the worker makes a new frame for every change, so the UI never sees a half-updated one.
 */
public record RunFrame(String phase, int step, int steps, double loss, Images.Rgb preview, double[][] handlesXy,
                       double[][] distances, double itPerSec, String device, long memoryBytes, String message) {

    /** Whether the run has ended (successfully, stopped, or failed). */
    public boolean finished() {
        return phase.equals("done") || phase.equals("stopped") || phase.equals("failed");
    }
}
