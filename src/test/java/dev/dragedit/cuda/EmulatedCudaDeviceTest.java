package dev.dragedit.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The CPU emulation of the CUDA kernels (libdragedit_emu.so through JNI): the shared device contract on the
 * selftest kernels, plus what only the emulation can promise: a write out of bounds, a barrier deadlock, a failed
 * device assert and a tensor-core MMA short of lanes each fail the launch with a message naming the kernel, and the
 * device stays usable.
 */
class EmulatedCudaDeviceTest extends KernelDeviceContract {
    @Override protected KernelDevice open() {
        try {
            return new EmulatedCudaDevice();
        } catch (IllegalStateException e) {
            // A checkout without kernels/build.sh cannot have the library; with it, a missing library is a build bug.
            boolean buildable = Files.exists(Path.of("../kernels/build.sh")) || Files.exists(Path.of("kernels/build.sh"));
            Assumptions.assumeTrue(buildable, "no kernels/build.sh in this checkout: " + e.getMessage());
            throw e;
        }
    }

    private void assertUsable() {
        float[] x = {1, 2, 3, 4};
        try (DeviceBuffer dx = DeviceBuffer.of(dev, x); DeviceBuffer dy = DeviceBuffer.alloc(dev, 16)) {
            dev.launch("selftest_dynamic_smem_f32", Dim3.of(1), Dim3.of(4), 16, KernelArgs.create().ptr(dx).ptr(dy).i32(4));
            assertArrayEquals(new float[] {4, 3, 2, 1}, dy.toFloats(), "the device must still work after a failed launch");
        }
    }

    @Test
    void outOfBoundsWriteFailsTheLaunchNamingTheKernel() {
        int n = 40;
        try (DeviceBuffer y = DeviceBuffer.alloc(dev, 4L * n)) {
            KernelLaunchException e = assertThrows(KernelLaunchException.class,
                    () -> dev.launch("selftest_oob_write", Dim3.of(1), Dim3.of(64), 0, KernelArgs.create().ptr(y).i32(n)));
            assertEquals("selftest_oob_write", e.kernel());
            assertTrue(e.getMessage().contains("selftest_oob_write") && e.getMessage().contains("out of bounds")
                    && e.getMessage().contains(String.valueOf(4 * n)), e.getMessage());
            float[] got = y.toFloats();
            for (int i = 0; i < n; i++) assertEquals(i, got[i], "in-bounds writes land");
        }
        assertUsable();
    }

    @Test
    void barrierDeadlockIsReportedNotHung() {
        try (DeviceBuffer y = DeviceBuffer.alloc(dev, 4L * 64)) {
            KernelLaunchException e = assertThrows(KernelLaunchException.class,
                    () -> dev.launch("selftest_deadlock", Dim3.of(2), Dim3.of(64), 0, KernelArgs.create().ptr(y).i32(64)));
            assertEquals("selftest_deadlock", e.kernel());
            assertTrue(e.getMessage().contains("kernel selftest_deadlock grid (2,1,1) block (64,1,1)")
                    && e.getMessage().toLowerCase().contains("deadlock"), e.getMessage());
        }
        assertUsable();
    }

    @Test
    void divergentWarpCollectivesAreReported() {
        try (DeviceBuffer y = DeviceBuffer.alloc(dev, 4L * 32)) {
            KernelLaunchException e = assertThrows(KernelLaunchException.class,
                    () -> dev.launch("selftest_warp_divergent", Dim3.of(1), Dim3.of(32), 0, KernelArgs.create().ptr(y)));
            assertTrue(e.getMessage().contains("selftest_warp_divergent") && e.getMessage().contains("__shfl_xor_sync")
                    && e.getMessage().contains("__ballot_sync"), e.getMessage());
        }
        assertUsable();
    }

