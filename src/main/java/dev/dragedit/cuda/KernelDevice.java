package dev.dragedit.cuda;

import java.util.Set;

/**
 * Where CUDA kernels run: a real GPU ({@link CudaDevice}, JCuda's driver API) or the CPU emulation of the same
 * kernel sources ({@link EmulatedCudaDevice}). The CUDA backend talks only to this interface, so its launch
 * geometry, memory layout and kernel code run in CI without a GPU.
 *
 * <p>Memory is addressed by raw 64-bit device pointers (a pointer plus a byte offset is a pointer too); copies take
 * counts in elements of the Java array. Work is issued in order on one stream: a launch may return before the
 * kernel finishes, and {@code copyOut} and {@link #synchronize} wait for everything issued before them.
 */
public interface KernelDevice extends dev.dragedit.tensor.Device, AutoCloseable {
    /** Human-readable, e.g. "NVIDIA H100 80GB HBM3 (sm_90, driver 12.8)" or "CUDA emulation on the CPU". */
    String name();

    /** True for the CPU emulation, where launches are synchronous and reads out of bounds go unnoticed. */
    boolean emulated();

    /** A device buffer of {@code bytes} bytes (contents undefined); freed with {@link #free}. */
    long alloc(long bytes);

    void free(long ptr);

    /** Bytes in live buffers now (what tensors hold; a caching pool may reserve more from the driver). */
    long bytesInUse();

    /** The most bytes in live buffers at once since the device opened or the last {@link #resetPeakBytes}. */
    long peakBytesInUse();

    /** Starts a new peak measurement (for one phase of a run) from the bytes in use now. */
    void resetPeakBytes();

    /** Copies src[off, off+n) to the device at dst. */
    void copyIn(long dst, float[] src, int off, int n);

    /** Copies n floats from the device at src into dst[off, off+n), after all work issued before. */
    void copyOut(long src, float[] dst, int off, int n);

    void copyIn(long dst, byte[] src, int off, int n);

    void copyOut(long src, byte[] dst, int off, int n);

    /** Sets {@code bytes} bytes at ptr to the low 8 bits of v (cuMemsetD8). */
    void memset(long ptr, int v, long bytes);

    /** Device-to-device copy of {@code bytes} bytes; the ranges must not overlap. */
    void copy(long dst, long src, long bytes);

    /**
     * Runs {@code kernel} on a grid of {@code grid} blocks of {@code block} threads with {@code sharedBytes} of dynamic
     * shared memory. Throws {@link KernelLaunchException} naming the kernel, grid and block when the launch fails, and
     * IllegalArgumentException for a kernel this device does not have.
     */
    void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args);

    /** Waits for all issued work; a failure of an asynchronous kernel surfaces here. */
    void synchronize();

    /** The names of every kernel entry point this device can launch. */
    Set<String> kernels();

    /** How many times {@code kernel} was launched through this device so far (for kernel-coverage reports). */
    long launchCount(String kernel);

    /** Receives the device time of each kernel launch while it is set ({@link #setLaunchTimer}). */
    @FunctionalInterface
    interface LaunchTimer {
        /** {@code kernel} ran for {@code ms} milliseconds of device time. */
        void launched(String kernel, double ms);
    }

    /**
     * Times every following successful launch and reports it to {@code timer} (null stops timing). On a GPU the time
     * comes from a pair of CUDA events recorded on the stream around the launch, and the times are delivered, in
     * launch order, at the next {@link #synchronize} (or copyOut): reading an event waits for it, so reading at each
     * launch would serialise the host with the GPU. The emulation's launches are synchronous: each is reported, in
     * wall-clock time, as it returns. For benchmarks ({@code dragedit bench kernels}); the timer is called on the
     * thread that launches or synchronises. Timed launches are benchmark runs, not checks: they are not recorded in
     * {@link KernelCoverage}, whose report must show that every kernel was compared with the CPU ops by some test
     * (a benchmark test that launches everything would otherwise hide a kernel without one).
     */
    void setLaunchTimer(LaunchTimer timer);

    /**
     * Device time of {@code work} in milliseconds: CUDA events around it on the GPU; wall-clock time here, where
     * launches are synchronous.
     */
    default double elapsedMs(Runnable work) {
        synchronize();
        long t0 = System.nanoTime();
        work.run();
        synchronize();
        return (System.nanoTime() - t0) / 1e6;
    }

    /** Frees every buffer still allocated through this device and releases it. */
    @Override void close();
}
