package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * CudaShape on Devices.best() (the CUDA emulation without a GPU) against CpuOps on random odd-sized inputs, every
 * output buffer poisoned with NaN before the kernels run. The ops only move values, so results must be bit-identical.
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
