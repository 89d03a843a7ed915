// The mojibake heuristics of ftfy 6.3.1 (https://github.com/rspeer/python-ftfy, Apache-2.0): badness.py's
// BADNESS_RE / is_bad, which says whether a string contains unlikely juxtapositions of the few hundred characters that
// UTF-8 mis-decoded as a single-byte encoding produces, and chardata.py's UTF8_DETECTOR_RE, which finds runs that look
// like such mis-decoded UTF-8 inside otherwise good text. The character categories below are ftfy's, character for
// character (written as regex escapes); the patterns are ftfy's verbose ones with the layout whitespace removed, since
// Java's COMMENTS mode would also drop the spaces that ftfy's character classes contain. Python's \s and \w are
// spelled out (Python re, str patterns: isspace() characters; letters, numbers and '_').
package dev.dragedit.models.clip;

import java.util.regex.Pattern;

final class Mojibake {
    private Mojibake() {}

    private static final String COMMON = "\\u00A0\\u00AD\\u00B7\\u00B4\\u2013\\u2014\\u2015\\u2026\\u2019";
    private static final String C1 = "\\u0080-\\u009F";
    private static final String BAD = "\\u00A6\\u00A4\\u00A8\\u00AC\\u00AF\\u00B8\\u0192\\u02C6\\u02C7\\u02D8\\u02DB\\u02DC\\u2020\\u2021\\u2030\\u2310\\u25CA\\uFFFD\\u00AA\\u00BA";
    private static final String LAW = "\\u00B6\\u00A7";
    private static final String CURRENCY = "\\u00A2\\u00A3\\u00A5\\u20A7\\u20AC";
    private static final String START_PUNCTUATION = "\\u00A1\\u00AB\\u00BF\\u00A9\\u0384\\u0385\\u2018\\u201A\\u201C\\u201E\\u2022\\u2039\\uF8FF";
    private static final String END_PUNCTUATION = "\\u00AE\\u00BB\\u02DD\\u201D\\u203A\\u2122";
    private static final String NUMERIC = "\\u00B2\\u00B3\\u00B9\\u00B1\\u00BC\\u00BD\\u00BE\\u00D7\\u00B5\\u00F7\\u2044\\u2202\\u2206\\u220F\\u2211\\u221A\\u221E\\u2229\\u222B\\u2248\\u2260\\u2261\\u2264\\u2265\\u2116";
    private static final String KAOMOJI = "\\u00D2-\\u00D6\\u00D9-\\u00DC\\u00F2-\\u00F6\\u00F8-\\u00FC\\u0150\\u014C\\u016A\\u0172\\u00B0";
    private static final String UPPER_ACCENTED = "\\u00C0-\\u00D1\\u00D8\\u00DC\\u00DD\\u0102\\u0100\\u0104\\u0106\\u010C\\u010E\\u0110\\u0118\\u011A\\u0112\\u0116\\u011E\\u0122\\u0130\\u012A\\u0136\\u0139\\u013D\\u0141\\u013B\\u0143\\u0147\\u0145\\u0152\\u0158\\u015A\\u015E\\u0160\\u0162\\u0164\\u016E\\u0170\\u0178\\u0179\\u017B\\u017D\\u0490";
    private static final String LOWER_ACCENTED = "\\u00DF\\u00E0-\\u00F1\\u0103\\u0105\\u0101\\u0107\\u010D\\u010F\\u0111\\u0119\\u011B\\u0113\\u0117\\u011F\\u0123\\u012F\\u012B\\u0137\\u013A\\u013E\\u0142\\u013C\\u0153\\u0155\\u015B\\u015F\\u0161\\u0165\\u00FC\\u017A\\u017C\\u017E\\u0491\\uFB01\\uFB02";
    private static final String UPPER_COMMON = "\\u00DE\\u0391-\\u03A9\\u0386\\u0388\\u0389\\u038A\\u038C\\u038E\\u038F\\u03AA\\u03AB\\u0401-\\u042F";
    private static final String LOWER_COMMON = "\\u03B1-\\u03C9\\u03AC\\u03AD\\u03AE\\u03AF\\u03B0\\u0430-\\u045F";
    private static final String BOX = "\\u2502\\u250C\\u2510\\u2518\\u251C\\u2524\\u252C\\u253C\\u2550-\\u256C\\u2580\\u2584\\u2588\\u258C\\u2590\\u2591\\u2592\\u2593";
    private static final String UTF8_FIRST_OF_2 = "\\u0102\\u00C2\\u00C4\\u0100\\u00C5\\u00C3\\u00C6\\u0106\\u010C\\u00C7\\u010E\\u0110\\u00C9\\u011A\\u00CA\\u00CB\\u0116\\u00C8\\u0112\\u0118\\u00D0\\u011E\\u0122\\u00CD\\u00CE\\u00CF\\u0130\\u00CC\\u012A\\u0136\\u0139\\u013B\\u0141\\u0143\\u0147\\u0145\\u00D1\\u00D3\\u00D4\\u00D6\\u0150\\u00D2\\u014C\\u00D8\\u00D5\\u0158\\u015A\\u0160\\u015E\\u0162\\u00DE\\u00DA\\u00DB\\u00DC\\u0170\\u00D9\\u016A\\u0172\\u016E\\u00DD\\u0179\\u017D\\u017B\\u00DF\\u00D7\\u0392\\u0393\\u0394\\u0395\\u0396\\u0397\\u0398\\u0399\\u039A\\u039B\\u039C\\u039D\\u039E\\u039F\\u03A0\\u03A1\\u03A3\\u03A4\\u03A5\\u03A6\\u03A7\\u03A8\\u03A9\\u03AA\\u03AB\\u03AC\\u03AD\\u03AE\\u03AF\\u0412\\u0413\\u0414\\u0415\\u0416\\u0417\\u0418\\u0419\\u041A\\u041B\\u041C\\u041D\\u041E\\u041F\\u0420\\u0421\\u0422\\u0423\\u0424\\u0425\\u0426\\u0427\\u0428\\u0429\\u042A\\u042B\\u042C\\u042D\\u042E\\u042F";
    private static final String UTF8_FIRST_OF_3 = "\\u00E1\\u0103\\u00E2\\u00E4\\u00E0\\u0101\\u0105\\u00E5\\u00E3\\u00E6\\u0107\\u010D\\u00E7\\u010F\\u00E9\\u011B\\u00EA\\u00EB\\u0117\\u00E8\\u0113\\u0119\\u0119\\u0123\\u00ED\\u00EE\\u00EF\\u00EC\\u012B\\u012F\\u0137\\u013A\\u013C\\u0155\\u017A\\u03B0\\u03B1\\u03B2\\u03B3\\u03B4\\u03B5\\u03B6\\u03B7\\u03B8\\u03B9\\u03BA\\u03BB\\u03BC\\u03BD\\u03BE\\u03BF\\u0430\\u0431\\u0432\\u0433\\u0434\\u0435\\u0436\\u0437\\u0438\\u0439\\u043A\\u043B\\u043C\\u043D\\u043E\\u043F";
    private static final String UTF8_FIRST_OF_4 = "\\u0111\\u00F0\\u011F\\u00F3\\u0161\\u03C0\\u03C3\\u0440\\u0443";
    private static final String UTF8_CONTINUATION = "\\u0080-\\u00BF\\u0020\\u0104\\u00C6\\u013D\\u0141\\u00D8\\u0156\\u015A\\u0160\\u015E\\u0164\\u0178\\u0179\\u017D\\u017B\\u0152\\u0105\\u00E6\\u0192\\u013E\\u0142\\u00F8\\u0157\\u015B\\u0161\\u015F\\u0165\\u017A\\u017E\\u017C\\u0153\\u02C6\\u02C7\\u02D8\\u02DB\\u02DC\\u02DD\\u0384\\u0385\\u0386\\u0388\\u0389\\u038A\\u038C\\u038E\\u038F\\u0401\\u0402\\u0403\\u0404\\u0405\\u0406\\u0407\\u0408\\u0409\\u040A\\u040B\\u040C\\u040E\\u040F\\u0451\\u0452\\u0453\\u0454\\u0455\\u0456\\u0457\\u0458\\u0459\\u045A\\u045B\\u045C\\u045E\\u045F\\u0490\\u0491\\u2013\\u2014\\u2015\\u2018\\u2019\\u201A\\u201C\\u201D\\u201E\\u2020\\u2021\\u2022\\u2026\\u2030\\u2039\\u203A\\u20AC\\u2116\\u2122";
    private static final String UTF8_CONTINUATION_STRICT = "\\u0080-\\u00BF\\u0104\\u00C6\\u013D\\u0141\\u00D8\\u0156\\u015A\\u0160\\u015E\\u0164\\u0178\\u0179\\u017D\\u017B\\u0152\\u0105\\u00E6\\u0192\\u013E\\u0142\\u00F8\\u0157\\u015B\\u0161\\u015F\\u0165\\u017A\\u017E\\u017C\\u0153\\u02C6\\u02C7\\u02D8\\u02DB\\u02DC\\u02DD\\u0384\\u0385\\u0386\\u0388\\u0389\\u038A\\u038C\\u038E\\u038F\\u0401\\u0402\\u0403\\u0404\\u0405\\u0406\\u0407\\u0408\\u0409\\u040A\\u040B\\u040C\\u040E\\u040F\\u0451\\u0452\\u0453\\u0454\\u0455\\u0456\\u0457\\u0458\\u0459\\u045A\\u045B\\u045C\\u045E\\u045F\\u0490\\u0491\\u2020\\u2021\\u2030\\u2039\\u203A\\u20AC\\u2116\\u2122";

