// Strict UTF-8 decoding as Python's bytes.decode("utf-8"), and ftfy 6.3.1's "utf-8-variants" codec
// (ftfy/bad_codecs/utf8_variants.py), which additionally accepts CESU-8 (a supplementary character written as two
// 3-byte surrogate sequences) and Java's modified UTF-8 NUL (C0 80). Used by TextFixer to test whether re-encoded
// text is UTF-8: any other malformed sequence (overlong forms, lone surrogates, truncation, > U+10FFFF) is a failure.
package dev.dragedit.models.clip;

final class Utf8 {
    private Utf8() {}

    /** The bytes (one char 0..255 each) decoded, or null when they are not (variant) UTF-8. */
    static String decode(String b, boolean variants) {
        int n = b.length();
        StringBuilder sb = new StringBuilder(n);
        int i = 0;
        while (i < n) {
            int b0 = b.charAt(i);
            if (b0 < 0x80) { sb.append((char) b0); i++; continue; }
            if (variants) {
                if (b0 == 0xC0 && i + 1 < n && b.charAt(i + 1) == 0x80) { sb.append('\0'); i += 2; continue; }
                if (b0 == 0xED && i + 5 < n && in(b.charAt(i + 1), 0xA0, 0xAF) && in(b.charAt(i + 2), 0x80, 0xBF)
                        && b.charAt(i + 3) == 0xED && in(b.charAt(i + 4), 0xB0, 0xBF) && in(b.charAt(i + 5), 0x80, 0xBF)) {
                    int cp = ((b.charAt(i + 1) & 0x0F) << 16) + ((b.charAt(i + 2) & 0x3F) << 10)
                            + ((b.charAt(i + 4) & 0x0F) << 6) + (b.charAt(i + 5) & 0x3F) + 0x10000;
                    sb.appendCodePoint(cp);
                    i += 6;
                    continue;
                }
            }
            int len, cp, lo = 0x80, hi = 0xBF; // the allowed range of the second byte (RFC 3629 table)
            if (b0 >= 0xC2 && b0 <= 0xDF) { len = 2; cp = b0 & 0x1F; }
            else if (b0 >= 0xE0 && b0 <= 0xEF) {
                len = 3; cp = b0 & 0x0F;
                if (b0 == 0xE0) lo = 0xA0;
                if (b0 == 0xED) hi = 0x9F;
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                len = 4; cp = b0 & 0x07;
                if (b0 == 0xF0) lo = 0x90;
                if (b0 == 0xF4) hi = 0x8F;
            } else return null;
            if (i + len > n) return null;
            for (int k = 1; k < len; k++) {
                int bk = b.charAt(i + k);
                if (k == 1 ? !in(bk, lo, hi) : !in(bk, 0x80, 0xBF)) return null;
                cp = (cp << 6) | (bk & 0x3F);
            }
            sb.appendCodePoint(cp);
            i += len;
        }
        return sb.toString();
    }

    private static boolean in(int v, int lo, int hi) { return v >= lo && v <= hi; }
}
