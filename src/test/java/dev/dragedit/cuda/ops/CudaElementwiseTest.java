package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.Unary;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.Arrays;
import java.util.Random;
import java.util.function.BiFunction;

import static dev.dragedit.cuda.ops.CudaOpTestSupport.HALF_TYPES;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.assertMatchesHalf;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.onDevice;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.rounded;
import static dev.dragedit.ops.OpTestSupport.randn;
import static dev.dragedit.ops.OpTestSupport.uniform;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The element-wise kernels (kernels/elementwise.cu through CudaElementwise) against the CPU op set on random inputs
 * with odd sizes, on Devices.best() (the emulation without a GPU). Every output buffer is filled with NaN before its
 * kernel runs, so an element a kernel forgets to write fails the comparison. Tolerance per element:
 * |gpu − cpu| ≤ 1e-5 + 1e-5·|cpu| (no reductions here: every element is a few float operations, so the bound is not
 * length-dependent); NaN must meet NaN and infinities must agree exactly.
 * <p>
 * F16/BF16: every op but adamStep again in both 16-bit storage types, against the F32 CPU op on the inputs rounded
 * to the type (the values the device tensors hold), with CudaOpTestSupport.assertMatchesHalf's tolerance (one
 * rounding of each stored result); NaN and infinity edges are covered by the F32 tests, which share the kernels' code.
 */
class CudaElementwiseTest {
    static final double ATOL = 1e-5, RTOL = 1e-5;
    static final Ops CPU = CpuOps.INSTANCE;
    static KernelDevice dev;

    @BeforeAll static void open() { dev = CudaOpTestSupport.open("CudaElementwiseTest"); }

    @AfterAll static void close() { CudaOpTestSupport.close(dev); }



    private static Tensor d(Tensor cpu) { return cpu.toDevice(dev); }

