package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Device;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

/**
 * Argument checks shared by the normalisation, softmax and attention ops ({@link CpuNorm}, {@link CpuAttention}).
 * Every failure is an IllegalArgumentException that names the op and the argument and says what was expected and
 * what was found, so a model bug is diagnosed from the message alone.
 */
final class NormChecks {
    private NormChecks() {}

    /** x must be a non-null F32 tensor in CPU memory. */
    static void f32(String op, String arg, Tensor x) {
        if (x == null) throw new IllegalArgumentException(op + ": " + arg + " is null, expected an F32 CPU tensor");
        if (x.dtype() != DType.F32 || x.device() != Device.CPU)
            throw new IllegalArgumentException(op + ": " + arg + " must be an F32 CPU tensor, found " + x.dtype()
                    + " on " + x.device().name() + " with shape " + Arrays.toString(x.shape()));
    }

    /** An optional per-feature parameter (gamma, beta): null, or an F32 CPU tensor of shape [n]. */
    static void vectorOrNull(String op, String arg, Tensor t, int n, String what) {
        if (t == null) return;
        f32(op, arg, t);
        if (t.rank() != 1 || t.dim(0) != n)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(t.shape())
                    + ", expected [" + what + "=" + n + "]");
    }

    /** gy must have exactly the shape of the tensor the forward produced. */
    static void sameShape(String op, String arg, Tensor t, int[] expected, String what) {
        if (!Arrays.equals(t.shape(), expected))
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(expected) + " (" + what + ")");
    }

    static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }
}
