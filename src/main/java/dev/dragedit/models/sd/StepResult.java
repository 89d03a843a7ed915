package dev.dragedit.models.sd;

import dev.dragedit.tensor.Tensor;

/**
 * One DDIM step's result: the latent at the next noise level ({@code prev}: diffusers' {@code prev_sample}, DragDiffusion's
 * {@code x_prev} / {@code x_next}) and the clean-latent estimate it went through ({@code x0}: diffusers'
 * {@code pred_original_sample}, DragDiffusion's {@code pred_x0}).
 */
public record StepResult(Tensor prev, Tensor x0) {}
