package dev.dragedit.engine;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.cuda.ops.CudaOps;
import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.Unary;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --validate's decorator over the CUDA ops on the best device (the emulation without a GPU): correct ops pass and are
 * counted, the caller gets the device result, and an op set with one deliberately wrong op is stopped at that op with
 * a message naming the op, the input shapes and dtypes, the output, the worst element and the errors.
 */
class ValidatingOpsTest {
    private static KernelDevice dev;

    @BeforeAll
    static void open() {
        dev = Devices.best();
        System.out.println("ValidatingOpsTest on " + dev.name());
    }

    @AfterAll
    static void close() { dev.close(); }

    private static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] d = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) (r.nextDouble() * 2 - 1);
        return Tensor.of(d, shape);
    }

    private static Tensor on(Tensor t) { return t.toDevice(dev); }

    @Test
    void correctOpsPassAreCountedAndReturnTheDeviceResult() {
        ValidatingOps ops = new ValidatingOps(CudaOps.INSTANCE);
        Tensor x = on(random(1, 2, 3, 7, 9)), w = on(random(2, 5, 3, 3, 3)), b = on(random(3, 5));
        Conv2dParams p = Conv2dParams.of(1, 1);

        Tensor y = ops.conv2d(x, w, b, p);
        assertTrue(y.onDevice(), "the caller gets the CUDA result");
        assertArrayEquals(new int[] {2, 5, 7, 9}, y.shape());
        Tensor[] grads = ops.conv2dBackward(on(random(4, 2, 5, 7, 9)), x, w, p, true, true, false);
        assertNull(grads[2], "an output not asked for stays null");
        ops.add(x, on(random(5, 3, 1, 1)));                                  // broadcast
        ops.groupNorm(y, 5, b, b, 1e-5f);
        ops.unary(Unary.SILU, y);
        ops.softmax(on(random(6, 3, 11)));
        ops.concat(new Tensor[] {on(random(7, 2, 3)), on(random(8, 4, 3))}, 0);
        ops.sum(x, new int[] {1, 3}, false);

        Tensor param = on(random(9, 33)), grad = on(random(10, 33)), m = on(Tensor.zeros(33)), v = on(Tensor.zeros(33));
        ops.adamStep(param, grad, m, v, 1, AdamParams.adam(1e-2f));

        assertEquals(9, ops.validated());
        assertEquals(ops.worst().keySet(), java.util.Set.of("conv2d", "conv2dBackward", "add", "groupNorm", "unary", "softmax", "concat", "sum", "adamStep"));
        for (double e : ops.worst().values()) assertTrue(e <= OutputComparison.F32_TOLERANCE, ops.worst().toString());
        assertTrue(ops.summary().matches("validated 9 ops against cpu, worst rel error [0-9.e+-]+ \\(\\w+\\)"), ops.summary());
    }

    @Test
    void everyOpFamilyPassesAtSmallOddSizes() {
        // no false alarms: the real kernels of every family stay inside the F32 tolerance
        ValidatingOps ops = new ValidatingOps(CudaOps.INSTANCE);
        Tensor a = on(random(50, 2, 3, 5)), b = on(random(51, 3, 1)), c = on(random(52, 2, 3, 5));
        ops.sub(a, b);
        ops.mul(a, c);
        ops.div(a, on(CpuOps.INSTANCE.affine(CpuOps.INSTANCE.unary(Unary.ABS, random(53, 5)), 1, 0.5f)));
        ops.affine(a, 1.5f, -0.25f);
        ops.sumTo(a, new int[] {3, 1});
        ops.expand(b, new int[] {2, 3, 5});
        ops.clamp(a, -0.5f, 0.5f);
        ops.clampBackward(c, a, -0.5f, 0.5f);
        ops.unaryBackward(Unary.GELU, c, a);
        Tensor g = on(random(54, 3, 10));
        ops.gegluBackward(ops.geglu(g), g);
        ops.mean(a, new int[] {-1}, true);
        ops.l1LossBackward(ops.l1Loss(a, c), a, c);
        ops.mseLossBackward(ops.mseLoss(a, c), a, c);
        ops.linear(on(random(55, 4, 6)), on(random(56, 5, 6)), on(random(57, 5)));

        Tensor x = on(random(60, 2, 4, 5, 6)), wt = on(random(61, 4, 3, 3, 3));
        Conv2dParams s2 = Conv2dParams.of(2, 1);
        Tensor yt = ops.convTranspose2d(x, wt, on(random(62, 3)), s2, 1, 1);
        ops.convTranspose2dBackward(on(random(63, yt.shape())), x, wt, s2, 1, 1, true, true, true);
        Tensor xm = on(random(64, 2, 3, 6, 5)), wm = on(random(65, 4, 3, 3, 3)), st = on(random(66, 2, 3));
        Tensor ym = ops.modulatedConv2d(xm, wm, st, true, 1);
        ops.modulatedConv2dBackward(on(random(67, ym.shape())), xm, wm, st, true, 1);
        Tensor xu = on(random(68, 1, 2, 6, 7)), f = on(random(69, 4, 4));
        Tensor yu = ops.upfirdn2d(xu, f, 2, 2, 1, 1, 2, 1, 2, 1);
        ops.upfirdn2dBackward(on(random(70, yu.shape())), xu.shape(), f, 2, 2, 1, 1, 2, 1, 2, 1);
        Tensor yb = ops.biasAct(x, on(random(71, 4)), 0.2f, (float) Math.sqrt(2), 0.8f);
        ops.biasActBackward(on(random(72, yb.shape())), yb, true, 0.2f, (float) Math.sqrt(2), 0.8f);

        Tensor xn = on(random(73, 2, 6, 3, 5)), gamma = on(random(74, 6));
        ops.groupNormBackward(on(random(75, 2, 6, 3, 5)), xn, 3, gamma, 1e-5f, true);
        Tensor xl = on(random(76, 3, 7));
        ops.layerNorm(xl, on(random(77, 7)), on(random(78, 7)), 1e-5f);
        ops.layerNormBackward(on(random(79, 3, 7)), xl, on(random(77, 7)), 1e-5f, true);
        ops.softmaxBackward(on(random(80, 3, 7)), ops.softmax(xl));
        Tensor q = on(random(81, 1, 2, 5, 8)), k = on(random(82, 1, 2, 6, 8)), v = on(random(83, 1, 2, 6, 4));
        ops.attention(q, k, v, 0.35f, true);
        ops.attentionBackward(on(random(84, 1, 2, 5, 4)), q, k, v, 0.35f, false);

        Tensor xs = on(random(85, 1, 2, 5, 6));
        ops.upsampleNearest2xBackward(ops.upsampleNearest2x(xs));
        ops.resizeBilinearBackward(ops.resizeBilinear(xs, 7, 9), 5, 6);
        Tensor grid = on(random(86, 1, 4, 3, 2));
        ops.gridSampleBackward(on(random(87, 1, 2, 4, 3)), xs, grid, false, true, true);
        ops.gridSample(xs, grid, true);
        ops.sliceBackward(ops.slice(xs, 3, 1, 4), xs.shape(), 3, 1, 4);
        ops.permute(xs, new int[] {0, 2, 3, 1});
        ops.padBackward(ops.pad(xs, new int[] {1, 2, 0, -1}, 0.5f), new int[] {1, 2, 0, -1});

        assertEquals(43, ops.validated(), ops.worst().toString());
        for (double e : ops.worst().values()) assertTrue(e <= OutputComparison.F32_TOLERANCE, ops.worst().toString());
    }

    @Test
    void sixteenBitOpsAreComparedWithTheHalfTolerance() {
        ValidatingOps ops = new ValidatingOps(CudaOps.INSTANCE);
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            Tensor a = random(20, 13, 17).toDevice(dev, dt), b = random(21, 17, 11).toDevice(dev, dt);
            Tensor c = ops.matmul(a, b, false, false);
            assertEquals(dt, c.dtype());
            ops.add(c, random(22, 11).toDevice(dev, dt));
        }
        assertEquals(4, ops.validated());
        for (double e : ops.worst().values()) assertTrue(e <= OutputComparison.HALF_TOLERANCE, ops.worst().toString());
    }

    /** CudaOps with one op's result changed by {@code change} (a test-only proxy; ValidatingOps itself never is one). */
    private static Ops wrongAt(String op, UnaryOperator<Tensor> change) {
        return (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[] {Ops.class}, (proxy, method, args) -> {
            Object r;
            try {
                r = method.invoke(CudaOps.INSTANCE, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (!method.getName().equals(op)) return r;
            if (r instanceof Tensor t) return change.apply(t);
            if (r instanceof Tensor[] ts) { ts[1] = change.apply(ts[1]); return ts; }
            if (method.getName().equals("adamStep")) change.apply((Tensor) args[0]);
            return r;
        });
    }

    /** t with element i set to value, on t's device (in place, returned). */
    private static Tensor set(Tensor t, int i, float value) {
        Tensor c = t.toCpu().to(DType.F32);
        float[] d = c.data();
        d[i] = value;
        Tensor back = c.to(t.dtype()).toDevice(t.kernelDevice());
        t.kernelDevice().copy(t.devicePtr(), back.devicePtr(), t.sizeBytes());
        return t;
    }

    private static float at(Tensor t, int i) { return t.toCpu().to(DType.F32).data()[i]; }

    @Test
    void aWrongResultIsStoppedWithOpShapesOutputAndError() {
        ValidatingOps ops = new ValidatingOps(wrongAt("conv2d", t -> set(t, 100, at(t, 100) + 0.5f)));
        Tensor x = on(random(1, 2, 3, 7, 9)), w = on(random(2, 5, 3, 3, 3));
        ops.add(x, x);
        ValidationException e = assertThrows(ValidationException.class, () -> ops.conv2d(x, w, null, Conv2dParams.of(1, 1)));
        String msg = e.getMessage();
        assertEquals("conv2d", e.op());
        assertEquals("y", e.output());
        assertTrue(e.maxRelError() > e.tolerance(), msg);
        assertTrue(msg.startsWith("validate: conv2d(x [2, 3, 7, 9] F32, w [5, 3, 3, 3] F32, bias null, p Conv2dParams["), msg);
        assertTrue(msg.contains("diverges from cpu in y [2, 5, 7, 9] F32: element 100 [0, 1, 4, 1] is "), msg);
        assertTrue(msg.contains("max abs error 0.500"), msg);
        assertTrue(msg.contains("tolerance 1e-04 (F32)") && msg.contains("1 of 630 elements outside"), msg);
        assertEquals(1, ops.validated(), "the add before it was validated, the conv2d was not");
    }

    @Test
    void aWrongGradientNamesWhichOutputDiverged() {
        ValidatingOps ops = new ValidatingOps(wrongAt("linearBackward", t -> set(t, 3, Float.NaN)));
        Tensor x = on(random(30, 4, 6)), w = on(random(31, 5, 6)), gy = on(random(32, 4, 5));
        ValidationException e = assertThrows(ValidationException.class, () -> ops.linearBackward(gy, x, w, true, true, true));
        assertEquals("dw", e.output());
        assertTrue(e.getMessage().contains("in dw [5, 6] F32: element 3 [0, 3] is NaN on cuda"), e.getMessage());
        assertEquals(Double.POSITIVE_INFINITY, e.maxRelError());
    }

    @Test
    void aWrongInPlaceStepIsFoundInParam() {
        ValidatingOps ops = new ValidatingOps(wrongAt("adamStep", t -> set(t, 7, at(t, 7) + 0.01f)));
        Tensor param = on(random(9, 33)), grad = on(random(10, 33)), m = on(random(11, 33)), v = on(CpuOps.INSTANCE.unary(Unary.SQUARE, random(12, 33)));
        ValidationException e = assertThrows(ValidationException.class, () -> ops.adamStep(param, grad, m, v, 3, AdamParams.adamW(1e-3f, 0.01f)));
        assertEquals("param", e.output());
        assertTrue(e.getMessage().startsWith("validate: adamStep(param [33] F32, grad [33] F32, m [33] F32, v [33] F32, step 3, hp AdamParams["), e.getMessage());
    }

    @Test
    void anErrorInsideTheToleranceAndAgreeingInfinitiesPass() {
        // 3e-5 relative: the size of a reordered F32 sum, not a bug
        ValidatingOps ops = new ValidatingOps(wrongAt("mul", t -> set(t, 0, at(t, 0) * (1 + 3e-5f))));
        Tensor a = on(Tensor.of(new float[] {2, Float.POSITIVE_INFINITY, -3, 0.5f}, 4));
        Tensor y = ops.mul(a, a);
        assertEquals(Float.POSITIVE_INFINITY, at(y, 1));
        assertTrue(ops.worst().get("mul") > 0 && ops.worst().get("mul") < OutputComparison.F32_TOLERANCE, ops.worst().toString());
    }

    @Test
    void aShapeMismatchIsADivergence() {
        ValidatingOps ops = new ValidatingOps(wrongAt("sum", t -> on(random(1, 3))));
        ValidationException e = assertThrows(ValidationException.class, () -> ops.sum(on(random(2, 2, 3)), new int[] {1}, false));
        assertTrue(e.getMessage().contains("shape [3], expected [2]"), e.getMessage());
    }

    @Test
    void theReferenceRunsOnCpuF32CopiesAndMayBeAnyOpSet() {
        ValidatingOps ops = new ValidatingOps(CpuOps.INSTANCE, CpuOps.INSTANCE);
        Tensor x = random(40, 5, 4);
        assertSame(ops.checked(), CpuOps.INSTANCE);
        ops.softmax(x);
        assertEquals(1, ops.validated());
        assertEquals(0.0, ops.worst().get("softmax"));
        assertThrows(IllegalArgumentException.class, () -> new ValidatingOps(ops));
    }
}
