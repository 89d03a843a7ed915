package dev.dragedit.cuda;

import java.util.Arrays;

/**
 * A kernel's argument list, in parameter order, packed the way both devices pass it on: one 64-bit slot per
 * parameter ({@link #bits()}) and a kind byte saying how the kernel reads it ({@link #kinds()}): 'p' a 64-bit device
 * pointer, 'i' a 32-bit int (also for unsigned; the value sits in the low 32 bits), 'f' a float32 (its raw IEEE bits
 * in the low 32), 'l' a 64-bit long long. This is the shape of cuLaunchKernel's kernelParams — one pointer per
 * parameter to the parameter's value — so the GPU and the emulation read identical bytes.
 */
public final class KernelArgs {
    public static final byte POINTER = 'p';
    public static final byte INT32 = 'i';
    public static final byte FLOAT32 = 'f';
    public static final byte INT64 = 'l';

    private long[] bits = new long[8];
    private byte[] kinds = new byte[8];
    private int n;

    public static KernelArgs create() { return new KernelArgs(); }

    /** A device pointer, as returned by {@link KernelDevice#alloc} (possibly plus a byte offset). */
    public KernelArgs ptr(long devicePointer) { return add(devicePointer, POINTER); }

    public KernelArgs ptr(DeviceBuffer buffer) { return ptr(buffer.ptr()); }

    /** An int or unsigned parameter: only the low 32 bits are passed, so unsigned values above 2^31 fit too. */
    public KernelArgs i32(int value) { return add(value & 0xFFFF_FFFFL, INT32); }

    public KernelArgs f32(float value) { return add(Float.floatToRawIntBits(value) & 0xFFFF_FFFFL, FLOAT32); }

    public KernelArgs i64(long value) { return add(value, INT64); }

    private KernelArgs add(long b, byte kind) {
        if (n == bits.length) {
            bits = Arrays.copyOf(bits, n * 2);
            kinds = Arrays.copyOf(kinds, n * 2);
        }
        bits[n] = b;
        kinds[n] = kind;
        n++;
        return this;
    }

    public int size() { return n; }

    /** A copy of the packed values, one per parameter. */
    public long[] bits() { return Arrays.copyOf(bits, n); }

    /** A copy of the kind bytes ('p', 'i', 'f', 'l'), one per parameter. */
    public byte[] kinds() { return Arrays.copyOf(kinds, n); }

    public byte kind(int i) {
        java.util.Objects.checkIndex(i, n);
        return kinds[i];
    }

    public long bits(int i) {
        java.util.Objects.checkIndex(i, n);
        return bits[i];
    }

    /** Readable for error messages: {@code (p 0x7f.., i 128, f 0.5, l 12)}. */
    @Override public String toString() {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < n; i++) {
            if (i > 0) sb.append(", ");
            sb.append((char) kinds[i]).append(' ');
            switch (kinds[i]) {
                case POINTER -> sb.append("0x").append(Long.toHexString(bits[i]));
                case INT32 -> sb.append((int) bits[i]);
                case FLOAT32 -> sb.append(Float.intBitsToFloat((int) bits[i]));
                default -> sb.append(bits[i]);
            }
        }
        return sb.append(')').toString();
    }
}
