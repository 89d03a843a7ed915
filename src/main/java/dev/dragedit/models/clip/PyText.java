// Python 3.11 str semantics the CLIP tokenizer depends on, where Java's differ: str.lower() (full lower-case mapping
// with the context rule for capital sigma), str.isspace()/str.strip(), the white space of the `regex` module's \s
// (used by SimpleTokenizer's whitespace_clean and split pattern), and the letter/number classes \p{L}, \p{N} of
// the split. References: CPython Objects/unicodeobject.c (do_lower, handle_capital_sigma) and
// Objects/unicodectype.c; regex 2.5.x (_regex_unicode.c, White_Space).
//
// Categories and lower-case mappings come from the resource unicode_props.tsv, generated from Python 3.11's
// unicodedata (Unicode 14.0) by gen_resources.py: Java 17's Character tables are Unicode 13.0 and would split or
// lower-case the characters assigned since then differently.
package dev.dragedit.models.clip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

final class PyText {
    private PyText() {}

    /** Sorted inclusive [start, end] pairs of category L* and N*, and str.lower() where it is not the identity. */
    private static int[] letters, numbers;
    private static final Map<Integer, String> LOWER = new HashMap<>(3000);

    static {
        String res = "unicode_props.tsv";
        int[] l = new int[2048], n = new int[512];
        int nl = 0, nn = 0;
        try (InputStream in = PyText.class.getResourceAsStream(res)) {
            if (in == null) throw new IllegalStateException("resource " + res + " missing beside " + PyText.class.getName());
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "L" -> { if (nl + 2 > l.length) l = java.util.Arrays.copyOf(l, 2 * l.length); l[nl++] = Integer.parseInt(f[1], 16); l[nl++] = Integer.parseInt(f[2], 16); }
                    case "N" -> { if (nn + 2 > n.length) n = java.util.Arrays.copyOf(n, 2 * n.length); n[nn++] = Integer.parseInt(f[1], 16); n[nn++] = Integer.parseInt(f[2], 16); }
                    case "lower" -> {
                        StringBuilder sb = new StringBuilder();
                        for (int i = 2; i < f.length; i++) sb.appendCodePoint(Integer.parseInt(f[i], 16));
                        LOWER.put(Integer.parseInt(f[1], 16), sb.toString());
                    }
                    default -> throw new IllegalStateException("resource " + res + ": unexpected line " + line);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + res, e);
        }
        if (nl < 1000 || nn < 200 || LOWER.size() < 1000) throw new IllegalStateException("resource " + res + " is incomplete");
        letters = java.util.Arrays.copyOf(l, nl);
        numbers = java.util.Arrays.copyOf(n, nn);
    }

    private static boolean inRanges(int[] r, int c) {
        int lo = 0, hi = r.length / 2 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (c < r[2 * mid]) hi = mid - 1;
            else if (c > r[2 * mid + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }

    /** \p{L}: general category Lu, Ll, Lt, Lm or Lo (Unicode 14.0). */
    static boolean isLetter(int c) { return inRanges(letters, c); }

    /** \p{N}: general category Nd, Nl or No (Unicode 14.0). */
    static boolean isNumber(int c) { return inRanges(numbers, c); }

    /** Python str.isspace() for one code point: bidirectional class WS, B or S, or category Zs. */
    static boolean isSpace(int c) {
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
    }

    /**
     * The `regex` module's \s (Unicode White_Space): as {@link #isSpace} without U+001C..U+001F, which Python's
     * isspace counts (bidi class B/S) but Unicode does not list as white space.
     */
    static boolean isRegexSpace(int c) {
        return isSpace(c) && !(c >= 0x1C && c <= 0x1F);
    }

    /** Python str.strip() with no argument. */
    static String strip(String s) {
        int b = 0, e = s.length();
        while (b < e) {
            int c = s.codePointAt(b);
            if (!isSpace(c)) break;
            b += Character.charCount(c);
        }
        while (e > b) {
            int c = s.codePointBefore(e);
            if (!isSpace(c)) break;
            e -= Character.charCount(c);
        }
        return s.substring(b, e);
    }

    /** SimpleTokenizer.whitespace_clean: regex.sub(r'\s+', ' ', s) then strip(). */
    static String collapseWhitespace(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean inRun = false;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            if (isRegexSpace(c)) {
                if (!inRun) sb.append(' ');
                inRun = true;
            } else {
                sb.appendCodePoint(c);
                inRun = false;
            }
        }
        return strip(sb.toString());
    }

    /**
     * Python str.lower(): Python's full lower-case mapping (the table), with the Final_Sigma context for U+03A3.
     * Java's String.toLowerCase decides final sigma with word boundaries instead of Python's cased /
     * case-ignorable scan, so it is done here.
     */
    static String lower(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        int n = s.length();
        for (int i = 0; i < n; ) {
            int c = s.codePointAt(i);
            if (c == 0x3A3) sb.append(finalSigma(s, i) ? '\u03C2' : '\u03C3');
            else {
                String m = LOWER.get(c); // İ → "i̇" is the one unconditional multi-character mapping
                if (m != null) sb.append(m);
                else sb.appendCodePoint(c);
            }
            i += Character.charCount(c);
        }
        return sb.toString();
    }

    /** CPython handle_capital_sigma: \p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased}). */
    private static boolean finalSigma(String s, int i) {
        int j = i, c = -1;
        while (j > 0) {
            c = s.codePointBefore(j);
            j -= Character.charCount(c);
            if (!caseIgnorable(c)) break;
            c = -1;
        }
        if (c < 0 || !cased(c)) return false;
        j = i + 1;
        while (j < s.length()) {
            c = s.codePointAt(j);
            j += Character.charCount(c);
            if (!caseIgnorable(c)) return !cased(c);
        }
        return true;
    }

    /** Unicode Cased: Lowercase, Uppercase or Lt (Java's isLowerCase/isUpperCase include Other_Lowercase/Uppercase). */
    static boolean cased(int c) {
        return Character.isLowerCase(c) || Character.isUpperCase(c) || Character.isTitleCase(c);
    }

    /** Unicode Case_Ignorable: Mn, Me, Cf, Lm, Sk, or Word_Break MidLetter, MidNumLet or Single_Quote. */
    static boolean caseIgnorable(int c) {
        switch (Character.getType(c)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT,
                    Character.MODIFIER_LETTER, Character.MODIFIER_SYMBOL -> { return true; }
            default -> { }
        }
        return switch (c) {
            case 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55,
                    0xFF07, 0xFF0E, 0xFF1A -> true;
            default -> false;
        };
    }
}
