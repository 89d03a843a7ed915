package dev.dragedit.tensor;

import dev.dragedit.autograd.Node;
import dev.dragedit.cuda.DeviceBuffer;
import dev.dragedit.cuda.TensorMemory;
import dev.dragedit.cuda.KernelDevice;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A dense, contiguous, row-major tensor. On the CPU an F32 tensor holds a {@code float[]}; F16/BF16 hold
 * {@code short[]} bit patterns; I64 {@code long[]}; F64 {@code double[]}. A tensor read from a safetensors file
 * may instead hold a little-endian slice of the memory-mapped file, decoded on first use.
 * <p>
 * Views ({@link #reshape}) share storage. The autograd fields ({@link #requiresGrad}, {@link #grad},
 * {@link #gradFn}) are only touched by {@code dev.dragedit.autograd}.
 */
public final class Tensor {
    private final int[] shape;
    private final DType dtype;
    private final Device device;
    private final Storage storage;

    private boolean requiresGrad;
    private Tensor grad;
    private Node gradFn;

    /** Shared, mutable holder so that views see materialisation of mapped data. */
    static final class Storage {
        volatile Object array; // float[] / short[] / long[] / double[] / int[] / byte[]
        ByteBuffer mapped;     // little-endian slice of a file, when array is null
        final DeviceBuffer buffer; // device memory of a tensor on a KernelDevice (array and mapped are then null)
        Storage(Object array, ByteBuffer mapped) { this(array, mapped, null); }
        Storage(Object array, ByteBuffer mapped, DeviceBuffer buffer) { this.array = array; this.mapped = mapped; this.buffer = buffer; }
    }

    private Tensor(int[] shape, DType dtype, Device device, Storage storage) {
        this.shape = shape;
        this.dtype = dtype;
        this.device = device;
        this.storage = storage;
    }

    // ------------------------------------------------------------------ creation

    public static Tensor of(float[] data, int... shape) {
        checkCount(data.length, shape);
        return new Tensor(shape.clone(), DType.F32, Device.CPU, new Storage(data, null));
    }

    public static Tensor ofF64(double[] data, int... shape) {
        checkCount(data.length, shape);
        return new Tensor(shape.clone(), DType.F64, Device.CPU, new Storage(data, null));
    }

    public static Tensor ofI64(long[] data, int... shape) {
        checkCount(data.length, shape);
        return new Tensor(shape.clone(), DType.I64, Device.CPU, new Storage(data, null));
    }

    /** Wraps raw 16-bit patterns as an F16 or BF16 tensor. */
    public static Tensor ofHalfBits(short[] bits, DType dtype, int... shape) {
        if (dtype != DType.F16 && dtype != DType.BF16) throw new IllegalArgumentException("expected F16 or BF16, found " + dtype);
        checkCount(bits.length, shape);
        return new Tensor(shape.clone(), dtype, Device.CPU, new Storage(bits, null));
    }

    public static Tensor scalar(float v) {
        return of(new float[]{v});
    }

    public static Tensor zeros(int... shape) {
        return of(new float[checkedNumel(shape)], shape);
    }

    public static Tensor full(float value, int... shape) {
        float[] d = new float[checkedNumel(shape)];
        Arrays.fill(d, value);
        return of(d, shape);
    }

    /** An uninitialised-in-spirit F32 tensor (Java zeroes it anyway). */
    public static Tensor empty(int... shape) {
        return zeros(shape);
    }

    public static Tensor zeros(DType dtype, int... shape) {
        int n = checkedNumel(shape);
        Object arr = switch (dtype) {
            case F32 -> new float[n];
            case F16, BF16 -> new short[n];
            case I64 -> new long[n];
            case F64 -> new double[n];
            case I32 -> new int[n];
            case U8 -> new byte[n];
        };
        return new Tensor(shape.clone(), dtype, Device.CPU, new Storage(arr, null));
    }

    /** A tensor over a little-endian byte region (typically a slice of a memory-mapped file), decoded lazily. */
    public static Tensor mapped(ByteBuffer bytes, DType dtype, int... shape) {
        long n = numel(shape);
        if (n * dtype.bytes != bytes.remaining())
            throw new IllegalArgumentException("byte count " + bytes.remaining() + " does not match shape "
                    + Arrays.toString(shape) + " of " + dtype + " (" + n * dtype.bytes + " bytes)");
        return new Tensor(shape.clone(), dtype, Device.CPU, new Storage(null, bytes.slice().order(ByteOrder.LITTLE_ENDIAN)));
    }

    /** An F32 tensor on a kernel device, contents undefined. */
    public static Tensor emptyOn(KernelDevice device, int... shape) { return emptyOn(device, DType.F32, shape); }

    /** A tensor of a floating storage type (F32, F16 or BF16) on a kernel device, contents undefined. */
    public static Tensor emptyOn(KernelDevice device, DType dtype, int... shape) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16)
            throw new IllegalArgumentException("emptyOn: device tensors are F32, F16 or BF16, not " + dtype);
        long bytes = (long) dtype.bytes * checkedNumel(shape);
        DeviceBuffer buf = TensorMemory.alloc(device, Math.max(4, bytes)); // a zero-size tensor still gets a valid pointer
        Storage st = new Storage(null, null, buf);
        TensorMemory.freeWhenUnreachable(st, buf);
        return new Tensor(shape.clone(), dtype, device, st);
    }

    /**
     * A copy of this CPU tensor on {@code device}: F16 and BF16 keep their type, every other type becomes F32 (F64
     * and I64 values are rounded as {@link #to} does). A device tensor on another device travels through the CPU.
     */
    public Tensor toDevice(KernelDevice device) {
        if (onDevice()) {
            if (device == this.device) return this;
            return toCpu().toDevice(device);
        }
        if (dtype == DType.F16 || dtype == DType.BF16) {
            Tensor t = emptyOn(device, dtype, shape);
            ByteBuffer b = toBytes();
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            device.copyIn(t.devicePtr(), bytes, 0, bytes.length);
            return t;
        }
        float[] src = to(DType.F32).data();
        Tensor t = emptyOn(device, shape);
        device.copyIn(t.devicePtr(), src, 0, src.length);
        return t;
    }

    /** A copy of this CPU tensor on {@code device} converted to {@code dtype} (F32, F16 or BF16) first. */
    public Tensor toDevice(KernelDevice device, DType dtype) {
        return (onDevice() ? toCpu() : this).to(dtype).toDevice(device);
    }

    /**
     * A CPU copy of a device tensor, of the same dtype (waits for the work queued before it); a CPU tensor returns
     * itself.
     */
    public Tensor toCpu() {
        if (!onDevice()) return this;
        if (dtype == DType.F16 || dtype == DType.BF16) {
            byte[] bytes = new byte[(int) sizeBytes()];
            kernelDevice().copyOut(devicePtr(), bytes, 0, bytes.length);
            short[] bits = new short[numel()];
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(bits);
            return ofHalfBits(bits, dtype, shape);
        }
        float[] out = new float[numel()];
        kernelDevice().copyOut(devicePtr(), out, 0, out.length);
        return of(out, shape);
    }

    public boolean onDevice() { return storage.buffer != null; }

    /** The device pointer of a tensor on a kernel device. */
    public long devicePtr() {
        if (!onDevice()) throw new IllegalStateException("devicePtr(): tensor " + this + " is on the CPU");
        return storage.buffer.ptr();
    }

    public KernelDevice kernelDevice() {
        if (!onDevice()) throw new IllegalStateException("kernelDevice(): tensor " + this + " is on the CPU");
        return storage.buffer.device();
    }

    /** Frees a device tensor's memory now (every view of it becomes unusable); no effect on a CPU tensor. */
    public void release() {
        if (onDevice()) storage.buffer.close();
    }

    // ------------------------------------------------------------------ shape

    public int[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public DType dtype() { return dtype; }
    public Device device() { return device; }

    /** Size of dimension i; negative i counts from the end. */
    public int dim(int i) {
        int r = i < 0 ? i + shape.length : i;
        if (r < 0 || r >= shape.length)
            throw new IllegalArgumentException("dimension " + i + " out of range for shape " + Arrays.toString(shape));
        return shape[r];
    }

    public int numel() { return (int) numel(shape); }
    public long sizeBytes() { return (long) numel() * dtype.bytes; }

    public static long numel(int[] shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= s;
        }
        return n;
    }

    static int checkedNumel(int[] shape) {
        long n = numel(shape);
        if (n > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n + " elements; a CPU tensor holds at most 2^31");
        return (int) n;
    }

    private static void checkCount(int count, int[] shape) {
        if (numel(shape) != count)
            throw new IllegalArgumentException("data has " + count + " elements but shape " + Arrays.toString(shape)
                    + " needs " + numel(shape));
    }

    /** A view with a new shape (one dimension may be -1); shares storage. */
    public Tensor reshape(int... newShape) {
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: more than one -1 in " + Arrays.toString(newShape));
                infer = i;
            } else known *= s[i];
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0)
                throw new IllegalArgumentException("reshape: cannot view " + Arrays.toString(shape) + " as " + Arrays.toString(newShape));
            s[infer] = (int) (numel() / known);
        }
        if (numel(s) != numel())
            throw new IllegalArgumentException("reshape: cannot view " + Arrays.toString(shape) + " (" + numel()
                    + " elements) as " + Arrays.toString(newShape));
        return new Tensor(s, dtype, device, storage);
    }

    public boolean sameShape(Tensor o) { return Arrays.equals(shape, o.shape); }

    // ------------------------------------------------------------------ data

    /** The F32 array itself (mutable, shared with views). Mapped F32 data is copied to the heap once. */
    public float[] data() {
        if (dtype != DType.F32) throw new IllegalStateException("data(): tensor is " + dtype + ", expected F32; use to(F32)");
        materialise();
        return (float[]) storage.array;
    }

    public short[] halfBits() {
        if (dtype != DType.F16 && dtype != DType.BF16) throw new IllegalStateException("halfBits(): tensor is " + dtype);
        materialise();
        return (short[]) storage.array;
    }

    public long[] longs() {
        if (dtype != DType.I64) throw new IllegalStateException("longs(): tensor is " + dtype);
        materialise();
        return (long[]) storage.array;
    }

    public double[] doubles() {
        if (dtype != DType.F64) throw new IllegalStateException("doubles(): tensor is " + dtype);
        materialise();
        return (double[]) storage.array;
    }

    public boolean isMapped() { return storage.array == null; }

    private void materialise() {
        if (storage.array != null) return; // the common case: no lock per element access
        if (storage.buffer != null)
            throw new IllegalStateException("tensor " + this + " is on " + device.name() + "; copy it with toCpu() first");
        synchronized (storage) {
            if (storage.array != null) return;
            ByteBuffer b = storage.mapped.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            int n = numel();
            Object arr = switch (dtype) {
                case F32 -> { float[] a = new float[n]; b.asFloatBuffer().get(a); yield a; }
                case F16, BF16 -> { short[] a = new short[n]; b.asShortBuffer().get(a); yield a; }
                case I64 -> { long[] a = new long[n]; b.asLongBuffer().get(a); yield a; }
                case F64 -> { double[] a = new double[n]; b.asDoubleBuffer().get(a); yield a; }
                case I32 -> { int[] a = new int[n]; b.asIntBuffer().get(a); yield a; }
                case U8 -> { byte[] a = new byte[n]; b.get(a); yield a; }
            };
            storage.array = arr;
            storage.mapped = null;
        }
    }

    /** Element i as a float, whatever the dtype. */
    public float getFloat(int i) {
        materialise();
        return switch (dtype) {
            case F32 -> ((float[]) storage.array)[i];
            case F16 -> Half.f16ToFloat(((short[]) storage.array)[i]);
            case BF16 -> Half.bf16ToFloat(((short[]) storage.array)[i]);
            case I64 -> ((long[]) storage.array)[i];
            case F64 -> (float) ((double[]) storage.array)[i];
            case I32 -> ((int[]) storage.array)[i];
            case U8 -> ((byte[]) storage.array)[i] & 0xff;
        };
    }

    public double getDouble(int i) {
        if (dtype == DType.F64) return doubles()[i];
        if (dtype == DType.I64) return longs()[i];
        return getFloat(i);
    }

    /** The single value of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item(): tensor has shape " + Arrays.toString(shape) + ", expected one element");
        return getFloat(0);
    }

    /** Converts to another dtype: to a wider type exactly, to F16/BF16 with round-to-nearest-even. */
    public Tensor to(DType target) {
        if (target == dtype) return this;
        if (onDevice())
            throw new IllegalStateException("to(" + target + "): tensor " + this + " is on a kernel device; convert it "
                    + "there with CudaOps.cast, or copy it to the CPU first (toCpu)");
        int n = numel();
        Tensor out = zeros(target, shape);
        switch (target) {
            case F32 -> { float[] o = out.data(); for (int i = 0; i < n; i++) o[i] = getFloat(i); }
            case F64 -> { double[] o = out.doubles(); for (int i = 0; i < n; i++) o[i] = getDouble(i); }
            case F16 -> { short[] o = out.halfBits(); for (int i = 0; i < n; i++) o[i] = Half.floatToF16(narrowForHalf(i)); }
            case BF16 -> { short[] o = out.halfBits(); for (int i = 0; i < n; i++) o[i] = Half.floatToBf16(narrowForHalf(i)); }
            case I64 -> { long[] o = out.longs(); for (int i = 0; i < n; i++) o[i] = (long) getDouble(i); }
            default -> throw new UnsupportedOperationException("conversion to " + target);
        }
        return out;
    }

    /**
     * Element i as a float rounded to odd (an inexact result keeps an odd last bit). Rounding to nearest twice
     * (f64 → f32 → F16) can land on a halfway point and round the wrong way; rounding to odd first cannot, because
     * f32 keeps at least two bits more than F16 or BF16, so the following round-to-nearest-even is then exact.
     */
    private float narrowForHalf(int i) {
        return switch (dtype) {
            case F64 -> roundToOdd(doubles()[i]);
            case I64 -> roundToOdd(longs()[i]);
            case I32 -> { materialise(); yield roundToOdd((double) ((int[]) storage.array)[i]); } // int → double is exact
            default -> getFloat(i); // F32, F16, BF16, U8 are exact in f32
        };
    }

    private static float roundToOdd(double d) {
        float f = (float) d;
        if (f == d || Double.isNaN(d) || (Float.floatToRawIntBits(f) & 1) != 0) return f;
        return Math.nextAfter(f, d); // f is a neighbour of d with an even last bit: the other neighbour is odd
    }

    private static float roundToOdd(long v) {
        float f = (float) v;
        if (v >= -(1L << 24) && v <= (1L << 24)) return f; // exact
        int c = new BigDecimal(f).compareTo(BigDecimal.valueOf(v));
        if (c == 0 || (Float.floatToRawIntBits(f) & 1) != 0) return f;
        return Math.nextAfter(f, c > 0 ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY);
    }

    /** A deep copy (F32 result for floating types is not implied: same dtype). */
    public Tensor copy() {
        if (onDevice()) {
            Tensor t = emptyOn(kernelDevice(), dtype, shape);
            kernelDevice().copy(t.devicePtr(), devicePtr(), sizeBytes());
            return t;
        }
        materialise();
        Object a = storage.array;
        Object c = switch (dtype) {
            case F32 -> ((float[]) a).clone();
            case F16, BF16 -> ((short[]) a).clone();
            case I64 -> ((long[]) a).clone();
            case F64 -> ((double[]) a).clone();
            case I32 -> ((int[]) a).clone();
            case U8 -> ((byte[]) a).clone();
        };
        return new Tensor(shape.clone(), dtype, device, new Storage(c, null));
    }

    /** Little-endian bytes of the contents, as written to a safetensors file. */
    public ByteBuffer toBytes() {
        if (onDevice()) return toCpu().toBytes();
        synchronized (storage) {
            if (storage.mapped != null) return storage.mapped.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer b = ByteBuffer.allocate((int) sizeBytes()).order(ByteOrder.LITTLE_ENDIAN);
        Object a = storage.array;
        switch (dtype) {
            case F32 -> b.asFloatBuffer().put((float[]) a);
            case F16, BF16 -> b.asShortBuffer().put((short[]) a);
            case I64 -> b.asLongBuffer().put((long[]) a);
            case F64 -> b.asDoubleBuffer().put((double[]) a);
            case I32 -> b.asIntBuffer().put((int[]) a);
            case U8 -> b.put((byte[]) a);
        }
        b.rewind();
        return b;
    }

    // ------------------------------------------------------------------ autograd hooks

    public boolean requiresGrad() { return requiresGrad; }

    /** Marks a leaf tensor as needing its gradient. Returns this. */
    public Tensor requiresGrad(boolean r) {
        if (r && !dtype.isFloating()) throw new IllegalArgumentException("only floating tensors can require gradients, found " + dtype);
        this.requiresGrad = r;
        return this;
    }

    public Tensor grad() { return grad; }
    public void setGrad(Tensor g) { this.grad = g; }
    public Node gradFn() { return gradFn; }
    public void setGradFn(Node n) { this.gradFn = n; }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " " + device.name() + (requiresGrad ? " requires_grad" : "");
    }
}
