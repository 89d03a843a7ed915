package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuShape {
    private CpuShape() {}

    public static Tensor concat(Tensor[] xs, int dim) {
        throw new UnsupportedOperationException("concat: not written yet");
    }

    public static Tensor slice(Tensor x, int dim, int start, int end) {
        throw new UnsupportedOperationException("slice: not written yet");
    }

    public static Tensor sliceBackward(Tensor gy, int[] inShape, int dim, int start, int end) {
        throw new UnsupportedOperationException("sliceBackward: not written yet");
    }

    public static Tensor permute(Tensor x, int[] perm) {
        throw new UnsupportedOperationException("permute: not written yet");
    }

    public static Tensor pad(Tensor x, int[] pads, float value) {
        throw new UnsupportedOperationException("pad: not written yet");
    }

    public static Tensor padBackward(Tensor gy, int[] pads) {
        throw new UnsupportedOperationException("padBackward: not written yet");
    }
}
