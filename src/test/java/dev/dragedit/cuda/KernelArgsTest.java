package dev.dragedit.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The launch ABI's argument packing (kernels/emu and cuLaunchKernel read the same slots): one 64-bit slot and one
 * kind byte per parameter, ints and floats in the low 32 bits, and the launch-geometry values behind it.
 */
class KernelArgsTest {
    @Test
    void packsEachKindInParameterOrder() {
        KernelArgs a = KernelArgs.create().ptr(0x7f00_1234_5678L).i32(-3).f32(1.5f).i64(-1L << 40).i32(0xFFFF_FFFF);
        assertEquals(5, a.size());
        assertArrayEquals(new byte[] {'p', 'i', 'f', 'l', 'i'}, a.kinds());
        long[] b = a.bits();
        assertEquals(0x7f00_1234_5678L, b[0]);
        assertEquals(-3, (int) b[1], "int32 in the low 32 bits");
        assertEquals(0, b[1] >>> 32, "int32 leaves the high 32 bits zero");
        assertEquals(Float.floatToRawIntBits(1.5f), (int) b[2]);
        assertEquals(0, b[2] >>> 32, "float32 raw bits only in the low 32");
        assertEquals(-1L << 40, b[3]);
        assertEquals(0xFFFF_FFFFL, b[4], "an unsigned 2^32-1 passes as its 32 bits");
    }

    @Test
    void keepsNegativeZeroAndNanPayloadsBitExact() {
        int nanBits = 0x7fc0_0123;
        KernelArgs a = KernelArgs.create().f32(-0.0f).f32(Float.intBitsToFloat(nanBits));
        assertEquals(0x8000_0000L, a.bits(0));
        assertEquals(nanBits, (int) a.bits(1));
    }

    @Test
    void growsBeyondItsInitialCapacityAndReturnsCopies() {
        KernelArgs a = KernelArgs.create();
        for (int i = 0; i < 37; i++) a.i32(i);
        assertEquals(37, a.size());
        long[] b = a.bits();
        for (int i = 0; i < 37; i++) assertEquals(i, b[i]);
        b[0] = 99;
        assertEquals(0, a.bits(0), "bits() must not expose the internal array");
        assertThrows(IndexOutOfBoundsException.class, () -> a.kind(37));
    }

    @Test
    void describesItselfForErrorMessages() {
        String s = KernelArgs.create().ptr(0xabcL).i32(7).f32(0.5f).i64(12).toString();
        assertEquals("(p 0xabc, i 7, f 0.5, l 12)", s);
    }

    @Test
    void dim3RejectsEmptyExtentsAndCoversItems() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dim3.of(4, 0));
        assertTrue(e.getMessage().contains("(4,0,1)"), e.getMessage());
        assertEquals(Dim3.of(4), Dim3.cover(1000, 256));
        assertEquals(Dim3.of(1), Dim3.cover(1, 256));
        assertEquals(6L * 5 * 4, Dim3.of(6, 5, 4).volume());
    }

    @Test
    void launchChecksRejectOversizedBlocksAndStalePointers() {
        Allocations live = new Allocations();
        live.add(0x1000, 256);
        KernelArgs ok = KernelArgs.create().ptr(0x1000).ptr(0x1100).ptr(0).i32(1);
        LaunchChecks.checkLaunch("dev", live, "k", Dim3.of(1), Dim3.of(1024), 0, ok);
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> LaunchChecks.checkLaunch("dev", live, "k", Dim3.of(1), Dim3.of(32, 33), 0, ok));
        assertTrue(big.getMessage().contains("kernel k grid (1,1,1) block (32,33,1)") && big.getMessage().contains("1056"), big.getMessage());
        IllegalArgumentException stale = assertThrows(IllegalArgumentException.class,
                () -> LaunchChecks.checkLaunch("dev", live, "k", Dim3.of(1), Dim3.of(1), 0, KernelArgs.create().i32(0).ptr(0x2000)));
        assertTrue(stale.getMessage().contains("argument 1 (pointer 0x2000)"), stale.getMessage());
    }

    @Test
    void allocationsCheckRangesAndDoubleFrees() {
        Allocations live = new Allocations();
        live.add(0x1000, 64);
        live.checkRange(0x1000, 64, "copyIn");
        live.checkRange(0x1010, 48, "copyIn");
        IllegalArgumentException over = assertThrows(IllegalArgumentException.class, () -> live.checkRange(0x1010, 49, "copyIn"));
        assertTrue(over.getMessage().contains("0x1000 of 64 bytes"), over.getMessage());
        assertEquals(64, live.remove(0x1000, "dev"));
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> live.remove(0x1000, "dev"));
        assertTrue(twice.getMessage().contains("not a live allocation"), twice.getMessage());
    }

    @Test
    void unknownKernelSuggestsTheClosestName() {
        String m = LaunchChecks.unknownKernel("emu", java.util.Set.of("selftest_ballot", "selftest_reduce_shfl_f32"), "selftest_balot");
        assertTrue(m.contains("unknown kernel 'selftest_balot'") && m.contains("did you mean 'selftest_ballot'"), m);
    }
}
