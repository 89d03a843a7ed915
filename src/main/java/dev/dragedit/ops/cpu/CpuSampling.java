package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuSampling {
    private CpuSampling() {}

    public static Tensor upsampleNearest2x(Tensor x) {
        throw new UnsupportedOperationException("upsampleNearest2x: not written yet");
    }

    public static Tensor upsampleNearest2xBackward(Tensor gy) {
        throw new UnsupportedOperationException("upsampleNearest2xBackward: not written yet");
    }

    public static Tensor resizeBilinear(Tensor x, int outH, int outW) {
        throw new UnsupportedOperationException("resizeBilinear: not written yet");
    }

    public static Tensor resizeBilinearBackward(Tensor gy, int inH, int inW) {
        throw new UnsupportedOperationException("resizeBilinearBackward: not written yet");
    }

    public static Tensor gridSample(Tensor x, Tensor grid, boolean alignCorners) {
        throw new UnsupportedOperationException("gridSample: not written yet");
    }

    public static Tensor[] gridSampleBackward(Tensor gy, Tensor x, Tensor grid, boolean alignCorners, boolean needX, boolean needGrid) {
        throw new UnsupportedOperationException("gridSampleBackward: not written yet");
    }
}
