// ftfy.fix_text with ftfy 6.3.1's default TextFixerConfig (https://github.com/rspeer/python-ftfy, ftfy/__init__.py
// fix_text / fix_and_explain / fix_encoding, ftfy/fixes.py, ftfy/chardata.py), the first step of OpenAI CLIP's
// SimpleTokenizer.encode. The text is fixed line by line; each line is repeatedly passed through: HTML entity
// unescaping (off from the first line containing '<' on), mojibake repair (text that is UTF-8 decoded as a
// single-byte encoding is re-encoded and decoded as UTF-8, with ftfy's heuristics for deciding when and its partial
// fixes), C1 controls as Windows-1252, Latin ligatures split, full-/half-width forms to normal width, curly quotes
// straightened, line breaks to '\n', surrogates resolved, terminal escapes and invisible control characters removed,
// NFC — until nothing changes.
//
// The byte tables of the single-byte codecs (resource charmaps.tsv) come from Python's own codecs via gen_resources.py.
package dev.dragedit.models.clip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class TextFixer {
    private TextFixer() {}

    // ------------------------------------------------------------------ single-byte codecs

    /**
     * A single-byte codec as Python's charmap codecs: 256 decoded characters, the reverse map for encoding, and the
     * characters a text may contain to be encodable (ftfy's ENCODING_REGEXES: every ASCII character but 0x1A, plus
     * what bytes 0x80..0xFF and 0x1A decode to).
     */
    record Codec(String name, int[] decode, Map<Integer, Integer> encode, Set<Integer> possible) {
        boolean canEncode(String text) {
            for (int i = 0; i < text.length(); ) {
                int c = text.codePointAt(i);
                i += Character.charCount(c);
                if (!((c < 0x80 && c != 0x1A) || possible.contains(c))) return false;
            }
            return true;
        }

        /** The text's bytes as ISO-8859-1 characters 0..255 (so byte regexes run as Java string regexes). */
        String encodeToByteString(String text) {
            StringBuilder sb = new StringBuilder(text.length());
            for (int i = 0; i < text.length(); ) {
                int c = text.codePointAt(i);
                i += Character.charCount(c);
                Integer b = encode.get(c);
                if (b == null) throw new IllegalStateException(name + " cannot encode U+" + Integer.toHexString(c));
                sb.append((char) (int) b);
            }
            return sb.toString();
        }

        String decodeByteString(String bytes) {
            StringBuilder sb = new StringBuilder(bytes.length());
            for (int i = 0; i < bytes.length(); i++) sb.appendCodePoint(decode[bytes.charAt(i)]);
            return sb.toString();
        }
    }

    /** ftfy.chardata.CHARMAP_ENCODINGS, in the order they are tried. */
    private static final String[] CHARMAP_ENCODINGS = {"latin-1", "sloppy-windows-1252", "sloppy-windows-1251",
            "sloppy-windows-1250", "sloppy-windows-1253", "sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2",
            "macroman", "cp437"};

    static final Map<String, Codec> CODECS = loadCodecs();

    private static Map<String, Codec> loadCodecs() {
        String res = "charmaps.tsv";
        Map<String, int[]> raw = new HashMap<>();
        try (InputStream in = TextFixer.class.getResourceAsStream(res)) {
            if (in == null) throw new IllegalStateException("resource " + res + " missing beside " + TextFixer.class.getName());
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                int tab = line.indexOf('\t');
                String[] hex = line.substring(tab + 1).split(" ");
                if (hex.length != 256) throw new IllegalStateException("resource " + res + ": " + line.substring(0, tab) + " has " + hex.length + " entries, expected 256");
                int[] t = new int[256];
                for (int i = 0; i < 256; i++) t[i] = Integer.parseInt(hex[i], 16);
                raw.put(line.substring(0, tab), t);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + res, e);
        }
        Map<String, Codec> m = new LinkedHashMap<>();
        for (String name : CHARMAP_ENCODINGS) {
            boolean sloppy = name.startsWith("sloppy-");
            int[] base = raw.get(sloppy ? name.substring(7) : name);
            if (base == null) throw new IllegalStateException("resource " + res + " lacks the codec " + name);
            int[] dec = base.clone();
            if (sloppy) {
                // ftfy's sloppy codecs: bytes the codec leaves undefined decode as Latin-1; byte 0x1A stands for U+FFFD.
                for (int i = 0; i < 256; i++) if (dec[i] == 0xFFFD) dec[i] = i;
                dec[0x1A] = 0xFFFD;
            }
            Map<Integer, Integer> enc = new HashMap<>();
            for (int i = 0; i < 256; i++) enc.put(dec[i], i); // each character appears once in these tables
            Set<Integer> possible = new HashSet<>();
            for (int i = 0x80; i < 0x100; i++) possible.add(dec[i]);
            possible.add(dec[0x1A]);
            m.put(name, new Codec(name, dec, enc, possible));
        }
        return m;
    }

    // ------------------------------------------------------------------ fix_text

    /** ftfy.fix_text(text) with the default configuration. */
    public static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean unescapeHtml = true; // "auto": switched off for good at the first segment containing '<'
        int pos = 0, n = text.length();
        while (pos < n) {
            int nl = text.indexOf('\n', pos);
            int end = nl < 0 ? n : nl + 1;
            // max_decode_length is 10^6 code points; our inputs are bounded far below (ClipTokenizer.MAX_TEXT_CHARS).
            String segment = text.substring(pos, end);
            if (unescapeHtml && segment.indexOf('<') >= 0) unescapeHtml = false;
            out.append(fixSegment(segment, unescapeHtml));
            pos = end;
        }
        return out.toString();
    }

    /** fix_and_explain(segment) without the explanation. */
    static String fixSegment(String text, boolean unescapeHtml) {
        while (true) {
            String orig = text;
            if (unescapeHtml) text = HtmlEntities.ftfyUnescape(text);
            text = fixEncoding(text);
            text = fixC1Controls(text);
            text = fixLatinLigatures(text);
            text = fixCharacterWidth(text);
            text = uncurlQuotes(text);
            text = fixLineBreaks(text);
            text = fixSurrogates(text);
            text = removeTerminalEscapes(text);
            text = removeControlChars(text);
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
            if (text.equals(orig)) return text;
        }
    }

    // ------------------------------------------------------------------ fix_encoding

    /** ftfy.fix_encoding: one-step fixes until the text stops changing. */
    static String fixEncoding(String text) {
        while (true) {
            String prev = text;
            text = fixEncodingOneStep(text);
            if (text.equals(prev)) return text;
        }
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) > 0x7F) return false;
        return true;
    }

    /** ftfy._fix_encoding_one_step_and_explain. */
    private static String fixEncodingOneStep(String text) {
        if (text.isEmpty() || isAscii(text) || !Mojibake.isBad(text)) return text;
        List<String> possible = new ArrayList<>();
        for (Codec codec : CODECS.values()) {
            if (!codec.canEncode(text)) continue;
            possible.add(codec.name());
            String bytes = codec.encodeToByteString(text);
            // Sequences that are UTF-8 but for a 0xA0 byte that became a space (not for MacRoman, where an en dash
            // followed by a space would match).
            if (!codec.name().equals("macroman") && ALTERED_UTF8.matcher(bytes).find()) bytes = restoreByteA0(bytes);
            if (codec.name().startsWith("sloppy")) bytes = replaceLossySequences(bytes);
            boolean variants = bytes.indexOf('\u00ED') >= 0 || bytes.indexOf('\u00C0') >= 0;
            String fixed = Utf8.decode(bytes, variants);
            if (fixed != null) return fixed;
        }
        // Mis-decoded UTF-8 embedded in otherwise good text: fix each such run by itself.
        if (Mojibake.UTF8_DETECTOR.matcher(text).find()) {
            String fixed = decodeInconsistentUtf8(text);
            if (!fixed.equals(text)) return fixed;
        }
        // Latin-1 that is not Windows-1252 has C1 controls: take them as Windows-1252.
        if (possible.contains("latin-1")) {
            if (possible.contains("sloppy-windows-1252")) return text;
            String fixed = strictWindows1252(CODECS.get("latin-1").encodeToByteString(text));
            if (fixed != null && !fixed.equals(text)) return fixed;
        }
        if (C1_CONTROL.matcher(text).find()) return fixC1Controls(text);
        return text;
    }

    /** bytes.decode("windows-1252") (strict: the five undefined bytes fail). */
    private static String strictWindows1252(String bytes) {
        int[] dec = CODECS.get("sloppy-windows-1252").decode();
        StringBuilder sb = new StringBuilder(bytes.length());
        for (int i = 0; i < bytes.length(); i++) {
            int b = bytes.charAt(i);
            if (b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D) return null;
            sb.appendCodePoint(b == 0x1A ? 0x1A : dec[b]);
        }
        return sb.toString();
    }

    /** fixes.decode_inconsistent_utf8. */
    private static String decodeInconsistentUtf8(String text) {
        Matcher m = Mojibake.UTF8_DETECTOR.matcher(text);
        StringBuilder sb = new StringBuilder(text.length());
        int last = 0;
        while (m.find()) {
            String sub = m.group();
            // Only a strictly shorter piece, so this cannot recurse forever.
            String rep = sub.length() < text.length() && Mojibake.isBad(sub) ? fixEncoding(sub) : sub;
            sb.append(text, last, m.start()).append(rep);
            last = m.end();
        }
        return sb.append(text, last, text.length()).toString();
    }

    // Byte-level patterns on byte strings (one char per byte, 0..255).
    /** chardata.ALTERED_UTF8_RE. */
    private static final Pattern ALTERED_UTF8 = Pattern.compile(
            "[\\xC2\\xC3\\xC5\\xCE\\xD0\\xD9][ ]"
            + "|[\\xE2\\xE3][ ][\\x80-\\x84\\x86-\\x9F\\xA1-\\xBF]"
            + "|[\\xE0-\\xE3][\\x80-\\x84\\x86-\\x9F\\xA1-\\xBF][ ]"
            + "|[\\xF0][ ][\\x80-\\xBF][\\x80-\\xBF]"
            + "|[\\xF0][\\x80-\\xBF][ ][\\x80-\\xBF]"
            + "|[\\xF0][\\x80-\\xBF][\\x80-\\xBF][ ]");
    /** fixes.A_GRAVE_WORD_RE: "Ã " as a word (à), except before the Portuguese "às", "àquele"... */
    private static final Pattern A_GRAVE_WORD = Pattern.compile("\\xC3 (?! |quele|quela|quilo|s )");
    /** chardata.LOSSY_UTF8_RE. */
    private static final Pattern LOSSY_UTF8 = Pattern.compile(
            "[\\xC2-\\xDF][\\x1A]"
            + "|[\\xC2-\\xC3][?]"
            + "|\\xED[\\xA0-\\xAF][\\x1A?]\\xED[\\xB0-\\xBF][\\x1A?\\x80-\\xBF]"
            + "|\\xED[\\xA0-\\xAF][\\x1A?\\x80-\\xBF]\\xED[\\xB0-\\xBF][\\x1A?]"
            + "|[\\xE0-\\xEF][\\x1A?][\\x1A\\x80-\\xBF]"
            + "|[\\xE0-\\xEF][\\x1A\\x80-\\xBF][\\x1A?]"
            + "|[\\xF0-\\xF4][\\x1A?][\\x1A\\x80-\\xBF][\\x1A\\x80-\\xBF]"
            + "|[\\xF0-\\xF4][\\x1A\\x80-\\xBF][\\x1A?][\\x1A\\x80-\\xBF]"
            + "|[\\xF0-\\xF4][\\x1A\\x80-\\xBF][\\x1A\\x80-\\xBF][\\x1A?]"
            + "|\\x1A");
    private static final Pattern C1_CONTROL = Pattern.compile("[\\x80-\\x9F]");

    /** fixes.restore_byte_a0. */
    static String restoreByteA0(String bytes) {
        bytes = A_GRAVE_WORD.matcher(bytes).replaceAll("\u00C3\u00A0 ");
        Matcher m = ALTERED_UTF8.matcher(bytes);
        StringBuilder sb = new StringBuilder(bytes.length());
        int last = 0;
        while (m.find()) {
            sb.append(bytes, last, m.start()).append(m.group().replace(' ', '\u00A0'));
            last = m.end();
        }
        return sb.append(bytes, last, bytes.length()).toString();
    }

    /** fixes.replace_lossy_sequences: UTF-8 sequences with lost bytes (0x1A, or one '?') become the bytes of U+FFFD. */
    static String replaceLossySequences(String bytes) {
        return LOSSY_UTF8.matcher(bytes).replaceAll("\u00EF\u00BF\u00BD");
    }

    // ------------------------------------------------------------------ the character fixes

    /** fixes.fix_c1_controls: each C1 control as its sloppy-Windows-1252 character. */
    static String fixC1Controls(String text) {
        int[] dec = CODECS.get("sloppy-windows-1252").decode();
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80 && c <= 0x9F) {
                if (sb == null) sb = new StringBuilder(text.length()).append(text, 0, i);
                sb.appendCodePoint(dec[c]);
            } else if (sb != null) sb.append(c);
        }
        return sb == null ? text : sb.toString();
    }

    /** chardata.LIGATURES: Latin ligatures and legacy digraphs (not æ, œ, which are letters). */
    private static final Map<Character, String> LIGATURES = Map.ofEntries(
            Map.entry('\u0132', "IJ"), Map.entry('\u0133', "ij"), Map.entry('\u0149', "\u02BCn"),
            Map.entry('\u01F1', "DZ"), Map.entry('\u01F2', "Dz"), Map.entry('\u01F3', "dz"),
            Map.entry('\u01C4', "D\u017D"), Map.entry('\u01C5', "D\u017E"), Map.entry('\u01C6', "d\u017E"),
            Map.entry('\u01C7', "LJ"), Map.entry('\u01C8', "Lj"), Map.entry('\u01C9', "lj"),
            Map.entry('\u01CA', "NJ"), Map.entry('\u01CB', "Nj"), Map.entry('\u01CC', "nj"),
            Map.entry('\uFB00', "ff"), Map.entry('\uFB01', "fi"), Map.entry('\uFB02', "fl"),
            Map.entry('\uFB03', "ffi"), Map.entry('\uFB04', "ffl"), Map.entry('\uFB05', "\u017Ft"), Map.entry('\uFB06', "st"));

    static String fixLatinLigatures(String text) {
        return translate(text, LIGATURES);
    }

    /** chardata.WIDTH_MAP: U+3000 → space, and every U+FF01..U+FFEF whose NFKC form differs → that form. */
    private static final Map<Character, String> WIDTH = buildWidthMap();

    private static Map<Character, String> buildWidthMap() {
        Map<Character, String> m = new HashMap<>();
        m.put('\u3000', " ");
        for (char c = '\uFF01'; c < '\uFFF0'; c++) {
            String s = String.valueOf(c), alt = Normalizer.normalize(s, Normalizer.Form.NFKC);
            if (!alt.equals(s)) m.put(c, alt);
        }
        return m;
    }

    static String fixCharacterWidth(String text) {
        return translate(text, WIDTH);
    }

    private static String translate(String text, Map<Character, String> map) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String r = map.get(c);
            if (r != null && sb == null) sb = new StringBuilder(text.length() + 8).append(text, 0, i);
            if (sb != null) {
                if (r != null) sb.append(r);
                else sb.append(c);
            }
        }
        return sb == null ? text : sb.toString();
    }

    /** fixes.uncurl_quotes: U+201C..U+201F → '"', U+02BC and U+2018..U+201B → '\''. */
    static String uncurlQuotes(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            char r = (c >= '\u201C' && c <= '\u201F') ? '"' : (c == '\u02BC' || (c >= '\u2018' && c <= '\u201B')) ? '\'' : c;
            if (r != c && sb == null) sb = new StringBuilder(text).delete(i, text.length());
            if (sb != null) sb.append(r);
        }
        return sb == null ? text : sb.toString();
    }

    /** fixes.fix_line_breaks: CRLF, CR, U+2028, U+2029 and U+0085 → '\n'. */
    static String fixLineBreaks(String text) {
        return text.replace("\r\n", "\n").replace('\r', '\n').replace('\u2028', '\n').replace('\u2029', '\n').replace('\u0085', '\n');
    }

    /**
     * fixes.fix_surrogates: a Python string can hold surrogate code points; a high-low pair is the character it
     * encodes (in Java it already is), a lone surrogate becomes U+FFFD.
     */
    static String fixSurrogates(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean pair = Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
            if (pair) {
                if (sb != null) sb.append(c).append(text.charAt(i + 1));
                i++;
                continue;
            }
            boolean lone = Character.isSurrogate(c);
            if (lone && sb == null) sb = new StringBuilder(text).delete(i, text.length());
            if (sb != null) sb.append(lone ? '\uFFFD' : c);
        }
        return sb == null ? text : sb.toString();
    }

    /** fixes.ANSI_RE: ESC [ digits/semicolons letter (Python's \d is any Unicode decimal digit, \p{Nd}). */
    private static final Pattern ANSI = Pattern.compile("\u001B\\[((?:\\p{Nd}|;)*)([a-zA-Z])");

    static String removeTerminalEscapes(String text) {
        if (text.indexOf('\u001B') < 0) return text;
        return ANSI.matcher(text).replaceAll("");
    }

    /**
     * chardata.CONTROL_CHARS: U+0000..U+0008, U+000B, U+000E..U+001F, U+007F, the deprecated Arabic format controls
     * U+206A..U+206F, the BOM U+FEFF and U+FFF9..U+FFFC are removed.
     */
    static boolean isRemovedControl(char c) {
        return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F)
                || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
    }

    static String removeControlChars(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean drop = isRemovedControl(c);
            if (drop && sb == null) sb = new StringBuilder(text).delete(i, text.length());
            if (sb != null && !drop) sb.append(c);
        }
        return sb == null ? text : sb.toString();
    }
}
