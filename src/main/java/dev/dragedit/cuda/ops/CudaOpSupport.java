// What the nine CUDA op families (CudaElementwise … CudaStyleGan) share: the test switch that NaN-poisons new outputs
// and workspaces, the allocation helpers that honour it, and the device-argument checks with their error messages.
// One copy here keeps the families' checks and messages from drifting apart.
//
// Poisoning fills a fresh buffer with bytes 0xFF (a NaN in every float) before a kernel runs, so an element the
// kernel forgets to write shows up in a comparison instead of reading as whatever the allocator left there. It costs
// one memset per buffer, so it is off unless -Ddragedit.cuda.poison=true is given or a test turns it on.
package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.DeviceBuffer;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

final class CudaOpSupport {
    private CudaOpSupport() {}

    private static volatile boolean poisonOutputs = Boolean.getBoolean("dragedit.cuda.poison");

    /** Whether new outputs and workspaces are NaN-filled before the kernels run. */
    static boolean poisonOutputs() { return poisonOutputs; }

    /** Test hook: turns poisoning of new outputs and workspaces on or off for every family. */
    static void poisonOutputs(boolean on) { poisonOutputs = on; }

    /** An uninitialised F32 output on dev, NaN-filled when poisoning is on. */
    static Tensor output(KernelDevice dev, int... shape) {
        Tensor t = Tensor.emptyOn(dev, shape);
        // an empty tensor has no element a kernel could miss
        if (poisonOutputs && t.numel() > 0) dev.memset(t.devicePtr(), 0xFF, t.sizeBytes());
        return t;
    }

    /** An uninitialised output of a floating dtype (F32, F16, BF16) on dev, NaN-filled when poisoning is on. */
    static Tensor output(KernelDevice dev, DType dtype, int... shape) {
        Tensor t = Tensor.emptyOn(dev, dtype, shape);
        if (poisonOutputs && t.numel() > 0) dev.memset(t.devicePtr(), 0xFF, t.sizeBytes()); // 0xFFFF is a NaN in F16 and BF16 too
        return t;
    }

    // ------------------------------------------------------------------ storage dtypes

    /** The entry-point suffix of a storage dtype: kernels are named {@code <op>_<dir>_<suffix>}. */
    static String suffix(DType dtype) {
        return switch (dtype) {
            case F32 -> "f32";
            case F16 -> "f16";
            case BF16 -> "bf16";
            default -> throw new IllegalArgumentException("no kernels for dtype " + dtype + ", expected F32, F16 or BF16");
        };
    }

    /**
     * The device of t, which must be a floating tensor (F32, F16 or BF16) on a kernel device, for the families with
     * kernels in all three storage types; else an exception naming op and argument.
     */
    static KernelDevice floatDevice(String op, String arg, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + arg + " is null, expected an F32, F16 or BF16 device tensor");
        if (!t.onDevice())
            throw new IllegalArgumentException(op + ": " + arg + " is on the CPU, expected an F32, F16 or BF16 tensor on a kernel device");
        DType d = t.dtype();
        if (d != DType.F32 && d != DType.F16 && d != DType.BF16)
            throw new IllegalArgumentException(op + ": " + arg + " has dtype " + d + ", expected F32, F16 or BF16");
        return t.kernelDevice();
    }

    /** t must be a tensor on dev with the dtype of the op's first input (kernels take one storage type). */
    static void sameDeviceAndDtype(String op, String arg, Tensor t, KernelDevice dev, DType dtype) {
        if (floatDevice(op, arg, t) != dev)
            throw new IllegalArgumentException(op + ": " + arg + " is on " + t.kernelDevice().name()
                    + ", expected the device of the other inputs (" + dev.name() + ")");
        if (t.dtype() != dtype)
            throw new IllegalArgumentException(op + ": " + arg + " is " + t.dtype() + " but the first input is " + dtype
                    + "; inputs of one op share a storage dtype (convert with CudaOps.cast)");
    }

    /** A float workspace of at least one element on dev, NaN-filled when poisoning is on. */
    static DeviceBuffer workspace(KernelDevice dev, long floats) {
        long bytes = Math.max(4, 4 * floats);   // a zero-byte allocation has no valid pointer to pass a kernel
        DeviceBuffer b = DeviceBuffer.alloc(dev, bytes);
        if (poisonOutputs) dev.memset(b.ptr(), 0xFF, bytes);
        return b;
    }

    // ------------------------------------------------------------------ argument checks

    /** The device of t, which must be an F32 tensor on a kernel device; else an exception naming op and argument. */
    static KernelDevice device(String op, String arg, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + arg + " is null, expected an F32 device tensor");
        if (t.dtype() != DType.F32 || !t.onDevice())
            throw new IllegalArgumentException(op + ": " + arg + " must be an F32 tensor on a kernel device, found "
                    + t.dtype() + " on " + t.device().name() + " with shape " + Arrays.toString(t.shape()));
        return t.kernelDevice();
    }

    /** t must be an F32 tensor on dev, the device of the op's other inputs. */
    static void sameDevice(String op, String arg, Tensor t, KernelDevice dev) {
        if (device(op, arg, t) != dev)
            throw new IllegalArgumentException(op + ": " + arg + " is on " + t.kernelDevice().name()
                    + ", expected the device of the other inputs (" + dev.name() + ")");
    }

}