    @Test
    void failedDeviceAssertFailsTheLaunch() {
        try (DeviceBuffer y = DeviceBuffer.alloc(dev, 4L * 32)) {
            KernelLaunchException e = assertThrows(KernelLaunchException.class,
                    () -> dev.launch("selftest_assert", Dim3.of(1), Dim3.of(32), 0, KernelArgs.create().ptr(y).i32(5)));
            assertTrue(e.getMessage().contains("selftest_assert"), e.getMessage());
        }
        assertUsable();
    }

    @Test
    void mmaNeedsTheWholeWarp() {
        // mma.sync.aligned with an exited lane is undefined on a GPU (MmaFragmentTest covers the working case).
        try (DeviceBuffer a = DeviceBuffer.alloc(dev, 4L * 4 * 32); DeviceBuffer b = DeviceBuffer.alloc(dev, 4L * 2 * 32);
             DeviceBuffer c = DeviceBuffer.alloc(dev, 4L * 4 * 32); DeviceBuffer d = DeviceBuffer.alloc(dev, 4L * 4 * 32)) {
            KernelLaunchException exited = assertThrows(KernelLaunchException.class, () -> dev.launch("selftest_mma_exited_lane_f16",
                    Dim3.of(1), Dim3.of(32), 0, KernelArgs.create().ptr(a).ptr(b).ptr(c).ptr(d)));
            assertTrue(exited.getMessage().contains("selftest_mma_exited_lane_f16") && exited.getMessage().contains("de_mma_m16n8k16_f16")
                    && exited.getMessage().contains("thread (31,0,0) has exited"), exited.getMessage());
            KernelLaunchException partial = assertThrows(KernelLaunchException.class, () -> dev.launch("selftest_mma_m16n8k16_bf16",
                    Dim3.of(1), Dim3.of(16), 0, KernelArgs.create().ptr(a).ptr(b).ptr(c).ptr(d)));
            assertTrue(partial.getMessage().contains("de_mma_m16n8k16_bf16") && partial.getMessage().contains("only 16 threads"),
                    partial.getMessage());
        }
        assertUsable();
    }

    @Test
    void freedBuffersAreRefusedBeforeReachingNativeCode() {
        long p = dev.alloc(64);
        dev.free(p);
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> dev.free(p));
        assertTrue(twice.getMessage().contains("not a live allocation"), twice.getMessage());
        IllegalArgumentException stale = assertThrows(IllegalArgumentException.class, () -> dev.launch("selftest_oob_write",
                Dim3.of(1), Dim3.of(32), 0, KernelArgs.create().ptr(p).i32(4)));
        assertTrue(stale.getMessage().contains("argument 0") && stale.getMessage().contains("not inside a live buffer"), stale.getMessage());
        assertThrows(IllegalArgumentException.class, () -> dev.copyOut(p, new float[4], 0, 4));
    }

    @Test
    void gpuModuleHasTheSameKernelsAsTheEmulation() {
        java.util.Set<String> ptx = CudaKernelImages.entryNamesOfJar(CudaKernelImages::read);
        Assumptions.assumeTrue(ptx != null, "no /cuda/kernels.ptx: nvcc was not found when kernels/build.sh ran");
        assertEquals(new java.util.TreeSet<>(dev.kernels()), new java.util.TreeSet<>(ptx),
                "the PTX a GPU loads and the emulation library come from the same kernels/*.cu");
    }

    @Test
    void oversizedBlockIsRefusedWithTheGeometry() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.launch("selftest_ballot",
                Dim3.of(1), Dim3.of(2048), 0, KernelArgs.create()));
        assertTrue(e.getMessage().contains("kernel selftest_ballot grid (1,1,1) block (2048,1,1)"), e.getMessage());
    }

    @Test
    void wrongArgumentListIsReportedByTheLaunch() {
        try (DeviceBuffer y = DeviceBuffer.alloc(dev, 64)) {
            KernelLaunchException e = assertThrows(KernelLaunchException.class, () -> dev.launch("selftest_oob_write",
                    Dim3.of(1), Dim3.of(1), 0, KernelArgs.create().ptr(y)));
            assertTrue(e.getMessage().contains("selftest_oob_write"), e.getMessage());
        }
    }
}
