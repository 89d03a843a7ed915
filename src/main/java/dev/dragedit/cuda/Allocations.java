package dev.dragedit.cuda;

import java.util.Map;
import java.util.TreeMap;

/**
 * The live allocations of one device, by base address, so that copies, memsets and kernel pointer arguments are
 * checked against them in Java before they reach native code: a stale or foreign pointer would otherwise corrupt
 * memory silently in the emulation, or fail with a bare CUDA_ERROR_INVALID_VALUE on the GPU.
 */
final class Allocations {
    private final TreeMap<Long, Long> live = new TreeMap<>();
    private long bytesLive, bytesPeak;

    synchronized void add(long ptr, long bytes) {
        live.put(ptr, bytes);
        bytesLive += bytes;
        bytesPeak = Math.max(bytesPeak, bytesLive);
    }

    /** Forgets ptr and returns its size; IllegalArgumentException when ptr is not a live allocation's base. */
    synchronized long remove(long ptr, String device) {
        Long bytes = live.remove(ptr);
        if (bytes == null) {
            throw new IllegalArgumentException(device + ": free(0x" + Long.toHexString(ptr) + "): not a live allocation of this device"
                    + " (freed twice, offset from the base, or allocated elsewhere)");
        }
        bytesLive -= bytes;
        return bytes;
    }

    /** Checks that [ptr, ptr+bytes) lies inside one live allocation. */
    synchronized void checkRange(long ptr, long bytes, String what) {
        if (bytes < 0) throw new IllegalArgumentException(what + ": negative size " + bytes);
        Map.Entry<Long, Long> e = live.floorEntry(ptr);
        if (e == null || ptr - e.getKey() > e.getValue() || ptr - e.getKey() + bytes > e.getValue()) {
            String near = e == null ? "no live allocation below it"
                    : "the nearest allocation below is 0x" + Long.toHexString(e.getKey()) + " of " + e.getValue() + " bytes";
            throw new IllegalArgumentException(what + ": " + bytes + " bytes at 0x" + Long.toHexString(ptr)
                    + " are not inside a live allocation of this device (" + near + ")");
        }
    }

    /** True for 0 (a null pointer argument) and for any address inside a live allocation or at its end. */
    synchronized boolean pointsIntoLive(long ptr) {
        if (ptr == 0) return true;
        Map.Entry<Long, Long> e = live.floorEntry(ptr);
        return e != null && ptr - e.getKey() <= e.getValue();
    }

    synchronized long[] bases() { return live.keySet().stream().mapToLong(Long::longValue).toArray(); }

    synchronized int count() { return live.size(); }

    synchronized long bytesLive() { return bytesLive; }

    /** The most bytes live at once since creation or the last {@link #resetPeak}. */
    synchronized long bytesPeak() { return bytesPeak; }

    /** Starts a new peak measurement from the bytes live now. */
    synchronized void resetPeak() { bytesPeak = bytesLive; }
}
