package dev.dragedit.tensor;

/**
 * IEEE 754 binary16 and bfloat16 conversions, exact: float → half rounds to nearest even (subnormals, overflow to
 * infinity and NaN included), half → float is exact. BF16 is the top 16 bits of a float, rounded to nearest even.
 */
public final class Half {
    private Half() {}

    public static float f16ToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            if (mant == 0) return Float.intBitsToFloat(sign);
            float v = mant * 0x1p-24f; // subnormal: mant · 2^-24, exact in float
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    public static short floatToF16(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int exp = (x >>> 23) & 0xff;
        int mant = x & 0x7fffff;
        if (exp == 0xff) { // inf or NaN (keep NaN quiet and non-zero)
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) return (short) (sign | 0x7c00); // overflow → inf
        if (e <= 0) {
            if (e < -10) return (short) sign; // rounds to zero (even the halfway case 2^-25 rounds to 0)
            int m = mant | 0x800000; // implicit bit
            int shift = 14 - e; // 24-bit significand → subnormal half mantissa
            int half = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) half++;
            return (short) (sign | half);
        }
        int h = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++; // may carry into exponent → still correct (inf)
        return (short) (sign | h);
    }

    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    public static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7f800000) == 0x7f800000 && (x & 0x7fffff) != 0) return (short) ((x >>> 16) | 0x40); // quiet NaN
        int lsb = (x >>> 16) & 1;
        return (short) ((x + 0x7fff + lsb) >>> 16);
    }
}
