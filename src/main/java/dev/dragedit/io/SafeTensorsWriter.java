// Writes a safetensors file the way the reference library lays it out (u64 little-endian header length, compact
// JSON header padded with spaces to a multiple of 8 so the data section starts 8-aligned, tensors back to back
// in header order), but atomically: everything goes to a temporary file in the destination's directory, which is
// flushed to disk and then renamed over the destination. A failure at any point leaves the destination as it was
// and removes the temporary file. Overwriting a file that is open and mapped is safe: the old inode lives on.
//
// Order: the reference sorts tensors by dtype alignment, then name; readers do not care, so this writer keeps the
// caller's order (the map's iteration order), which makes the file's order deterministic and meaningful.
package dev.dragedit.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.dragedit.tensor.Device;
import dev.dragedit.tensor.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static dev.dragedit.io.SafeTensorsFormatException.quote;

/** The writing half of {@link SafeTensors}. */
final class SafeTensorsWriter {
    private SafeTensorsWriter() {}

    /** Heap tensors are written in pieces so the JDK never makes a direct-buffer copy the size of a whole tensor. */
    private static final int CHUNK = 1 << 20;

    static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        if (file == null) throw new IllegalArgumentException("safetensors write: file is null");
        if (tensors == null) throw new IllegalArgumentException("safetensors write " + file + ": tensors is null");
        // One snapshot of the entries, so the header's offsets and the data written are computed from the same list.
        List<Map.Entry<String, Tensor>> entries = new ArrayList<>(tensors.entrySet());
        checkArguments(file, entries, metadata);
        byte[] header = header(file, entries, metadata);

        Path target = file.toAbsolutePath();
        if (target.getFileName() == null) throw new IllegalArgumentException("safetensors write: " + file + " names no file");
        Path tmp = null;
        FileChannel ch = null;
        for (int attempt = 0; ch == null; attempt++) {
            tmp = target.resolveSibling("." + target.getFileName() + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                // Not Files.createTempFile: that creates mode 0600; this gets the usual umask-derived permissions.
                ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 9) throw e;
            }
        }
        try {
            try (FileChannel out = ch) {
                ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
                writeAll(out, prefix);
                writeAll(out, ByteBuffer.wrap(header));
                for (Map.Entry<String, Tensor> e : entries) {
                    Tensor t = e.getValue();
                    ByteBuffer bytes = t.toBytes();
                    if (bytes.remaining() != t.sizeBytes())
                        throw new SafeTensorsFormatException(file, e.getKey(), "holds " + bytes.remaining() + " bytes, but "
                                + t.dtype() + " with shape " + Arrays.toString(t.shape()) + " needs " + t.sizeBytes());
                    writeAll(out, bytes);
                }
                out.force(true); // the rename must not become visible before the data is on disk
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (Throwable e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException d) {
                e.addSuppressed(d);
            }
            throw e;
        }
    }

    /** Caller mistakes are reported before any file is created. */
    private static void checkArguments(Path file, List<Map.Entry<String, Tensor>> tensors, Map<String, String> metadata) {
        for (Map.Entry<String, Tensor> e : tensors) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name == null) throw new IllegalArgumentException("safetensors write " + file + ": a tensor name is null");
            if (name.equals(SafeTensorsHeader.METADATA_KEY))
                throw new IllegalArgumentException("safetensors write " + file + ": " + SafeTensorsHeader.METADATA_KEY
                        + " is reserved for metadata and cannot name a tensor");
            if (t == null) throw new IllegalArgumentException("safetensors write " + file + ": tensor " + quote(name) + " is null");
            if (t.device() != Device.CPU)
                throw new IllegalArgumentException("safetensors write " + file + ": tensor " + quote(name) + " is on "
                        + t.device().name() + ", expected cpu; copy it to the CPU first");
            if (t.sizeBytes() > SafeTensors.MAX_WINDOW_BYTES)
                throw new IllegalArgumentException("safetensors write " + file + ": tensor " + quote(name) + " is "
                        + t.sizeBytes() + " bytes; tensors over " + SafeTensors.MAX_WINDOW_BYTES + " bytes are not supported");
        }
        if (metadata != null)
            for (Map.Entry<String, String> e : metadata.entrySet())
                if (e.getKey() == null || e.getValue() == null)
                    throw new IllegalArgumentException("safetensors write " + file + ": metadata has a null key or value ("
                            + e.getKey() + " = " + e.getValue() + ")");
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes as the reference writer does. */
    private static byte[] header(Path file, List<Map.Entry<String, Tensor>> tensors, Map<String, String> metadata) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (JsonGenerator g = new JsonFactory().createGenerator(buf)) {
            g.writeStartObject();
            long offset = 0;
            for (Map.Entry<String, Tensor> e : tensors) {
                Tensor t = e.getValue();
                g.writeFieldName(e.getKey());
                g.writeStartObject();
                g.writeStringField("dtype", t.dtype().safetensorsName);
                g.writeFieldName("shape");
                int[] shape = t.shape();
                g.writeArray(shape, 0, shape.length);
                g.writeFieldName("data_offsets");
                g.writeArray(new long[]{offset, offset + t.sizeBytes()}, 0, 2);
                g.writeEndObject();
                offset += t.sizeBytes();
            }
            if (metadata != null && !metadata.isEmpty()) {
                g.writeFieldName(SafeTensorsHeader.METADATA_KEY);
                g.writeStartObject();
                for (Map.Entry<String, String> e : metadata.entrySet()) g.writeStringField(e.getKey(), e.getValue());
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        int pad = (8 - buf.size() % 8) % 8;
        for (int i = 0; i < pad; i++) buf.write(' ');
        if (buf.size() > SafeTensorsHeader.MAX_HEADER_BYTES)
            throw new IllegalArgumentException("safetensors write " + file + ": the header would be " + buf.size()
                    + " bytes, over the " + SafeTensorsHeader.MAX_HEADER_BYTES + " bytes readers accept");
        return buf.toByteArray();
    }

    private static void writeAll(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            int n = Math.min(b.remaining(), CHUNK);
            ByteBuffer piece = b.slice(b.position(), n);
            while (piece.hasRemaining()) out.write(piece);
            b.position(b.position() + n);
        }
    }
}
