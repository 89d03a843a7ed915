#!/usr/bin/env python3
"""Regenerates the data tables the CLIP tokenizer's text cleaning reads (ClipTokenizer, TextFixer, HtmlEntities).

They are facts of the Python standard library that OpenAI's SimpleTokenizer relies on through ftfy and html.unescape,
copied out so the Java side needs no Python:
  html5_entities.tsv  html.entities.html5: entity name (with its ';' where the name has one) TAB the code points of
                      its replacement, hex, space-separated. 2231 entries for Python 3.11.
  charmaps.tsv        the 256 characters that bytes 0x00..0xFF decode to in each single-byte codec ftfy tries
                      (ftfy.chardata.CHARMAP_ENCODINGS, with Python's codec names), one line per codec: name TAB 256
                      hex code points; an undefined byte is written as FFFD (decoded with errors="replace").
                      The "sloppy-" rule of ftfy (undefined bytes decode as Latin-1, byte 0x1A as U+FFFD) is applied
                      in Java, not here.
  unicode_props.tsv   the Unicode 14.0 data of Python 3.11's unicodedata that the tokenizer's split and lower-casing
                      read, where Java 17 (Unicode 13.0) would differ on recently assigned characters: ranges of
                      general category L* ("L start end", hex, inclusive) and N* ("N start end"), and every code point
                      whose str.lower() is not itself ("lower cp mapped-cps...").
Run: python3 gen_resources.py  (in this folder; Python 3.11 was used, the version the fixtures were made with).
"""
import html.entities
import sys
import unicodedata

CODECS = ["latin-1", "windows-1252", "windows-1251", "windows-1250", "windows-1253", "windows-1254",
          "windows-1257", "iso-8859-2", "macroman", "cp437"]

with open("html5_entities.tsv", "w", encoding="ascii", newline="\n") as f:
    f.write("# html.entities.html5 of Python %d.%d (gen_resources.py): name<TAB>hex code points\n" % sys.version_info[:2])
    for name in sorted(html.entities.html5):
        f.write(name + "\t" + " ".join("%X" % ord(c) for c in html.entities.html5[name]) + "\n")

with open("charmaps.tsv", "w", encoding="ascii", newline="\n") as f:
    f.write("# byte 0x00..0xFF -> code point per Python %d.%d codec (gen_resources.py); FFFD = undefined\n" % sys.version_info[:2])
    for name in CODECS:
        chars = bytes(range(256)).decode(name, errors="replace")
        assert len(chars) == 256
        f.write(name + "\t" + " ".join("%X" % ord(c) for c in chars) + "\n")

def ranges(pred):
    out, start = [], None
    for c in range(sys.maxunicode + 2):
        ok = c <= sys.maxunicode and pred(c)
        if ok and start is None:
            start = c
        elif not ok and start is not None:
            out.append((start, c - 1))
            start = None
    return out

with open("unicode_props.tsv", "w", encoding="ascii", newline="\n") as f:
    f.write("# Unicode %s (Python %d.%d unicodedata, gen_resources.py): L/N category ranges, str.lower() mappings\n"
            % ((unicodedata.unidata_version,) + sys.version_info[:2]))
    for cls in "LN":
        for a, b in ranges(lambda c: unicodedata.category(chr(c))[0] == cls):
            f.write("%s %X %X\n" % (cls, a, b))
    for c in range(sys.maxunicode + 1):
        low = chr(c).lower()
        if low != chr(c):
            f.write("lower %X %s\n" % (c, " ".join("%X" % ord(x) for x in low)))
