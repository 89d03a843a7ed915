package dev.dragedit.ops.cpu;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

final class CpuOptim {
    private CpuOptim() {}

    public static void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, int step, AdamParams hp) {
        throw new UnsupportedOperationException("adamStep: not written yet");
    }
}
