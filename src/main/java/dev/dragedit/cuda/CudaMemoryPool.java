package dev.dragedit.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching allocator for device memory: cuMemAlloc and cuMemFree synchronise the whole device and cost tens of
 * microseconds, so a step of a diffusion model (thousands of short-lived activations) must not call them. Requests
 * are rounded up to a size class and freed blocks are kept per class for the next request of that class; in steady
 * state every allocation is a hit. Classes are powers of two up to 1 MiB and eighths of a power of two above, so a
 * block wastes at most 12.5% of a large request. When the device runs out of memory, the cached blocks are
 * released and the allocation is retried once.
 *
 * <p>The pool is independent of JCuda (it sees the device through {@link Backend}), so its policy is tested
 * without a GPU. Reusing a block freed while kernels may still read it is safe because the device issues every
 * operation on one stream, in order.
 */
final class CudaMemoryPool {
    /** Raw device memory: alloc returns 0 when the device is out of memory. */
    interface Backend {
        long alloc(long bytes);

        void free(long ptr);
    }

    static final long MIN_CLASS = 512;
    static final long POW2_LIMIT = 1L << 20;

    private final Backend backend;
    private final Map<Long, ArrayDeque<Long>> cached = new HashMap<>();
    private final Map<Long, Long> classOf = new HashMap<>();
    private long reservedBytes;
    private long cachedBytes;
    private long hits;
    private long misses;

    CudaMemoryPool(Backend backend) { this.backend = backend; }

    static long sizeClass(long bytes) {
        if (bytes <= MIN_CLASS) return MIN_CLASS;
        long hb = Long.highestOneBit(bytes);
        if (hb == bytes) return bytes;
        if (bytes <= POW2_LIMIT) return hb << 1;
        long granule = hb >> 3;
        return (bytes + granule - 1) / granule * granule;
    }

    /** A block of at least {@code bytes} bytes, or 0 when the device has no memory left even after a trim. */
    synchronized long take(long bytes) {
        long cls = sizeClass(bytes);
        ArrayDeque<Long> free = cached.get(cls);
        if (free != null && !free.isEmpty()) {
            hits++;
            cachedBytes -= cls;
            return free.pop();
        }
        misses++;
        long ptr = backend.alloc(cls);
        if (ptr == 0 && cachedBytes > 0) {
            trim();
            ptr = backend.alloc(cls);
        }
        if (ptr == 0) return 0;
        classOf.put(ptr, cls);
        reservedBytes += cls;
        return ptr;
    }

    /** Returns a block from {@link #take} to its class's free list. */
    synchronized void give(long ptr) {
        Long cls = classOf.get(ptr);
        if (cls == null) throw new IllegalArgumentException("memory pool: 0x" + Long.toHexString(ptr) + " was not allocated by this pool");
        cached.computeIfAbsent(cls, c -> new ArrayDeque<>()).push(ptr);
        cachedBytes += cls;
    }

    /** Frees every cached block to the device and returns how many bytes that released. */
    synchronized long trim() {
        long released = 0;
        for (Map.Entry<Long, ArrayDeque<Long>> e : cached.entrySet()) {
            for (long ptr : e.getValue()) {
                backend.free(ptr);
                classOf.remove(ptr);
                released += e.getKey();
            }
        }
        cached.clear();
        reservedBytes -= released;
        cachedBytes = 0;
        return released;
    }

    /** Frees every block, cached or still in use (when the device closes). */
    synchronized void releaseAll() {
        for (long ptr : classOf.keySet()) backend.free(ptr);
        classOf.clear();
        cached.clear();
        reservedBytes = 0;
        cachedBytes = 0;
    }

    /** Bytes held from the device: blocks in use plus cached ones. */
    synchronized long reservedBytes() { return reservedBytes; }

    synchronized long cachedBytes() { return cachedBytes; }

    synchronized long hits() { return hits; }

    synchronized long misses() { return misses; }
}
