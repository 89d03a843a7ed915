package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.HALF_TYPES;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.onDevice;
import static dev.dragedit.cuda.ops.CudaOpTestSupport.rounded;

/**
 * CudaShape on Devices.best() (the CUDA emulation without a GPU) against CpuOps on random odd-sized inputs, every
 * output buffer poisoned with NaN before the kernels run. The ops only move values, so results must be bit-identical.
 * The F16/BF16 entry points are checked the same way, bit for bit: the CPU op runs on the inputs rounded to the
 * dtype (values the dtype holds exactly) and its result, converted to the dtype, must equal the device's bits —
 * pad's fill value included, which both sides round to nearest even.
 */
class CudaShapeTest {
    static KernelDevice dev;
    static final Ops cpu = CpuOps.INSTANCE;

    @BeforeAll static void open() { dev = CudaOpTestSupport.open("CudaShapeTest"); }

    @AfterAll static void close() { CudaOpTestSupport.close(dev); }



    static Tensor randn(Random r, int... shape) {
        float[] d = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return Tensor.of(d, shape);
    }

    static void assertSame(String what, Tensor ref, Tensor got) {
        assertArrayEquals(ref.shape(), got.shape(), what + ": shape");
        float[] e = ref.data(), a = got.toCpu().data();
        for (int i = 0; i < e.length; i++)
            if (Float.floatToRawIntBits(e[i]) != Float.floatToRawIntBits(a[i]))
                fail(what + ": element " + i + " is " + a[i] + ", expected " + e[i] + " (shape " + Arrays.toString(ref.shape()) + ")");
    }

    @Test
    void concatMatchesCpuAlongEveryDimIncludingEmptyParts() {
        Random r = new Random(1);
        for (int dim = -3; dim < 3; dim++) {
            int d = dim < 0 ? dim + 3 : dim;
            int[] s1 = {3, 5, 7}, s2 = {3, 5, 7}, s3 = {3, 5, 7};
            s1[d] = 2;
            s2[d] = 0;
            s3[d] = 9;
            Tensor[] xs = {randn(r, s1), randn(r, s2), randn(r, s3)};
            Tensor[] ds = Arrays.stream(xs).map(t -> t.toDevice(dev)).toArray(Tensor[]::new);
            assertSame("concat dim " + dim, cpu.concat(xs, dim), CudaShape.concat(ds, dim));
        }
        Tensor one = randn(r, 4, 1, 6);
        assertSame("concat of one tensor", cpu.concat(new Tensor[]{one}, 1), CudaShape.concat(new Tensor[]{one.toDevice(dev)}, 1));
    }

    @Test
    void sliceAndItsBackwardMatchCpuWithPythonBounds() {
        Random r = new Random(2);
        Tensor x = randn(r, 5, 7, 9);
        Tensor xd = x.toDevice(dev);
        int[][] cases = {{0, 1, 4}, {1, 2, 7}, {2, -5, -1}, {-1, 3, 100}, {1, -100, 2}, {2, 6, 3}, {0, 0, 5}};
        for (int[] c : cases) {
            String what = "slice dim " + c[0] + " [" + c[1] + ", " + c[2] + ")";
            Tensor ref = cpu.slice(x, c[0], c[1], c[2]);
            assertSame(what, ref, CudaShape.slice(xd, c[0], c[1], c[2]));
            Tensor gy = randn(r, ref.shape());
            assertSame(what + " backward", cpu.sliceBackward(gy, x.shape(), c[0], c[1], c[2]),
                    CudaShape.sliceBackward(gy.toDevice(dev), x.shape(), c[0], c[1], c[2]));
        }
    }

