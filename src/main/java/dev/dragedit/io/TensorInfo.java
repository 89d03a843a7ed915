// One tensor's entry in a safetensors header, after validation: the header is read and checked in full before any
// data is touched, so callers can list a checkpoint (names, dtypes, shapes) without mapping it.
package dev.dragedit.io;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

/**
 * A validated header entry. {@code begin} and {@code end} are byte offsets relative to the start of the data section
 * (the byte after the header), as in the file; {@code end - begin == numel · dtype.bytes}.
 */
public record TensorInfo(String name, DType dtype, int[] shape, long begin, long end) {
    public TensorInfo {
        shape = shape.clone();
    }

    /** A copy: the record stays immutable. */
    @Override
    public int[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public long numel() { return Tensor.numel(shape); }

    public long byteSize() { return end - begin; }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
    }
}
