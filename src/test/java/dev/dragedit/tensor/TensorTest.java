// Tensor's own contract: reshape (with -1, on zero-size tensors, errors), views sharing storage (including mapped
// storage decoded through a view), dtype conversions (exact widening, round-to-nearest-even narrowing without
// double rounding from F64/I64/I32, truncation to I64), and clear errors for bad shapes and wrong accessors.
package dev.dragedit.tensor;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorTest {
    static Tensor arange(int... shape) {
        float[] d = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return Tensor.of(d, shape);
    }

    static void assertMessage(Throwable e, String... fragments) {
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "expected \"" + f + "\" in: " + e.getMessage());
    }

    @Test
    void reshapeInfersTheMinusOneDimension() {
        Tensor t = arange(2, 3, 4);
        assertArrayEquals(new int[]{6, 4}, t.reshape(-1, 4).shape());
        assertArrayEquals(new int[]{4, 6}, t.reshape(4, -1).shape());
        assertArrayEquals(new int[]{24}, t.reshape(-1).shape());
        assertArrayEquals(new int[]{2, 1, 12}, t.reshape(2, 1, -1).shape());
        assertArrayEquals(new int[]{}, Tensor.scalar(3).reshape().shape());
        assertArrayEquals(new int[]{1, 1}, Tensor.scalar(3).reshape(-1, 1).shape());
        assertArrayEquals(new int[]{2, 3, 4}, t.shape(), "reshape leaves the original's shape alone");
    }

    @Test
    void reshapeOfZeroSizeTensorsFollowsPyTorch() {
        Tensor z = Tensor.zeros(0, 3);
        assertArrayEquals(new int[]{0, 3}, z.reshape(-1, 3).shape());
        assertArrayEquals(new int[]{3, 0}, z.reshape(3, -1).shape());
        assertArrayEquals(new int[]{5, 0, 7}, z.reshape(5, 0, 7).shape());
        // torch: "the unspecified dimension size -1 can be any value and is ambiguous"
        assertThrows(IllegalArgumentException.class, () -> z.reshape(-1, 0));
    }

    @Test
    void reshapeRejectsBadShapesClearly() {
        Tensor t = arange(2, 3);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> t.reshape(-1, -1)), "more than one -1");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> t.reshape(4)), "[2, 3]", "[4]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> t.reshape(-1, 4)), "[2, 3]", "[-1, 4]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> t.reshape(-2, -3)), "negative");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> t.dim(2)), "dimension 2", "[2, 3]");
        assertEquals(3, t.dim(-1));
        assertEquals(2, t.dim(-2));
    }

    @Test
    void creationRejectsMismatchedDataAndNegativeShapes() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3)), "5", "[2, 3]", "6");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -1)), "negative", "[2, -1]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.ofHalfBits(new short[2], DType.F32, 2)), "F32");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(65536, 65536)), "[65536, 65536]");
        ByteBuffer seven = ByteBuffer.allocate(7);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.mapped(seven, DType.F32, 2)), "7", "8 bytes");
    }

    @Test
    void wrongAccessorsSayWhatTheTensorIs() {
        Tensor h = Tensor.zeros(DType.F16, 2);
        assertMessage(assertThrows(IllegalStateException.class, h::data), "F16", "F32");
        assertMessage(assertThrows(IllegalStateException.class, () -> Tensor.zeros(2).halfBits()), "F32");
        assertMessage(assertThrows(IllegalStateException.class, () -> Tensor.zeros(2).item()), "[2]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.ofI64(new long[1], 1).requiresGrad(true)), "I64");
    }

    @Test
    void viewsShareStorage() {
        Tensor t = arange(2, 3);
        Tensor v = t.reshape(3, 2);
        assertSame(t.data(), v.data());
        v.data()[4] = 99;
        assertEquals(99, t.data()[4]);
        Tensor c = t.copy();
        c.data()[0] = -1;
        assertEquals(0, t.data()[0], "copy does not share");
    }

    @Test
    void mappedStorageDecodedThroughAViewIsSeenByTheOriginal() {
        ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) b.putFloat(i * 1.5f);
        Tensor m = Tensor.mapped(b.flip(), DType.F32, 2, 3);
        Tensor v = m.reshape(6);
        assertTrue(m.isMapped() && v.isMapped());
        assertEquals(7.5f, v.data()[5]);
        assertFalse(m.isMapped(), "the view's decode is shared");
        assertSame(v.data(), m.data());
        assertEquals(m.toBytes(), b.rewind(), "toBytes gives the little-endian bytes back");
    }

    @Test
    void widenedConversionsAreExact() {
        Tensor f = Tensor.of(new float[]{0f, -0f, 1.5f, -3.25e-8f, Float.MAX_VALUE, Float.NaN, Float.NEGATIVE_INFINITY}, 7);
        Tensor d = f.to(DType.F64);
        assertEquals(DType.F64, d.dtype());
        assertArrayEquals(f.shape(), d.shape());
        for (int i = 0; i < 7; i++) assertEquals((double) f.data()[i], d.doubles()[i]);
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(d.doubles()[1]));
        Tensor h = Tensor.ofHalfBits(new short[]{0x3c00, (short) 0xc000, 0x0001, 0x7bff}, DType.F16, 2, 2);
        assertArrayEquals(new float[]{1f, -2f, 0x1p-24f, 65504f}, h.to(DType.F32).data());
        assertArrayEquals(new float[]{3.0f, -1f}, Tensor.ofHalfBits(new short[]{0x4040, (short) 0xbf80}, DType.BF16, 2).to(DType.F32).data());
        Tensor l = Tensor.ofI64(new long[]{-5, 1L << 40}, 2);
        assertArrayEquals(new double[]{-5, 0x1p40}, l.to(DType.F64).doubles());
        assertArrayEquals(new float[]{-5, 0x1p40f}, l.to(DType.F32).data());
        assertSame(f, f.to(DType.F32), "to(own dtype) is the tensor itself");
    }

    @Test
    void narrowingConversionsRoundToNearestEven() {
        Tensor f = Tensor.of(new float[]{1 + 0x1p-11f, 1 + 0x3p-11f, 65520f, 0x1p-25f, -0f, Float.NaN}, 6);
        assertArrayEquals(new short[]{0x3c00, 0x3c02, 0x7c00, 0x0000, (short) 0x8000, 0x7e00}, f.to(DType.F16).halfBits());
        Tensor g = Tensor.of(new float[]{1 + 0x1p-8f, 1 + 0x3p-8f, (float) Math.PI}, 3);
        assertArrayEquals(new short[]{0x3f80, 0x3f82, 0x4049}, g.to(DType.BF16).halfBits());
        Tensor d = Tensor.ofF64(new double[]{0.1, 1e300, -1e-300, Math.PI}, 4);
        assertArrayEquals(new float[]{0.1f, Float.POSITIVE_INFINITY, -0f, (float) Math.PI}, d.to(DType.F32).data());
        Tensor h = Tensor.ofHalfBits(new short[]{0x3c01, 0x7c00}, DType.F16, 2);
        assertArrayEquals(new short[]{0x3f80, 0x7f80}, h.to(DType.BF16).halfBits(), "F16 1+2^-10 rounds to BF16 1");
    }

    @Test
    void narrowingFromF64AndIntegersRoundsOnceNotTwice() {
        // 1 + 2^-11 + 2^-40 is just above an F16 halfway point; rounding to f32 first lands on the halfway point.
        Tensor d = Tensor.ofF64(new double[]{1 + 0x1p-11 + 0x1p-40, -(1 + 0x1p-11 + 0x1p-40), 1 + 0x1p-8 + 0x1p-40,
                65520 - 0x1p-30, 0x1p-25 + 0x1p-60, Double.NaN}, 6);
        short[] h = d.to(DType.F16).halfBits();
        assertEquals(0x3c01, h[0] & 0xffff);
        assertEquals(0xbc01, h[1] & 0xffff);
        assertEquals(0x7bff, h[3] & 0xffff, "just under 65520 stays finite");
        assertEquals(0x0001, h[4] & 0xffff, "just over 2^-25 rounds up to the smallest subnormal");
        assertTrue((h[5] & 0x7c00) == 0x7c00 && (h[5] & 0x3ff) != 0, "NaN stays NaN");
        assertEquals(0x3f81, d.to(DType.BF16).halfBits()[2] & 0xffff);
        // 2^24 + 2^16 + 1: above the BF16 halfway point 2^24 + 2^16; as a float it is exactly that halfway point.
        long v = (1L << 24) + (1L << 16) + 1;
        int want = Float.floatToRawIntBits((1 << 24) + (1 << 17)) >>> 16;
        short[] fromLong = Tensor.ofI64(new long[]{v, -v, (1L << 62) + (1L << 54) + 1, Long.MIN_VALUE}, 4).to(DType.BF16).halfBits();
        assertEquals(want, fromLong[0] & 0xffff);
        assertEquals(want | 0x8000, fromLong[1] & 0xffff);
        assertEquals(Float.floatToRawIntBits(0x1p62f + 0x1p55f) >>> 16, fromLong[2] & 0xffff);
        assertEquals(Float.floatToRawIntBits(-0x1p63f) >>> 16, fromLong[3] & 0xffff);
        ByteBuffer i32 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v);
        assertEquals(want, Tensor.mapped(i32.flip(), DType.I32, 1).to(DType.BF16).halfBits()[0] & 0xffff);
    }

    @Test
    void f64ToHalfMatchesDirectRoundingNearHalfwayPoints() {
        SplittableRandom rnd = new SplittableRandom(5);
        int n = 200_000;
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            // A random F16 / BF16 halfway point nudged by a relative 2^-30 .. 2^-50 in either direction, or not at all.
            boolean bf = (i & 1) == 1;
            int bits = rnd.nextInt(bf ? 0x7f7f : 0x7bff);
            double lo = bf ? HalfTest.bf16Value(bits) : HalfTest.f16Value(bits);
            double hi = bf ? HalfTest.bf16Value(bits + 1) : HalfTest.f16Value(bits + 1);
            double mid = (lo + hi) / 2;
            int k = rnd.nextInt(4);
            x[i] = k == 0 ? mid : mid * (1 + (k == 1 ? 1 : -1) * Math.scalb(1.0, -rnd.nextInt(30, 51)));
            if (rnd.nextBoolean()) x[i] = -x[i];
        }
        Tensor t = Tensor.ofF64(x, n);
        short[] h = t.to(DType.F16).halfBits();
        short[] b = t.to(DType.BF16).halfBits();
        for (int i = 0; i < n; i++) {
            if (HalfTest.refF16(x[i]) != (h[i] & 0xffff)) assertEquals(HalfTest.refF16(x[i]), h[i] & 0xffff, "F16 of " + x[i]);
            if (HalfTest.refBf16(x[i]) != (b[i] & 0xffff)) assertEquals(HalfTest.refBf16(x[i]), b[i] & 0xffff, "BF16 of " + x[i]);
        }
    }

    @Test
    void conversionToI64TruncatesTowardZeroLikePyTorch() {
        Tensor f = Tensor.of(new float[]{2.7f, -2.7f, 0.5f, -0.5f, 1e10f, 7f}, 6);
        assertArrayEquals(new long[]{2, -2, 0, 0, 10_000_000_000L, 7}, f.to(DType.I64).longs());
        Tensor d = Tensor.ofF64(new double[]{(double) (1L << 53) + 2, -3.9999}, 2);
        assertArrayEquals(new long[]{(1L << 53) + 2, -3}, d.to(DType.I64).longs());
    }
}
