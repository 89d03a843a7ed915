package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuAttention {
    private CpuAttention() {}

    public static Tensor attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        throw new UnsupportedOperationException("attention: not written yet");
    }

    public static Tensor[] attentionBackward(Tensor gy, Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        throw new UnsupportedOperationException("attentionBackward: not written yet");
    }
}
