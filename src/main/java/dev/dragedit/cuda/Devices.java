package dev.dragedit.cuda;

import java.util.Locale;

/**
 * Picks where CUDA kernels run: the GPU when {@link CudaDevice} opens, else the CPU emulation of the same kernels.
 * Whether CUDA works is found out once per JVM (loading JCuda's driver binding, cuInit, loading the module) and the
 * reason it does not is kept for {@link #cudaStatus()}, so a machine without a GPU pays for the attempt once.
 * {@code -Ddragedit.device=cuda|emu|auto} (default auto) forces a choice: cuda fails with the reason instead of
 * falling back; emu never tries the GPU.
 */
public final class Devices {
    private Devices() {}

    public static final String PROPERTY = "dragedit.device";

    private static String unavailable;
    private static String available;

    /** A new device, owned (and closed) by the caller: a GPU if one opens, else the emulation. */
    public static KernelDevice best() {
        String choice = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        switch (choice) {
            case "emu", "emulation", "cpu" -> { return new EmulatedCudaDevice(); }
            case "cuda", "gpu" -> { return openCuda(); }
            case "auto", "" -> {
                KernelDevice gpu = tryCuda();
                if (gpu != null) return gpu;
                try {
                    return new EmulatedCudaDevice();
                } catch (IllegalStateException e) {
                    throw new IllegalStateException("no device for the CUDA kernels: " + cudaStatus() + "; and " + e.getMessage(), e);
                }
            }
            default -> throw new IllegalArgumentException("-D" + PROPERTY + "=" + choice + ": expected auto, cuda or emu");
        }
    }

    /** A GPU device, or CudaUnavailableException saying why there is none. */
    public static CudaDevice openCuda() {
        try {
            CudaDevice d = CudaDevice.open();
            record(d, null);
            return d;
        } catch (CudaUnavailableException | LinkageError e) {
            String why = e instanceof CudaUnavailableException ? e.getMessage() : noDriverMessage(e);
            record(null, why);
            throw e instanceof CudaUnavailableException c ? c : new CudaUnavailableException(why, e);
        }
    }

    private static KernelDevice tryCuda() {
        synchronized (Devices.class) {
            if (unavailable != null) return null;
        }
        try {
            return openCuda();
        } catch (CudaUnavailableException e) {
            return null;
        }
    }

    private static synchronized void record(CudaDevice d, String why) {
        if (d != null) {
            available = d.name() + ", kernels from " + d.moduleSource();
            unavailable = null;
        } else {
            unavailable = why;
        }
    }

    /** True when a GPU opened (trying once if nobody has yet). */
    public static boolean cudaAvailable() {
        cudaStatus();
        synchronized (Devices.class) {
            return available != null && unavailable == null;
        }
    }

    /**
     * One line on the GPU: "CUDA available: NVIDIA H100 … (sm_90 …)" or "CUDA unavailable: " and why (no NVIDIA
     * driver, no device, driver too old for the kernels' PTX…). Tries once, closing the device it opened.
     */
    public static String cudaStatus() {
        synchronized (Devices.class) {
            if (unavailable != null) return "CUDA unavailable: " + unavailable;
            if (available != null) return "CUDA available: " + available;
        }
        KernelDevice d = tryCuda();
        if (d != null) d.close();
        synchronized (Devices.class) {
            return unavailable != null ? "CUDA unavailable: " + unavailable : "CUDA available: " + available;
        }
    }

    /**
     * Why JCuda's driver binding did not load, in words. Here rather than in CudaDevice, which cannot even be
     * loaded when the JCuda jar itself is missing.
     */
    static String noDriverMessage(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) all.append(' ').append(t.getMessage());
        String detail = firstLine(e.getMessage());
        if (all.indexOf("libcuda") >= 0) {
            return "no NVIDIA driver: JCuda's driver binding needs libcuda.so.1, which is not installed or not visible"
                    + " (inside a container, start it with the NVIDIA container toolkit, e.g. --gpus all)";
        }
        return "the JCuda driver binding did not load (" + e.getClass().getSimpleName() + ": " + detail + ")";
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).trim();
    }
}
