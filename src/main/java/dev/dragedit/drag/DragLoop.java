package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.StepResult;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.models.sd.UNetOutput;
import dev.dragedit.ops.AdamParams;
import dev.dragedit.optim.Adam;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * DragDiffusion's latent optimisation, utils/drag_utils.py drag_diffusion_update (commit ebe659a), with its helpers
 * forward_unet_features and DragPipeline.step (drag_pipeline.py):
 * <pre>
 * F0 = F(z_init); x_prev_0 = step(UNet(z_init, t), t, z_init)                      (no gradient)
 * z = z_init; Adam(z, lr)
 * for i in 0 .. n_pix_step−1:
 *     F1 = F(z); x_prev = step(UNet(z, t), t, z)
 *     if i ≠ 0: point tracking of every handle against F0 at the initial handles
 *     if every handle is within 2.0 of its target: stop
 *     loss = Σ_handles not yet within 2.0 of their target  motion term (MotionSupervision)
 *          + lam · Σ|(x_prev − x_prev_0)·(1 − interp_mask)|                          (only if the mask is not all 0)
 *     loss.backward() through the UNet to z; Adam step; zero the gradient
 * </pre>
 * F(z) = the chosen UNet features (DragDiffusion's unet_feature_idx: 0 = mid block, k = up_blocks[k−1]) each
 * resized bilinearly (align_corners false) to the supervision resolution, concatenated over channels. Without the
 * mask term (and without a listener asking for tensors) the UNet stops after the deepest up block the features need,
 * since the noise prediction is then unused. The mask term at iteration 0 is exactly 0 because x_prev is computed by
 * the same evaluation as x_prev_0 (both come from iteration 0's UNet pass), so |·| contributes no gradient there
 * (d|x|/dx = 0 at 0, as in PyTorch).
 * Adam is torch.optim.Adam (betas 0.9/0.999, eps 1e-8): optim/Adam, whose moments live where z is.
 * A listener may end the loop before any iteration ({@link DragListener#stopRequested}, the viewer's Stop): the result
 * is then exactly that of a loop whose n_pix_step was the number of iterations run.
 */
public final class DragLoop {
    private final UNet2DConditionModel unet;
    private final DdimScheduler scheduler;
    private final DragConfig config;
    private final Placement placement;
    private final Functional f;

    /**
     * The latent after the loop, the handles where tracking last put them, how many iterations ran, whether all
     * handles reached their targets, and whether the listener stopped the loop early ({@link DragListener#stopRequested}).
     */
    public record Result(Tensor latent, List<DragPoint> handles, int iterations, boolean reached, boolean stopped) {}

    /** scheduler must have had setTimesteps called (DragPipeline.step's previous timestep is t − T/n). */
    public DragLoop(UNet2DConditionModel unet, DdimScheduler scheduler, DragConfig config) {
        this.unet = unet;
        this.scheduler = scheduler;
        this.config = config;
        this.placement = unet.placement();
        // The latent and its Adam moments are F32 (the op set's fused Adam is F32 only); a 16-bit UNet placement
        // would need F32 master copies of z and casts around the UNet, which this loop does not do.
        if (placement.dtype() != DType.F32)
            throw new IllegalArgumentException("drag: the UNet is placed as " + placement + "; the drag loop needs F32 weights (16-bit is not supported yet)");
        this.f = new Functional(placement.ops());
        int ups = unet.config.blockOutChannels.length;
        for (int k : config.featureIdx())
            if (k > ups) throw new IllegalArgumentException("drag: unet_feature_idx " + k + " does not exist: the UNet has "
                    + ups + " up blocks (0 = mid block, 1.." + ups + " = up_blocks[0.." + (ups - 1) + "])");
        if (scheduler.numInferenceSteps() <= 0)
            throw new IllegalArgumentException("drag: the scheduler has no inference timesteps (call setTimesteps first)");
    }

    public DragConfig config() { return config; }

    /** One UNet evaluation: features F (resized, concatenated), the raw first feature map, and the noise prediction (null when skipped). */
    private record Eval(Tensor features, Tensor featRaw, Tensor eps) {}

    private Eval evaluate(Tensor z, float t, Tensor ctx, boolean needEps) {
        int[] idx = config.featureIdx();
        int deepest = Arrays.stream(idx).max().orElseThrow();
        Tensor[] mid = new Tensor[1];
        UNet2DConditionModel.Probe probe = (name, v) -> { if (name.equals("mid_block_out")) mid[0] = v; };
        UNetOutput o = unet.forward(f, z, t, ctx, needEps ? -1 : Math.max(deepest - 1, 0), probe);
        Tensor[] parts = new Tensor[idx.length];
        Tensor raw = null;
        for (int i = 0; i < idx.length; i++) {
            Tensor feat = idx[i] == 0 ? mid[0] : o.upBlockOutputs().get(idx[i] - 1);
            if (i == 0) raw = feat;
            parts[i] = f.resizeBilinear(feat, config.supResH(), config.supResW());
        }
        Tensor features = parts.length == 1 ? parts[0] : f.concat(1, parts);
        return new Eval(features, raw, o.out());
    }

    /**
     * F(z) without recording: the chosen features at latent z [1, C, h, w] and timestep t, resized to the supervision
     * resolution (the UNet stops after the deepest up block needed). z and textEmbeddings may live on the CPU.
     */
    public Tensor features(Tensor z, int t, Tensor textEmbeddings) {
        try (Tape.Scope g = Tape.noGrad()) {
            return evaluate(placement.input(z), t, placement.input(textEmbeddings), false).features();
        }
    }

    /**
     * Runs the loop from {@code initCode} [1, 4, h, w] with text embeddings [1, tokens, dim] at timestep t (an
     * inference timestep of the scheduler); handles and targets (row, col) in supervision pixels; interpMask
     * [1, 1, h, w] at the latent size (1 = editable) or null. Inputs may live on the CPU; they are placed where the
     * UNet is and are not modified.
     */
    public Result run(Tensor initCode, Tensor textEmbeddings, int t, List<DragPoint> handlesIn, List<DragPoint> targets,
                      Tensor interpMask, DragListener listener) {
        if (listener == null) listener = DragListener.NONE;
        if (initCode.rank() != 4 || initCode.dim(0) != 1)
            throw new IllegalArgumentException("drag: init_code has shape " + Arrays.toString(initCode.shape()) + ", expected [1, C, h, w]");
        if (handlesIn.isEmpty() || handlesIn.size() != targets.size())
            throw new IllegalArgumentException("drag: " + handlesIn.size() + " handles and " + targets.size() + " targets; expected the same positive number");
        for (List<DragPoint> ps : List.of(handlesIn, targets))
            for (DragPoint p : ps)
                if (!(p.row() >= 0 && p.row() < config.supResH() && p.col() >= 0 && p.col() < config.supResW()))
                    throw new IllegalArgumentException("drag: point " + p + " is outside the " + config.supResH() + "×" + config.supResW() + " supervision grid");
        boolean useMask = false;
        Tensor keep = null; // 1 − interp_mask, where the mask term applies
        if (interpMask != null) {
            if (interpMask.rank() != 4 || interpMask.dim(2) != initCode.dim(2) || interpMask.dim(3) != initCode.dim(3) || interpMask.dim(0) != 1 || interpMask.dim(1) != 1)
                throw new IllegalArgumentException("drag: interp_mask has shape " + Arrays.toString(interpMask.shape())
                        + ", expected [1, 1, " + initCode.dim(2) + ", " + initCode.dim(3) + "] (the latent size)");
            float[] m = interpMask.toCpu().data();
            double s = 0;
            for (float v : m) s += v;
            useMask = s != 0.0;
            if (useMask) {
                float[] k = new float[m.length];
                for (int i = 0; i < k.length; i++) k[i] = 1f - m[i];
                keep = placement.input(Tensor.of(k, interpMask.shape()));
            }
        }
        boolean tensors = listener.wantsTensors();
        boolean predictions = listener.wantsPrediction();
        boolean needEps = useMask || tensors || predictions;
        float tf = t;
        Tensor ctx = placement.input(textEmbeddings);

        Tensor z = placement.input(initCode.copy()).requiresGrad(true);
        Adam adam = new Adam(placement.ops(), List.of(z), AdamParams.adam((float) config.lr()));
        // F0 and x_prev_0 are DragDiffusion's no-grad evaluation at init_code; iteration 0 evaluates the same latent
        // with the same ops, so they are taken (detached) from it: one UNet forward less, and x_prev − x_prev_0 is
        // exactly 0 at iteration 0 by construction (the README's condition for a zero mask-term gradient there).
        Tensor xPrev0 = null;
        PointTracker tracker = null;
        List<DragPoint> handles = new ArrayList<>(handlesIn);
        int done = 0;
        boolean reached = false, stopped = false;
        for (int i = 0; i < config.maxIterations(); i++) {
            if (listener.stopRequested()) {
                stopped = true;
                break;
            }
            Tensor latentIn = tensors ? cpu(z) : null;
            Eval e = evaluate(z, tf, ctx, needEps);
            StepResult step = needEps ? scheduler.dragStep(f, e.eps(), t, z) : null;
            Tensor xPrev = step == null ? null : step.prev();
            if (i == 0) {
                Tensor f0 = e.features().copy();
                tracker = new PointTracker(f0, config.rP());
                if (needEps) xPrev0 = xPrev.copy();
                if (tensors) listener.onStart(cpu(f0), cpu(xPrev0), cpu(e.eps()));
            }
            List<PointTracker.Window> windows = List.of();
            if (i != 0) {
                windows = tracker.track(e.features(), handlesIn, handles);
                for (int k = 0; k < handles.size(); k++) handles.set(k, windows.get(k).result());
            }
            if (predictions) listener.onPrediction(i, List.copyOf(handles), step.x0().copy());
            if (allReached(handles, targets)) {
                listener.onReached(i, handles);
                reached = true;
                break;
            }
            Tensor loss = null;
            double[] motion = new double[handles.size()];
            List<Tensor> f0Patches = new ArrayList<>(), f1Patches = new ArrayList<>();
            for (int k = 0; k < handles.size(); k++) {
                DragPoint p = handles.get(k), q = targets.get(k);
                if (p.distance(q) < config.reachDistance()) {
                    motion[k] = Double.NaN;
                    f0Patches.add(null);
                    f1Patches.add(null);
                    continue;
                }
                MotionSupervision.Term term = MotionSupervision.term(f, e.features(), p, q, config.rM());
                motion[k] = term.value().toCpu().item();
                f0Patches.add(tensors ? cpu(term.f0Patch()) : null);
                f1Patches.add(tensors ? cpu(term.f1Patch()) : null);
                loss = loss == null ? term.value() : f.add(loss, term.value());
            }
            double maskTerm = 0;
            if (useMask) {
                Tensor mt = f.reshape(f.scale(f.sum(f.abs(f.mul(f.sub(xPrev, xPrev0), keep))), (float) config.lam()), 1);
                maskTerm = mt.toCpu().item();
                loss = f.add(loss, mt);
            }
            double lossValue = loss.toCpu().item();
            Tape.backward(loss);
            Tensor grad = z.grad();
            if (grad == null) throw new IllegalStateException("drag: no gradient reached the latent (the UNet's forward was not recorded)");
            Tensor gradCpu = tensors ? cpu(grad) : null;
            adam.step();
            adam.zeroGrad();
            done = i + 1;
            DragIteration.Tensors ts = tensors ? new DragIteration.Tensors(latentIn, cpu(z), gradCpu, cpu(e.featRaw()), cpu(e.features()),
                    cpu(e.eps()), cpu(xPrev), f0Patches, f1Patches, windows) : null;
            listener.onIteration(new DragIteration(i, handles, motion, maskTerm, lossValue, ts), z);
        }
        Tensor out = placement.input(Tensor.zeros(initCode.shape()));
        out = f.ops.add(out, z); // a fresh tensor off the tape, where z lives
        return new Result(out, List.copyOf(handles), done, reached, stopped);
    }

    /** check_handle_reach_target: every |handle − target| &lt; 2.0. */
    private boolean allReached(List<DragPoint> handles, List<DragPoint> targets) {
        for (int k = 0; k < handles.size(); k++) if (!(handles.get(k).distance(targets.get(k)) < config.reachDistance())) return false;
        return true;
    }

    private static Tensor cpu(Tensor t) {
        if (t == null) return null;
        Tensor c = t.toCpu();
        return c == t ? Tensor.of(t.data().clone(), t.shape()) : c;
    }
}
