package dev.dragedit.bench;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 bytes in, characters out to a PrintWriter: JMH writes its report to a PrintStream, the CLI hands commands
 * a PrintWriter (which tests capture). Decodes as the bytes arrive, keeping a character split across two writes
 * for the next one, and flushes the writer on every flush so JMH's progress lines appear while a benchmark runs.
 * Closing it flushes but leaves the writer open: JMH closes its stream at the end of a run, the CLI still needs
 * the writer afterwards.
 */
final class WriterOutputStream extends OutputStream {
    private final PrintWriter out;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private final ByteBuffer in = ByteBuffer.allocate(8192);
    private final CharBuffer chars = CharBuffer.allocate(8192);

    WriterOutputStream(PrintWriter out) { this.out = out; }

    @Override
    public synchronized void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        while (len > 0) {
            int n = Math.min(len, in.remaining());
            in.put(b, off, n);
            off += n;
            len -= n;
            drain();
        }
    }

    /** Decodes what is buffered; an incomplete trailing sequence stays in {@code in}. */
    private void drain() {
        in.flip();
        while (true) {
            boolean full = decoder.decode(in, chars, false).isOverflow();
            chars.flip();
            out.append(chars);
            chars.clear();
            if (!full) break;
        }
        in.compact();
    }

    @Override
    public synchronized void flush() {
        out.flush();
    }

    @Override
    public synchronized void close() {
        out.flush();
    }
}
