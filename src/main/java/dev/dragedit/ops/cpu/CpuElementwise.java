package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuElementwise {
    private CpuElementwise() {}

    public static Tensor add(Tensor a, Tensor b) {
        throw new UnsupportedOperationException("add: not written yet");
    }

    public static Tensor sub(Tensor a, Tensor b) {
        throw new UnsupportedOperationException("sub: not written yet");
    }

    public static Tensor mul(Tensor a, Tensor b) {
        throw new UnsupportedOperationException("mul: not written yet");
    }

    public static Tensor div(Tensor a, Tensor b) {
        throw new UnsupportedOperationException("div: not written yet");
    }

    public static Tensor affine(Tensor a, float s, float t) {
        throw new UnsupportedOperationException("affine: not written yet");
    }

    public static Tensor sumTo(Tensor g, int[] shape) {
        throw new UnsupportedOperationException("sumTo: not written yet");
    }

    public static Tensor expand(Tensor x, int[] shape) {
        throw new UnsupportedOperationException("expand: not written yet");
    }

    public static Tensor clamp(Tensor x, float lo, float hi) {
        throw new UnsupportedOperationException("clamp: not written yet");
    }

    public static Tensor clampBackward(Tensor gy, Tensor x, float lo, float hi) {
        throw new UnsupportedOperationException("clampBackward: not written yet");
    }

    public static Tensor unary(Unary f, Tensor x) {
        throw new UnsupportedOperationException("unary: not written yet");
    }

    public static Tensor unaryBackward(Unary f, Tensor gy, Tensor x) {
        throw new UnsupportedOperationException("unaryBackward: not written yet");
    }

    public static Tensor geglu(Tensor x) {
        throw new UnsupportedOperationException("geglu: not written yet");
    }

    public static Tensor gegluBackward(Tensor gy, Tensor x) {
        throw new UnsupportedOperationException("gegluBackward: not written yet");
    }
}
