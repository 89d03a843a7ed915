package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuNorm {
    private CpuNorm() {}

    public static Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        throw new UnsupportedOperationException("groupNorm: not written yet");
    }

    public static Tensor[] groupNormBackward(Tensor gy, Tensor x, int groups, Tensor gamma, float eps, boolean needGammaBeta) {
        throw new UnsupportedOperationException("groupNormBackward: not written yet");
    }

    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        throw new UnsupportedOperationException("layerNorm: not written yet");
    }

    public static Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor gamma, float eps, boolean needGammaBeta) {
        throw new UnsupportedOperationException("layerNormBackward: not written yet");
    }

    public static Tensor softmax(Tensor x) {
        throw new UnsupportedOperationException("softmax: not written yet");
    }

    public static Tensor softmaxBackward(Tensor gy, Tensor y) {
        throw new UnsupportedOperationException("softmaxBackward: not written yet");
    }
}
