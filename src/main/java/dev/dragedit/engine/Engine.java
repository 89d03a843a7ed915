package dev.dragedit.engine;

import dev.dragedit.cuda.CudaUnavailableException;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.EmulatedCudaDevice;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.cuda.ops.CudaOps;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Optional;

/**
 * The op set of one run and the device it runs on, resolved once from {@link RunOptions} ({@code --device},
 * {@code --validate}). Model code takes its {@link Ops} from here and moves its CPU tensors (weights, inputs) to
 * where those ops run with {@link #place}; nothing else in it needs to know whether it runs on the CPU, a GPU or
 * the CUDA emulation.
 *
 * <pre>{@code
 * try (Engine engine = Engine.open(new RunOptions(DeviceChoice.AUTO, false))) {
 *     Ops ops = engine.ops();
 *     Tensor y = ops.conv2d(engine.place(x), engine.place(w), engine.place(b), Conv2dParams.of(1, 1));
 *     float[] out = y.toCpu().to(DType.F32).data();
 * }
 * }</pre>
 *
 * Resolution: {@code cpu} → {@link CpuOps}; {@code cuda} → {@link CudaOps} on the GPU, or an
 * {@link IllegalStateException} saying why there is none; {@code emulated} → {@link CudaOps} on the CPU emulation of
 * the kernels; {@code auto} → the GPU when one opens, else the CPU (never the emulation: it is for testing). With
 * {@code --validate} the CUDA ops are wrapped in {@link ValidatingOps}; validating the CPU op set against itself is
 * an {@link OptionsException}.
 */
public final class Engine implements AutoCloseable {
    private final DeviceChoice kind;
    private final KernelDevice device;
    private final boolean ownsDevice;
    private final Ops ops;
    private final ValidatingOps validation;
    private final String note;

    private Engine(DeviceChoice kind, KernelDevice device, boolean ownsDevice, Ops ops, ValidatingOps validation, String note) {
        this.kind = kind;
        this.device = device;
        this.ownsDevice = ownsDevice;
        this.ops = ops;
        this.validation = validation;
        this.note = note;
    }

    /**
     * The engine the options ask for; the caller closes it (which closes the device it opened). Throws
     * {@link OptionsException} for options that cannot be honoured, {@link IllegalStateException} when the device
     * asked for does not open (the message starts with the option and says why).
     */
    public static Engine open(RunOptions options) {
        options.check();
        switch (options.device()) {
            case CPU:
                return cpu();
            case CUDA: {
                KernelDevice gpu;
                try {
                    gpu = Devices.openCuda();
                } catch (CudaUnavailableException e) {
                    throw new IllegalStateException("--device cuda: " + e.getMessage(), e);
                }
                return kernels(DeviceChoice.CUDA, gpu, true, options.validate(), null);
            }
            case EMULATED: {
                KernelDevice emu;
                try {
                    emu = new EmulatedCudaDevice();
                } catch (IllegalStateException | LinkageError e) {
                    throw new IllegalStateException("--device emulated: the CUDA emulation does not load: " + e.getMessage(), e);
                }
                return kernels(DeviceChoice.EMULATED, emu, true, options.validate(), null);
            }
            case AUTO:
            default: {
                KernelDevice gpu = null;
                String why = null;
                try {
                    gpu = Devices.openCuda();
                } catch (CudaUnavailableException e) {
                    why = e.getMessage();
                }
                if (gpu != null) return kernels(DeviceChoice.CUDA, gpu, true, options.validate(), "--device auto");
                if (options.validate()) {
                    throw new OptionsException(RunOptions.VALIDATE_NEEDS_CUDA + " (--device auto found no GPU: " + why + ")");
                }
                return new Engine(DeviceChoice.CPU, null, false, CpuOps.INSTANCE, null, "--device auto, no GPU: " + why);
            }
        }
    }

    /** The CPU op set. */
    public static Engine cpu() {
        return new Engine(DeviceChoice.CPU, null, false, CpuOps.INSTANCE, null, null);
    }

    /**
     * The CUDA ops on a device the caller already opened and keeps owning ({@link #close} leaves it open): for tests
     * and for code that shares one device between several engines.
     */
    public static Engine on(KernelDevice device, boolean validate) {
        if (device == null) throw new IllegalArgumentException("Engine.on: device is null");
        return kernels(device.emulated() ? DeviceChoice.EMULATED : DeviceChoice.CUDA, device, false, validate, null);
    }

    private static Engine kernels(DeviceChoice kind, KernelDevice device, boolean owns, boolean validate, String note) {
        ValidatingOps v = validate ? new ValidatingOps(CudaOps.INSTANCE) : null;
        return new Engine(kind, device, owns, v != null ? v : CudaOps.INSTANCE, v, note);
    }

    /** The run's op set: CpuOps, CudaOps, or CudaOps shadowed by CpuOps under --validate. */
    public Ops ops() { return ops; }

    /** CPU, CUDA or EMULATED: what {@code --device} resolved to (never AUTO). */
    public DeviceChoice kind() { return kind; }

    /** True when the ops run on the CPU op set (tensors stay on the CPU). */
    public boolean onCpu() { return device == null; }

    /** The kernel device of the CUDA ops; empty for the CPU op set. */
    public Optional<KernelDevice> device() { return Optional.ofNullable(device); }

    /** The validating decorator when {@code --validate} is on: its counts and {@link ValidatingOps#summary()}. */
    public Optional<ValidatingOps> validation() { return Optional.ofNullable(validation); }

    /**
     * A tensor (or null) moved to where {@link #ops()} runs. On the CPU op set, which computes in F32 only: an F32
     * CPU tensor (t itself when it is one). For the CUDA ops: a copy on the device, F16/BF16 keeping their type and
     * other types becoming F32 (t itself when it is already on this engine's device).
     */
    public Tensor place(Tensor t) {
        if (t == null) return null;
        if (device == null) return t.toCpu().to(DType.F32);
        return t.toDevice(device);
    }

    /**
     * {@link #place} after converting to {@code dtype} (F32, F16 or BF16). The CPU op set computes in F32 only, so on
     * the CPU the values are rounded to dtype and kept as F32: the same numbers a dtype tensor holds.
     */
    public Tensor place(Tensor t, DType dtype) {
        if (t == null) return null;
        Tensor cpu = t.toCpu().to(dtype);
        return device == null ? cpu.to(DType.F32) : cpu.toDevice(device);
    }

    /** One line: "CpuOps", "CudaOps on NVIDIA H100 …, every op validated against CpuOps", with how auto decided. */
    public String description() {
        String s = device == null ? "CpuOps" : "CudaOps on " + device.name();
        if (validation != null) s += ", every op validated against CpuOps";
        if (note != null) s += " (" + note + ")";
        return s;
    }

    /** Closes the device this engine opened; a device passed to {@link #on} stays open. */
    @Override
    public void close() {
        if (ownsDevice && device != null) device.close();
    }
}
