package dev.dragedit.cuda;

/**
 * One device allocation with its owner and size, freed by {@link #close} (once; later closes do nothing), so that
 * try-with-resources scopes device memory in tests and tools. Kernels take {@link #ptr()} through
 * {@link KernelArgs#ptr(DeviceBuffer)}.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final KernelDevice device;
    private final long ptr;
    private final long bytes;
    private boolean closed;

    private DeviceBuffer(KernelDevice device, long ptr, long bytes) {
        this.device = device;
        this.ptr = ptr;
        this.bytes = bytes;
    }

    /** A buffer of {@code bytes} bytes with undefined contents. */
    public static DeviceBuffer alloc(KernelDevice device, long bytes) {
        return new DeviceBuffer(device, device.alloc(bytes), bytes);
    }

    /** A buffer of {@code floats} floats, zero-filled. */
    public static DeviceBuffer zerosF32(KernelDevice device, int floats) {
        DeviceBuffer b = alloc(device, 4L * floats);
        device.memset(b.ptr, 0, b.bytes);
        return b;
    }

    /** A buffer holding a copy of {@code values}. */
    public static DeviceBuffer of(KernelDevice device, float[] values) {
        DeviceBuffer b = alloc(device, 4L * values.length);
        device.copyIn(b.ptr, values, 0, values.length);
        return b;
    }

    public static DeviceBuffer of(KernelDevice device, byte[] values) {
        DeviceBuffer b = alloc(device, values.length);
        device.copyIn(b.ptr, values, 0, values.length);
        return b;
    }

    public KernelDevice device() { return device; }

    public long ptr() {
        if (closed) throw new IllegalStateException("DeviceBuffer of " + bytes + " bytes used after close");
        return ptr;
    }

    public long bytes() { return bytes; }

    /** The whole buffer as floats (waits for the work issued before). */
    public float[] toFloats() {
        if (bytes % 4 != 0) throw new IllegalStateException("DeviceBuffer.toFloats: " + bytes + " bytes is not a whole number of floats");
        float[] out = new float[(int) (bytes / 4)];
        device.copyOut(ptr(), out, 0, out.length);
        return out;
    }

    public byte[] toBytes() {
        byte[] out = new byte[Math.toIntExact(bytes)];
        device.copyOut(ptr(), out, 0, out.length);
        return out;
    }

    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        device.free(ptr);
    }
}
