package dev.dragedit.drag;

import dev.dragedit.tensor.Tensor;

import java.util.List;

/**
 * What one iteration of the drag loop did (one pass of drag_diffusion_update's loop body): the handle points its
 * loss used (after point tracking, from iteration 1 on), the motion terms per handle (null for a handle already
 * within reach of its target, which DragDiffusion skips), the mask term (0 without a mask) and the total loss.
 * The tensors (CPU copies, F32) are filled only for a listener that asks for them ({@link DragListener#wantsTensors}):
 * latent before and after the Adam step, d loss/d latent, the raw and resized features, the noise prediction and
 * x_prev (null when no mask term needed them), the motion patches and the tracking windows.
 */
public record DragIteration(int index, List<DragPoint> handles, double[] motionTerms, double maskTerm, double loss,
                            Tensors tensors) {
    public record Tensors(Tensor latentIn, Tensor latentOut, Tensor grad, Tensor featRaw, Tensor features,
                          Tensor unetOutput, Tensor xPrev, List<Tensor> f0Patches, List<Tensor> f1Patches,
                          List<PointTracker.Window> tracking) {}

    public DragIteration {
        handles = List.copyOf(handles);
        motionTerms = motionTerms.clone();
    }

    @Override public double[] motionTerms() { return motionTerms.clone(); }
}
