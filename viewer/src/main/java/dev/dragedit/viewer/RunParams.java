package dev.dragedit.viewer;

import dev.dragedit.drag.DragDiffusion;
import dev.dragedit.drag.Images;
import dev.dragedit.eval.EvalCommand;
import dev.dragedit.tensor.Tensor;

/**
 * The knobs of one viewer drag, as the panel shows them: prompt, seed, drag iterations (steps), the drag loop's
 * learning rate, mask weight λ and radii r_m / r_p, inversion strength, LoRA steps and DDIM steps. The same knobs as
 * {@code dragedit edit}'s options, so that a saved sidecar replays the viewer's edit. The viewer defaults to 20 LoRA
 * steps instead of DragDiffusion's 80 so that a first drag starts quickly; everything else is DragDiffusion's default
 * ({@link #defaults}), except on the demo's synthetic scene ({@link #forSyntheticScene}).
 */
public record RunParams(String prompt, long seed, int steps /* drag iterations */, double lr, double lam, int rM, int rP,
                        double strength, int loraSteps, int inferenceSteps, int[] featureIdx, double loraLr,
                        double reach) {

    /** With DragDiffusion's UNet features (unet_feature_idx [3]) and LoRA learning rate (5e-4). */
    public RunParams(String prompt, long seed, int steps, double lr, double lam, int rM, int rP, double strength, int loraSteps, int inferenceSteps) {
        this(prompt, seed, steps, lr, lam, rM, rP, strength, loraSteps, inferenceSteps, new int[]{3});
    }

    /** With DragDiffusion's reach distance (2 supervision pixels). */
    public RunParams(String prompt, long seed, int steps, double lr, double lam, int rM, int rP, double strength, int loraSteps, int inferenceSteps,
                     int[] featureIdx, double loraLr) {
        this(prompt, seed, steps, lr, lam, rM, rP, strength, loraSteps, inferenceSteps, featureIdx, loraLr, 2.0);
    }

    /** With DragDiffusion's LoRA learning rate (5e-4). */
    public RunParams(String prompt, long seed, int steps, double lr, double lam, int rM, int rP, double strength, int loraSteps, int inferenceSteps,
                     int[] featureIdx) {
        this(prompt, seed, steps, lr, lam, rM, rP, strength, loraSteps, inferenceSteps, featureIdx, DragDiffusion.DEFAULT_LORA_LR);
    }

    public RunParams {
        featureIdx = featureIdx == null ? new int[]{3} : featureIdx.clone();
    }

    @Override public int[] featureIdx() { return featureIdx.clone(); }

    /** The features as the edit command's --feature-idx writes them, e.g. "2,3". */
    public String featureIdxText() {
        return java.util.Arrays.stream(featureIdx).mapToObj(Integer::toString).collect(java.util.stream.Collectors.joining(","));
    }

    /** "2,3" → {2, 3}; IllegalArgumentException naming the field when it is not a comma-separated list of whole numbers. */
    public static int[] parseFeatureIdx(String text) {
        String[] parts = text.trim().split("\\s*,\\s*");
        int[] k = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                k[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("features '" + text + "': expected whole numbers separated by commas, e.g. 3 or 2,3 (0 = mid block, k = up_blocks[k-1])");
            }
        }
        return k;
    }

    public static RunParams defaults() {
        return new RunParams("", 42, 80, 0.01, 0.1, 1, 3, 0.7, 20, 50);
    }

    /**
     * The knobs for a synthetic scene on the bundled model (the viewer with no image, the demo): those of {@code dragedit
     * eval --suite synthetic} and {@code dragedit demo}, which differ from DragDiffusion's for 64² images and 20 LoRA
     * steps: drag lr 0.02, up to 160 iterations, LoRA lr 2e-3, reach 1 (models/tiny/README.md). The seed is the scene's.
     */
    public static RunParams forSyntheticScene(String caption, long sceneSeed) {
        RunParams d = defaults();
        return new RunParams(caption, sceneSeed, EvalCommand.SYNTHETIC_STEPS, EvalCommand.SYNTHETIC_LR, d.lam(), d.rM(), d.rP(),
                d.strength(), d.loraSteps(), d.inferenceSteps(), d.featureIdx(), EvalCommand.SYNTHETIC_LORA_LR, EvalCommand.SYNTHETIC_REACH);
    }

    /**
     * The engine request for an image, its clicked points (handle, target, … in image pixels) and an optional mask
     * (255 = may change, 0 = keep; h·w values). Throws IllegalArgumentException with a message naming the bad knob.
     */
    public DragDiffusion.Request toRequest(Images.Rgb image, double[][] pointsXy, float[] mask255OrNull) {
        if (prompt == null) throw new IllegalArgumentException("prompt is null; expected text (may be empty)");
        if (steps < 0) throw new IllegalArgumentException("steps " + steps + ": expected a whole number ≥ 0 (drag iterations)");
        if (loraSteps < 0) throw new IllegalArgumentException("LoRA steps " + loraSteps + ": expected a whole number ≥ 0");
        DragDiffusion.checkLoraLr(loraLr);
        DragDiffusion.checkReach(reach);
        if (inferenceSteps > 1000) throw new IllegalArgumentException("DDIM steps " + inferenceSteps + ": at most 1000 (the scheduler's training timesteps)");
        Tensor mask = null;
        if (mask255OrNull != null) {
            if (mask255OrNull.length != image.height() * image.width())
                throw new IllegalArgumentException("the mask has " + mask255OrNull.length + " values; expected " + image.height() + "×" + image.width());
            mask = Tensor.of(mask255OrNull.clone(), image.height(), image.width());
        }
        return new DragDiffusion.Request(image, pointsXy, mask, prompt, loraSteps, steps, inferenceSteps, strength, seed, lr, lam, rM, rP)
                .withFeatureIdx(featureIdx).withLoraLr(loraLr).withReach(reach);
    }
}
