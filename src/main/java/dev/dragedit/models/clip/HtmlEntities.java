// HTML character references as Python 3.11's html.unescape decodes them (Lib/html/__init__.py: the HTML5 named
// references of html.entities.html5, numeric references with the HTML5 replacements for invalid code points), and the
// stricter variant ftfy 6.3.1 applies inside fix_text (ftfy/fixes.py unescape_html with ftfy/chardata.py
// HTML_ENTITIES: only complete "&name;" forms, plus all-caps spellings such as "&NTILDE;" where unambiguous).
// OpenAI CLIP's SimpleTokenizer.encode runs both: ftfy.fix_text, then html.unescape twice.
//
// The entity table is the resource html5_entities.tsv, generated from Python's own html.entities module by
// gen_resources.py beside it, so names and replacements are exactly Python's.
package dev.dragedit.models.clip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class HtmlEntities {
    private HtmlEntities() {}

    /** Python's html._charref. Java's negated class counts code points, as Python's does. */
    private static final Pattern CHARREF = Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
    /** ftfy.chardata.HTML_ENTITY_RE. */
    private static final Pattern FTFY_ENTITY = Pattern.compile("&#?[0-9A-Za-z]{1,24};");
    // (The patterns come first: building FTFY below runs unescape.)
    /** html.entities.html5: name (with ';' where the standard spells it so) → replacement. */
    private static final Map<String, String> HTML5 = load();
    /** ftfy's HTML_ENTITIES: "&name;" → replacement, including the all-caps forms it accepts. */
    private static final Map<String, String> FTFY = buildFtfy();


    private static Map<String, String> load() {
        String res = "html5_entities.tsv";
        Map<String, String> m = new HashMap<>(4096);
        try (InputStream in = HtmlEntities.class.getResourceAsStream(res)) {
            if (in == null) throw new IllegalStateException("resource " + res + " missing beside " + HtmlEntities.class.getName());
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                int tab = line.indexOf('\t');
                StringBuilder sb = new StringBuilder();
                for (String hex : line.substring(tab + 1).split(" ")) sb.appendCodePoint(Integer.parseInt(hex, 16));
                m.put(line.substring(0, tab), sb.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + res, e);
        }
        if (m.size() < 2000) throw new IllegalStateException("resource " + res + " has only " + m.size() + " entities");
        return m;
    }

    private static Map<String, String> buildFtfy() {
        Map<String, String> m = new HashMap<>(4096);
        for (var e : HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";")) continue;
            m.put("&" + name, e.getValue());
        }
        // Second pass as ftfy: an all-lower-case name may also be decoded upper-cased, when html.unescape leaves that
        // spelling alone (so it is not another entity) — "&EACUTE;" → "É". The replacement is upper-cased too
        // (Python str.upper: "ß" → "SS").
        for (var e : HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";") || !name.equals(name.toLowerCase(Locale.ROOT))) continue;
            String upper = "&" + name.toUpperCase(Locale.ROOT);
            if (unescape(upper).equals(upper)) m.put(upper, e.getValue().toUpperCase(Locale.ROOT));
        }
        return m;
    }

    /** Python's html.unescape(s). */
    public static String unescape(String s) {
        if (s.indexOf('&') < 0) return s;
        Matcher m = CHARREF.matcher(s);
        StringBuilder sb = new StringBuilder(s.length());
        int last = 0;
        while (m.find()) {
            sb.append(s, last, m.start()).append(replaceCharref(m.group(1)));
            last = m.end();
        }
        return sb.append(s, last, s.length()).toString();
    }

    private static String replaceCharref(String s) {
        if (s.charAt(0) == '#') {
            boolean hex = s.charAt(1) == 'x' || s.charAt(1) == 'X';
            String digits = s.substring(hex ? 2 : 1);
            if (digits.endsWith(";")) digits = digits.substring(0, digits.length() - 1);
            long num = parseCapped(digits, hex ? 16 : 10);
            String inv = invalidCharref(num);
            if (inv != null) return inv;
            if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return "\uFFFD";
            if (invalidCodepoint((int) num)) return "";
            return new String(Character.toChars((int) num));
        }
        String v = HTML5.get(s);
        if (v != null) return v;
        // The longest entity name that is a prefix (the standard's rule for names without ';'), at least 2 long.
        for (int x = s.length() - 1; x > 1; x--) {
            v = HTML5.get(s.substring(0, x));
            if (v != null) return v + s.substring(x);
        }
        return "&" + s;
    }

    /** The number, or a value above 0x10FFFF when it is larger (Python's int has no overflow; only the range matters). */
    private static long parseCapped(String digits, int radix) {
        long v = 0;
        for (int i = 0; i < digits.length(); i++) {
            v = v * radix + Character.digit(digits.charAt(i), radix);
            if (v > 0x10FFFF) return 0x110000;
        }
        return v;
    }

    /** html._invalid_charrefs: NUL, CR and the Windows-1252 meanings of 0x80..0x9F. */
    private static String invalidCharref(long num) {
        if (num == 0x00) return "\uFFFD";
        if (num == 0x0D) return "\r";
        if (num >= 0x80 && num <= 0x9F) {
            char c = CP1252_C1.charAt((int) num - 0x80);
            return String.valueOf(c);
        }
        return null;
    }

    /** Windows-1252 for 0x80..0x9F as html._invalid_charrefs lists it (undefined bytes stay C1 controls). */
    private static final String CP1252_C1 =
            "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F"
            + "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

    /** html._invalid_codepoints: C0 controls but TAB/LF/FF/CR, DEL and C1, U+FDD0..FDEF, and U+xFFFE/xFFFF. */
    private static boolean invalidCodepoint(int c) {
        return (c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || (c >= 0x7F && c <= 0x9F)
                || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
    }

    /** ftfy.fixes.unescape_html: complete "&name;" entities (and ftfy's all-caps forms) and "&#...;" references. */
    public static String ftfyUnescape(String text) {
        if (text.indexOf('&') < 0) return text;
        Matcher m = FTFY_ENTITY.matcher(text);
        StringBuilder sb = new StringBuilder(text.length());
        int last = 0;
        while (m.find()) {
            String ent = m.group();
            String rep = FTFY.get(ent);
            if (rep == null) {
                rep = ent;
                if (ent.startsWith("&#")) {
                    // html.unescape decides; a result that still has the ';' was only partly decoded: keep the text.
                    String u = unescape(ent);
                    if (u.indexOf(';') < 0) rep = u;
                }
            }
            sb.append(text, last, m.start()).append(rep);
            last = m.end();
        }
        return sb.append(text, last, text.length()).toString();
    }

    /** The number of named entities (for tests). */
    static int size() { return HTML5.size(); }
}
