package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuStyleGan {
    private CpuStyleGan() {}

    public static Tensor modulatedConv2d(Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        throw new UnsupportedOperationException("modulatedConv2d: not written yet");
    }

    public static Tensor[] modulatedConv2dBackward(Tensor gy, Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) {
        throw new UnsupportedOperationException("modulatedConv2dBackward: not written yet");
    }

    public static Tensor upfirdn2d(Tensor x, Tensor f, int upX, int upY, int downX, int downY, int padX0, int padX1, int padY0, int padY1) {
        throw new UnsupportedOperationException("upfirdn2d: not written yet");
    }

    public static Tensor upfirdn2dBackward(Tensor gy, int[] xShape, Tensor f, int upX, int upY, int downX, int downY, int padX0, int padX1, int padY0, int padY1) {
        throw new UnsupportedOperationException("upfirdn2dBackward: not written yet");
    }

    public static Tensor biasAct(Tensor x, Tensor bias, float alpha, float gain, float clamp) {
        throw new UnsupportedOperationException("biasAct: not written yet");
    }

    public static Tensor[] biasActBackward(Tensor gy, Tensor y, boolean needBias, float alpha, float gain, float clamp) {
        throw new UnsupportedOperationException("biasActBackward: not written yet");
    }
}
