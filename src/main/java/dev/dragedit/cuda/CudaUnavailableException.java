package dev.dragedit.cuda;

/**
 * No usable GPU: the NVIDIA driver is missing or too old, there is no device, or the jar holds no kernels for it.
 * The message says which, in words a user can act on; {@link Devices} falls back to the emulation on it.
 */
public final class CudaUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) { super(message); }

    public CudaUnavailableException(String message, Throwable cause) { super(message, cause); }
}
