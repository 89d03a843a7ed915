package dev.dragedit.cuda;

/**
 * A kernel launch that failed on the device: the message names the kernel, grid and block and says what went wrong
 * (a CUDA error, or what the emulation detected: a deadlock at __syncthreads, a write out of bounds…).
 */
public final class KernelLaunchException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String kernel;

    public KernelLaunchException(String kernel, String message) {
        super(message);
        this.kernel = kernel;
    }

    /** The kernel that failed. */
    public String kernel() { return kernel; }
}
