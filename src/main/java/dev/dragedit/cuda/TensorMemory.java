package dev.dragedit.cuda;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Device memory owned by garbage-collected objects (a tensor's storage): the buffer is freed once its owner is
 * unreachable. Java's heap does not feel device memory, so a step that drops gigabytes of device activations may
 * leave the collector idle while the GPU fills up (first seen on an H200: 119 GB in 50 759 dead buffers after a few
 * LoRA steps of SD 1.5). Hence three paths free dead buffers:
 * <ul>
 *   <li>every {@link #alloc} first frees the buffers whose owners were found unreachable;</li>
 *   <li>when the bytes in use would pass the device's collection threshold, {@link #alloc} runs the collector and
 *       waits for it to report what died; the threshold is then set to live + a headroom of at least max(1 GiB, live / 2), so collections
 *       come every ~half a working set of new allocations; when a collection finds little dead (a forward pass that
 *       keeps its activations), the headroom doubles, up to 8 GiB, so a training step is not collected dozens of
 *       times (each full collection costs ~35 ms);</li>
 *   <li>an allocation that fails for lack of memory collects and retries (with growing waits) before giving up.</li>
 * </ul>
 * A daemon thread also frees dead buffers in the background, so memory is returned when nothing allocates.
 */
public final class TensorMemory {
    private TensorMemory() {}

    /** The least headroom above the live bytes before a collection is forced (1 GiB; tests lower it). */
    static volatile long minHeadroom = 1L << 30;

    /** How far the doubling may raise the headroom (a larger max(1 GiB, live / 2) still applies). */
    static final long MAX_DOUBLED_HEADROOM = 8L << 30;

    private static final ReferenceQueue<Object> DEAD = new ReferenceQueue<>();
    private static final Set<Owned> TRACKED = ConcurrentHashMap.newKeySet();
    /** Per device: collect when the bytes in use would pass {@code above}; {@code headroom} is what was allowed. */
    private record Threshold(long above, long headroom) {}

    private static final Map<KernelDevice, Threshold> THRESHOLDS = new WeakHashMap<>();
    private static final AtomicLong COLLECTIONS = new AtomicLong();

    private static final class Owned extends PhantomReference<Object> {
        final DeviceBuffer buffer;

        Owned(Object owner, DeviceBuffer buffer) {
            super(owner, DEAD);
            this.buffer = buffer;
        }

        void free() {
            TRACKED.remove(this);
            buffer.close();
        }
    }

    static {
        Thread t = new Thread(() -> {
            while (true) {
                try {
                    freeQuietly((Owned) DEAD.remove());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "dragedit-device-memory");
        t.setDaemon(true);
        t.start();
    }

    /**
     * A buffer of {@code bytes} bytes on {@code device}, after freeing dead buffers and, when needed, collecting; pass
     * it to {@link #freeWhenUnreachable} with its owner.
     */
    public static DeviceBuffer alloc(KernelDevice device, long bytes) {
        freeDead();
        if (device.bytesInUse() + bytes > collectAbove(device)) collect(device, 0);
        for (int attempt = 0; ; attempt++) {
            try {
                return DeviceBuffer.alloc(device, bytes);
            } catch (DeviceOutOfMemoryException e) {
                if (attempt == 4) throw e;
                collect(device, attempt);
            }
        }
    }

    /** Frees {@code buffer} once {@code owner} is unreachable (or earlier, when someone closes it). */
    public static void freeWhenUnreachable(Object owner, DeviceBuffer buffer) {
        TRACKED.add(new Owned(owner, buffer));
    }

    /** Sets the least headroom and forgets every device's threshold (for tests). */
    static synchronized void minHeadroom(long bytes) {
        minHeadroom = bytes;
        THRESHOLDS.clear();
    }

    /** How many collections {@link #alloc} has forced so far (all devices). */
    public static long collections() { return COLLECTIONS.get(); }

    private static synchronized long collectAbove(KernelDevice device) {
        return THRESHOLDS.computeIfAbsent(device, d -> new Threshold(d.bytesInUse() + minHeadroom, minHeadroom)).above();
    }

    /** Frees the buffers whose owners are already known to be unreachable. */
    static void freeDead() {
        for (Reference<?> r; (r = DEAD.poll()) != null; ) freeQuietly((Owned) r);
    }

    /**
     * Runs the collector and frees what it found dead: waits until no newly dead buffer arrives for a few milliseconds
     * (longer on later attempts, as java.nio does for direct buffers), then moves the threshold.
     */
    private static void collect(KernelDevice device, int attempt) {
        COLLECTIONS.incrementAndGet();
        long before = device.bytesInUse();
        System.gc();
        long quietMs = 2L << attempt;
        try {
            for (Reference<?> r; (r = DEAD.remove(quietMs)) != null; ) freeQuietly((Owned) r);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        freeDead();
        long live = device.bytesInUse();
        synchronized (TensorMemory.class) {
            // Headroom adapts to what collections yield: when less than a quarter of what was allowed above the
            // live bytes turned out dead (a forward pass saving its activations), the next collection waits for
            // twice as much; when most of it was dead, the headroom shrinks back towards max(1 GiB, live / 2).
            long base = Math.max(minHeadroom, live / 2);
            Threshold t = THRESHOLDS.get(device);
            long allowed = t == null ? base : t.headroom();
            long freed = Math.max(0, before - live);
            long next = freed < allowed / 4 ? Math.min(2 * allowed, Math.max(base, MAX_DOUBLED_HEADROOM))
                    : freed > allowed * 3 / 4 ? Math.max(base, allowed / 2) : Math.max(base, allowed);
            THRESHOLDS.put(device, new Threshold(live + next, next));
        }
    }

    private static void freeQuietly(Owned o) {
        try {
            o.free();
        } catch (RuntimeException e) {
            // The buffer's device was closed: its memory went with it.
        }
    }
}
