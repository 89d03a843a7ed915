package dev.dragedit.ops;

/**
 * Hyper-parameters of Adam / AdamW as in torch.optim: bias-corrected moments, eps added after the square root.
 * weightDecay with decoupled=false is Adam's L2 term (added to the gradient); decoupled=true is AdamW
 * (p -= lr·wd·p before the update).
 */
public record AdamParams(float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
    public static AdamParams adam(float lr) { return new AdamParams(lr, 0.9f, 0.999f, 1e-8f, 0f, false); }
    public static AdamParams adamW(float lr, float weightDecay) { return new AdamParams(lr, 0.9f, 0.999f, 1e-8f, weightDecay, true); }
}