    /** Python re's \s for str patterns (str.isspace()). */
    private static final String PY_S = "[\\t\\n\\u000B\\f\\r\\u001C-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]";
    /** Python re's \w for str patterns. */
    private static final String PY_W = "[\\p{L}\\p{N}_]";

    private static final String[] BADNESS_ALTERNATIVES = {
            "[" + C1 + "]",
            "[" + BAD + LOWER_ACCENTED + UPPER_ACCENTED + BOX + START_PUNCTUATION + END_PUNCTUATION + CURRENCY + NUMERIC + LAW + "][" + BAD + "]",
            "[a-zA-Z][" + LOWER_COMMON + UPPER_COMMON + "][" + BAD + "]",
            "[" + BAD + "][" + LOWER_ACCENTED + UPPER_ACCENTED + BOX + START_PUNCTUATION + END_PUNCTUATION + CURRENCY + NUMERIC + LAW + "]",
            "[" + LOWER_ACCENTED + LOWER_COMMON + BOX + END_PUNCTUATION + CURRENCY + NUMERIC + "][" + UPPER_ACCENTED + "]",
            "[" + BOX + END_PUNCTUATION + CURRENCY + NUMERIC + "][" + LOWER_ACCENTED + "]",
            "[" + LOWER_ACCENTED + BOX + END_PUNCTUATION + "][" + CURRENCY + "]",
            PY_S + "[" + UPPER_ACCENTED + "][" + CURRENCY + "]",
            "[" + UPPER_ACCENTED + BOX + "][" + NUMERIC + LAW + "]",
            "[" + LOWER_ACCENTED + UPPER_ACCENTED + BOX + CURRENCY + END_PUNCTUATION + "][" + START_PUNCTUATION + "][" + NUMERIC + "]",
            "[" + LOWER_ACCENTED + UPPER_ACCENTED + CURRENCY + NUMERIC + BOX + LAW + "][" + END_PUNCTUATION + "][" + START_PUNCTUATION + "]",
            "[" + CURRENCY + NUMERIC + BOX + "][" + START_PUNCTUATION + "]",
            "[a-z][" + UPPER_ACCENTED + "][" + START_PUNCTUATION + CURRENCY + "]",
            "[" + BOX + "][" + KAOMOJI + "]",
            "[" + LOWER_ACCENTED + UPPER_ACCENTED + CURRENCY + NUMERIC + START_PUNCTUATION + END_PUNCTUATION + LAW + "][" + BOX + "]",
            "[" + BOX + "][" + END_PUNCTUATION + "]",
            "[" + LOWER_ACCENTED + UPPER_ACCENTED + "][" + START_PUNCTUATION + END_PUNCTUATION + "]" + PY_W,
            "[\\u0152\\u0153][^A-Za-z]",
            "[" + UPPER_ACCENTED + "]\\u00B0",
            "[\\u00C2\\u00C3\\u00CE\\u00D0][\\u20AC\\u0153\\u0160\\u0161\\u00A2\\u00A3\\u0178\\u017E\\u00A0\\u00AD\\u00AE\\u00A9\\u00B0\\u00B7\\u00BB" + START_PUNCTUATION + END_PUNCTUATION + "\\u2013\\u2014\\u00B4]",
            "\\u00D7[\\u00B2\\u00B3]",
            "[\\u00D8\\u00D9][" + COMMON + CURRENCY + BAD + NUMERIC + START_PUNCTUATION + "\\u0178\\u0160\\u00AE\\u00B0\\u00B5\\u00BB][\\u00D8\\u00D9][" + COMMON + CURRENCY + BAD + NUMERIC + START_PUNCTUATION + "\\u0178\\u0160\\u00AE\\u00B0\\u00B5\\u00BB]",
            "\\u00E0[\\u00B2\\u00B5\\u00B9\\u00BC\\u00BD\\u00BE]",
            "\\u221A[\\u00B1\\u2202\\u2020\\u2260\\u00AE\\u2122\\u00B4\\u2264\\u2265\\u00A5\\u00B5\\u00F8]",
            "\\u2248[\\u00B0\\u00A2]",
            "\\u201A\\u00C4[\\u00EC\\u00EE\\u00EF\\u00F2\\u00F4\\u00FA\\u00F9\\u00FB\\u2020\\u00B0\\u00A2\\u03C0]",
            "\\u201A[\\u00E2\\u00F3][\\u00E0\\u00E4\\u00B0\\u00EA]",
            "\\u0432\\u0402",
            "[\\u0412\\u0413\\u0420\\u0421][" + C1 + BAD + START_PUNCTUATION + END_PUNCTUATION + CURRENCY + "\\u00B0\\u00B5][\\u0412\\u0413\\u0420\\u0421]",
            "\\u0413\\u045E\\u0412\\u0402\\u0412.[A-Za-z\\u0020]",
            "\\u00C3[\\u00A0\\u00A1]",
            "[a-z]" + PY_S + "?[\\u00C3\\u00C2][\\u0020]",
            "^[\\u00C3\\u00C2][\\u0020]",
            "[a-z.,?!" + END_PUNCTUATION + "]\\u00C2[\\u0020" + START_PUNCTUATION + END_PUNCTUATION + "]",
            "\\u03B2\\u20AC[\\u2122\\u00A0\\u0386\\u00AD\\u00AE\\u00B0]",
            "[\\u0392\\u0393\\u039E\\u039F][" + C1 + BAD + START_PUNCTUATION + END_PUNCTUATION + CURRENCY + "\\u00B0][\\u0392\\u0393\\u039E\\u039F]",
            "\\u0101\\u20AC",
    };

    /** badness.BADNESS_RE. UNIX_LINES: Python's '.' excludes only '\n'. */
    static final Pattern BADNESS = Pattern.compile(String.join("|", BADNESS_ALTERNATIVES), Pattern.UNIX_LINES);

    /**
     * chardata.UTF8_DETECTOR_RE: runs of would-be UTF-8 sequences (a lead character then 1-3 continuation characters,
     * a space standing for U+00A0), not preceded by a strict continuation character.
     */
    static final Pattern UTF8_DETECTOR = Pattern.compile(
            "(?<![" + UTF8_CONTINUATION_STRICT + "])"
            + "(?:[" + UTF8_FIRST_OF_2 + "][" + UTF8_CONTINUATION + "]"
            + "|[" + UTF8_FIRST_OF_3 + "][" + UTF8_CONTINUATION + "]{2}"
            + "|[" + UTF8_FIRST_OF_4 + "][" + UTF8_CONTINUATION + "]{3})+");

    /** badness.is_bad: whether the text looks like it contains mojibake. */
    static boolean isBad(String text) {
        return BADNESS.matcher(text).find();
    }
}
