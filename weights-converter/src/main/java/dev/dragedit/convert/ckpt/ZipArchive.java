// A bounds-checked reader of the ZIP container PyTorch writes for torch.save (PKWARE APPNOTE 6.3: end of central
// directory, ZIP64 locator and record, central directory headers with the ZIP64 extra field, local headers).
// java.util.zip.ZipFile would do, but it reads local data through an inflater stream; here stored entries are
// memory-mapped in place (a 4 GB checkpoint is never copied), and every offset and length read from the file is
// checked against the file size before use, so a malformed archive gives a message instead of a wild read.
package dev.dragedit.convert.ckpt;

import dev.dragedit.convert.ConvertException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/** The entries of a ZIP file; stored entries can be mapped, small entries read (stored or deflated). */
public final class ZipArchive implements AutoCloseable {
    static final int MAX_ENTRIES = 1_000_000;
    static final int EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CEN = 0x02014b50, LOC = 0x04034b50;

    /** One entry: name, compression method (0 stored, 8 deflated), sizes, CRC and where its local header is. */
    public record Entry(String name, int method, int flags, long compressedSize, long size, int crc, long localHeader) {}

    private final Path file;
    private final FileChannel ch;
    private final long fileSize;
    private final long centralStart;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    private ZipArchive(Path file, FileChannel ch) throws IOException {
        this.file = file;
        this.ch = ch;
        this.fileSize = ch.size();
        // End of central directory: 22 bytes plus a comment of at most 65535 bytes, at the end of the file.
        int tail = (int) Math.min(fileSize, 22 + 65535 + 20);
        if (fileSize < 22) throw fail("is " + fileSize + " bytes, too short to be a ZIP archive (a .ckpt is a ZIP written by torch.save)");
        ByteBuffer t = read(fileSize - tail, tail);
        int eocd = -1;
        for (int i = tail - 22; i >= 0; i--) {
            if (t.getInt(i) == EOCD && i + 22 + (t.getShort(i + 20) & 0xffff) == tail) { eocd = i; break; }
        }
        if (eocd < 0) {
            for (int i = tail - 22; i >= 0; i--) if (t.getInt(i) == EOCD) { eocd = i; break; }
        }
        if (eocd < 0) throw fail("has no ZIP end-of-central-directory record (not a ZIP archive, truncated, or a legacy pre-1.6 torch file)");
        long count = t.getShort(eocd + 10) & 0xffff;
        long cdSize = t.getInt(eocd + 12) & 0xffffffffL;
        long cdOffset = t.getInt(eocd + 16) & 0xffffffffL;
        if (count == 0xffff || cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            // ZIP64: a locator 20 bytes before the EOCD points at the ZIP64 end record.
            int loc = eocd - 20;
            if (loc < 0 || t.getInt(loc) != ZIP64_LOCATOR) throw fail("claims ZIP64 sizes but has no ZIP64 locator (corrupt archive)");
            long z = t.getLong(loc + 8);
            if (z < 0 || z > fileSize - 56) throw fail("ZIP64 end record offset " + z + " is outside the file");
            ByteBuffer r = read(z, 56);
            if (r.getInt(0) != ZIP64_EOCD) throw fail("ZIP64 end record not found at offset " + z + " (corrupt archive)");
            count = r.getLong(32);
            cdSize = r.getLong(40);
            cdOffset = r.getLong(48);
        }
        if (count < 0 || count > MAX_ENTRIES) throw fail("claims " + count + " entries (more than " + MAX_ENTRIES + ")");
        if (cdOffset < 0 || cdSize < 0 || cdOffset > fileSize || cdSize > fileSize - cdOffset || cdSize > Integer.MAX_VALUE)
            throw fail("central directory (offset " + cdOffset + ", " + cdSize + " bytes) lies outside the file (truncated?)");
        centralStart = cdOffset;
        ByteBuffer cd = read(cdOffset, (int) cdSize);
        int p = 0;
        for (long n = 0; n < count; n++) {
            if (p + 46 > cd.limit() || cd.getInt(p) != CEN) throw fail("central directory entry " + n + " is malformed (corrupt archive)");
            int flags = cd.getShort(p + 8) & 0xffff;
            int method = cd.getShort(p + 10) & 0xffff;
            int crc = cd.getInt(p + 16);
            long csize = cd.getInt(p + 20) & 0xffffffffL;
            long usize = cd.getInt(p + 24) & 0xffffffffL;
            int nameLen = cd.getShort(p + 28) & 0xffff, extraLen = cd.getShort(p + 30) & 0xffff, commentLen = cd.getShort(p + 32) & 0xffff;
            long lho = cd.getInt(p + 42) & 0xffffffffL;
            if (p + 46 + nameLen + extraLen + commentLen > cd.limit()) throw fail("central directory entry " + n + " runs past the directory");
            byte[] nb = new byte[nameLen];
            cd.get(p + 46, nb);
            String name = new String(nb, StandardCharsets.UTF_8);
            // ZIP64 extra field (id 1): the 64-bit values of those fields that hold 0xffffffff, in this order.
            int e = p + 46 + nameLen, eEnd = e + extraLen;
            while (e + 4 <= eEnd) {
                int id = cd.getShort(e) & 0xffff, len = cd.getShort(e + 2) & 0xffff;
                if (e + 4 + len > eEnd) throw fail("entry " + name + ": extra field runs past its end");
                if (id == 1) {
                    int q = e + 4;
                    if (usize == 0xffffffffL) { if (q + 8 > e + 4 + len) throw fail("entry " + name + ": short ZIP64 field"); usize = cd.getLong(q); q += 8; }
                    if (csize == 0xffffffffL) { if (q + 8 > e + 4 + len) throw fail("entry " + name + ": short ZIP64 field"); csize = cd.getLong(q); q += 8; }
                    if (lho == 0xffffffffL) { if (q + 8 > e + 4 + len) throw fail("entry " + name + ": short ZIP64 field"); lho = cd.getLong(q); }
                }
                e += 4 + len;
            }
            if (usize < 0 || csize < 0 || lho < 0 || lho > cdOffset - 30 || csize > cdOffset - lho)
                throw fail("entry " + name + " (header at " + lho + ", " + csize + " bytes) lies outside the archive's data area");
            if (entries.put(name, new Entry(name, method, flags, csize, usize, crc, lho)) != null)
                throw fail("has two entries named " + name);
            p += 46 + nameLen + extraLen + commentLen;
        }
    }

