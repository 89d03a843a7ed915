package dev.dragedit.models.clip;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The text cleaning and splitting of the CLIP tokenizer, without fixtures: Python's str.lower / isspace / strip and
 * html.unescape, ftfy 6.3.1's fix_text (its documented examples and the fixes the tokenizer cases exercise), and the
 * split pattern's order of alternatives.
 */
class TextCleaningTest {
    @Test
    void splitPattern() {
        assertEquals(List.of("don", "'t"), ClipTokenizer.split("don't"));
        assertEquals(List.of("1", "2", "3"), ClipTokenizer.split("123"));
        assertEquals(List.of("''", "s"), ClipTokenizer.split("''s"), "a run of punctuation is greedy");
        assertEquals(List.of("caf", "\u0301"), ClipTokenizer.split("caf\u0301"), "combining marks are not letters");
        assertEquals(List.of("'\u017F"), ClipTokenizer.split("'\u017F"), "long s folds to s, as the regex module's IGNORECASE");
        assertEquals(List.of("<|\u017Ftartoftext|>"), ClipTokenizer.split("<|\u017Ftartoftext|>"));
        assertEquals(List.of("a", "b", "\u0301!"), ClipTokenizer.split("a\u0345b \u0345 \u0301!"),
                "U+0345 folds to a letter, so under IGNORECASE neither the letter nor the negated class takes it");
        assertEquals(List.of("\u4e00\u9ffd"), ClipTokenizer.split("\u4e00\u9ffd"), "U+9FFD is a letter since Unicode 14");
    }

    @Test
    void pythonLowerAndWhitespace() {
        assertEquals("i\u0307stanbul", PyText.lower("\u0130STANBUL"));
        assertEquals("\ua7d1", PyText.lower("\ua7d0"), "a case pair added in Unicode 14, as Python 3.11 lower-cases it");
        assertEquals("\u03BF\u03B4\u03BF\u03C2", PyText.lower("\u039F\u0394\u039F\u03A3"), "final sigma");
        assertEquals("\u03C3", PyText.lower("\u03A3"), "a lone capital sigma is not final");
        assertEquals("\u03B1\u03C3\u03B1", PyText.lower("\u0391\u03A3\u0391"));
        assertEquals("\u03B1\u03C2 \u03B2", PyText.lower("\u0391\u03A3 \u0392"));
        assertEquals("\u03B1\u03C3'\u03B2", PyText.lower("\u0391\u03A3'\u0392"), "an apostrophe is case-ignorable");
        assertEquals("a b", PyText.collapseWhitespace(" \u3000a \t\n\u00A0 b\u2029"));
        assertEquals("a\u001Cb", PyText.collapseWhitespace("a\u001Cb"), "U+001C is not White_Space for the regex module");
        assertEquals("x", PyText.strip("\u001Cx\u001F"), "but str.strip removes it");
    }

    @Test
    void htmlUnescapeAsPython() {
        assertEquals("&", HtmlEntities.unescape("&amp;"));
        assertEquals("&amp;", HtmlEntities.unescape("&amp;amp;"));
        assertEquals("\u00A9 2024", HtmlEntities.unescape("&copy 2024"), "no ';' needed for legacy names");
        assertEquals("\u00ACit;", HtmlEntities.unescape("&notit;"), "longest prefix that is an entity");
        assertEquals("&bogus;", HtmlEntities.unescape("&bogus;"));
        assertEquals("\u20AC", HtmlEntities.unescape("&#128;"), "C1 numbers are Windows-1252");
        assertEquals("", HtmlEntities.unescape("&#1;"));
        assertEquals("\uFFFD", HtmlEntities.unescape("&#xD800;"));
        assertEquals("\uFFFD", HtmlEntities.unescape("&#99999999999999999999;"));
        assertEquals("\uD83D\uDE00", HtmlEntities.unescape("&#x1F600"));
        assertTrue(HtmlEntities.size() > 2200);
        // ftfy's stricter form: only complete entities, plus all-caps names.
        assertEquals("this&not that", HtmlEntities.ftfyUnescape("this&not that"));
        assertEquals("P\u00C9REZ", HtmlEntities.ftfyUnescape("P&EACUTE;REZ"));
        assertEquals("&nTILDE;", HtmlEntities.ftfyUnescape("&nTILDE;"));
        assertEquals("STRASSE", HtmlEntities.ftfyUnescape("STRA&SZLIG;E"));
    }

    @Test
    void ftfyFixes() {
        assertEquals("sch\u00F6n", TextFixer.fixText("sch\u00C3\u00B6n"));
        assertEquals("\u2714 No problems", TextFixer.fixText("\u00E2\u0153\u201D No problems"));
        assertEquals("LOUD NOISES", TextFixer.fixText("\uFF2C\uFF2F\uFF35\uFF24\u3000\uFF2E\uFF2F\uFF29\uFF33\uFF25\uFF33"));
        assertEquals("Broken text\u2026 it's flubberific!", TextFixer.fixText("Broken text&hellip; it&#x2019;s \uFB02ubberi\uFB01c!"));
        assertEquals("voil\u00E0 le travail", TextFixer.fixText("voil\u00C3\u00A0 le travail"));
        assertEquals("voil\u00E0 le travail", TextFixer.fixText("voil\u00C3 le travail"), "0xA0 restored from a space");
        assertEquals("<b>&amp;</b>", TextFixer.fixText("<b>&amp;</b>"), "no unescaping in HTML");
        assertEquals("red", TextFixer.fixText("\u001B[31mred\u001B[0m"));
        assertEquals("a\nb\nc", TextFixer.fixText("a\r\nb\u2028c"));
        assertEquals("\uFFFD", TextFixer.fixText("\uD800"), "a lone surrogate");
        assertEquals("caf\u00E9", TextFixer.fixText("cafe\u0301"));
        assertEquals("\" like this \uFFFD", TextFixer.fixText("\u00E2\u20AC\u0153 like this \u00E2\u20AC\uFFFD"),
                "lossy mojibake: the lost byte becomes U+FFFD");
    }
}
