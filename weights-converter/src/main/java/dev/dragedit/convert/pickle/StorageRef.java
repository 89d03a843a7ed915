// A torch storage named by a checkpoint's persistent id ('storage', torch.FloatStorage, key, location, numel)
// (torch/serialization.py, persistent_id / persistent_load): which archive entry holds the bytes, and as what type.
package dev.dragedit.convert.pickle;

import dev.dragedit.tensor.DType;

/** Where a storage's bytes live ({@code <root>/data/<key>}) and their element type. */
public record StorageRef(String key, Unpickler.PyGlobal type, String location, long numel) {
    /** The element type, or null when our tensors cannot hold it (bool, int8, int16). */
    public DType dtype() { return type.storageDType(); }

    /** Bytes per element of the storage class (also for the types we cannot hold, to bound-check them). */
    public int elementBytes() {
        return switch (type.name()) {
            case "DoubleStorage", "LongStorage" -> 8;
            case "FloatStorage", "IntStorage" -> 4;
            case "HalfStorage", "BFloat16Storage", "ShortStorage" -> 2;
            default -> 1;
        };
    }
}
