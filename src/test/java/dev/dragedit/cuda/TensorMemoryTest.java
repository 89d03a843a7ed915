package dev.dragedit.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Device memory of dropped tensors comes back without the Java heap asking for a collection: the allocation path
 * collects when the bytes in use pass the threshold. Runs on the best device (the emulation in CI).
 */
class TensorMemoryTest {
    @AfterEach
    void restore() { TensorMemory.minHeadroom(1L << 30); }

    @Test
    void droppedTensorsAreFreedByLaterAllocations() {
        TensorMemory.minHeadroom(1L << 20);
        try (KernelDevice dev = Devices.best()) {
            long base = dev.bytesInUse();
            long before = TensorMemory.collections();
            long worst = 0;
            int n = 64 * 1024; // 256 KiB each: 400 of them would hold 100 MiB if nothing were freed
            for (int i = 0; i < 400; i++) {
                Tensor t = Tensor.emptyOn(dev, n);
                worst = Math.max(worst, dev.bytesInUse() - base);
                assertTrue(t.onDevice());
            }
            assertTrue(TensorMemory.collections() > before, "no collection was forced");
            // Threshold: live + max(1 MiB, live / 2) with ~nothing live, plus the tensor being allocated and the
            // few the last collection may not have reported yet.
            assertTrue(worst <= 8L << 20, "bytes in use reached " + worst + " (expected at most 8 MiB)");
        }
    }

    @Test
    void releasedTensorsAreNotFreedTwice() {
        try (KernelDevice dev = Devices.best()) {
            long base = dev.bytesInUse();
            Tensor t = Tensor.emptyOn(dev, 1000);
            t.release();
            t = null;
            for (int i = 0; i < 5; i++) { System.gc(); TensorMemory.freeDead(); }
            Tensor u = Tensor.emptyOn(dev, 1000); // must not fail on a double free of the first buffer
            assertTrue(dev.bytesInUse() - base == 4000, "bytes in use " + (dev.bytesInUse() - base));
            u.release();
        }
    }
}
