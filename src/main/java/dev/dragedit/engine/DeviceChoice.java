package dev.dragedit.engine;

import java.util.Locale;

/**
 * {@code --device}: where a run's ops execute. AUTO takes the GPU when one opens and the CPU op set otherwise; the
 * CUDA emulation is never chosen automatically, because it is a test vehicle (the CUDA kernels run as CPU fibers,
 * orders of magnitude slower than the Java CPU ops).
 */
public enum DeviceChoice {
    /** The GPU if present, else the CPU. */
    AUTO,
    /** The Java CPU op set ({@code CpuOps}). */
    CPU,
    /** The CUDA ops on a GPU; an error saying why when there is none. */
    CUDA,
    /** The CUDA ops on the CPU emulation of the CUDA kernels (for testing the CUDA path without a GPU). */
    EMULATED;

    /** The command-line spelling: "auto", "cpu", "cuda", "emulated". */
    public String spelling() { return name().toLowerCase(Locale.ROOT); }

    /** Parses a command-line value (case-insensitive); IllegalArgumentException listing the choices otherwise. */
    public static DeviceChoice parse(String s) {
        String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        for (DeviceChoice c : values()) if (c.spelling().equals(v)) return c;
        throw new IllegalArgumentException("expected auto, cpu, cuda or emulated, found '" + s + "'");
    }
}
