package dev.dragedit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The GPU device. Without a usable GPU (this project's CI): the reason is reported and {@link Devices#best()} falls
 * back to the emulation. With one: the same selftest contract as the emulation runs on it, plus the memory pool's
 * steady state and event timing. A GPU run prints which device it used.
 */
class CudaDeviceTest {
    @Test
    void cudaStatusSaysWhyWhenThereIsNoGpu() {
        String status = Devices.cudaStatus();
        System.out.println("[CudaDeviceTest] " + status);
        Assumptions.assumeFalse(Devices.cudaAvailable(), "a GPU is present: " + status);
        assertTrue(status.startsWith("CUDA unavailable: ") && status.length() > "CUDA unavailable: ".length() + 10, status);
        boolean noDriver = !Files.exists(Path.of("/dev/nvidia0")) && !Files.exists(Path.of("/proc/driver/nvidia/version"));
        if (noDriver) assertTrue(status.contains("no NVIDIA driver") || status.contains("no CUDA device"), status);
        assertEquals(status, Devices.cudaStatus(), "the probe runs once and its answer is kept");
    }

    @Test
    void bestFallsBackToTheEmulationWithoutAGpu() {
        Assumptions.assumeFalse(Devices.cudaAvailable(), "a GPU is present");
        Assumptions.assumeTrue(emulationBuildable(), "no kernels/build.sh in this checkout");
        try (KernelDevice d = Devices.best()) {
            assertTrue(d.emulated(), d.name());
            assertTrue(d instanceof EmulatedCudaDevice, d.getClass().getName());
        }
    }

    @Test
    void driverTooOldMessageNamesTheMinimumDriver() {
        assertTrue(CudaErrors.DRIVER_TOO_OLD.equals("driver too old for the PTX built by nvcc 13: need NVIDIA driver ≥ 580"));
        assertEquals("12.8", CudaErrors.cudaVersion(12080));
        assertEquals("13.0", CudaErrors.cudaVersion(13000));
    }

    @Test
    void missingDriverLibraryIsExplainedFromTheLinkError() {
        String m = Devices.noDriverMessage(new UnsatisfiedLinkError("Error while loading native library \"JCudaDriver\"\n"
                + "/tmp/libJCudaDriver.so: libcuda.so.1: cannot open shared object file"));
        assertTrue(m.startsWith("no NVIDIA driver") && m.contains("libcuda.so.1"), m);
        String other = Devices.noDriverMessage(new NoClassDefFoundError("jcuda/driver/JCudaDriver"));
        assertFalse(other.contains("no NVIDIA driver"), other);
    }

    static boolean emulationBuildable() {
        return Files.exists(Path.of("../kernels/build.sh")) || Files.exists(Path.of("kernels/build.sh"));
    }

    /** The device contract on the GPU; skipped (with the reason) when there is none. */
    @Nested
    class OnGpu extends KernelDeviceContract {
        @Override protected KernelDevice open() {
            Assumptions.assumeTrue(Devices.cudaAvailable(), Devices.cudaStatus());
            CudaDevice d = Devices.openCuda();
            System.out.println("[CudaDeviceTest] running on " + d.name() + ", kernels from " + d.moduleSource());
            return d;
        }

        @Test
        void memoryPoolServesSteadyStateStepsFromItsCache() {
            CudaDevice gpu = (CudaDevice) dev;
            long[] sizes = {4, 4096, 3 << 20, 1000};
            for (int step = 0; step < 3; step++) {
                long[] p = new long[sizes.length];
                for (int i = 0; i < sizes.length; i++) p[i] = gpu.alloc(sizes[i]);
                for (long q : p) gpu.free(q);
            }
            long reserved = gpu.poolReservedBytes();
            for (int step = 0; step < 10; step++) {
                long[] p = new long[sizes.length];
                for (int i = 0; i < sizes.length; i++) p[i] = gpu.alloc(sizes[i]);
                for (long q : p) gpu.free(q);
            }
            assertEquals(reserved, gpu.poolReservedBytes(), "steady-state steps must not grow the pool");
            assertTrue(gpu.trimPool() > 0);
        }

        @Test
        void eventsTimeAKernel() {
            float[] x = smallInts(new java.util.Random(9), 1 << 16);
            try (DeviceBuffer dx = DeviceBuffer.of(dev, x); DeviceBuffer out = DeviceBuffer.zerosF32(dev, 1)) {
                double ms = dev.elapsedMs(() -> dev.launch("selftest_reduce_shfl_f32", Dim3.of(64), Dim3.of(256), 0,
                        KernelArgs.create().ptr(dx).ptr(out).i32(x.length)));
                assertTrue(ms > 0 && ms < 1000, "elapsed " + ms + " ms");
            }
        }
    }
}
