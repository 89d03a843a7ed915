package dev.dragedit.tensor;

/** Element types a tensor can hold. Names match safetensors' dtype strings. */
public enum DType {
    F32("F32", 4), F16("F16", 2), BF16("BF16", 2), I64("I64", 8), F64("F64", 8), I32("I32", 4), U8("U8", 1);

    public final String safetensorsName;
    public final int bytes;

    DType(String safetensorsName, int bytes) {
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
    }

    public boolean isFloating() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    /** Parses a safetensors dtype string; null when it is not one we support. */
    public static DType fromSafetensors(String name) {
        for (DType d : values()) if (d.safetensorsName.equals(name)) return d;
        return null;
    }
}
