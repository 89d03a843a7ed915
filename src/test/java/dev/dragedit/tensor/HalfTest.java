// Half.java against independent float64 arithmetic: every one of the 65536 F16 and BF16 bit patterns decodes to
// the value its fields spell and encodes back to itself; float → F16/BF16 matches a reference that rounds with
// Math.rint (ties to even) in float64, at every halfway point between neighbouring half values (and one float ulp
// either side), on a stride through all 2^32 float bit patterns, on random floats, and at the named edge cases.
package dev.dragedit.tensor;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfTest {
    // ------------------------------------------------------------------ float64 references

    /** The value an F16 bit pattern spells: (-1)^s · 2^(e-15) · 1.m, or 2^-14 · 0.m when e = 0. */
    static double f16Value(int bits) {
        int s = bits >>> 15 & 1, e = bits >>> 10 & 0x1f, m = bits & 0x3ff;
        double v = e == 0x1f ? (m == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                : e == 0 ? m * 0x1p-24 : (1024 + m) * Math.scalb(1.0, e - 25);
        return s == 1 ? -v : v;
    }

    /** The value a BF16 bit pattern spells: (-1)^s · 2^(e-127) · 1.m, or 2^-126 · 0.m when e = 0. */
    static double bf16Value(int bits) {
        int s = bits >>> 15 & 1, e = bits >>> 7 & 0xff, m = bits & 0x7f;
        double v = e == 0xff ? (m == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                : e == 0 ? m * 0x1p-133 : (128 + m) * Math.scalb(1.0, e - 134);
        return s == 1 ? -v : v;
    }

    /**
     * Correctly rounded (ties to even) F16 bits of a non-NaN double: scale |x| so the F16 ulp at its exponent is
     * 1 (exact, a power of two), round with rint, and overflow to infinity at 65520 = 65504 + ulp/2.
     */
    static int refF16(double x) {
        int sign = (Double.doubleToRawLongBits(x) < 0) ? 0x8000 : 0;
        double a = Math.abs(x);
        if (a == Double.POSITIVE_INFINITY) return sign | 0x7c00;
        double ulp = Math.scalb(1.0, Math.max(Math.getExponent(a), -14) - 10);
        double r = Math.rint(a / ulp) * ulp;
        if (r >= 65536) return sign | 0x7c00;
        if (r < 0x1p-14) return sign | (int) (r / 0x1p-24); // subnormal or zero
        int e = Math.getExponent(r);
        return sign | (e + 15) << 10 | (int) (r / Math.scalb(1.0, e - 10)) - 1024;
    }

    /** Correctly rounded BF16 bits of a non-NaN double, the same way (ulp 2^(e-7), subnormal ulp 2^-133). */
    static int refBf16(double x) {
        int sign = (Double.doubleToRawLongBits(x) < 0) ? 0x8000 : 0;
        double a = Math.abs(x);
        if (a == Double.POSITIVE_INFINITY) return sign | 0x7f80;
        double ulp = Math.scalb(1.0, Math.max(Math.getExponent(a), -126) - 7);
        double r = Math.rint(a / ulp) * ulp;
        if (r >= 0x1p128) return sign | 0x7f80;
        return sign | Float.floatToRawIntBits((float) r) >>> 16; // r has at most 8 significant bits: exact in float
    }

    static int f16(float f) { return Half.floatToF16(f) & 0xffff; }

    static int bf16(float f) { return Half.floatToBf16(f) & 0xffff; }

    static void checkF16(float f) {
        if (Float.isNaN(f)) return;
        int got = f16(f), want = refF16(f);
        if (got != want)
            assertEquals(String.format("0x%04x", want), String.format("0x%04x", got),
                    "floatToF16(" + f + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + ")");
    }

    static void checkBf16(float f) {
        if (Float.isNaN(f)) return;
        int got = bf16(f), want = refBf16(f);
        if (got != want)
            assertEquals(String.format("0x%04x", want), String.format("0x%04x", got),
                    "floatToBf16(" + f + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + ")");
    }

    // ------------------------------------------------------------------ F16

    @Test
    void everyF16BitPatternDecodesExactlyAndEncodesBack() {
        for (int h = 0; h < 65536; h++) {
            float f = Half.f16ToFloat((short) h);
            double want = f16Value(h);
            if (Double.isNaN(want)) {
                assertTrue(Float.isNaN(f), "0x" + Integer.toHexString(h) + " should decode to NaN");
                assertEquals(h | 0x200, f16(f), "NaN 0x" + Integer.toHexString(h) + " keeps sign and payload, quieted");
            } else {
                assertEquals(want, f, "f16ToFloat(0x" + Integer.toHexString(h) + ")");
                assertEquals(h, f16(f), "round trip of 0x" + Integer.toHexString(h));
            }
        }
    }

    @Test
    void floatToF16RoundsEdgeCasesToNearestEven() {
        assertEquals(0x7bff, f16(65504f), "largest half");
        assertEquals(0x7bff, f16(Math.nextDown(65520f)), "just below the overflow threshold");
        assertEquals(0x7c00, f16(65520f), "halfway to 65536 rounds to even: infinity");
        assertEquals(0xfc00, f16(-65520f));
        assertEquals(0x7c00, f16(Float.MAX_VALUE));
        assertEquals(0x7c00, f16(Float.POSITIVE_INFINITY));
        assertEquals(0xfc00, f16(Float.NEGATIVE_INFINITY));
        assertEquals(0x0001, f16(0x1p-24f), "smallest subnormal");
        assertEquals(0x0000, f16(0x1p-25f), "half the smallest subnormal ties to zero");
        assertEquals(0x8000, f16(-0x1p-25f));
        assertEquals(0x0001, f16(Math.nextUp(0x1p-25f)));
        assertEquals(0x0002, f16(0x1.8p-24f), "1.5 · 2^-24 ties to even 2");
        assertEquals(0x0400, f16(0x1p-14f), "smallest normal");
        assertEquals(0x0400, f16(Math.nextDown(0x1p-14f)), "largest subnormal + rounding carries into the exponent");
        assertEquals(0x03ff, f16(0x1.ff8p-15f));
        assertEquals(0x3c00, f16(1 + 0x1p-11f), "tie between 1 and 1+2^-10 goes to even");
        assertEquals(0x3c02, f16(1 + 0x3p-11f), "tie between odd and even goes up");
        assertEquals(0x3c01, f16(Math.nextUp(1 + 0x1p-11f)));
        assertEquals(0x0000, f16(0f));
        assertEquals(0x8000, f16(-0f));
        assertEquals(0x0000, f16(Float.MIN_VALUE));
        assertEquals(0x3555, f16(1f / 3));
        float[] edges = {65504f, 65520f, Math.nextDown(65520f), 0x1p-24f, 0x1p-25f, Math.nextUp(0x1p-25f),
                Math.nextDown(0x1p-25f), 0x1p-14f, Math.nextDown(0x1p-14f), Float.MIN_VALUE, Float.MIN_NORMAL, 1f, -1f};
        for (float e : edges) {
            checkF16(e);
            checkF16(-e);
        }
    }

    @Test
    void floatToF16KeepsNaNsNaNWithTheirSign() {
        for (int bits : new int[]{0x7fc00000, 0x7f800001, 0x7fbfffff, 0xffc00000, 0xff800001, 0x7fc02000}) {
            int h = f16(Float.intBitsToFloat(bits));
            assertEquals(0x7c00, h & 0x7c00, "exponent all ones for 0x" + Integer.toHexString(bits));
            assertTrue((h & 0x3ff) != 0, "NaN must not become infinity: 0x" + Integer.toHexString(bits));
            assertEquals(bits >>> 31, h >>> 15, "sign kept");
        }
    }

    @Test
    void floatToF16MatchesReferenceAtEveryHalfwayPoint() {
        for (int h = 0; h <= 0x7bff; h++) {
            double lo = f16Value(h), hi = h == 0x7bff ? 65536 : f16Value(h + 1);
            float mid = (float) ((lo + hi) / 2); // 12 significant bits: exact in float
            assertEquals((lo + hi) / 2, mid);
            int even = (h & 1) == 0 ? h : h + 1;
            assertEquals(even, f16(mid), "midpoint after 0x" + Integer.toHexString(h));
            assertEquals(0x8000 | even, f16(-mid));
            for (float f : new float[]{mid, Math.nextUp(mid), Math.nextDown(mid), (float) lo}) {
                checkF16(f);
                checkF16(-f);
            }
        }
    }

    @Test
    void floatToF16MatchesReferenceOnAStrideThroughAllFloatsAndRandomOnes() {
        for (long b = 0; b < 1L << 32; b += 1021) checkF16(Float.intBitsToFloat((int) b));
        SplittableRandom rnd = new SplittableRandom(17);
        for (int i = 0; i < 1_000_000; i++) {
            checkF16(Float.intBitsToFloat(rnd.nextInt()));
            // Mostly inside the half range, where rounding matters.
            float f = Math.scalb(1 + rnd.nextFloat(), rnd.nextInt(-27, 17));
            checkF16(rnd.nextBoolean() ? f : -f);
        }
    }

    // ------------------------------------------------------------------ BF16

    @Test
    void everyBf16BitPatternDecodesExactlyAndEncodesBack() {
        for (int b = 0; b < 65536; b++) {
            float f = Half.bf16ToFloat((short) b);
            double want = bf16Value(b);
            if (Double.isNaN(want)) {
                assertTrue(Float.isNaN(f), "0x" + Integer.toHexString(b) + " should decode to NaN");
                assertEquals(b | 0x40, bf16(f), "NaN 0x" + Integer.toHexString(b) + " keeps sign and payload, quieted");
            } else {
                assertEquals(want, f, "bf16ToFloat(0x" + Integer.toHexString(b) + ")");
                assertEquals(b, bf16(f), "round trip of 0x" + Integer.toHexString(b));
            }
        }
    }

    @Test
    void floatToBf16RoundsEdgeCasesToNearestEven() {
        float maxBf16 = Float.intBitsToFloat(0x7f7f0000);
        float overflow = Float.intBitsToFloat(0x7f7f8000); // halfway between the largest BF16 and 2^128
        assertEquals(0x7f7f, bf16(maxBf16));
        assertEquals(0x7f7f, bf16(Math.nextDown(overflow)));
        assertEquals(0x7f80, bf16(overflow), "ties to even: infinity");
        assertEquals(0x7f80, bf16(Float.MAX_VALUE));
        assertEquals(0xff80, bf16(-Float.MAX_VALUE));
        assertEquals(0x7f80, bf16(Float.POSITIVE_INFINITY));
        assertEquals(0x0000, bf16(0x1p-134f), "half the smallest BF16 subnormal ties to zero");
        assertEquals(0x0001, bf16(Math.nextUp(0x1p-134f)));
        assertEquals(0x0001, bf16(0x1p-133f), "smallest subnormal");
        assertEquals(0x0000, bf16(Float.MIN_VALUE));
        assertEquals(0x8000, bf16(-Float.MIN_VALUE));
        assertEquals(0x0080, bf16(Math.nextDown(0x1p-126f)), "largest subnormals round up into the smallest normal");
        assertEquals(0x3f80, bf16(1 + 0x1p-8f), "tie goes to even");
        assertEquals(0x3f82, bf16(1 + 0x3p-8f), "tie goes up to even");
        assertEquals(0x3f81, bf16(Math.nextUp(1 + 0x1p-8f)));
        assertEquals(0x8000, bf16(-0f));
        assertEquals(0x4049, bf16((float) Math.PI));
        for (float e : new float[]{maxBf16, overflow, Math.nextDown(overflow), 0x1p-134f, 0x1p-133f, Float.MIN_VALUE,
                Float.MIN_NORMAL, Math.nextDown(Float.MIN_NORMAL), 1f}) {
            checkBf16(e);
            checkBf16(-e);
        }
    }

    @Test
    void floatToBf16KeepsNaNsNaNWithTheirSign() {
        for (int bits : new int[]{0x7fc00000, 0x7f800001, 0x7fbfffff, 0xffc00000, 0xff800001, 0x7f80ffff}) {
            int b = bf16(Float.intBitsToFloat(bits));
            assertEquals(0x7f80, b & 0x7f80, "exponent all ones for 0x" + Integer.toHexString(bits));
            assertTrue((b & 0x7f) != 0, "NaN must not become infinity: 0x" + Integer.toHexString(bits));
            assertEquals(bits >>> 31, b >>> 15, "sign kept");
        }
    }

    @Test
    void floatToBf16MatchesReferenceAtEveryHalfwayPoint() {
        for (int b = 0; b <= 0x7f7f; b++) {
            float mid = Float.intBitsToFloat(b << 16 | 0x8000);
            double next = b == 0x7f7f ? 0x1p128 : bf16Value(b + 1);
            assertEquals((bf16Value(b) + next) / 2, mid, "midpoint after 0x" + Integer.toHexString(b));
            int even = (b & 1) == 0 ? b : b + 1;
            assertEquals(even, bf16(mid), "midpoint after 0x" + Integer.toHexString(b));
            for (float f : new float[]{mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                checkBf16(f);
                checkBf16(-f);
            }
        }
    }

    @Test
    void floatToBf16MatchesReferenceOnAStrideThroughAllFloatsAndRandomOnes() {
        for (long b = 0; b < 1L << 32; b += 1021) checkBf16(Float.intBitsToFloat((int) b));
        SplittableRandom rnd = new SplittableRandom(18);
        for (int i = 0; i < 1_000_000; i++) checkBf16(Float.intBitsToFloat(rnd.nextInt()));
    }
}