    static void assertMatches(String what, Tensor expected, Tensor actualOnDevice) {
        Tensor actual = actualOnDevice.toCpu();
        if (!Arrays.equals(expected.shape(), actual.shape()))
            fail(what + ": shape " + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(expected.shape()));
        float[] e = expected.data(), a = actual.data();
        int bad = 0, worst = -1;
        double worstRatio = 0;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < e.length; i++) {
            double tol = ATOL + RTOL * Math.abs(e[i]);
            boolean ok;
            double ratio;
            if (Float.isNaN(e[i]) || Float.isInfinite(e[i])) {
                ok = Float.compare(e[i], a[i]) == 0 || (Float.isNaN(e[i]) && Float.isNaN(a[i]));
                ratio = ok ? 0 : Double.POSITIVE_INFINITY;
            } else {
                double err = Math.abs((double) a[i] - e[i]);
                ok = err <= tol;
                ratio = Float.isNaN(a[i]) ? Double.POSITIVE_INFINITY : err / tol;
            }
            if (ratio > worstRatio) { worstRatio = ratio; worst = i; }
            if (!ok && bad++ < 5) first.append(String.format("%n  [%d] got %.9g expected %.9g", i, a[i], e[i]));
        }
        if (bad > 0)
            fail(String.format("%s on %s: %d of %d elements differ (atol %.0e, rtol %.0e); worst [%d] got %.9g expected %.9g%s",
                    what, dev.name(), bad, e.length, ATOL, RTOL, worst, a[worst], e[worst], first));
    }

    // ------------------------------------------------------------------ broadcasting arithmetic

    /** Pairs of shapes covering equal shapes, per-channel, trailing vector, scalar, rank 0, two-sided, rank-7 and unmergeable rank-9 broadcasts. */
    static final int[][][] BROADCASTS = {
            {{3, 5, 7}, {3, 5, 7}},
            {{2, 3, 5, 7}, {3, 1, 1}},
            {{5, 13}, {13}},
            {{13}, {5, 13}},
            {{4, 1, 6}, {3, 1}},
            {{1}, {3, 5}},
            {{3, 5}, {}},
            {{}, {}},
            {{7, 1, 9}, {1, 5, 1}},
            {{2, 1, 3, 1, 2, 3, 2}, {3, 1, 1, 1, 2}},
            {{2, 3, 1, 5, 1, 7}, {3, 4, 5, 6, 1}},
            {{0, 3}, {3}},
            {{1, 257}, {2, 1}},
            {{2, 1, 3, 1, 2, 1, 3, 1, 2}, {1, 3, 1, 2, 1, 2, 1, 3, 1}},  // 9 dimensions that do not merge: slabs of 6
    };

    private static void checkBinary(String name, BiFunction<Tensor, Tensor, Tensor> cpu, BiFunction<Tensor, Tensor, Tensor> gpu,
                                    boolean positiveB) {
        Random r = new Random(name.hashCode());
        for (int[][] shapes : BROADCASTS) {
            Tensor a = randn(r, shapes[0]);
            Tensor b = positiveB ? uniform(r, 0.5f, 2f, shapes[1]) : randn(r, shapes[1]);
            String what = name + " " + Arrays.toString(shapes[0]) + " ∘ " + Arrays.toString(shapes[1]);
            assertMatches(what, cpu.apply(a, b), gpu.apply(d(a), d(b)));
        }
    }

    @Test void addMatchesCpuOnEveryBroadcastKind() { checkBinary("add", CPU::add, CudaElementwise::add, false); }

    @Test void subMatchesCpuOnEveryBroadcastKind() { checkBinary("sub", CPU::sub, CudaElementwise::sub, false); }

    @Test void mulMatchesCpuOnEveryBroadcastKind() { checkBinary("mul", CPU::mul, CudaElementwise::mul, false); }

    @Test void divMatchesCpuOnEveryBroadcastKind() { checkBinary("div", CPU::div, CudaElementwise::div, true); }

    @Test
    void divByZeroGivesTheSameInfinitiesAndNaNs() {
        Tensor a = Tensor.of(new float[]{1, -1, 0, 2.5f, Float.NaN}, 5);
        Tensor b = Tensor.of(new float[]{0, 0, 0, -0f, 1}, 5);
        assertMatches("div by zero", CPU.div(a, b), CudaElementwise.div(d(a), d(b)));
    }

    @Test
    void affineMatchesCpu() {
        Random r = new Random(11);
        for (int[] shape : new int[][]{{3, 5, 7}, {1}, {4099}, {2, 0}}) {
            Tensor x = randn(r, shape);
            assertMatches("affine " + Arrays.toString(shape), CPU.affine(x, 1.7f, -0.3f), CudaElementwise.affine(d(x), 1.7f, -0.3f));
        }
    }

    @Test
    void expandMatchesCpu() {
        Random r = new Random(12);
        int[][][] cases = {{{3, 1, 5}, {2, 3, 4, 5}}, {{}, {3, 2}}, {{7}, {7}}, {{1, 1}, {3, 1, 2}}, {{5, 1}, {0, 5, 3}},
                {{2, 1, 3, 1, 2, 1, 3}, {2, 2, 3, 2, 2, 2, 3}}};  // 7 kept dimensions: two launches
        for (int[][] c : cases) {
            Tensor x = randn(r, c[0]);
            assertMatches("expand " + Arrays.toString(c[0]) + " → " + Arrays.toString(c[1]), CPU.expand(x, c[1]),
                    CudaElementwise.expand(d(x), c[1]));
        }
    }

    // ------------------------------------------------------------------ clamp

    @Test
    void clampAndItsBackwardMatchCpuIncludingTheBoundsAndNaN() {
        Random r = new Random(13);
        Tensor x = randn(r, 5, 7, 3);
        float[] xd = x.data();
        xd[0] = -0.5f; xd[1] = 0.75f; xd[2] = Float.NaN; xd[3] = Float.POSITIVE_INFINITY; xd[4] = Float.NEGATIVE_INFINITY;
        Tensor gy = randn(r, 5, 7, 3);
        assertMatches("clamp", CPU.clamp(x, -0.5f, 0.75f), CudaElementwise.clamp(d(x), -0.5f, 0.75f));
        assertMatches("clampBackward", CPU.clampBackward(gy, x, -0.5f, 0.75f), CudaElementwise.clampBackward(d(gy), d(x), -0.5f, 0.75f));
        assertMatches("clamp lo > hi", CPU.clamp(x, 1f, -1f), CudaElementwise.clamp(d(x), 1f, -1f));
    }

    // ------------------------------------------------------------------ unary

    /** Inputs inside each function's domain (sqrt, rsqrt and log need x > 0), with zeros where the kinks are. */
    private static Tensor unaryInput(Unary f, Random r, int... shape) {
        Tensor x = switch (f) {
            case SQRT, RSQRT, LOG -> uniform(r, 0.05f, 6f, shape);
            case EXP -> uniform(r, -20f, 20f, shape);
            default -> uniform(r, -8f, 8f, shape);
        };
        float[] xd = x.data();
        if (f != Unary.SQRT && f != Unary.RSQRT && f != Unary.LOG) { xd[0] = 0f; xd[1] = -0f; }
        return x;
    }

    @Test
    void everyUnaryFunctionMatchesCpu() {
        Random r = new Random(14);
        for (Unary f : Unary.values()) {
            for (int[] shape : new int[][]{{3, 7, 11}, {2}, {1031}}) {
                Tensor x = unaryInput(f, r, shape);
                assertMatches("unary " + f + " " + Arrays.toString(shape), CPU.unary(f, x), CudaElementwise.unary(f, d(x)));
            }
        }
    }

    @Test
    void everyUnaryDerivativeMatchesCpu() {
        Random r = new Random(15);
        for (Unary f : Unary.values()) {
            for (int[] shape : new int[][]{{3, 7, 11}, {2}, {1031}}) {
                Tensor x = unaryInput(f, r, shape), gy = randn(r, shape);
                assertMatches("unaryBackward " + f + " " + Arrays.toString(shape), CPU.unaryBackward(f, gy, x),
                        CudaElementwise.unaryBackward(f, d(gy), d(x)));
            }
        }
    }

    @Test
    void unaryOutsideTheDomainGivesNaNLikeCpu() {
        Tensor x = Tensor.of(new float[]{-1f, -0f, 0f, Float.NaN, Float.POSITIVE_INFINITY}, 5);
        for (Unary f : new Unary[]{Unary.SQRT, Unary.RSQRT, Unary.LOG, Unary.SIGN, Unary.RELU, Unary.ABS})
            assertMatches("unary " + f + " at the edges", CPU.unary(f, x), CudaElementwise.unary(f, d(x)));
    }

    // ------------------------------------------------------------------ GEGLU

    @Test
    void gegluAndItsBackwardMatchCpu() {
        Random r = new Random(16);
        for (int[] shape : new int[][]{{3, 5, 14}, {11, 6}, {2}, {1, 3, 130}}) {
            Tensor x = uniform(r, -6f, 6f, shape);
            int[] yShape = shape.clone();
            yShape[yShape.length - 1] /= 2;
            Tensor gy = randn(r, yShape);
            assertMatches("geglu " + Arrays.toString(shape), CPU.geglu(x), CudaElementwise.geglu(d(x)));
            assertMatches("gegluBackward " + Arrays.toString(shape), CPU.gegluBackward(gy, x), CudaElementwise.gegluBackward(d(gy), d(x)));
        }
    }

    // ------------------------------------------------------------------ Adam

    @Test
    void adamAndAdamWStepsMatchCpuOverSeveralSteps() {
        Random r = new Random(17);
        for (AdamParams hp : new AdamParams[]{AdamParams.adam(1e-2f), new AdamParams(3e-3f, 0.8f, 0.99f, 1e-6f, 0.1f, false),
                AdamParams.adamW(1e-2f, 0.05f)}) {
            int[] shape = {7, 13};
            Tensor p = randn(r, shape), m = Tensor.zeros(shape), v = Tensor.zeros(shape);
            Tensor dp = d(p), dm = d(m), dv = d(v);
            for (int step = 1; step <= 4; step++) {
                Tensor g = randn(r, shape);
                CPU.adamStep(p, g, m, v, step, hp);
                CudaElementwise.adamStep(dp, d(g), dm, dv, step, hp);
                String what = "adamStep " + hp + " step " + step;
                assertMatches(what + " param", p, dp);
                assertMatches(what + " m", m, dm);
                assertMatches(what + " v", v, dv);
            }
        }
    }

    // ------------------------------------------------------------------ F16 / BF16 storage

    private static Tensor h(Tensor cpu, DType dt) { return onDevice(cpu, dt, dev); }

    @Test
    void binaryOpsInHalfTypesMatchCpuOnEveryBroadcastKind() {
        String[] names = {"add", "sub", "mul", "div"};
        BiFunction<Tensor, Tensor, Tensor>[] cpu = fns(CPU::add, CPU::sub, CPU::mul, CPU::div);
        BiFunction<Tensor, Tensor, Tensor>[] gpu = fns(CudaElementwise::add, CudaElementwise::sub, CudaElementwise::mul, CudaElementwise::div);
        for (DType dt : HALF_TYPES) {
            Random r = new Random(21);
            for (int k = 0; k < names.length; k++) {
                for (int[][] shapes : BROADCASTS) {
                    Tensor a = randn(r, shapes[0]);
                    Tensor b = k == 3 ? uniform(r, 0.5f, 2f, shapes[1]) : randn(r, shapes[1]);
                    String what = names[k] + " " + Arrays.toString(shapes[0]) + " ∘ " + Arrays.toString(shapes[1]);
                    assertMatchesHalf(what, cpu[k].apply(rounded(a, dt), rounded(b, dt)), gpu[k].apply(h(a, dt), h(b, dt)), dt);
                }
            }
        }
    }

    @SafeVarargs
    private static BiFunction<Tensor, Tensor, Tensor>[] fns(BiFunction<Tensor, Tensor, Tensor>... f) { return f; }

    @Test
    void affineExpandAndClampInHalfTypesMatchCpu() {
        int[][][] expands = {{{3, 1, 5}, {2, 3, 4, 5}}, {{}, {3, 2}}, {{7}, {7}}, {{5, 1}, {0, 5, 3}},
                {{2, 1, 3, 1, 2, 1, 3}, {2, 2, 3, 2, 2, 2, 3}}};
        for (DType dt : HALF_TYPES) {
            Random r = new Random(22);
            for (int[] shape : new int[][]{{3, 5, 7}, {1}, {1031}, {2, 0}}) {
                Tensor x = randn(r, shape), rx = rounded(x, dt);
                String at = " " + Arrays.toString(shape);
                assertMatchesHalf("affine" + at, CPU.affine(rx, 1.7f, -0.3f), CudaElementwise.affine(h(x, dt), 1.7f, -0.3f), dt);
                Tensor gy = randn(r, shape);
                float[] xd = x.data();
                if (xd.length > 2) { xd[0] = -0.5f; xd[1] = 0.75f; }   // exactly on the bounds: kept, gradient passed
                rx = rounded(x, dt);
                assertMatchesHalf("clamp" + at, CPU.clamp(rx, -0.5f, 0.75f), CudaElementwise.clamp(h(x, dt), -0.5f, 0.75f), dt);
                assertMatchesHalf("clampBackward" + at, CPU.clampBackward(rounded(gy, dt), rx, -0.5f, 0.75f),
                        CudaElementwise.clampBackward(h(gy, dt), h(x, dt), -0.5f, 0.75f), dt);
            }
            for (int[][] c : expands) {
                Tensor x = randn(r, c[0]);
                assertMatchesHalf("expand " + Arrays.toString(c[0]) + " → " + Arrays.toString(c[1]), CPU.expand(rounded(x, dt), c[1]),
                        CudaElementwise.expand(h(x, dt), c[1]), dt);
            }
        }
    }

    /**
     * unaryInput, with exp's range cut to where exp and its gradient stay finite in F16 (largest value 65504):
     * e^9·|gy| < 8104·4 for the normal gy here.
     */
    private static Tensor halfUnaryInput(Unary f, Random r, int... shape) {
        if (f != Unary.EXP) return unaryInput(f, r, shape);
        Tensor x = uniform(r, -9f, 9f, shape);
        x.data()[0] = 0f;
        return x;
    }

    @Test
    void everyUnaryFunctionAndDerivativeInHalfTypesMatchesCpu() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(23);
            for (Unary f : Unary.values()) {
                for (int[] shape : new int[][]{{3, 7, 11}, {2}, {1031}}) {
                    Tensor x = halfUnaryInput(f, r, shape), gy = randn(r, shape), rx = rounded(x, dt);
                    String at = " " + f + " " + Arrays.toString(shape);
                    assertMatchesHalf("unary" + at, CPU.unary(f, rx), CudaElementwise.unary(f, h(x, dt)), dt);
                    assertMatchesHalf("unaryBackward" + at, CPU.unaryBackward(f, rounded(gy, dt), rx),
                            CudaElementwise.unaryBackward(f, h(gy, dt), h(x, dt)), dt);
                }
            }
        }
    }

    @Test
    void gegluAndItsBackwardInHalfTypesMatchCpu() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(24);
            for (int[] shape : new int[][]{{3, 5, 14}, {11, 6}, {2}, {1, 3, 130}}) {
                Tensor x = uniform(r, -6f, 6f, shape), rx = rounded(x, dt);
                int[] yShape = shape.clone();
                yShape[yShape.length - 1] /= 2;
                Tensor gy = randn(r, yShape);
                String at = " " + Arrays.toString(shape);
                assertMatchesHalf("geglu" + at, CPU.geglu(rx), CudaElementwise.geglu(h(x, dt)), dt);
                assertMatchesHalf("gegluBackward" + at, CPU.gegluBackward(rounded(gy, dt), rx),
                        CudaElementwise.gegluBackward(h(gy, dt), h(x, dt)), dt);
            }
        }
    }

    @Test
    void mixedStorageTypesAndHalfAdamArgumentsAreRejected() {
        Tensor f16 = h(Tensor.zeros(2, 3), DType.F16), bf16 = h(Tensor.zeros(2, 3), DType.BF16), f32 = d(Tensor.zeros(2, 3));
        expectMessage(() -> CudaElementwise.add(f16, bf16), "add: b is BF16 but the first input is F16");
        expectMessage(() -> CudaElementwise.div(f32, f16), "div: b is F16 but the first input is F32");
        expectMessage(() -> CudaElementwise.clampBackward(f16, f32, 0, 1), "clampBackward: x is F32 but the first input is F16");
        expectMessage(() -> CudaElementwise.unaryBackward(Unary.TANH, bf16, f16), "unaryBackward TANH: x is F16 but the first input is BF16");
        expectMessage(() -> CudaElementwise.gegluBackward(f16, h(Tensor.zeros(2, 6), DType.BF16)),
                "gegluBackward: x is BF16 but the first input is F16");
        expectMessage(() -> CudaElementwise.unary(Unary.EXP, Tensor.zeros(2, 3).to(DType.F16)), "unary EXP: x is on the CPU");
        Tensor g = d(Tensor.zeros(2, 3)), m = d(Tensor.zeros(2, 3)), v = d(Tensor.zeros(2, 3));
        expectMessage(() -> CudaElementwise.adamStep(f16, g, m, v, 1, AdamParams.adam(1e-3f)), "adamStep: param is F16, expected F32");
        expectMessage(() -> CudaElementwise.adamStep(f32, bf16, m, v, 1, AdamParams.adam(1e-3f)), "adamStep: grad is BF16, expected F32");
    }

    // ------------------------------------------------------------------ launches and errors

    @Test
    void largeInputsUseTheGridStrideLoopsCorrectly() {
        // More elements than one capped grid covers on the float4 path would need: every thread loops.
        Random r = new Random(18);
        int n = CudaElementwise.MAX_BLOCKS * CudaElementwise.BLOCK * 4 + 37;
        if (dev.emulated()) n = 4 * 1024 + 37;  // the emulation runs a fiber per thread: keep it quick
        Tensor a = randn(r, n), b = randn(r, n);
        assertMatches("add large", CPU.add(a, b), CudaElementwise.add(d(a), d(b)));
    }

    @Test
    void badShapesAndHostTensorsAreRejectedWithClearMessages() {
        Tensor a = d(Tensor.zeros(2, 3)), b = d(Tensor.zeros(4));
        expectMessage(() -> CudaElementwise.add(a, b), "add: shapes [2, 3] and [4] cannot be broadcast");
        expectMessage(() -> CudaElementwise.mul(Tensor.zeros(2, 3), a), "mul: a is on the CPU, expected an F32, F16 or BF16 tensor");
        expectMessage(() -> CudaElementwise.expand(a, new int[]{3, 3}), "expand: x of shape [2, 3] cannot be broadcast to [3, 3]");
        expectMessage(() -> CudaElementwise.geglu(d(Tensor.zeros(2, 5))), "geglu: x has shape [2, 5], expected [..., 2n]");
        expectMessage(() -> CudaElementwise.gegluBackward(d(Tensor.zeros(2, 3)), d(Tensor.zeros(2, 4))),
                "gegluBackward: gy has shape [2, 3], expected [2, 2]");
        expectMessage(() -> CudaElementwise.clampBackward(b, a, 0, 1), "clampBackward: gy has shape [4], expected the shape of x [2, 3]");
        expectMessage(() -> CudaElementwise.unaryBackward(Unary.EXP, b, a), "unaryBackward EXP: gy has shape [4]");
        expectMessage(() -> CudaElementwise.unary(null, a), "unary: f is null");
        expectMessage(() -> CudaElementwise.adamStep(a, b, a, a, 1, AdamParams.adam(1e-3f)), "adamStep: grad has shape [4]");
        Tensor g = d(Tensor.zeros(2, 3)), m = d(Tensor.zeros(2, 3));
        expectMessage(() -> CudaElementwise.adamStep(a, g, m, m, 1, AdamParams.adam(1e-3f)), "must not share storage");
        expectMessage(() -> CudaElementwise.adamStep(a, g, m, d(Tensor.zeros(2, 3)), 0, AdamParams.adam(1e-3f)), "step is 0");
    }

    private static void expectMessage(Executable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }
}
