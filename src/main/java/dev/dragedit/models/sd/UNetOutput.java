package dev.dragedit.models.sd;

import dev.dragedit.tensor.Tensor;

import java.util.List;

/**
 * What {@link UNet2DConditionModel#forward} returns: the noise prediction {@code out} (null when the forward stopped
 * early after an up block) and the outputs of up_blocks[0..k] in order — the feature maps DragDiffusion's
 * override_forward returns (its feature index i + 1 is up block i).
 */
public record UNetOutput(Tensor out, List<Tensor> upBlockOutputs) {
    public UNetOutput {
        upBlockOutputs = List.copyOf(upBlockOutputs);
    }
}
