// Reads safetensors checkpoints memory-mapped, and writes them atomically (SafeTensorsWriter). The header is read
// and validated in full (SafeTensorsHeader) before anything is mapped; tensor data stays in the page cache until a
// tensor is first used, when Tensor decodes its little-endian slice onto the heap. Java buffers are int-indexed, so
// the data section is mapped in windows of at most 2 GiB, each holding whole tensors: a file of any size works, a
// single tensor over 2 GiB does not (and gets a clear error).
package dev.dragedit.io;

import dev.dragedit.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An open safetensors file: its tensor names (in header order), their dtype and shape, the {@code __metadata__}
 * map, and {@link #get} for lazily decoded tensors.
 * <p>
 * {@link #close} releases the file handle. Tensors already returned stay valid afterwards: the JVM keeps a mapping
 * alive for as long as a buffer refers to it. Thread-safe.
 */
public final class SafeTensors implements AutoCloseable {
    /** Largest mapping window, and so the largest tensor: a ByteBuffer has int positions (less the JVM's array slack). */
    static final long MAX_WINDOW_BYTES = Integer.MAX_VALUE - 16;

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final SafeTensorsHeader header;
    private final Map<String, TensorInfo> byName = new HashMap<>();
    private final Map<String, Integer> windowOf = new HashMap<>();
    private final long[] windowStart;
    private final long[] windowEnd;
    private final MappedByteBuffer[] windows;
    private boolean closed;

    private SafeTensors(Path file, FileChannel channel, long dataStart, SafeTensorsHeader header, long windowBytes) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.header = header;
        for (TensorInfo t : header.tensors()) byName.put(t.name(), t);

        // Group tensors, in offset order, into windows no longer than windowBytes (a larger tensor gets one of its
        // own); empty tensors need none and tensors over MAX_WINDOW_BYTES cannot have one.
        List<TensorInfo> sorted = new ArrayList<>(header.tensors());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        List<long[]> spans = new ArrayList<>();
        for (TensorInfo t : sorted) {
            if (t.byteSize() == 0 || t.byteSize() > MAX_WINDOW_BYTES) continue;
            long[] last = spans.isEmpty() ? null : spans.get(spans.size() - 1);
            if (last == null || t.end() - last[0] > windowBytes) spans.add(last = new long[]{t.begin(), t.end()});
            else last[1] = t.end();
            windowOf.put(t.name(), spans.size() - 1);
        }
        windowStart = spans.stream().mapToLong(s -> s[0]).toArray();
        windowEnd = spans.stream().mapToLong(s -> s[1]).toArray();
        windows = new MappedByteBuffer[spans.size()];
    }

    /** Opens and validates {@code file}; throws {@link SafeTensorsFormatException} if it is not a valid safetensors file. */
    public static SafeTensors open(Path file) throws IOException {
        return open(file, MAX_WINDOW_BYTES);
    }

    /** As {@link #open(Path)} with smaller mapping windows, so that tests can exercise windowing on small files. */
    static SafeTensors open(Path file, long windowBytes) throws IOException {
        // Linux opens a directory for reading and then fails the read with a bare "Is a directory".
        if (Files.isDirectory(file)) throw new SafeTensorsFormatException(file, "is a directory, expected a safetensors file");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8)
                throw new SafeTensorsFormatException(file, "file is " + size + " bytes, too short for the 8-byte header length");
            long n = readFully(file, ch, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            // n is an unsigned 64-bit count: a negative long is a length above 2^63.
            if (n < 0 || n > SafeTensorsHeader.MAX_HEADER_BYTES)
                throw new SafeTensorsFormatException(file, "header length " + Long.toUnsignedString(n)
                        + " exceeds the limit of " + SafeTensorsHeader.MAX_HEADER_BYTES + " bytes (corrupt file?)");
            if (n > size - 8)
                throw new SafeTensorsFormatException(file, "header length " + n + " is larger than the " + (size - 8)
                        + " bytes that follow it (truncated or not a safetensors file?)");
            byte[] headerBytes = readFully(file, ch, 8, (int) n).array();
            SafeTensorsHeader header = SafeTensorsHeader.parse(file, headerBytes, size - 8 - n);
            return new SafeTensors(file, ch, 8 + n, header, windowBytes);
        } catch (IOException | RuntimeException | Error e) {
            ch.close();
            throw e;
        }
    }

    private static ByteBuffer readFully(Path file, FileChannel ch, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            int r = ch.read(b, position + b.position());
            if (r < 0) throw new SafeTensorsFormatException(file, "file ended while reading its header (changed while open?)");
        }
        return b.flip();
    }

    public Path path() { return file; }

    /** Tensor names in the order the header lists them (for files written here: the order they were given). */
    public List<String> names() {
        return header.tensors().stream().map(TensorInfo::name).toList();
    }

    /** Every tensor's entry, in header order. */
    public List<TensorInfo> tensors() { return header.tensors(); }

    public int size() { return header.tensors().size(); }

    public boolean contains(String name) { return byName.containsKey(name); }

    /** The entry for {@code name}; IllegalArgumentException naming the file if there is none. */
    public TensorInfo info(String name) {
        TensorInfo t = byName.get(name);
        if (t == null)
            throw new IllegalArgumentException(file + " has no tensor " + SafeTensorsFormatException.quote(String.valueOf(name))
                    + " (it has " + size() + " tensors)");
        return t;
    }

    /** The {@code __metadata__} map (empty when the file has none), in header order. */
    public Map<String, String> metadata() { return header.metadata(); }

    /**
     * The tensor {@code name}, still in the file: its data is decoded on first use. Each call returns a new
     * tensor over the same mapped bytes.
     */
    public Tensor get(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.byteSize() == 0) return Tensor.mapped(ByteBuffer.allocate(0), t.dtype(), t.shape());
        Integer w = windowOf.get(name);
        if (w == null)
            throw new SafeTensorsFormatException(file, name, "is " + t.byteSize() + " bytes; tensors over "
                    + MAX_WINDOW_BYTES + " bytes (2 GiB) cannot be held in one Java buffer or array");
        ByteBuffer window = window(w);
        int from = (int) (t.begin() - windowStart[w]);
        return Tensor.mapped(window.slice(from, (int) t.byteSize()), t.dtype(), t.shape());
    }

    private synchronized ByteBuffer window(int w) throws IOException {
        if (closed) throw new IllegalStateException(file + " is closed");
        if (windows[w] == null)
            windows[w] = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + windowStart[w], windowEnd[w] - windowStart[w]);
        return windows[w];
    }

    /** Number of mapping windows; visible for tests. */
    int windowCount() { return windows.length; }

    @Override
    public synchronized void close() throws IOException {
        closed = true;
        channel.close();
    }

    /**
     * Writes {@code tensors} (in the map's iteration order) and {@code metadata} (may be null or empty) to
     * {@code file} atomically: a temporary file in the same directory, then a rename; on failure {@code file} is
     * untouched and the temporary file removed. See {@link SafeTensorsWriter}.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        SafeTensorsWriter.write(file, tensors, metadata);
    }

    /** {@link #write(Path, Map, Map)} without metadata. */
    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        SafeTensorsWriter.write(file, tensors, null);
    }

    @Override
    public String toString() {
        return "SafeTensors[" + file + ", " + size() + " tensors]";
    }
}
