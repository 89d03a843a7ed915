// Writes a ZIP whose every entry uses the ZIP64 fields (sizes and offsets as 0xffffffff in the headers, the real
// values in the ZIP64 extra field, a ZIP64 end record and locator), the layout torch.save's writer (miniz) produces
// for checkpoints over 4 GiB, here on small data so the tests can read it. Each data start is padded to 64 bytes
// with an extra field, as PyTorch does, so the reader must honour the local header's extra length.
package dev.dragedit.convert.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

public final class Zip64Writer {
    private Zip64Writer() {}

    public static void write(Path file, Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream cd = new ByteArrayOutputStream();
        Map<String, Long> offsets = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8), data = e.getValue();
            CRC32 crc = new CRC32();
            crc.update(data);
            long off = out.size();
            offsets.put(e.getKey(), off);
            int base = 30 + name.length + 20; // local header + name + zip64 extra
            int pad = (int) ((64 - (off + base + 4) % 64) % 64);
            ByteBuffer lh = le(30);
            lh.putInt(0x04034b50).putShort((short) 45).putShort((short) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                    .putInt((int) crc.getValue()).putInt(-1).putInt(-1).putShort((short) name.length).putShort((short) (20 + 4 + pad));
            out.write(lh.array());
            out.write(name);
            ByteBuffer z = le(20);
            z.putShort((short) 1).putShort((short) 16).putLong(data.length).putLong(data.length);
            out.write(z.array());
            ByteBuffer padField = le(4 + pad);
            padField.putShort((short) 0x4246).putShort((short) pad); // "FB" padding, as PyTorch writes
            out.write(padField.array());
            out.write(data);

            ByteBuffer ch = le(46);
            ch.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                    .putInt((int) crc.getValue()).putInt(-1).putInt(-1).putShort((short) name.length).putShort((short) 28).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putInt(0).putInt(-1);
            cd.write(ch.array());
            cd.write(name);
            ByteBuffer cz = le(28);
            cz.putShort((short) 1).putShort((short) 24).putLong(data.length).putLong(data.length).putLong(off);
            cd.write(cz.array());
        }
        long cdOffset = out.size();
        out.write(cd.toByteArray());
        long z64 = out.size();
        ByteBuffer end64 = le(56);
        end64.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                .putLong(entries.size()).putLong(entries.size()).putLong(cd.size()).putLong(cdOffset);
        out.write(end64.array());
        ByteBuffer loc = le(20);
        loc.putInt(0x07064b50).putInt(0).putLong(z64).putInt(1);
        out.write(loc.array());
        ByteBuffer eocd = le(22);
        eocd.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) -1).putShort((short) -1).putInt(-1).putInt(-1).putShort((short) 0);
        out.write(eocd.array());
        Files.write(file, out.toByteArray());
    }

    private static ByteBuffer le(int n) { return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN); }
}
