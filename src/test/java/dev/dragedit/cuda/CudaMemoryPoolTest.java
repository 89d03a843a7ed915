package dev.dragedit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The GPU memory pool's policy, against a fake device: steady-state steps allocate nothing from the device, size
 * classes bound the waste, running out of memory releases the cache and retries, and the kernel images are chosen
 * in the order a GPU can run them.
 */
class CudaMemoryPoolTest {
    /** A device with a byte budget that records its raw allocations. */
    static final class FakeDevice implements CudaMemoryPool.Backend {
        final long capacity;
        long used;
        long next = 0x10000;
        int allocs;
        int frees;
        final Map<Long, Long> blocks = new HashMap<>();

        FakeDevice(long capacity) { this.capacity = capacity; }

        @Override public long alloc(long bytes) {
            if (used + bytes > capacity) return 0;
            allocs++;
            used += bytes;
            long p = next;
            next += bytes + 4096;
            blocks.put(p, bytes);
            return p;
        }

        @Override public void free(long ptr) {
            frees++;
            used -= blocks.remove(ptr);
        }
    }

    @Test
    void steadyStateStepsReuseCachedBlocks() {
        FakeDevice dev = new FakeDevice(1L << 30);
        CudaMemoryPool pool = new CudaMemoryPool(dev);
        long[] sizes = {4, 1000, 3 * 4096 + 17, 5_000_000, 1000};
        for (int step = 0; step < 10; step++) {
            List<Long> taken = new ArrayList<>();
            for (long s : sizes) taken.add(pool.take(s));
            for (long p : taken) pool.give(p);
        }
        assertEquals(sizes.length, dev.allocs, "only the first step may call the device's allocator");
        assertEquals(9 * sizes.length, pool.hits());
        assertEquals(pool.reservedBytes(), pool.cachedBytes());
    }

    @Test
    void sizeClassesRoundUpWithBoundedWaste() {
        assertEquals(512, CudaMemoryPool.sizeClass(1));
        assertEquals(512, CudaMemoryPool.sizeClass(512));
        assertEquals(1024, CudaMemoryPool.sizeClass(513));
        assertEquals(1L << 20, CudaMemoryPool.sizeClass((1L << 19) + 1));
        assertEquals((1L << 20) + (1L << 17), CudaMemoryPool.sizeClass((1L << 20) + 1));
        for (long s = 1; s < 1L << 34; s = s * 3 / 2 + 7) {
            long c = CudaMemoryPool.sizeClass(s);
            assertTrue(c >= s, "class " + c + " < request " + s);
            if (s > 1L << 20) assertTrue(c - s <= s / 8, "class " + c + " wastes more than 12.5% of " + s);
        }
    }

    @Test
    void outOfMemoryReleasesTheCacheAndRetries() {
        FakeDevice dev = new FakeDevice(3L << 20);
        CudaMemoryPool pool = new CudaMemoryPool(dev);
        long a = pool.take(1L << 20);
        long b = pool.take(1L << 20);
        pool.give(a);
        pool.give(b);
        long big = pool.take(2L << 20);
        assertNotEquals(0, big, "the cached 2 MiB must be released for a 2 MiB block of another class");
        assertEquals(0, pool.cachedBytes());
        assertEquals(0, pool.take(4L << 20), "a request beyond the device gives 0");
        pool.releaseAll();
        assertEquals(0, dev.used);
    }

    @Test
    void kernelImagesPreferTheExactCubinThenLowerMinorsThenPtx() {
        assertEquals(List.of("/cuda/kernels_sm86.cubin", "/cuda/kernels_sm85.cubin", "/cuda/kernels_sm84.cubin",
                "/cuda/kernels_sm83.cubin", "/cuda/kernels_sm82.cubin", "/cuda/kernels_sm81.cubin", "/cuda/kernels_sm80.cubin",
                "/cuda/kernels.ptx"), CudaKernelImages.candidates(8, 6));
        assertEquals(List.of("/cuda/kernels_sm90.cubin", "/cuda/kernels.ptx"), CudaKernelImages.candidates(9, 0));
    }

    @Test
    void ptxEntryNamesAreFound() {
        String ptx = ".version 9.0\n.target sm_80\n.visible .entry selftest_ballot(\n\t.param .u64 p0\n)\n{\n}\n"
                + ".visible .entry groupnorm_fwd_f32 (\n.param .u32 n)\n.func helper(\n";
        assertEquals(java.util.Set.of("selftest_ballot", "groupnorm_fwd_f32"), CudaKernelImages.entryNames(ptx));
        byte[] z = CudaKernelImages.nulTerminated(new byte[] {'a'});
        assertEquals(2, z.length);
        assertEquals(0, z[1]);
    }
}
