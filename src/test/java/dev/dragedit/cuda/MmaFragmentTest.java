package dev.dragedit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Our tensor-core MMA wrapper (kernels/mma.cuh: {@code de_mma_m16n8k16_f16/_bf16}, mma.sync m16n8k16 on a GPU, a warp
 * collective of the emulation otherwise) on {@link Devices#best()}, through the selftest kernels
 * {@code selftest_mma_m16n8k16_{f16,bf16}} of kernels/selftest.cu, which hand each lane the registers this test
 * packs and return each lane's d registers untouched.
 *
 * <p>This class writes the fragment layout of the PTX ISA ("Matrix Fragments for mma.m16n8k16 with floating point
 * type") on its own: lane l has groupID g = l / 4 and threadID_in_group t = l % 4; register a[r] holds
 * A[g + 8·(r % 2)][2t + 8·(r / 2) + {0, 1}], b[r] holds B[2t + 8r + {0, 1}][g], c[r] and d[r] are element
 * [g + 8·(r / 2)][2t + r % 2] of C and D; two 16-bit values per register, the lower index in the low half. D must
 * be C + A·B, computed here by a plain loop.
 *
 * <p>The exact tests use distinct small integers for every element of A, B and C, so every partial sum is an exact
 * integer in fp32 (|D| &lt; 2²⁴) whatever order the hardware adds in, and the comparison is exact. Because every
 * value is distinct, any misplaced element changes D; {@link #layoutMistakesChangeTheResult} proves it for the kinds
 * of mistake a wrong layout makes (lanes swapped, registers swapped, halves swapped), so the exact test would catch
 * them. Two warps per launch, each with its own matrices, also check that warps do not mix.
 */
class MmaFragmentTest {
    static KernelDevice dev;

    @BeforeAll static void open() {
        dev = Devices.best();
        System.out.println("MmaFragmentTest on " + dev.name());
    }

    @AfterAll static void close() { dev.close(); }

    /** D = C + A·B with A [16][16], B [16][8] (k, n), C [16][8]. */
    record Problem(float[][] a, float[][] b, float[][] c) {
        float[][] product() {
            float[][] d = new float[16][8];
            for (int i = 0; i < 16; i++)
                for (int j = 0; j < 8; j++) {
                    double s = c[i][j];
                    for (int k = 0; k < 16; k++) s += (double) a[i][k] * b[k][j];
                    d[i][j] = (float) s;
                }
            return d;
        }
    }

    /** One warp's registers: a [32][4], b [32][2] (packed 16-bit pairs), c [32][4]. */
    record Fragments(int[][] a, int[][] b, float[][] c) {}

    // ------------------------------------------------------------------------------------------------ tests

    @Test
    void exactIntegerProductInTheDocumentedLayout() {
        Random r = new Random(11);
        for (boolean bf16 : new boolean[]{false, true}) {
            Problem[] ps = {distinctIntegers(r), distinctIntegers(r)};
            float[][][] got = run(bf16, pack(ps[0], bf16), pack(ps[1], bf16));
            for (int w = 0; w < 2; w++) assertExact(name(bf16) + " warp " + w, ps[w].product(), got[w]);
        }
    }

    @Test
    void layoutMistakesChangeTheResult() {
        Random r = new Random(12);
        for (boolean bf16 : new boolean[]{false, true}) {
            Problem p = distinctIntegers(r);
            float[][] want = p.product();
            List<String> names = new ArrayList<>();
            List<Consumer<Fragments>> mistakes = new ArrayList<>();
            names.add("lanes 0 and 4 (groupID 0 and 1) swap their a registers");
            mistakes.add(f -> swap(f.a(), 0, 4));
            names.add("lanes 0 and 1 (threadID_in_group 0 and 1) swap their b registers");
            mistakes.add(f -> swap(f.b(), 0, 1));
            names.add("a[1] and a[2] (rows g+8 / columns +8) swapped in every lane");
            mistakes.add(f -> { for (int[] a : f.a()) { int t = a[1]; a[1] = a[2]; a[2] = t; } });
            names.add("b[0] and b[1] swapped in every lane");
            mistakes.add(f -> { for (int[] b : f.b()) { int t = b[0]; b[0] = b[1]; b[1] = t; } });
            names.add("the two halves of a[0] swapped in lane 5");
            mistakes.add(f -> f.a()[5][0] = Integer.rotateLeft(f.a()[5][0], 16));
            names.add("c[1] and c[2] swapped in lane 9");
            mistakes.add(f -> { float t = f.c()[9][1]; f.c()[9][1] = f.c()[9][2]; f.c()[9][2] = t; });
            names.add("lane l given the registers of lane (l + 1) % 32");
            mistakes.add(f -> { Collections.rotate(java.util.Arrays.asList(f.a()), -1); Collections.rotate(java.util.Arrays.asList(f.b()), -1); });
            // The unmodified fragments pass, in the same launch as each mistake (warp 0 right, warp 1 wrong).
            for (int i = 0; i < mistakes.size(); i++) {
                Fragments wrong = pack(p, bf16);
                mistakes.get(i).accept(wrong);
                float[][][] got = run(bf16, pack(p, bf16), wrong);
                assertExact(name(bf16) + " beside '" + names.get(i) + "'", want, got[0]);
                assertTrue(differs(want, got[1]), name(bf16) + ": '" + names.get(i) + "' went unnoticed");
            }
        }
    }

    @Test
    void fractionalValuesAgreeWithinFp32Rounding() {
        Random r = new Random(13);
        for (boolean bf16 : new boolean[]{false, true}) {
            Problem[] ps = new Problem[2];
            for (int w = 0; w < 2; w++) {
                float[][] a = new float[16][16], b = new float[16][8], c = new float[16][8];
                for (float[] row : a) for (int k = 0; k < 16; k++) row[k] = round16((float) r.nextGaussian() * 3, bf16);
                for (float[] row : b) for (int j = 0; j < 8; j++) row[j] = round16((float) r.nextGaussian(), bf16);
                for (float[] row : c) for (int j = 0; j < 8; j++) row[j] = (float) r.nextGaussian() * 10;
                a[3][5] = 0f;
                a[4][6] = -0f;
                b[7][2] = round16(1e-5f, bf16);  // a subnormal f16
                ps[w] = new Problem(a, b, c);
            }
            float[][][] got = run(bf16, pack(ps[0], bf16), pack(ps[1], bf16));
            for (int w = 0; w < 2; w++) {
                Problem p = ps[w];
                float[][] want = p.product();
                for (int i = 0; i < 16; i++)
                    for (int j = 0; j < 8; j++) {
                        // 16 products and C, each exact in fp32, summed in an unspecified order: within 17 roundings.
                        double abs = Math.abs(p.c()[i][j]);
                        for (int k = 0; k < 16; k++) abs += Math.abs((double) p.a()[i][k] * p.b()[k][j]);
                        double tol = 17 * Math.ulp(1.0f) / 2 * abs;
                        assertEquals(want[i][j], got[w][i][j], tol, name(bf16) + " warp " + w + " D[" + i + "][" + j + "]");
                    }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static String name(boolean bf16) { return bf16 ? "bf16" : "f16"; }

    /**
     * Every element of A, B and C distinct: A from [-128, 128), B from [-64, 64) (exact in bf16's 8 significant
     * bits), C from [-512, 512), each a random permutation; |D| ≤ 512 + 16·128·64 &lt; 2²⁴.
     */
    static Problem distinctIntegers(Random r) {
        int[] av = permutation(r, 256, -128), bv = permutation(r, 128, -64), cv = permutation(r, 1024, -512);
        float[][] a = new float[16][16], b = new float[16][8], c = new float[16][8];
        for (int i = 0; i < 16; i++) for (int k = 0; k < 16; k++) a[i][k] = av[16 * i + k];
        for (int k = 0; k < 16; k++) for (int j = 0; j < 8; j++) b[k][j] = bv[8 * k + j];
        for (int i = 0; i < 16; i++) for (int j = 0; j < 8; j++) c[i][j] = cv[8 * i + j];
        return new Problem(a, b, c);
    }

    private static int[] permutation(Random r, int n, int first) {
        List<Integer> v = new ArrayList<>();
        for (int i = 0; i < n; i++) v.add(first + i);
        Collections.shuffle(v, r);
        return v.stream().mapToInt(Integer::intValue).toArray();
    }

    private static float round16(float v, boolean bf16) {
        int bits = Float.floatToIntBits(v);
        return bf16 ? HalfFloats.bfloat16ToFloat(HalfFloats.toBfloat16(bits)) : HalfFloats.halfToFloat(HalfFloats.toHalf(bits));
    }

    private static int bits16(float v, boolean bf16) {
        int bits = Float.floatToIntBits(v);
        return bf16 ? HalfFloats.toBfloat16(bits) : HalfFloats.toHalf(bits);
    }

    private static int pair(float lo, float hi, boolean bf16) { return bits16(lo, bf16) | bits16(hi, bf16) << 16; }

    /** The registers of every lane, in the PTX ISA's layout (see the class comment). */
    static Fragments pack(Problem p, boolean bf16) {
        int[][] a = new int[32][4], b = new int[32][2];
        float[][] c = new float[32][4];
        for (int lane = 0; lane < 32; lane++) {
            int g = lane >> 2, t = lane & 3;
            for (int r = 0; r < 4; r++) {
                int row = g + 8 * (r & 1), col = 2 * t + 8 * (r >> 1);
                a[lane][r] = pair(p.a()[row][col], p.a()[row][col + 1], bf16);
            }
            for (int r = 0; r < 2; r++) {
                int k = 2 * t + 8 * r;
                b[lane][r] = pair(p.b()[k][g], p.b()[k + 1][g], bf16);
            }
            for (int r = 0; r < 4; r++) c[lane][r] = p.c()[g + 8 * (r >> 1)][2 * t + (r & 1)];
        }
        return new Fragments(a, b, c);
    }

    /** One launch of two warps, warp w on fragments f[w]; returns each warp's D [16][8] read back through the layout. */
    private static float[][][] run(boolean bf16, Fragments... f) {
        int warps = f.length;
        int[] a = new int[warps * 32 * 4], b = new int[warps * 32 * 2];
        float[] c = new float[warps * 32 * 4];
        for (int w = 0; w < warps; w++)
            for (int lane = 0; lane < 32; lane++) {
                int i = 32 * w + lane;
                System.arraycopy(f[w].a()[lane], 0, a, 4 * i, 4);
                System.arraycopy(f[w].b()[lane], 0, b, 2 * i, 2);
                System.arraycopy(f[w].c()[lane], 0, c, 4 * i, 4);
            }
        float[] d;
        try (DeviceBuffer da = KernelDeviceContract.ints(dev, a); DeviceBuffer db = KernelDeviceContract.ints(dev, b);
             DeviceBuffer dc = DeviceBuffer.of(dev, c); DeviceBuffer dd = DeviceBuffer.alloc(dev, 4L * c.length)) {
            dev.launch("selftest_mma_m16n8k16_" + name(bf16), Dim3.of(1), Dim3.of(32 * warps), 0,
                    KernelArgs.create().ptr(da).ptr(db).ptr(dc).ptr(dd));
            d = dd.toFloats();
        }
        float[][][] out = new float[warps][16][8];
        for (int w = 0; w < warps; w++)
            for (int lane = 0; lane < 32; lane++) {
                int g = lane >> 2, t = lane & 3;
                for (int r = 0; r < 4; r++) out[w][g + 8 * (r >> 1)][2 * t + (r & 1)] = d[4 * (32 * w + lane) + r];
            }
        return out;
    }

    private static void swap(Object[] rows, int i, int j) {
        Object t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
    }

    private static boolean differs(float[][] want, float[][] got) {
        for (int i = 0; i < 16; i++) for (int j = 0; j < 8; j++) if (Float.compare(want[i][j], got[i][j]) != 0) return true;
        return false;
    }

    private static void assertExact(String what, float[][] want, float[][] got) {
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 8; j++)
                if (Float.compare(want[i][j], got[i][j]) != 0)
                    fail(what + ": D[" + i + "][" + j + "] is " + got[i][j] + ", expected " + want[i][j]);
    }
}