    public static ZipArchive open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new ZipArchive(file, ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public Path path() { return file; }

    public Map<String, Entry> entries() { return entries; }

    /** Where the entry's data starts: after its local header, whose name must match the directory's. */
    long dataStart(Entry en) throws IOException {
        ByteBuffer h = read(en.localHeader(), 30);
        if (h.getInt(0) != LOC) throw fail("entry " + en.name() + ": no local header at offset " + en.localHeader() + " (corrupt archive)");
        int nameLen = h.getShort(26) & 0xffff, extraLen = h.getShort(28) & 0xffff;
        if (en.localHeader() + 30 + nameLen > fileSize) throw fail("entry " + en.name() + ": local header runs past the end of the file");
        ByteBuffer nb = read(en.localHeader() + 30, nameLen);
        byte[] b = new byte[nameLen];
        nb.get(b);
        if (!new String(b, StandardCharsets.UTF_8).equals(en.name()))
            throw fail("entry " + en.name() + ": local header names " + new String(b, StandardCharsets.UTF_8) + " (corrupt or tampered archive)");
        long start = en.localHeader() + 30 + nameLen + extraLen;
        if (start > centralStart || en.compressedSize() > centralStart - start)
            throw fail("entry " + en.name() + ": data (" + en.compressedSize() + " bytes at " + start + ") overlaps the central directory or runs past the file (truncated?)");
        return start;
    }

    /** A stored entry's bytes, memory-mapped (read-only, little-endian). */
    public ByteBuffer map(Entry en) throws IOException {
        if (en.method() != 0) throw fail("entry " + en.name() + " is compressed (method " + en.method() + "); tensor data must be stored, as torch.save writes it");
        if ((en.flags() & 1) != 0) throw fail("entry " + en.name() + " is encrypted");
        if (en.size() != en.compressedSize()) throw fail("stored entry " + en.name() + " has different sizes " + en.size() + " and " + en.compressedSize());
        if (en.size() > Integer.MAX_VALUE - 16) throw fail("entry " + en.name() + " is " + en.size() + " bytes; storages over 2 GiB are not supported");
        long start = dataStart(en);
        if (en.size() == 0) return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        return ch.map(FileChannel.MapMode.READ_ONLY, start, en.size()).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A small entry's bytes (stored or deflated), at most {@code maxBytes}, CRC-checked. */
    public byte[] readAll(Entry en, int maxBytes) throws IOException {
        if ((en.flags() & 1) != 0) throw fail("entry " + en.name() + " is encrypted");
        if (en.size() > maxBytes) throw fail("entry " + en.name() + " is " + en.size() + " bytes, more than the limit of " + maxBytes);
        long start = dataStart(en);
        byte[] out;
        if (en.method() == 0) {
            if (en.size() != en.compressedSize()) throw fail("stored entry " + en.name() + " has different sizes");
            out = new byte[(int) en.size()];
            read(start, out.length).get(out);
        } else if (en.method() == 8) {
            if (en.compressedSize() > Integer.MAX_VALUE) throw fail("entry " + en.name() + " is too large");
            byte[] comp = new byte[(int) en.compressedSize()];
            read(start, comp.length).get(comp);
            Inflater inf = new Inflater(true);
            try {
                inf.setInput(comp);
                out = new byte[(int) en.size()];
                int n = 0;
                while (n < out.length && !inf.finished()) {
                    int r = inf.inflate(out, n, out.length - n);
                    if (r == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                    n += r;
                }
                if (n != out.length) throw fail("entry " + en.name() + " inflates to " + n + " bytes, not the " + out.length + " its header says");
            } catch (DataFormatException ex) {
                throw fail("entry " + en.name() + " is not valid deflate data: " + ex.getMessage());
            } finally {
                inf.end();
            }
        } else {
            throw fail("entry " + en.name() + " uses unsupported compression method " + en.method());
        }
        CRC32 crc = new CRC32();
        crc.update(out);
        if ((int) crc.getValue() != en.crc()) throw fail("entry " + en.name() + " fails its CRC check (corrupt archive)");
        return out;
    }

    private ByteBuffer read(long position, int length) throws IOException {
        if (position < 0 || length < 0 || position > fileSize - length) throw fail("read of " + length + " bytes at " + position + " lies outside the file (truncated?)");
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            int r = ch.read(b, position + b.position());
            if (r < 0) throw fail("ended while reading (truncated or changed while open?)");
        }
        return b.flip();
    }

    private ConvertException fail(String msg) { return new ConvertException(file + ": " + msg); }

    @Override public void close() throws IOException { ch.close(); }
}
