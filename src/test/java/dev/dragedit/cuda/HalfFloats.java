package dev.dragedit.cuda;

/**
 * Reference conversions between float32 and the 16-bit storage types, written from the IEEE 754 definitions (Java
 * 17 has no Float.floatToFloat16): round to nearest, ties to even, overflow to infinity, gradual underflow.
 */
final class HalfFloats {
    private HalfFloats() {}

    /** float32 bits → IEEE binary16 bits. */
    static int toHalf(int f) {
        int sign = (f >>> 16) & 0x8000;
        int exp = (f >>> 23) & 0xff;
        int mant = f & 0x7f_ffff;
        if (exp == 0xff) return sign | 0x7c00 | (mant != 0 ? 0x200 : 0);
        int e = exp - 127 + 15;
        if (e >= 0x1f) return sign | 0x7c00;
        if (e <= 0) {
            // Subnormal half: the value is m · 2^-24 with m = (1.mant · 2^23) >> (14 - e).
            if (e < -10) return sign;
            int full = mant | 0x80_0000;
            int shift = 14 - e;
            int h = full >>> shift;
            int rest = full & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rest > halfway || (rest == halfway && (h & 1) == 1)) h++;
            return sign | h;
        }
        int h = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) h++;  // a carry into the exponent gives inf correctly
        return sign | h;
    }

    static float halfToFloat(int h) {
        int sign = (h & 0x8000) != 0 ? -1 : 1;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) return mant != 0 ? Float.NaN : sign * Float.POSITIVE_INFINITY;
        if (exp == 0) return sign * Math.scalb((float) mant, -24);
        return sign * Math.scalb(1f + mant / 1024f, exp - 15);
    }

    /** float32 bits → bfloat16 bits (the high half, rounded to nearest even). */
    static int toBfloat16(int f) {
        if ((f & 0x7fff_ffff) > 0x7f80_0000) return ((f >>> 16) & 0x8000) | 0x7fc0;
        int lsb = (f >>> 16) & 1;
        return ((f + 0x7fff + lsb) >>> 16) & 0xffff;
    }

    static float bfloat16ToFloat(int b) { return Float.intBitsToFloat(b << 16); }
}
