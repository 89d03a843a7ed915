package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuMatmul {
    private CpuMatmul() {}

    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        throw new UnsupportedOperationException("matmul: not written yet");
    }

    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        throw new UnsupportedOperationException("linear: not written yet");
    }

    public static Tensor[] linearBackward(Tensor gy, Tensor x, Tensor w, boolean needX, boolean needW, boolean needBias) {
        throw new UnsupportedOperationException("linearBackward: not written yet");
    }
}
