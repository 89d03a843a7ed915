package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Device;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

/**
 * Argument validation shared by the StyleGAN2 CPU ops (upfirdn2d, bias_act, modulated convolution). Every message
 * names the op and the argument and says what was expected and what was found, so a failing model call can be
 * traced to the offending tensor without a debugger.
 */
final class StyleGanChecks {
    private StyleGanChecks() {}

    /** The argument must be a non-null F32 tensor on the CPU. */
    static void f32(String op, String arg, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + arg + " is null, expected an F32 CPU tensor");
        if (t.dtype() != DType.F32)
            throw new IllegalArgumentException(op + ": " + arg + " has dtype " + t.dtype() + ", expected F32");
        if (t.device() != Device.CPU)
            throw new IllegalArgumentException(op + ": " + arg + " is on device " + t.device().name() + ", expected cpu");
    }

    /** The argument must have exactly {@code rank} dimensions; {@code layout} names them, e.g. "[N, C, H, W]". */
    static void rank(String op, String arg, Tensor t, int rank, String layout) {
        if (t.rank() != rank)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(t.shape())
                    + ", expected rank " + rank + " " + layout);
    }

    /** The argument must have exactly the given shape; {@code layout} names the dimensions. */
    static void shape(String op, String arg, Tensor t, int[] expected, String layout) {
        if (!Arrays.equals(t.shape(), expected))
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(t.shape())
                    + ", expected " + layout + "=" + Arrays.toString(expected));
    }

    static void positive(String op, String arg, int v) {
        if (v < 1) throw new IllegalArgumentException(op + ": " + arg + " must be ≥ 1, found " + v);
    }
}
