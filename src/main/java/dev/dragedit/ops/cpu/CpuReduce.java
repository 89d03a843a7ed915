package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuReduce {
    private CpuReduce() {}

    public static Tensor sum(Tensor x, int[] dims, boolean keepDim) {
        throw new UnsupportedOperationException("sum: not written yet");
    }

    public static Tensor mean(Tensor x, int[] dims, boolean keepDim) {
        throw new UnsupportedOperationException("mean: not written yet");
    }

    public static Tensor l1Loss(Tensor a, Tensor b) {
        throw new UnsupportedOperationException("l1Loss: not written yet");
    }

    public static Tensor l1LossBackward(Tensor gy, Tensor a, Tensor b) {
        throw new UnsupportedOperationException("l1LossBackward: not written yet");
    }

    public static Tensor mseLoss(Tensor a, Tensor b) {
        throw new UnsupportedOperationException("mseLoss: not written yet");
    }

    public static Tensor mseLossBackward(Tensor gy, Tensor a, Tensor b) {
        throw new UnsupportedOperationException("mseLossBackward: not written yet");
    }
}
