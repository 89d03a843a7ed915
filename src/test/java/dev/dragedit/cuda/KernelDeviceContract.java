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
 * on (tiles in __shared__ with __syncthreads and its count/and/or forms, warp shuffles, scans, votes, match and
 * reduce, atomics, 3-D launch indices, fp16/bf16 conversion), each against a
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
    void warpScanInSixteenLaneSegmentsWithPartialLastWarp() {
        int n = 1001, bs = 96;  // 11 blocks; the last warp holds 9 live lanes, so its second segment is all padding
        Random r = new Random(6);
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(2001) - 1000;
        try (DeviceBuffer dx = ints(dev, x); DeviceBuffer dy = DeviceBuffer.alloc(dev, 4L * n);
             DeviceBuffer dt = DeviceBuffer.alloc(dev, 4L * n)) {
            dev.launch("selftest_warp_scan_i32", Dim3.cover(n, bs), Dim3.of(bs), 0,
                    KernelArgs.create().ptr(dx).ptr(dy).ptr(dt).i32(n));
            int[] y = toInts(dy), totals = toInts(dt);
            for (int i = 0; i < n; i++) {
                int s0 = i & ~15, scan = 0, total = 0;
                for (int j = s0; j < s0 + 16; j++) {
                    int v = j < n ? x[j] : 0;  // lanes past n contribute 0
                    if (j <= i) scan += v;
                    total += v;
                }
                assertEquals(scan, y[i], "inclusive scan (shfl_up width 16) at " + i);
                assertEquals(total, totals[i], "segment total (shfl width 16) at " + i);
            }
        }
    }

    @Test
    void matchAnyAndWarpReduceOverPartialLastWarp() {
        int n = 147, bs = 64;  // 3 blocks; the last warp holds 19 live lanes, the padding lanes vote with x = 0
        Random r = new Random(7);
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(1001);
        try (DeviceBuffer dx = ints(dev, x); DeviceBuffer out = DeviceBuffer.alloc(dev, 12L * n)) {
            dev.launch("selftest_warp_match_reduce", Dim3.cover(n, bs), Dim3.of(bs), 0, KernelArgs.create().ptr(dx).ptr(out).i32(n));
            int[] got = toInts(out);
            for (int i = 0; i < n; i++) {
                int w0 = i & ~31, mine = x[i] % 4, same = 0, sum = 0, max = 0;
                for (int l = 0; l < 32; l++) {
                    int v = w0 + l < n ? x[w0 + l] : 0;
                    if (v % 4 == mine) same |= 1 << l;
                    sum += v;
                    max = Math.max(max, v);
                }
                assertEquals(Integer.toHexString(same), Integer.toHexString(got[3 * i]), "__match_any_sync of x % 4, thread " + i);
                assertEquals(sum, got[3 * i + 1], "__reduce_add_sync, thread " + i);
                assertEquals(max, got[3 * i + 2], "__reduce_max_sync, thread " + i);
            }
        }
    }

    @Test
    void atomicsCountMaxExchangeAndElectOneCasWinner() {
        int n = 5001, bs = 128;  // 40 blocks, the last one with 9 live threads
        Random r = new Random(8);
        int[] vals = new int[n];
        int max = Integer.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            vals[i] = r.nextInt(200_001) - 100_000;
            max = Math.max(max, vals[i]);
        }
        // counters: [0] count, [1] max, [2] last exchanged index, [3] CAS winner, [4] number of winners
        try (DeviceBuffer dv = ints(dev, vals); DeviceBuffer dc = ints(dev, new int[] {0, Integer.MIN_VALUE, -1, -1, 0});
             DeviceBuffer du = ints(dev, new int[] {0}); DeviceBuffer ds = DeviceBuffer.zerosF32(dev, 1)) {
            dev.launch("selftest_atomics", Dim3.cover(n, bs), Dim3.of(bs), 0,
                    KernelArgs.create().ptr(dv).ptr(dc).ptr(du).ptr(ds).i32(n));
            int[] c = toInts(dc);
            assertEquals(n, c[0], "atomicAdd int counts every live thread");
            assertEquals(max, c[1], "atomicMax over signed values");
            assertEquals(2 * n, toInts(du)[0], "atomicAdd unsigned");
            assertEquals(0.5f * n, ds.toFloats()[0], "atomicAdd float (exact: multiples of 0.5)");
            assertTrue(c[2] >= 0 && c[2] < n, "atomicExch leaves some live thread's index, got " + c[2]);
            assertTrue(c[3] >= 0 && c[3] < n, "atomicCAS winner is a live thread, got " + c[3]);
            assertEquals(1, c[4], "exactly one atomicCAS(-1 -> i) succeeds");
        }
    }

    @Test
    void syncthreadsCountAndOrPerBlock() {
        int n = 1001, bs = 128, nb = (n + bs - 1) / bs;  // 8 blocks, the last one with 105 live threads
        Random r = new Random(9);
        int[] flags = new int[n];
        for (int i = 0; i < n; i++) flags[i] = r.nextInt(2) == 0 ? 0 : r.nextInt(5) + 1;  // any non-zero is true
        for (int i = 128; i < 256; i++) flags[i] = 3;  // block 1: all true
        for (int i = 256; i < 384; i++) flags[i] = 0;  // block 2: all false
        for (int i = 896; i < n; i++) flags[i] = 1;    // last block: every live thread true, padding false
        try (DeviceBuffer df = ints(dev, flags); DeviceBuffer out = DeviceBuffer.alloc(dev, 12L * nb)) {
            dev.launch("selftest_syncthreads_count", Dim3.of(nb), Dim3.of(bs), 0, KernelArgs.create().ptr(df).ptr(out).i32(n));
            int[] got = toInts(out);
            for (int b = 0; b < nb; b++) {
                int count = 0;
                for (int t = 0; t < bs; t++) count += b * bs + t < n && flags[b * bs + t] != 0 ? 1 : 0;
                assertEquals(count, got[3 * b], "__syncthreads_count of block " + b);
                assertEquals(count == bs, got[3 * b + 1] != 0, "__syncthreads_and of block " + b);
                assertEquals(count > 0, got[3 * b + 2] != 0, "__syncthreads_or of block " + b);
            }
        }
    }

    @Test
    void everyThreadOfA3dLaunchSeesItsIndices() {
        int[] g = {3, 2, 5}, b = {5, 3, 2};  // odd sizes; 30 threads per block, so warps straddle block rows
        int total = g[0] * g[1] * g[2] * b[0] * b[1] * b[2];
        int[] want = new int[12 * total];
        int k = 0;
        for (int bz = 0; bz < g[2]; bz++)
            for (int by = 0; by < g[1]; by++)
                for (int bx = 0; bx < g[0]; bx++)
                    for (int tz = 0; tz < b[2]; tz++)
                        for (int ty = 0; ty < b[1]; ty++)
                            for (int tx = 0; tx < b[0]; tx++, k++) {
                                int[] w = {tx, ty, tz, bx, by, bz, b[0], b[1], b[2], g[0], g[1], g[2]};
                                System.arraycopy(w, 0, want, 12 * k, 12);
                            }
        try (DeviceBuffer out = ints(dev, new int[12 * total])) {
            dev.launch("selftest_indices", Dim3.of(g[0], g[1], g[2]), Dim3.of(b[0], b[1], b[2]), 0, KernelArgs.create().ptr(out));
            assertArrayEquals(want, toInts(out), "threadIdx, blockIdx, blockDim, gridDim of each thread, in launch order");
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
                "selftest_dynamic_smem_f32", "selftest_ballot", "selftest_half_roundtrip_f16", "selftest_warp_scan_i32",
                "selftest_warp_match_reduce", "selftest_atomics", "selftest_syncthreads_count", "selftest_indices")), dev.kernels().toString());
    }
}
