package dev.dragedit.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * A real GPU through JCuda's binding of the CUDA driver API: the device's primary context, one module holding every
 * kernel of kernels/*.cu (the cubin for its architecture, else the PTX; see {@link CudaKernelImages}), one stream on
 * which all work is issued in order, a caching memory pool ({@link CudaMemoryPool}) so steady-state steps never call
 * cuMemAlloc, and events for timing. Launches are asynchronous: a kernel that faults is reported by the next
 * synchronising call, naming the last kernel launched ({@code -Ddragedit.cuda.sync=true} synchronises after every
 * launch, to name the faulting kernel exactly).
 *
 * <p>Opening never needs more than JCuda's jar: a machine without the NVIDIA driver (JCuda's JNI library cannot
 * load libcuda.so.1), without a GPU, or with a driver too old for the kernels gets a
 * {@link CudaUnavailableException} saying which, and {@link Devices} falls back to the emulation.
 */
public final class CudaDevice implements KernelDevice {
    public static final String DEVICE_PROPERTY = "dragedit.cuda.device";
    public static final String SYNC_PROPERTY = "dragedit.cuda.sync";

    /** The driver library's load failure, kept: a second attempt only gets "Could not initialize class". */
    private static String driverLoadFailure;
    private static final ThreadLocal<CudaDevice> CURRENT = new ThreadLocal<>();

    private final int ordinal;
    private final CUdevice device;
    private final CUcontext context;
    private final CUmodule module;
    private final CUstream stream;
    private final String name;
    private final int ccMajor;
    private final int ccMinor;
    private final int driverVersion;
    private final String moduleSource;
    private final Set<String> kernels;
    private final int maxSharedOptIn;
    private final boolean syncEveryLaunch = Boolean.getBoolean(SYNC_PROPERTY);
    private final CudaMemoryPool pool;
    private final Allocations live = new Allocations();
    private final Map<String, CUfunction> functions = new ConcurrentHashMap<>();
    private final Map<String, Integer> sharedSetFor = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    private volatile String lastKernel = "?";
    private volatile String lastLaunch = "none yet";
    private CUevent timingStart;
    private CUevent timingStop;
    private volatile LaunchTimer launchTimer;
    /** Launch timing: events reused across launches (creating one per launch would cost a driver call each). */
    private final ArrayDeque<CUevent> freeEvents = new ArrayDeque<>();
    /** Timed launches whose events have not been read yet; read at the next synchronize. Guarded by itself. */
    private final List<TimedLaunch> timedLaunches = new ArrayList<>();

    private record TimedLaunch(String kernel, CUevent start, CUevent stop, LaunchTimer timer) {}
    private volatile boolean closed;

    /** Device {@code -Ddragedit.cuda.device} (default 0). */
    public static CudaDevice open() {
        return open(Integer.getInteger(DEVICE_PROPERTY, 0));
    }

    /** Opens GPU {@code ordinal}, or throws {@link CudaUnavailableException} saying why it cannot. */
    public static CudaDevice open(int ordinal) {
        loadDriverLibrary();
        try {
            return new CudaDevice(ordinal);
        } catch (CudaException | LinkageError e) {
            throw new CudaUnavailableException("the CUDA driver API failed while opening device " + ordinal + ": " + e, e);
        }
    }

    private static synchronized void loadDriverLibrary() {
        if (driverLoadFailure != null) throw new CudaUnavailableException(driverLoadFailure);
        try {
            // The first touch of JCudaDriver loads its JNI library, which links against the driver's libcuda.so.1.
            JCudaDriver.setExceptionsEnabled(false);
        } catch (LinkageError | CudaException e) {
            driverLoadFailure = Devices.noDriverMessage(e);
            throw new CudaUnavailableException(driverLoadFailure, e);
        }
    }

