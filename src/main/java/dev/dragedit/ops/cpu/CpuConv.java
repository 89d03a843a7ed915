package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuConv {
    private CpuConv() {}

    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        throw new UnsupportedOperationException("conv2d: not written yet");
    }

    public static Tensor[] conv2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, boolean needX, boolean needW, boolean needBias) {
        throw new UnsupportedOperationException("conv2dBackward: not written yet");
    }

    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, int outPadH, int outPadW) {
        throw new UnsupportedOperationException("convTranspose2d: not written yet");
    }

    public static Tensor[] convTranspose2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW, boolean needX, boolean needW, boolean needBias) {
        throw new UnsupportedOperationException("convTranspose2dBackward: not written yet");
    }
}