    @Test
    void permuteMatchesCpuForEveryPermutationOfRank3AndRank4() {
        Random r = new Random(3);
        Tensor x = randn(r, 3, 5, 7);
        Tensor xd = x.toDevice(dev);
        int[][] perms3 = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}, {-1, 0, 1}};
        for (int[] p : perms3) assertSame("permute " + Arrays.toString(p), cpu.permute(x, p), CudaShape.permute(xd, p));
        Tensor y = randn(r, 3, 4, 5, 6);
        Tensor yd = y.toDevice(dev);
        int[][] perms4 = {{0, 1, 3, 2}, {3, 2, 1, 0}, {2, 0, 3, 1}, {0, 2, 3, 1}, {1, 0, 2, 3}, {0, 3, 1, 2}};
        for (int[] p : perms4) assertSame("permute " + Arrays.toString(p), cpu.permute(y, p), CudaShape.permute(yd, p));
    }

    @Test
    void lastTwoDimSwapsGoThroughTheTiledTranspose() {
        Random r = new Random(4);
        long before = dev.launchCount("shape_transpose_fwd_f32");
        Tensor a = randn(r, 33, 47);
        assertSame("transpose [33, 47]", cpu.permute(a, new int[]{1, 0}), CudaShape.permute(a.toDevice(dev), new int[]{1, 0}));
        Tensor b = randn(r, 3, 37, 65);
        assertSame("batched transpose [3, 37, 65]", cpu.permute(b, new int[]{0, 2, 1}), CudaShape.permute(b.toDevice(dev), new int[]{0, 2, 1}));
        Tensor c = randn(r, 2, 3, 31, 5);                     // the two leading dims coalesce into the batch
        assertSame("transpose with coalesced batch", cpu.permute(c, new int[]{0, 1, 3, 2}), CudaShape.permute(c.toDevice(dev), new int[]{0, 1, 3, 2}));
        assertEquals(before + 3, dev.launchCount("shape_transpose_fwd_f32"));
    }

    @Test
    void permuteHandlesSizeOneDimsScalarsAndBoxesOfMoreThanSixDims() {
        Random r = new Random(5);
        Tensor x = randn(r, 1, 5, 1, 7);
        assertSame("permute with size-1 dims", cpu.permute(x, new int[]{3, 2, 1, 0}), CudaShape.permute(x.toDevice(dev), new int[]{3, 2, 1, 0}));
        Tensor one = randn(r, 1, 1);
        assertSame("permute of one element", cpu.permute(one, new int[]{1, 0}), CudaShape.permute(one.toDevice(dev), new int[]{1, 0}));
        Tensor big = randn(r, 2, 3, 2, 3, 2, 3, 2);
        int[] rev = {6, 5, 4, 3, 2, 1, 0};
        assertSame("permute of rank 7 reversed", cpu.permute(big, rev), CudaShape.permute(big.toDevice(dev), rev));
        Tensor empty = Tensor.zeros(3, 0, 2);
        assertSame("permute of an empty tensor", cpu.permute(empty, new int[]{2, 0, 1}), CudaShape.permute(empty.toDevice(dev), new int[]{2, 0, 1}));
    }

    @Test
    void padAndItsBackwardMatchCpuIncludingCropsAndAValue() {
        Random r = new Random(6);
        Tensor x = randn(r, 2, 3, 5, 7);
        Tensor xd = x.toDevice(dev);
        int[][] padsCases = {{1, 2}, {1, 2, -1, 3}, {-2, -3}, {0, 0, 2, 1, 1, 0}, {3, -1, 0, 2, -1, 1, 1, 1}, {}};
        for (int[] pads : padsCases) {
            for (float value : new float[]{0f, -1.5f}) {
                String what = "pad " + Arrays.toString(pads) + " value " + value;
                Tensor ref = cpu.pad(x, pads, value);
                assertSame(what, ref, CudaShape.pad(xd, pads, value));
                Tensor gy = randn(r, ref.shape());
                assertSame(what + " backward", cpu.padBackward(gy, pads), CudaShape.padBackward(gy.toDevice(dev), pads));
            }
        }
    }

    // ------------------------------------------------------------------ 16-bit storage

    /** got (a dtype device tensor) must hold exactly the bits of the F32 CPU result ref converted to dtype. */
    static void assertSameHalf(String what, Tensor ref, Tensor got, DType dtype) {
        assertEquals(dtype, got.dtype(), what + ": dtype");
        assertArrayEquals(ref.shape(), got.shape(), what + ": shape");
        short[] e = ref.to(dtype).halfBits(), a = got.toCpu().halfBits();
        for (int i = 0; i < e.length; i++)
            if (e[i] != a[i])
                fail(what + " (" + dtype + "): element " + i + " has bits 0x" + Integer.toHexString(a[i] & 0xFFFF)
                        + ", expected 0x" + Integer.toHexString(e[i] & 0xFFFF) + " (shape " + Arrays.toString(ref.shape()) + ")");
    }

    @Test
    void halfPrecisionConcatSliceAndPadAreExactBitCopies() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(11);
            Tensor[] xs = {randn(r, 3, 2, 7), randn(r, 3, 0, 7), randn(r, 3, 5, 7)};
            Tensor[] xr = Arrays.stream(xs).map(t -> rounded(t, dt)).toArray(Tensor[]::new);
            Tensor[] xd = Arrays.stream(xs).map(t -> onDevice(t, dt, dev)).toArray(Tensor[]::new);
            assertSameHalf("concat dim 1", cpu.concat(xr, 1), CudaShape.concat(xd, 1), dt);
            assertSameHalf("concat dim -1", cpu.concat(new Tensor[]{xr[0], xr[0]}, -1), CudaShape.concat(new Tensor[]{xd[0], xd[0]}, -1), dt);

            Tensor x = randn(r, 5, 7, 9), x16 = rounded(x, dt), xdev = onDevice(x, dt, dev);
            for (int[] c : new int[][]{{0, 1, 4}, {2, -5, -1}, {1, 2, 7}}) {
                String what = "slice dim " + c[0] + " [" + c[1] + ", " + c[2] + ")";
                Tensor ref = cpu.slice(x16, c[0], c[1], c[2]);
                assertSameHalf(what, ref, CudaShape.slice(xdev, c[0], c[1], c[2]), dt);
                Tensor gy = randn(r, ref.shape());
                assertSameHalf(what + " backward", cpu.sliceBackward(rounded(gy, dt), x.shape(), c[0], c[1], c[2]),
                        CudaShape.sliceBackward(onDevice(gy, dt, dev), x.shape(), c[0], c[1], c[2]), dt);
            }

            Tensor y = randn(r, 2, 3, 5, 7), y16 = rounded(y, dt), ydev = onDevice(y, dt, dev);
            for (int[] pads : new int[][]{{1, 2, -1, 3}, {3, -1, 0, 2, -1, 1, 1, 1}}) {
                // -1.3 is not a 16-bit value: both sides round the fill value to the dtype
                for (float value : new float[]{0f, -1.3f}) {
                    String what = "pad " + Arrays.toString(pads) + " value " + value;
                    Tensor ref = cpu.pad(y16, pads, value);
                    assertSameHalf(what, ref, CudaShape.pad(ydev, pads, value), dt);
                    Tensor gy = randn(r, ref.shape());
                    assertSameHalf(what + " backward", cpu.padBackward(rounded(gy, dt), pads),
                            CudaShape.padBackward(onDevice(gy, dt, dev), pads), dt);
                }
            }
        }
    }

    @Test
    void halfPrecisionPermuteIsExactThroughTheBoxCopyAndTheTranspose() {
        for (DType dt : HALF_TYPES) {
            Random r = new Random(12);
            String transpose = "shape_transpose_fwd_" + CudaOpSupport.suffix(dt), copy = "shape_copy_fwd_" + CudaOpSupport.suffix(dt);
            long transposes = dev.launchCount(transpose), copies = dev.launchCount(copy);
            Tensor y = randn(r, 3, 4, 5, 6), y16 = rounded(y, dt), ydev = onDevice(y, dt, dev);
            for (int[] p : new int[][]{{3, 2, 1, 0}, {2, 0, 3, 1}, {0, 1, 3, 2}})
                assertSameHalf("permute " + Arrays.toString(p), cpu.permute(y16, p), CudaShape.permute(ydev, p), dt);
            Tensor b = randn(r, 3, 37, 65);
            assertSameHalf("batched transpose [3, 37, 65]", cpu.permute(rounded(b, dt), new int[]{0, 2, 1}),
                    CudaShape.permute(onDevice(b, dt, dev), new int[]{0, 2, 1}), dt);
            Tensor big = randn(r, 2, 3, 2, 3, 2, 3, 2);
            int[] rev = {6, 5, 4, 3, 2, 1, 0};
            assertSameHalf("permute of rank 7 reversed", cpu.permute(rounded(big, dt), rev), CudaShape.permute(onDevice(big, dt, dev), rev), dt);
            Tensor one = randn(r, 1, 1);
            assertSameHalf("permute of one element", cpu.permute(rounded(one, dt), new int[]{1, 0}),
                    CudaShape.permute(onDevice(one, dt, dev), new int[]{1, 0}), dt);
            assertEquals(transposes + 2, dev.launchCount(transpose), transpose);
            assertTrue(dev.launchCount(copy) > copies, copy + " was not launched");
        }
    }

    @Test
    void mixedDtypeArgumentsAreRefused() {
        Tensor a = onDevice(Tensor.zeros(2, 3), DType.F16, dev), b = onDevice(Tensor.zeros(2, 3), DType.BF16, dev);
        expect("concat: xs[1] is BF16 but the first input is F16", () -> CudaShape.concat(new Tensor[]{a, b}, 0));
        expect("concat: xs[1] is F32 but the first input is BF16", () -> CudaShape.concat(new Tensor[]{b, Tensor.zeros(2, 3).toDevice(dev)}, 0));
    }

    @Test
    void badArgumentsAreRefusedWithUsefulMessages() {
        Tensor x = Tensor.zeros(2, 3).toDevice(dev), y = Tensor.zeros(3, 3).toDevice(dev);
        expect("concat: xs[1] has shape [3, 3], expected [2, *] to match xs[0] [2, 3] outside dim 1", () -> CudaShape.concat(new Tensor[]{x, y}, 1));
        expect("concat: expected at least one tensor", () -> CudaShape.concat(new Tensor[0], 0));
        expect("slice: dim 2 is out of range", () -> CudaShape.slice(x, 2, 0, 1));
        expect("sliceBackward: gy has shape [2, 3], expected [2, 1]", () -> CudaShape.sliceBackward(x, new int[]{2, 5}, 1, 1, 2));
        expect("permute: perm [0, 0] names dimension 0 twice", () -> CudaShape.permute(x, new int[]{0, 0}));
        expect("permute: perm [0] has 1 entries, expected 2", () -> CudaShape.permute(x, new int[]{0}));
        expect("pad: pads [1] has 1 entries", () -> CudaShape.pad(x, new int[]{1}, 0f));
        expect("pad: dimension 1 of x [2, 3] with pads (-2, -2) would have size -1", () -> CudaShape.pad(x, new int[]{-2, -2}, 0f));
        expect("padBackward: gy [2, 3] is too small", () -> CudaShape.padBackward(x, new int[]{2, 2}));
        expect("slice: x is on the CPU", () -> CudaShape.slice(Tensor.zeros(2), 0, 0, 1));
    }

    static void expect(String fragment, Supplier<Tensor> call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::get);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }
}