    private CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        int r = cuInit(0);
        if (r == CUresult.CUDA_ERROR_NO_DEVICE) throw new CudaUnavailableException("no CUDA device: the NVIDIA driver is installed but sees no GPU (cuInit: CUDA_ERROR_NO_DEVICE)");
        if (r != CUresult.CUDA_SUCCESS) throw new CudaUnavailableException("cuInit failed: " + CudaErrors.describe(r) + initHint(r));
        int[] v = new int[1];
        require(cuDriverGetVersion(v), "cuDriverGetVersion");
        driverVersion = v[0];
        require(cuDeviceGetCount(v), "cuDeviceGetCount");
        if (v[0] == 0) throw new CudaUnavailableException("no CUDA device: the NVIDIA driver reports 0 GPUs");
        if (ordinal < 0 || ordinal >= v[0]) {
            throw new CudaUnavailableException("CUDA device " + ordinal + " requested (-D" + DEVICE_PROPERTY + "), but only " + v[0] + " present (0.." + (v[0] - 1) + ")");
        }
        device = new CUdevice();
        require(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        byte[] nameBytes = new byte[256];
        require(cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName");
        String gpu = cString(nameBytes);
        ccMajor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        ccMinor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        maxSharedOptIn = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        long[] total = new long[1];
        require(cuDeviceTotalMem(total, device), "cuDeviceTotalMem");
        name = gpu + " (sm_" + ccMajor + ccMinor + ", " + (total[0] >> 20) + " MiB, driver CUDA " + CudaErrors.cudaVersion(driverVersion) + ")";

        context = new CUcontext();
        require(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        CUmodule m = null;
        CUstream s = null;
        try {
            require(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            CURRENT.set(this);
            String[] source = new String[1];
            m = loadModule(source);
            moduleSource = source[0];
            s = new CUstream();
            // A blocking stream: the synchronous cuMemcpy calls (legacy default stream) are ordered with it.
            require(cuStreamCreate(s, CUstream_flags.CU_STREAM_DEFAULT), "cuStreamCreate");
        } catch (RuntimeException e) {
            if (m != null) cuModuleUnload(m);
            cuDevicePrimaryCtxRelease(device);
            CURRENT.remove();
            throw e;
        }
        module = m;
        stream = s;
        Set<String> fromPtx = CudaKernelImages.entryNamesOfJar(CudaKernelImages::read);
        kernels = fromPtx != null ? fromPtx : Set.of();
        pool = new CudaMemoryPool(new CudaMemoryPool.Backend() {
            @Override public long alloc(long bytes) { return rawAlloc(bytes); }

            @Override public void free(long ptr) { cuMemFree(devicePointer(ptr)); }
        });
    }

    private static String initHint(int r) {
        if (r == CUresult.CUDA_ERROR_SYSTEM_DRIVER_MISMATCH) return ": the user-space driver (libcuda) and the kernel module differ in version; reboot or reinstall the driver";
        if (r == CUresult.CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE) return ": the CUDA forward-compatibility package does not support this GPU";
        return "";
    }

    private CUmodule loadModule(String[] source) {
        List<String> tried = new ArrayList<>();
        int ptxResult = CUresult.CUDA_SUCCESS;
        for (String resource : CudaKernelImages.candidates(ccMajor, ccMinor)) {
            byte[] image = CudaKernelImages.read(resource);
            if (image == null) continue;
            boolean ptx = resource.equals(CudaKernelImages.PTX);
            CUmodule m = new CUmodule();
            int r = cuModuleLoadData(m, ptx ? CudaKernelImages.nulTerminated(image) : image);
            if (r == CUresult.CUDA_SUCCESS) {
                source[0] = resource;
                return m;
            }
            tried.add(resource + ": " + CudaErrors.describe(r));
            if (ptx) ptxResult = r;
        }
        String sm = "sm_" + ccMajor + ccMinor;
        if (tried.isEmpty()) {
            throw new CudaUnavailableException("this build holds no CUDA kernels for " + sm + ": neither "
                    + CudaKernelImages.cubin(ccMajor, ccMinor) + " nor " + CudaKernelImages.PTX
                    + " is on the classpath (nvcc was not found when kernels/build.sh ran)");
        }
        if (ptxResult == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION) {
            throw new CudaUnavailableException(CudaErrors.DRIVER_TOO_OLD + " (this driver supports CUDA "
                    + CudaErrors.cudaVersion(driverVersion) + "; no cubin in the jar matches " + sm + "; tried " + String.join("; ", tried) + ")");
        }
        throw new CudaUnavailableException("the CUDA kernels do not load on " + sm + ": " + String.join("; ", tried));
    }

    private long rawAlloc(long bytes) {
        Ptr p = new Ptr();
        int r = cuMemAlloc(p, bytes);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) return 0;
        check(r, "cuMemAlloc(" + bytes + ")");
        return p.address();
    }

    /** A CUdeviceptr whose address can be read: JCuda keeps it in a protected field. */
    private static final class Ptr extends CUdeviceptr {
        long address() { return getNativePointer() + getByteOffset(); }
    }

    /** JCuda passes nativePointer + byteOffset to the driver, so an offset from null is any raw address. */
    private static CUdeviceptr devicePointer(long address) {
        return new CUdeviceptr().withByteOffset(address);
    }

    @Override public String name() { return name; }

    @Override public long bytesInUse() { return live.bytesLive(); }

    @Override public long peakBytesInUse() { return live.bytesPeak(); }

    @Override public void resetPeakBytes() { live.resetPeak(); }

    @Override public boolean emulated() { return false; }

    public int ordinal() { return ordinal; }

    /** Compute capability, e.g. 90 for sm_90. */
    public int computeCapability() { return ccMajor * 10 + ccMinor; }

    /** The driver's CUDA version as cuDriverGetVersion reports it (12080 = 12.8). */
    public int driverVersion() { return driverVersion; }

    /** The jar resource the kernels were loaded from (a cubin or the PTX). */
    public String moduleSource() { return moduleSource; }

    /** Device bytes held by the memory pool (in use plus cached) and the cached part. */
    public long poolReservedBytes() { return pool.reservedBytes(); }

    public long poolCachedBytes() { return pool.cachedBytes(); }

    /** Gives the pool's cached blocks back to the driver (for other processes, or before a large allocation). */
    public long trimPool() {
        current();
        return pool.trim();
    }

    @Override public long alloc(long bytes) {
        current();
        if (bytes < 0) throw new IllegalArgumentException(name + ": alloc of negative size " + bytes);
        long ptr = pool.take(Math.max(bytes, 1));
        if (ptr == 0) {
            long[] free = new long[1];
            long[] total = new long[1];
            cuMemGetInfo(free, total);
            throw new DeviceOutOfMemoryException(name + ": out of device memory allocating " + bytes + " bytes ("
                    + live.bytesLive() + " bytes live in " + live.count() + " buffers; device free " + (free[0] >> 20)
                    + " of " + (total[0] >> 20) + " MiB)");
        }
        live.add(ptr, bytes);
        return ptr;
    }

    @Override public void free(long ptr) {
        current();
        live.remove(ptr, name);
        pool.give(ptr);
    }

    @Override public void copyIn(long dst, float[] src, int off, int n) {
        current();
        LaunchChecks.checkArray("copyIn", src.length, off, n);
        live.checkRange(dst, 4L * n, "copyIn");
        if (n > 0) check(cuMemcpyHtoD(devicePointer(dst), Pointer.to(src).withByteOffset(4L * off), 4L * n), "copyIn of " + n + " floats");
    }

    @Override public void copyOut(long src, float[] dst, int off, int n) {
        current();
        LaunchChecks.checkArray("copyOut", dst.length, off, n);
        live.checkRange(src, 4L * n, "copyOut");
        synchronize();
        if (n > 0) check(cuMemcpyDtoH(Pointer.to(dst).withByteOffset(4L * off), devicePointer(src), 4L * n), "copyOut of " + n + " floats");
    }

    @Override public void copyIn(long dst, byte[] src, int off, int n) {
        current();
        LaunchChecks.checkArray("copyIn", src.length, off, n);
        live.checkRange(dst, n, "copyIn");
        if (n > 0) check(cuMemcpyHtoD(devicePointer(dst), Pointer.to(src).withByteOffset(off), n), "copyIn of " + n + " bytes");
    }

    @Override public void copyOut(long src, byte[] dst, int off, int n) {
        current();
        LaunchChecks.checkArray("copyOut", dst.length, off, n);
        live.checkRange(src, n, "copyOut");
        synchronize();
        if (n > 0) check(cuMemcpyDtoH(Pointer.to(dst).withByteOffset(off), devicePointer(src), n), "copyOut of " + n + " bytes");
    }

    @Override public void memset(long ptr, int v, long bytes) {
        current();
        live.checkRange(ptr, bytes, "memset");
        if (bytes > 0) check(cuMemsetD8Async(devicePointer(ptr), (byte) v, bytes, stream), "memset of " + bytes + " bytes");
    }

    @Override public void copy(long dst, long src, long bytes) {
        current();
        live.checkRange(src, bytes, "copy (source)");
        live.checkRange(dst, bytes, "copy (destination)");
        if (bytes > 0) check(cuMemcpyDtoDAsync(devicePointer(dst), devicePointer(src), bytes, stream), "copy of " + bytes + " bytes");
    }

    @Override public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        current();
        CUfunction f = function(kernel);
        LaunchChecks.checkLaunch(name, live, kernel, grid, block, sharedBytes, args);
        String what = LaunchChecks.describe(kernel, grid, block, sharedBytes);
        allowDynamicShared(kernel, f, sharedBytes, what);
        Pointer[] params = new Pointer[args.size()];
        for (int i = 0; i < params.length; i++) {
            long b = args.bits(i);
            // kernelParams: one pointer per parameter, to a value of exactly the parameter's size.
            params[i] = switch (args.kind(i)) {
                case KernelArgs.INT32, KernelArgs.FLOAT32 -> Pointer.to(new int[] {(int) b});
                default -> Pointer.to(new long[] {b});
            };
        }
        LaunchTimer timer = launchTimer;
        CUevent start = null;
        if (timer != null) {
            start = takeEvent();
            check(cuEventRecord(start, stream), "cuEventRecord");
        }
        int r = cuLaunchKernel(f, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(), sharedBytes, stream,
                Pointer.to(params), null);
        if (r != CUresult.CUDA_SUCCESS) {
            if (start != null) giveEvent(start);
            throw new KernelLaunchException(kernel, name + ": " + what + ": " + CudaErrors.describe(r) + CudaErrors.launchHint(r));
        }
        if (start != null) {
            CUevent stop = takeEvent();
            check(cuEventRecord(stop, stream), "cuEventRecord");
            synchronized (timedLaunches) {
                timedLaunches.add(new TimedLaunch(kernel, start, stop, timer));
            }
        }
        counts.computeIfAbsent(kernel, k -> new LongAdder()).increment();
        if (timer == null) KernelCoverage.record(name, kernel);   // timed launches are benchmark runs, not checks
        lastKernel = kernel;
        lastLaunch = what;
        if (syncEveryLaunch) {
            r = cuStreamSynchronize(stream);
            if (r != CUresult.CUDA_SUCCESS) {
                throw new KernelLaunchException(kernel, name + ": " + what + " failed while running: " + CudaErrors.describe(r) + CudaErrors.launchHint(r));
            }
        }
    }

    private CUfunction function(String kernel) {
        java.util.Objects.requireNonNull(kernel, "kernel");
        CUfunction f = functions.get(kernel);
        if (f != null) return f;
        CUfunction nf = new CUfunction();
        int r = cuModuleGetFunction(nf, module, kernel);
        if (r == CUresult.CUDA_ERROR_NOT_FOUND) throw new IllegalArgumentException(LaunchChecks.unknownKernel(name, kernels, kernel));
        check(r, "cuModuleGetFunction(" + kernel + ")");
        functions.put(kernel, nf);
        return nf;
    }

    /** Above 48 KiB, dynamic shared memory must be granted per function before the launch. */
    private void allowDynamicShared(String kernel, CUfunction f, int sharedBytes, String what) {
        if (sharedBytes <= 48 * 1024 || sharedSetFor.getOrDefault(kernel, 0) >= sharedBytes) return;
        if (sharedBytes > maxSharedOptIn) {
            throw new KernelLaunchException(kernel, name + ": " + what + ": asks for " + sharedBytes
                    + " bytes of dynamic shared memory; this GPU allows at most " + maxSharedOptIn + " per block");
        }
        int r = cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
        if (r != CUresult.CUDA_SUCCESS) {
            throw new KernelLaunchException(kernel, name + ": " + what + ": cannot reserve " + sharedBytes
                    + " bytes of dynamic shared memory (static shared memory counts too): " + CudaErrors.describe(r));
        }
        sharedSetFor.merge(kernel, sharedBytes, Math::max);
    }

    @Override public void synchronize() {
        current();
        int r = cuStreamSynchronize(stream);
        if (r != CUresult.CUDA_SUCCESS) {
            dropTimedLaunches();
            failAfterLaunch(r, "synchronize");
        }
        deliverTimedLaunches();
    }

    @Override public void setLaunchTimer(LaunchTimer timer) { launchTimer = timer; }

    private CUevent takeEvent() {
        synchronized (freeEvents) {
            CUevent e = freeEvents.poll();
            if (e != null) return e;
        }
        CUevent e = new CUevent();
        check(cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
        return e;
    }

    private void giveEvent(CUevent e) {
        synchronized (freeEvents) {
            freeEvents.push(e);
        }
    }

    /** After the stream drained: every pending event has completed, so reading them does not wait. */
    private void deliverTimedLaunches() {
        List<TimedLaunch> done;
        synchronized (timedLaunches) {
            if (timedLaunches.isEmpty()) return;
            done = new ArrayList<>(timedLaunches);
            timedLaunches.clear();
        }
        float[] ms = new float[1];
        for (TimedLaunch t : done) {
            int r = cuEventElapsedTime(ms, t.start(), t.stop());
            giveEvent(t.start());
            giveEvent(t.stop());
            check(r, "cuEventElapsedTime(" + t.kernel() + ")");
            t.timer().launched(t.kernel(), ms[0]);
        }
    }

    /** A failed stream has no meaningful times: the events go back to the pool unread. */
    private void dropTimedLaunches() {
        synchronized (timedLaunches) {
            for (TimedLaunch t : timedLaunches) {
                giveEvent(t.start());
                giveEvent(t.stop());
            }
            timedLaunches.clear();
        }
    }

    @Override public Set<String> kernels() { return kernels; }

    @Override public long launchCount(String kernel) {
        LongAdder c = counts.get(kernel);
        return c == null ? 0 : c.sum();
    }

    /** Device time between two events recorded on the stream around the work. */
    @Override public synchronized double elapsedMs(Runnable work) {
        current();
        if (timingStart == null) {
            CUevent a = new CUevent();
            CUevent b = new CUevent();
            check(cuEventCreate(a, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
            check(cuEventCreate(b, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
            timingStart = a;
            timingStop = b;
        }
        check(cuEventRecord(timingStart, stream), "cuEventRecord");
        work.run();
        check(cuEventRecord(timingStop, stream), "cuEventRecord");
        int r = cuEventSynchronize(timingStop);
        if (r != CUresult.CUDA_SUCCESS) failAfterLaunch(r, "timing");
        float[] ms = new float[1];
        check(cuEventElapsedTime(ms, timingStart, timingStop), "cuEventElapsedTime");
        return ms[0];
    }

    @Override public synchronized void close() {
        if (closed) return;
        current();
        closed = true;
        cuStreamSynchronize(stream);
        pool.releaseAll();
        if (timingStart != null) {
            cuEventDestroy(timingStart);
            cuEventDestroy(timingStop);
        }
        dropTimedLaunches();
        synchronized (freeEvents) {
            for (CUevent e : freeEvents) cuEventDestroy(e);
            freeEvents.clear();
        }
        cuStreamDestroy(stream);
        cuModuleUnload(module);
        cuDevicePrimaryCtxRelease(device);
        CURRENT.remove();
    }

    /** Makes this device's context current on the calling thread (driver API contexts are per thread). */
    private void current() {
        if (closed) throw new IllegalStateException(name + " is closed");
        if (CURRENT.get() != this) {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            CURRENT.set(this);
        }
    }

    private int attribute(int attr) {
        int[] v = new int[1];
        require(cuDeviceGetAttribute(v, attr, device), "cuDeviceGetAttribute(" + CUdevice_attribute.stringFor(attr) + ")");
        return v[0];
    }

    /** While opening: any failure means the GPU is not usable. */
    private static void require(int r, String what) {
        if (r != CUresult.CUDA_SUCCESS) throw new CudaUnavailableException(what + " failed: " + CudaErrors.describe(r));
    }

    private void check(int r, String what) {
        if (r == CUresult.CUDA_SUCCESS) return;
        if (CudaErrors.sticky(r)) failAfterLaunch(r, what);
        throw new IllegalStateException(name + ": " + what + " failed: " + CudaErrors.describe(r));
    }

    /** Asynchronous kernel faults surface at the next synchronising call: blame the last launch. */
    private void failAfterLaunch(int r, String what) {
        throw new KernelLaunchException(lastKernel, name + ": " + what + " failed: " + CudaErrors.describe(r) + " after the last launch, "
                + lastLaunch + CudaErrors.launchHint(r) + " (run with -D" + SYNC_PROPERTY + "=true to pin the failing kernel)");
    }

    private static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }
}
