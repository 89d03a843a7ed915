package dev.dragedit.cuda;

import java.util.Set;

/**
 * The CUDA kernels run on the CPU: the same kernels/*.cu sources compiled by g++ with the emulation header into
 * libdragedit_emu.so (blocks on worker threads, CUDA threads as fibers). Memory is native host memory with red
 * zones around every buffer, checked after each launch, so a write out of bounds fails the launch; reads out of
 * bounds are not caught. Launches are synchronous. This class is thin on purpose: it checks arguments in Java
 * (so a bad pointer never reaches native code) and turns a launch's error text into a {@link KernelLaunchException}.
 *
 * <p>The library is one per JVM, so devices share it: launches are serialised (the red-zone check after a launch
 * covers every live buffer), and {@link #launchCount} counts the launches of all instances.
 */
public final class EmulatedCudaDevice implements KernelDevice {
    private static final Object LAUNCH_LOCK = new Object();

    private final String libraryPath;
    private final Set<String> kernels;
    private final Allocations live = new Allocations();
    private volatile boolean closed;
    private volatile LaunchTimer timer;

    /** Loads the emulation library (IllegalStateException saying why when it is missing or does not load). */
    public EmulatedCudaDevice() {
        libraryPath = EmulatedNative.load();
        kernels = Set.of(EmulatedNative.kernelNames());
    }

    @Override public String name() { return "CUDA emulation on the CPU (" + kernels.size() + " kernels)"; }

    @Override public long bytesInUse() { return live.bytesLive(); }

    @Override public long peakBytesInUse() { return live.bytesPeak(); }

    @Override public void resetPeakBytes() { live.resetPeak(); }

    @Override public boolean emulated() { return true; }

    /** Where the native library was loaded from. */
    public String libraryPath() { return libraryPath; }

    @Override public long alloc(long bytes) {
        open();
        if (bytes < 0) throw new IllegalArgumentException(name() + ": alloc of negative size " + bytes);
        // A zero-byte tensor still needs a distinct address to be passed around.
        long ptr = EmulatedNative.alloc(Math.max(bytes, 1));
        if (ptr == 0) {
            throw new DeviceOutOfMemoryException(name() + ": out of host memory allocating " + bytes + " bytes ("
                    + live.bytesLive() + " bytes in " + live.count() + " buffers live)");
        }
        live.add(ptr, bytes);
        return ptr;
    }

    @Override public void free(long ptr) {
        open();
        live.remove(ptr, name());
        EmulatedNative.free(ptr);
    }

    @Override public void copyIn(long dst, float[] src, int off, int n) {
        open();
        LaunchChecks.checkArray("copyIn", src.length, off, n);
        live.checkRange(dst, 4L * n, "copyIn");
        if (n > 0) EmulatedNative.copyInFloats(dst, src, off, n);
    }

    @Override public void copyOut(long src, float[] dst, int off, int n) {
        open();
        LaunchChecks.checkArray("copyOut", dst.length, off, n);
        live.checkRange(src, 4L * n, "copyOut");
        if (n > 0) EmulatedNative.copyOutFloats(src, dst, off, n);
    }

    @Override public void copyIn(long dst, byte[] src, int off, int n) {
        open();
        LaunchChecks.checkArray("copyIn", src.length, off, n);
        live.checkRange(dst, n, "copyIn");
        if (n > 0) EmulatedNative.copyInBytes(dst, src, off, n);
    }

    @Override public void copyOut(long src, byte[] dst, int off, int n) {
        open();
        LaunchChecks.checkArray("copyOut", dst.length, off, n);
        live.checkRange(src, n, "copyOut");
        if (n > 0) EmulatedNative.copyOutBytes(src, dst, off, n);
    }

    @Override public void memset(long ptr, int v, long bytes) {
        open();
        live.checkRange(ptr, bytes, "memset");
        if (bytes > 0) EmulatedNative.memset(ptr, v & 0xFF, bytes);
    }

    @Override public void copy(long dst, long src, long bytes) {
        open();
        live.checkRange(src, bytes, "copy (source)");
        live.checkRange(dst, bytes, "copy (destination)");
        if (bytes > 0) EmulatedNative.copyDeviceToDevice(dst, src, bytes);
    }

    @Override public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        open();
        LaunchChecks.checkKnown(name(), kernels, kernel);
        LaunchChecks.checkLaunch(name(), live, kernel, grid, block, sharedBytes, args);
        String error;
        long elapsedNs;
        synchronized (LAUNCH_LOCK) {
            long t0 = System.nanoTime();
            error = EmulatedNative.launch(kernel, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(), sharedBytes,
                    args.bits(), args.kinds());
            elapsedNs = System.nanoTime() - t0;
        }
        LaunchTimer t = timer;
        // a launch that reports an error (a test provoking it) still ran the kernel; a timed one is a benchmark run
        if (t == null) KernelCoverage.record(name(), kernel);
        if (error != null) throw new KernelLaunchException(kernel, error);
        if (t != null) t.launched(kernel, elapsedNs / 1e6);
    }

    /** The native launch is synchronous, so the timer hears of each launch as it returns (wall-clock time). */
    @Override public void setLaunchTimer(LaunchTimer timer) { this.timer = timer; }

    @Override public void synchronize() { open(); }

    @Override public Set<String> kernels() { return kernels; }

    @Override public long launchCount(String kernel) {
        return kernels.contains(kernel) ? EmulatedNative.launchCount(kernel) : 0;
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        for (long p : live.bases()) {
            live.remove(p, name());
            EmulatedNative.free(p);
        }
    }

    private void open() {
        if (closed) throw new IllegalStateException(name() + " is closed");
    }
}
