package dev.dragedit.models.nn;

import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.cuda.ops.CudaOps;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

/**
 * Where a model's tensors live: the CPU in F32 ({@link #cpu()}), or a kernel device (a GPU or its emulation) with a
 * storage type for the weights (F32, F16 or BF16: the kernels accumulate in F32 whatever the storage). Weights are
 * placed once, when the model is built; activations follow the weights' device.
 */
public record Placement(KernelDevice device, DType dtype) {
    public Placement {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16)
            throw new IllegalArgumentException("weights are stored as F32, F16 or BF16, not " + dtype);
        if (device == null && dtype != DType.F32)
            throw new IllegalArgumentException("the CPU op set computes in F32; " + dtype + " weights need a kernel device");
    }

    /** The CPU, F32. */
    public static Placement cpu() { return new Placement(null, DType.F32); }

    /** A kernel device with weights stored as dtype. */
    public static Placement on(KernelDevice device, DType dtype) { return new Placement(device, dtype); }

    public boolean onDevice() { return device != null; }

    /** The op set that computes on these tensors. */
    public Ops ops() { return device == null ? CpuOps.INSTANCE : CudaOps.INSTANCE; }

    /**
     * t (a tensor of any floating type, possibly memory-mapped or on a device) as this placement stores it: converted to
     * F32 on the CPU (a mapped F32 tensor is returned as is, decoded on first use), or copied to the device in dtype.
     */
    public Tensor place(Tensor t) {
        if (device == null) {
            if (t.onDevice()) t = t.toCpu();
            return t.dtype() == DType.F32 ? t : t.to(DType.F32);
        }
        if (t.onDevice() && t.kernelDevice() == device) return t.dtype() == dtype ? t : CudaOps.cast(t, dtype);
        if (t.onDevice()) t = t.toCpu();
        return t.dtype() == dtype ? t.toDevice(device) : t.to(dtype).toDevice(device);
    }

    /** An activation or input t (a CPU F32 tensor) moved to where this placement computes, in the compute dtype. */
    public Tensor input(Tensor t) { return place(t); }

    @Override public String toString() { return device == null ? "cpu/F32" : device.name() + "/" + dtype; }
}
