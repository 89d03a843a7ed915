package dev.dragedit.cuda;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Successful launches per kernel and the devices that ran them, across every {@link KernelDevice} of this JVM.
 * The test run writes it out as target/kernel-coverage.json, and the build fails when an entry point of kernels/
 * was never launched: every kernel must be exercised (and so compared with the CPU op) in CI.
 */
public final class KernelCoverage {
    private KernelCoverage() {}

    private static final Map<String, AtomicLong> LAUNCHES = new ConcurrentHashMap<>();
    private static final Set<String> DEVICES = ConcurrentHashMap.newKeySet();

    static void record(String device, String kernel) {
        DEVICES.add(device);
        LAUNCHES.computeIfAbsent(kernel, k -> new AtomicLong()).incrementAndGet();
    }

    /** Launch counts so far, by kernel name (sorted). */
    public static Map<String, Long> launches() {
        Map<String, Long> m = new TreeMap<>();
        LAUNCHES.forEach((k, v) -> m.put(k, v.get()));
        return m;
    }

    /** The names of the devices that ran at least one kernel. */
    public static Set<String> devices() {
        return new TreeSet<>(DEVICES);
    }
}
