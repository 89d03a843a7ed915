package dev.dragedit.tensor;

/** Where a tensor's storage lives. The CPU is always there; CUDA devices arrive with the CUDA backend. */
public interface Device {
    String name();

    Device CPU = () -> "cpu";
}
