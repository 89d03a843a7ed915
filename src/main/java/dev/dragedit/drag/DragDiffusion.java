package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole DragDiffusion edit of a real image, as utils/ui_utils.py run_drag (commit ebe659a) chains it with
 * utils/lora_utils.py train_lora and drag_pipeline.py: LoRA fit on the image and prompt ({@link LoraTrainer}), prompt
 * embedding (DragPipeline.get_text_embeddings), image2latent + DDIM inversion to t = timesteps[n − round(strength·n)]
 * ({@link Inversion}), the latent optimisation with motion supervision and point tracking (utils/drag_utils.py
 * drag_diffusion_update, {@link DragLoop}), the denoise of [z_ref; z_edit] with mutual self-attention
 * (DragPipeline.__call__ with MutualSelfAttentionControl, {@link Denoise}), and the VAE decode of the edited branch
 * (latent / scaling_factor — 0.18215 for SD1.x —, image = clamp(out / 2 + 0.5, 0, 1)).
 * <p>
 * run_drag works on images the UI has already brought to a size the UNet accepts; users give any size, so the image is
 * resized bilinearly (torch's align_corners=False) to the nearest multiple of the model's size factor (64 for SD:
 * the VAE's 8 times the UNet's 8), the clicked points and the mask follow it, and the decoded result is resized back.
 * The LoRA stays attached through the drag and the denoise (run_drag loads it into the UNet for both) and is detached
 * at the end, so the models can be reused.
 * <p>
 * A listener can stop the run ({@link Listener#stopRequested}): during the LoRA fit or the inversion the edit is
 * abandoned with {@link Cancelled} at the next step; during the drag the loop ends before its next iteration, as if
 * its iteration limit had been reached, and the denoise and decode still make the result ({@link Result#stopped}).
 */
public final class DragDiffusion {
    private DragDiffusion() {}

    /**
     * What to edit: the image, its clicked points {x, y} in the image's pixels in run_drag's order (handle 0, target 0,
     * handle 1, …), an optional mask (values 0..255 [H, W]; nonzero = may change; null = none), the prompt, and the
     * method's knobs (LoRA steps 0 = no LoRA, drag iterations, DDIM steps and inversion strength, seed), and the drag
     * loop's Adam learning rate lr, mask weight lam and the radii r_m (motion supervision) and r_p (point tracking).
     */
    public record Request(Images.Rgb image, double[][] pointsXy, Tensor mask, String prompt, int loraSteps, int dragSteps,
                          int inferenceSteps, double strength, long seed, double lr, double lam, int rM, int rP, double reach,
                          int[] featureIdx, double loraLr) {
        /** With DragDiffusion's features (unet_feature_idx [3] = up_blocks[2]'s output). */
        public Request(Images.Rgb image, double[][] pointsXy, Tensor mask, String prompt, int loraSteps, int dragSteps,
                       int inferenceSteps, double strength, long seed, double lr, double lam, int rM, int rP, double reach) {
            this(image, pointsXy, mask, prompt, loraSteps, dragSteps, inferenceSteps, strength, seed, lr, lam, rM, rP, reach, DEFAULTS.featureIdx(),
                    DEFAULT_LORA_LR);
        }

        /** With DragDiffusion's reach distance (2 supervision pixels: check_handle_reach_target). */
        public Request(Images.Rgb image, double[][] pointsXy, Tensor mask, String prompt, int loraSteps, int dragSteps,
                       int inferenceSteps, double strength, long seed, double lr, double lam, int rM, int rP) {
            this(image, pointsXy, mask, prompt, loraSteps, dragSteps, inferenceSteps, strength, seed, lr, lam, rM, rP, DEFAULTS.reachDistance());
        }

        /** With the drag loop's knobs at DragDiffusion's defaults ({@link DragConfig#defaults}: lr 0.01, lam 0.1, r_m 1, r_p 3). */
        public Request(Images.Rgb image, double[][] pointsXy, Tensor mask, String prompt, int loraSteps, int dragSteps,
                       int inferenceSteps, double strength, long seed) {
            this(image, pointsXy, mask, prompt, loraSteps, dragSteps, inferenceSteps, strength, seed,
                    DEFAULTS.lr(), DEFAULTS.lam(), DEFAULTS.rM(), DEFAULTS.rP());
        }

        public Request {
            checkKnobs(lr, lam, rM, rP);
            checkReach(reach);
            featureIdx = checkFeatureIdx(featureIdx);
            checkLoraLr(loraLr);
            if (pointsXy.length == 0 || pointsXy.length % 2 != 0)
                throw new IllegalArgumentException("edit: " + pointsXy.length + " points; expected pairs (handle, target), at least one");
            if (loraSteps < 0) throw new IllegalArgumentException("edit: LoRA steps " + loraSteps + " must be ≥ 0");
            if (dragSteps < 0) throw new IllegalArgumentException("edit: drag steps " + dragSteps + " must be ≥ 0");
            if (mask != null && (mask.dim(-2) != image.height() || mask.dim(-1) != image.width() || mask.numel() != image.height() * image.width()))
                throw new IllegalArgumentException("edit: the mask is " + mask.dim(-1) + "×" + mask.dim(-2) + " but the image is " + image.size());
            Inversion.actualSteps(inferenceSteps, strength); // validates steps and strength with its own message
        }

        /** This request with the drag loop's knobs replaced. */
        public Request withKnobs(double lr, double lam, int rM, int rP) {
            return new Request(image, pointsXy, mask, prompt, loraSteps, dragSteps, inferenceSteps, strength, seed, lr, lam, rM, rP, reach, featureIdx, loraLr);
        }

        /**
         * This request with another reach distance: a handle within {@code reach} supervision pixels of its target is
         * done (DragDiffusion: 2.0; at supervision resolution = half the image, that is 4 image pixels).
         */
        public Request withReach(double reach) {
            return new Request(image, pointsXy, mask, prompt, loraSteps, dragSteps, inferenceSteps, strength, seed, lr, lam, rM, rP, reach, featureIdx, loraLr);
        }

        /**
         * This request with other UNet features for motion supervision and point tracking (DragDiffusion's
         * unet_feature_idx: 0 = the mid block's output, k = up_blocks[k−1]'s; several are resized and concatenated).
         */
        public Request withFeatureIdx(int... featureIdx) {
            return new Request(image, pointsXy, mask, prompt, loraSteps, dragSteps, inferenceSteps, strength, seed, lr, lam, rM, rP, reach, featureIdx, loraLr);
        }

        @Override public int[] featureIdx() { return featureIdx.clone(); }

        /** This request with another learning rate of the LoRA fit (DragDiffusion's lora_lr, default 5e-4). */
        public Request withLoraLr(double loraLr) {
            return new Request(image, pointsXy, mask, prompt, loraSteps, dragSteps, inferenceSteps, strength, seed, lr, lam, rM, rP, reach, featureIdx, loraLr);
        }
    }

    /** The knobs' defaults (the image size does not affect them). */
    private static final DragConfig DEFAULTS = DragConfig.defaults(64, 64);

    /**
     * Checks the drag loop's knobs as the edit command and the viewer accept them: lr a finite number &gt; 0, lam a
     * finite number ≥ 0, r_m and r_p at least 1 (a radius 0 patch or search window is a single feature pixel, which
     * DragDiffusion never uses). The message names the knob, its value and what is expected.
     */
    public static void checkKnobs(double lr, double lam, int rM, int rP) {
        if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("edit: lr " + lr + " must be a finite number > 0 (the drag loop's Adam learning rate, default 0.01)");
        if (!(lam >= 0) || Double.isInfinite(lam)) throw new IllegalArgumentException("edit: lam " + lam + " must be a finite number ≥ 0 (the weight of the mask term, default 0.1)");
        if (rM < 1) throw new IllegalArgumentException("edit: r_m " + rM + " must be ≥ 1 (the motion-supervision radius in supervision pixels, default 1)");
        if (rP < 1) throw new IllegalArgumentException("edit: r_p " + rP + " must be ≥ 1 (the point-tracking radius in supervision pixels, default 3)");
    }

    /** The reach distance: a finite number &gt; 0 (supervision pixels). */
    public static void checkReach(double reach) {
        if (!(reach > 0) || Double.isInfinite(reach))
            throw new IllegalArgumentException("edit: reach " + reach + " must be a finite number > 0 (supervision pixels within which a handle has reached its target, default 2)");
    }

    /**
     * unet_feature_idx: at least one index, each ≥ 0 and none twice (whether the UNet has that many up blocks is checked
     * when the model is known). Returns a copy.
     */
    public static int[] checkFeatureIdx(int[] featureIdx) {
        if (featureIdx == null || featureIdx.length == 0)
            throw new IllegalArgumentException("edit: unet_feature_idx is empty; expected one or more of 0 (mid block), 1, 2, … (up_blocks[k−1]), default 3");
        if (featureIdx.length > 16)
            throw new IllegalArgumentException("edit: unet_feature_idx has " + featureIdx.length + " entries; expected at most 16");
        for (int i = 0; i < featureIdx.length; i++) {
            if (featureIdx[i] < 0)
                throw new IllegalArgumentException("edit: unet_feature_idx " + java.util.Arrays.toString(featureIdx) + ": " + featureIdx[i]
                        + " is negative; expected 0 (mid block) or k ≥ 1 (up_blocks[k−1])");
            for (int j = 0; j < i; j++)
                if (featureIdx[j] == featureIdx[i])
                    throw new IllegalArgumentException("edit: unet_feature_idx " + java.util.Arrays.toString(featureIdx) + " names " + featureIdx[i] + " twice");
        }
        return featureIdx.clone();
    }

    /** DragDiffusion's lora_lr. */
    public static final double DEFAULT_LORA_LR = 5e-4;

    /** lora_lr: a finite number &gt; 0 and at most 1. */
    public static void checkLoraLr(double loraLr) {
        if (!(loraLr > 0 && loraLr <= 1))
            throw new IllegalArgumentException("edit: lora_lr " + loraLr + " must be a number in (0, 1] (the LoRA fit's AdamW learning rate, default 5e-4)");
    }

    /** The run was stopped by its listener before the drag started (during the LoRA fit or the inversion): there is no result. */
    public static final class Cancelled extends RuntimeException {
        public Cancelled(String phase) { super("edit: stopped during " + phase + "; no result"); }
    }

    /** Progress: phase start/end and each drag iteration. Callbacks run on the caller's thread. */
    public interface Listener {
        /**
         * Polled at every LoRA step, inversion step and before every drag iteration: true stops the run (see the
         * class comment). Called from the run's thread; implementations read a flag another thread sets.
         */
        default boolean stopRequested() { return false; }

        default void phase(String name, String detail) {}
        default void loraStep(int step, int steps, float loss) {}
        default void iteration(DragIteration it, double maxDistance) {}

        /** Whether to make {@link #preview}s (each costs a whole UNet pass, if the drag would skip it, and a VAE decode). */
        default boolean wantsPreviews() { return false; }

        /**
         * Drag iteration {@code index}'s preview, {@link #PREVIEW}: at the input image's size, with the tracked handles
         * {x, y} in its pixels ({@link #toImageXy}).
         */
        default void preview(int index, double[][] handlesXy, Images.Rgb frame) {}

        /**
         * Whether {@link #prediction} should be called: the raw pred_x0 latent each drag iteration, for a listener that
         * makes its own (cheaper, or on-device) picture of it instead of {@link #preview}'s VAE decode. Like previews,
         * asking makes every iteration run the whole UNet.
         */
        default boolean wantsPredictions() { return false; }

        /**
         * The input image's latent z0 = image2latent(image) at the working size [1, 4, h/8, w/8] (on the model's device),
         * once, before the inversion; only when {@link #wantsPredictions}. A latent-to-RGB preview is fitted on it.
         */
        default void encoded(Tensor z0) {}

        /**
         * Drag iteration {@code index}'s pred_x0 (on the model's device, off the tape; read, do not modify) with the
         * tracked handles {x, y} in the input image's pixels; {@link #decodePreview} turns it into {@link #preview}'s picture.
         */
        default void prediction(int index, double[][] handlesXy, Tensor predX0) {}
    }

    /**
     * The VAE decode of a pred_x0 latent as a picture of h0 × w0 (the input size): what {@link Listener#preview}
     * shows ({@link #PREVIEW}).
     */
    public static Images.Rgb decodePreview(StableDiffusion sd, Tensor predX0, int h0, int w0) {
        Functional f = sd.functional();
        Tensor px;
        try (Tape.Scope g = Tape.noGrad()) {
            px = sd.vae.decode(f, f.scale(predX0, 1f / sd.vae.scalingFactor())).toCpu();
        }
        if (px.dim(2) != h0 || px.dim(3) != w0) px = CpuOps.INSTANCE.resizeBilinear(px, h0, w0);
        return Images.toPixels(px, true);
    }

    /** What a preview shows (named in sidecars). */
    public static final String PREVIEW = "VAE decode of pred_x0 = (z_t − √(1−ᾱ_t)·ε(z_t))/√ᾱ_t at each drag iteration's latent, resized to the input size";

    /**
     * A supervision-grid point (row, col) as {x, y} in the pixels of an image of h × w: the inverse of run_drag's
     * (row, col) = round(y / h · sup_h, x / w · sup_w), without the rounding.
     */
    public static double[] toImageXy(DragPoint p, int supH, int supW, int h, int w) {
        return new double[]{p.col() * w / supW, p.row() * h / supH};
    }

    /**
     * The edited image (input size), the size worked at, the supervision resolution, the inversion timestep, the
     * targets and the final handles (supervision (row, col)), the drag iterations run and whether every handle
     * reached its target, each iteration's record, the LoRA losses, the seconds per phase (insertion order), and
     * whether the listener stopped the drag early (the iterations run are then fewer than asked for).
     */
    public record Result(Images.Rgb image, int workH, int workW, int supH, int supW, int t, List<DragPoint> targets,
                         List<DragPoint> handles, int iterations, boolean reached, List<DragIteration> trace,
                         List<Float> loraLosses, Map<String, Double> phaseSeconds, boolean stopped) {
        /** |handle − target| per pair, in supervision pixels. */
        public double[] distances() {
            double[] d = new double[handles.size()];
            for (int k = 0; k < d.length; k++) d[k] = handles.get(k).distance(targets.get(k));
            return d;
        }
    }

    /** The size factor the model needs: the VAE's downsampling times the UNet's. */
    public static int sizeFactor(StableDiffusion sd) {
        return (1 << (sd.vae.config.blockOutChannels().length - 1)) * (1 << (sd.unet.config.numBlocks() - 1));
    }

    /** n to the nearest positive multiple of factor. */
    static int roundTo(int n, int factor) {
        return Math.max(factor, (int) Math.round((double) n / factor) * factor);
    }

    public static Result run(StableDiffusion sd, Request req, Listener listener) {
        if (listener == null) listener = new Listener() {};
        Map<String, Double> times = new LinkedHashMap<>();
        Functional f = sd.functional();
        int h0 = req.image().height(), w0 = req.image().width();
        int factor = sizeFactor(sd);
        int h = roundTo(h0, factor), w = roundTo(w0, factor);

        // The image at the working size (CPU), the points scaled with it; run_drag's points are in the pixels of the
        // image the pipeline sees.
        Tensor img = Images.toTensor(req.image());
        if (h != h0 || w != w0) img = CpuOps.INSTANCE.resizeBilinear(img, h, w);
        double[][] xy = new double[req.pointsXy().length][];
        for (int i = 0; i < xy.length; i++) xy[i] = new double[]{req.pointsXy()[i][0] * w / w0, req.pointsXy()[i][1] * h / h0};
        DragConfig d = DragConfig.defaults(h, w);
        int ups = sd.unet.config.blockOutChannels.length;
        for (int k : req.featureIdx())
            if (k > ups) throw new IllegalArgumentException("edit: unet_feature_idx " + java.util.Arrays.toString(req.featureIdx()) + ": " + k
                    + " does not exist; this UNet has " + ups + " up blocks (0 = mid block, 1.." + ups + " = up_blocks[0.." + (ups - 1) + "])");
        DragConfig cfg = new DragConfig(d.supResH(), d.supResW(), req.rM(), req.rP(), req.lam(), req.lr(), req.dragSteps(),
                req.featureIdx(), req.reach());
        List<List<DragPoint>> ht = DragInputs.handlesAndTargets(xy, h, w, cfg.supResH(), cfg.supResW());
        // A click in the last pixel row or column rounds (half to even) to sup_res, one past the grid, where
        // drag_diffusion_update would index out of bounds: such points are clamped to the grid's edge.
        for (List<DragPoint> ps : ht)
            ps.replaceAll(q -> new DragPoint(Math.min(q.row(), cfg.supResH() - 1), Math.min(q.col(), cfg.supResW() - 1)));

        long t0 = System.nanoTime();
        Tensor text;
        try (Tape.Scope g = Tape.noGrad()) {
            text = sd.encodePrompts(f, List.of(req.prompt())).toCpu();
        }
        times.put("text", secs(t0));

        // DragDiffusion's pipeline always uses DDIMScheduler(0.00085, 0.012, scaled_linear, steps_offset 1), whatever
        // the folder's scheduler says (run_drag builds it by hand).
        DdimScheduler scheduler = DdimScheduler.sd15();
        Lora lora = null;
        List<Float> loraLosses = new ArrayList<>();
        try {
            if (req.loraSteps() > 0) {
                if (listener.stopRequested()) throw new Cancelled("lora");
                listener.phase("lora", req.loraSteps() + " steps");
                long tl = System.nanoTime();
                Listener l = listener;
                lora = LoraTrainer.train(sd.unet, sd.vae, scheduler, img, text,
                        LoraTrainer.Config.defaults().withSteps(req.loraSteps()).withSeed(req.seed()).withLr((float) req.loraLr()),
                        (step, steps, loss) -> {
                            loraLosses.add(loss);
                            l.loraStep(step, steps, loss);
                            // LoraTrainer detaches its adapters when this throws, so the UNet is left as it was.
                            if (l.stopRequested()) throw new Cancelled("lora");
                        });
                times.put("lora", secs(tl));
            }

            int actual = Inversion.actualSteps(req.inferenceSteps(), req.strength());
            if (listener.stopRequested()) throw new Cancelled("inversion");
            listener.phase("inversion", actual + " of " + req.inferenceSteps() + " DDIM steps");
            long ti = System.nanoTime();
            Tensor z0 = Inversion.image2latent(f, sd.vae, img);
            if (listener.wantsPredictions()) listener.encoded(z0);
            Listener li = listener;
            Inversion.Result inv = Inversion.invert(f, sd.unet, scheduler, z0, sd.placement().input(text), req.inferenceSteps(), actual, false,
                    (k, t, latent) -> { if (li.stopRequested()) throw new Cancelled("inversion"); });
            times.put("inversion", secs(ti));

            Tensor interp = null;
            if (req.mask() != null) {
                // run_drag: binarise, nearest to the supervision size; drag_diffusion_update: nearest to the latent size.
                Tensor m = DragInputs.binarize(req.mask());
                if (h != h0 || w != w0) m = DragInputs.resizeNearest(m, h, w);
                Tensor sup = DragInputs.resizeNearest(m, cfg.supResH(), cfg.supResW());
                interp = DragInputs.resizeNearest(sup, z0.dim(2), z0.dim(3));
            }
            listener.phase("drag", "up to " + cfg.maxIterations() + " iterations at t = " + inv.t() + ", supervision " + cfg.supResW() + "×" + cfg.supResH());
            long td = System.nanoTime();
            List<DragIteration> trace = new ArrayList<>();
            Listener l = listener;
            List<DragPoint> targets = ht.get(1);
            scheduler.setTimesteps(req.inferenceSteps());
            DragLoop.Result drag = new DragLoop(sd.unet, scheduler, cfg).run(inv.invertCode(), text, inv.t(), ht.get(0), targets, interp,
                    new DragListener() {
                        @Override public void onIteration(DragIteration it, Tensor latent) {
                            trace.add(it);
                            double max = 0;
                            for (int k = 0; k < targets.size(); k++) max = Math.max(max, it.handles().get(k).distance(targets.get(k)));
                            l.iteration(it, max);
                        }

                        @Override public boolean wantsPrediction() { return l.wantsPreviews() || l.wantsPredictions(); }

                        @Override public boolean stopRequested() { return l.stopRequested(); }

                        @Override public void onPrediction(int index, List<DragPoint> handles, Tensor predX0) {
                            double[][] xy = new double[handles.size()][];
                            for (int k = 0; k < xy.length; k++) xy[k] = toImageXy(handles.get(k), cfg.supResH(), cfg.supResW(), h0, w0);
                            if (l.wantsPredictions()) l.prediction(index, xy, predX0);
                            if (l.wantsPreviews()) l.preview(index, xy, decodePreview(sd, predX0, h0, w0));
                        }
                    });
            times.put("drag", secs(td));

            listener.phase("denoise", actual + " DDIM steps of [z_ref; z_edit] with mutual self-attention");
            long tn = System.nanoTime();
            Denoise.Result den = Denoise.run(sd.unet, scheduler, inv.invertCode(), drag.latent(), text, req.inferenceSteps(), actual,
                    MutualSelfAttention.dragDiffusionDefaults(sd.unet), null);
            times.put("denoise", secs(tn));

            listener.phase("decode", "VAE decode, " + w + "×" + h + (h != h0 || w != w0 ? " → " + w0 + "×" + h0 : ""));
            long tv = System.nanoTime();
            Tensor out;
            try (Tape.Scope g = Tape.noGrad()) {
                out = sd.vae.decode(f, f.scale(den.edited(), 1f / sd.vae.scalingFactor())).toCpu();
            }
            if (h != h0 || w != w0) out = CpuOps.INSTANCE.resizeBilinear(out, h0, w0);
            Images.Rgb pixels = Images.toPixels(out, true); // clamp(out/2 + 0.5, 0, 1)·255, astype(uint8)
            times.put("decode", secs(tv));
            return new Result(pixels, h, w, cfg.supResH(), cfg.supResW(), inv.t(), List.copyOf(targets), drag.handles(),
                    drag.iterations(), drag.reached(), List.copyOf(trace), List.copyOf(loraLosses), times, drag.stopped());
        } finally {
            if (lora != null) lora.detach();
        }
    }

    private static double secs(long start) { return (System.nanoTime() - start) / 1e9; }
}
