package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.Tensor;

/**
 * The StyleGAN2 synthesis ops of the CPU backend, with the reference semantics of StyleGAN2-ADA's torch_utils/ops
 * and training/networks.py: modulated convolution ({@link StyleGanModConv}), upfirdn2d ({@link Upfirdn2d}) and
 * bias_act with lrelu ({@link StyleGanBiasAct}). Each op lives in its own class because each has its own loop
 * structure; this class is the entry point {@link CpuOps} delegates to.
 */
final class CpuStyleGan {
    private CpuStyleGan() {}

    public static Tensor modulatedConv2d(Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        return StyleGanModConv.forward(x, w, styles, demodulate, padding);
    }

    public static Tensor[] modulatedConv2dBackward(Tensor gy, Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        return StyleGanModConv.backward(gy, x, w, styles, demodulate, padding);
    }

    public static Tensor upfirdn2d(Tensor x, Tensor f, int upX, int upY, int downX, int downY, int padX0, int padX1, int padY0, int padY1) {
        return Upfirdn2d.forward(x, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1);
    }

    public static Tensor upfirdn2dBackward(Tensor gy, int[] xShape, Tensor f, int upX, int upY, int downX, int downY, int padX0, int padX1, int padY0, int padY1) {
        return Upfirdn2d.backward(gy, xShape, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1);
    }

    public static Tensor biasAct(Tensor x, Tensor bias, float alpha, float gain, float clamp) {
        return StyleGanBiasAct.forward(x, bias, alpha, gain, clamp);
    }

    public static Tensor[] biasActBackward(Tensor gy, Tensor y, boolean needBias, float alpha, float gain, float clamp) {
        return StyleGanBiasAct.backward(gy, y, needBias, alpha, gain, clamp);
    }
}
