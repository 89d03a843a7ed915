package dev.dragedit.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What every {@link KernelDevice} must do, run through kernels/selftest.cu on the emulation
 * ({@link EmulatedCudaDeviceTest}) and on a GPU when there is one ({@link CudaDeviceTest}): memory round trips, the
 * launch ABI (pointers, ints, floats; 2-D grids; dynamic shared memory) and the CUDA features the op kernels rely
 * on (tiles in __shared__ with __syncthreads, warp shuffles, votes, atomics, fp16/bf16 conversion), each against a
 * plain Java loop. Inputs are small integers where sums are involved, so the results are exact whatever the order
 * of additions or FMA contraction, and the comparisons are exact.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class KernelDeviceContract {
    protected KernelDevice dev;

    /** The device under test; called once per test class (may abort the class through an assumption). */
    protected abstract KernelDevice open();

    @BeforeAll
    void openDevice() { dev = open(); }

    @AfterAll
    void closeDevice() {
        if (dev != null) dev.close();
    }

    static float[] smallInts(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextInt(9) - 4;
        return a;
    }

    static DeviceBuffer ints(KernelDevice d, int[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(v);
        return DeviceBuffer.of(d, b.array());
    }

    static int[] toInts(DeviceBuffer buf) {
        int[] out = new int[(int) (buf.bytes() / 4)];
        ByteBuffer.wrap(buf.toBytes()).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
        return out;
    }

    static short[] toShorts(DeviceBuffer buf) {
        short[] out = new short[(int) (buf.bytes() / 2)];
        ByteBuffer.wrap(buf.toBytes()).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(out);
        return out;
    }

    @Test
    void copiesMemsetsAndDeviceCopiesRoundTrip() {
        float[] src = {1, 2, 3, 4, 5, 6, 7};
        try (DeviceBuffer a = DeviceBuffer.alloc(dev, 4L * 7); DeviceBuffer b = DeviceBuffer.zerosF32(dev, 7)) {
            dev.copyIn(a.ptr(), src, 0, 7);
            dev.copyIn(a.ptr() + 8, new float[] {0, 30, 40}, 1, 2);
            assertArrayEquals(new float[] {1, 2, 30, 40, 5, 6, 7}, a.toFloats());
            dev.copy(b.ptr() + 4, a.ptr() + 8, 12);
            assertArrayEquals(new float[] {0, 30, 40, 5, 0, 0, 0}, b.toFloats());
            float[] part = new float[5];
            dev.copyOut(b.ptr() + 4, part, 2, 3);
            assertArrayEquals(new float[] {0, 0, 30, 40, 5}, part);
            dev.memset(b.ptr(), 0x3f, 4);
            assertEquals(Float.intBitsToFloat(0x3f3f3f3f), b.toFloats()[0]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.copyIn(a.ptr() + 4, src, 0, 7));
            assertTrue(e.getMessage().contains("28 bytes"), e.getMessage());
        }
    }

    @Test
    void matmulTiledMatchesATripleLoop() {
        checkMatmul(67, 45, 39, new Random(1));
        checkMatmul(128, 128, 128, new Random(2));
    }

    private void checkMatmul(int m, int n, int k, Random r) {
        float[] a = smallInts(r, m * k);  // [M, K]
        float[] b = smallInts(r, k * n);  // [K, N]
        float[] ref = new float[m * n];   // [M, N]
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) a[i * k + p] * b[p * n + j];
                ref[i * n + j] = (float) s;
            }
        }
        try (DeviceBuffer da = DeviceBuffer.of(dev, a); DeviceBuffer db = DeviceBuffer.of(dev, b);
             DeviceBuffer dc = DeviceBuffer.alloc(dev, 4L * m * n)) {
            long before = dev.launchCount("selftest_matmul_tiled_f32");
            dev.launch("selftest_matmul_tiled_f32", Dim3.of((n + 31) / 32, (m + 31) / 32), Dim3.of(32, 32), 0,
                    KernelArgs.create().ptr(da).ptr(db).ptr(dc).i32(m).i32(n).i32(k));
            assertArrayEquals(ref, dc.toFloats(), "matmul " + m + "x" + n + "x" + k);
            assertEquals(before + 1, dev.launchCount("selftest_matmul_tiled_f32"));
        }
    }

    @Test
    void warpShuffleReductionSumsExactly() {
        int n = 10_007;
        float[] x = smallInts(new Random(3), n);
        double ref = 0;
        for (float v : x) ref += v;
        try (DeviceBuffer dx = DeviceBuffer.of(dev, x); DeviceBuffer out = DeviceBuffer.zerosF32(dev, 1)) {
            dev.launch("selftest_reduce_shfl_f32", Dim3.of(7), Dim3.of(256), 0, KernelArgs.create().ptr(dx).ptr(out).i32(n));
            assertEquals((float) ref, out.toFloats()[0]);
        }
    }

    @Test
    void dynamicSharedMemoryReversesEachBlock() {
        int n = 1000, bs = 128;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = i;
        float[] ref = new float[n];
        for (int base = 0; base < n; base += bs) {
            int count = Math.min(n - base, bs);
            for (int t = 0; t < count; t++) ref[base + t] = x[base + count - 1 - t];
        }
        try (DeviceBuffer dx = DeviceBuffer.of(dev, x); DeviceBuffer dy = DeviceBuffer.alloc(dev, 4L * n)) {
            dev.launch("selftest_dynamic_smem_f32", Dim3.cover(n, bs), Dim3.of(bs), 4 * bs, KernelArgs.create().ptr(dx).ptr(dy).i32(n));
            assertArrayEquals(ref, dy.toFloats());
        }
    }

    @Test
    void ballotAnyAllOverFullAndPartialMasks() {
        int n = 100, bs = 64, threads = 128;
        Random r = new Random(4);
        int[] flags = new int[n];
        for (int i = 0; i < n; i++) flags[i] = r.nextInt(3) == 0 ? 0 : r.nextInt(5) + 1;
        for (int i = 32; i < 64; i += 2) flags[i] = 1;  // warp 1: every even lane set, so 'all' over the evens holds
        try (DeviceBuffer df = ints(dev, flags); DeviceBuffer out = DeviceBuffer.alloc(dev, 16L * n)) {
            dev.launch("selftest_ballot", Dim3.of(threads / bs), Dim3.of(bs), 0, KernelArgs.create().ptr(df).ptr(out).i32(n));
            int[] got = toInts(out);
            for (int i = 0; i < n; i++) {
                int warp0 = i & ~31, lane = i & 31;
                int full = 0;
                for (int l = 0; l < 32; l++) if (warp0 + l < n && flags[warp0 + l] != 0) full |= 1 << l;
                int mask = (lane & 1) != 0 ? 0xaaaaaaaa : 0x55555555;
                int ballot = full & mask;
                assertEquals(full, got[4 * i], "full ballot of thread " + i);
                assertEquals(ballot, got[4 * i + 1], "ballot over " + ((lane & 1) != 0 ? "odd" : "even") + " lanes, thread " + i);
                assertEquals(ballot != 0, got[4 * i + 2] != 0, "any, thread " + i);
                assertEquals(ballot == mask, got[4 * i + 3] != 0, "all, thread " + i);
            }
        }
    }

    @Test
    void halfAndBfloat16ConvertWithRoundToNearestEven() {
        float[] x = {0f, -0f, 1f, -2.5f, 1f / 3, 65504f, 65519f, 65520f, 1e-8f, 5.9604645e-8f, 2.9802322e-8f,
                     1f + 0x1p-11f, 1f + 3 * 0x1p-11f, 1f + 0x1p-8f, 1f + 3 * 0x1p-8f, 3.0e38f, 1e-40f, -7.25e-5f,
                     Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0.1f, 1234.567f, -3.1415927f};
        Random r = new Random(5);
        float[] xs = new float[x.length + 200];
        System.arraycopy(x, 0, xs, 0, x.length);
        for (int i = x.length; i < xs.length; i++) xs[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4));
        roundtrip("selftest_half_roundtrip_f16", xs, HalfFloats::toHalf, HalfFloats::halfToFloat);
        roundtrip("selftest_bf16_roundtrip_bf16", xs, HalfFloats::toBfloat16, HalfFloats::bfloat16ToFloat);
    }

    private void roundtrip(String kernel, float[] x, java.util.function.IntUnaryOperator encode,
                           java.util.function.IntFunction<Float> decode) {
        int n = x.length;
        try (DeviceBuffer dx = DeviceBuffer.of(dev, x); DeviceBuffer dh = DeviceBuffer.alloc(dev, 2L * n);
             DeviceBuffer dy = DeviceBuffer.alloc(dev, 4L * n)) {
            dev.launch(kernel, Dim3.cover(n, 128), Dim3.of(128), 0, KernelArgs.create().ptr(dx).ptr(dh).ptr(dy).i32(n));
            short[] h = toShorts(dh);
            float[] y = dy.toFloats();
            for (int i = 0; i < n; i++) {
                int want = encode.applyAsInt(Float.floatToRawIntBits(x[i]));
                if (Float.isNaN(x[i])) {
                    assertTrue(Float.isNaN(decode.apply(h[i] & 0xffff)) && Float.isNaN(y[i]), kernel + ": NaN must stay NaN");
                    continue;
                }
                assertEquals(Integer.toHexString(want), Integer.toHexString(h[i] & 0xffff), kernel + ": bits of " + x[i]);
                assertEquals(decode.apply(want), y[i], kernel + ": back to float from " + x[i]);
            }
        }
    }

    @Test
    void unknownKernelIsRefusedWithItsName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.launch("selftest_balot",
                Dim3.of(1), Dim3.of(32), 0, KernelArgs.create()));
        assertTrue(e.getMessage().contains("unknown kernel 'selftest_balot'"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean 'selftest_ballot'"), e.getMessage());
    }

    @Test
    void listsTheSelftestKernels() {
        assertTrue(dev.kernels().containsAll(java.util.List.of("selftest_matmul_tiled_f32", "selftest_reduce_shfl_f32",
                "selftest_dynamic_smem_f32", "selftest_ballot", "selftest_half_roundtrip_f16")), dev.kernels().toString());
    }
}
