package dev.dragedit.video;

import dev.dragedit.drag.Images.Rgb;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An H.264 MP4 made by an external ffmpeg (Java has no video encoder): raw rgb24 frames are piped to its stdin —
 * {@code ffmpeg -y -loglevel error -f rawvideo -pix_fmt rgb24 -s W'xH' -r FPS -i - -c:v libx264 -pix_fmt yuv420p
 * -movflags +faststart -f mp4 TMP} — while a thread drains its stderr (keeping the last lines for the error message,
 * so a full pipe can never stall it). yuv420p needs even sides, so frames of an odd width or height are padded by
 * repeating their last column or row. ffmpeg is the executable that DRAGEDIT_FFMPEG names, else {@code ffmpeg} on
 * PATH ({@link #findFfmpeg}); a non-zero exit is an IOException with ffmpeg's last stderr lines, and an abort destroys
 * the process. {@code -f mp4} is given because the temporary file's name ends in .tmp.
 */
public final class Mp4VideoWriter extends AtomicVideoFile {
    /** stderr lines kept for messages. */
    private static final int TAIL_LINES = 12;

    private final Path ffmpeg;
    private Process process;
    private OutputStream stdin;
    private Thread drainer;
    private final ArrayDeque<String> tail = new ArrayDeque<>();
    private int paddedWidth, paddedHeight;
    private byte[] buffer;

    /** A writer for out at fps frames per second (0 &lt; fps ≤ 100) through the given ffmpeg executable. */
    Mp4VideoWriter(Path out, double fps, Path ffmpeg) throws IOException {
        super(out, fps);
        this.ffmpeg = ffmpeg;
    }

    /** The command run for frames of the given (already even) size. */
    List<String> command(int w, int h) {
        return List.of(ffmpeg.toString(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                "-s", w + "x" + h, "-r", BigDecimal.valueOf(fps).stripTrailingZeros().toPlainString(), "-i", "-",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", tmp.toString());
    }

    @Override
    protected void begin(int width, int height) throws IOException {
        paddedWidth = width + (width & 1);
        paddedHeight = height + (height & 1);
        buffer = new byte[3 * paddedWidth * paddedHeight];
        ProcessBuilder pb = new ProcessBuilder(command(paddedWidth, paddedHeight)).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new IOException("cannot start ffmpeg (" + ffmpeg + "): " + e.getMessage(), e);
        }
        stdin = process.getOutputStream();
        Process p = process;
        drainer = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (tail) {
                        if (line.isBlank()) continue;
                        tail.addLast(line.strip());
                        if (tail.size() > TAIL_LINES) tail.removeFirst();
                    }
                }
            } catch (IOException ignored) {
                // the process went away; what was read is kept
            }
        }, "ffmpeg-stderr");
        drainer.setDaemon(true);
        drainer.start();
    }

    @Override
    protected void write(Rgb frame) throws IOException {
        byte[] data = frame.pixels();
        if (paddedWidth != frame.width() || paddedHeight != frame.height()) {
            int w = frame.width(), h = frame.height(), row = 3 * paddedWidth;
            for (int y = 0; y < h; y++) {
                System.arraycopy(frame.pixels(), 3 * w * y, buffer, row * y, 3 * w);
                if (paddedWidth != w) System.arraycopy(buffer, row * y + 3 * (w - 1), buffer, row * y + 3 * w, 3);
            }
            if (paddedHeight != h) System.arraycopy(buffer, row * (h - 1), buffer, row * h, row);
            data = buffer;
        }
        try {
            stdin.write(data);
        } catch (IOException e) {
            // ffmpeg stopped reading (it failed); its own words say why.
            throw failure(waitQuietly(), e);
        }
    }

    @Override
    protected void complete() throws IOException {
        IOException closing = null;
        try {
            stdin.close();
        } catch (IOException e) {
            closing = e;                 // a broken pipe: ffmpeg already exited; its exit status tells
        }
        int rc;
        try {
            rc = process.waitFor();
            drainer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while ffmpeg finished " + out, e);
        }
        if (rc != 0 || closing != null) throw failure(rc, closing);
        if (!Files.exists(tmp) || Files.size(tmp) == 0) throw failure(rc, null);
    }

    @Override
    protected void abort() {
        if (process == null) return;
        try {
            stdin.close();
        } catch (IOException ignored) {
            // it is being destroyed anyway
        }
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);   // so the temporary file is no longer written when it is deleted
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** ffmpeg's exit status after it failed (destroying it when it does not exit within 10 s), or -1. */
    private int waitQuietly() {
        try {
            if (process.waitFor(10, TimeUnit.SECONDS)) {
                drainer.join(5_000);
                return process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process.destroyForcibly();
        return -1;
    }

    private IOException failure(int rc, IOException cause) {
        String lines;
        synchronized (tail) { lines = String.join("\n", tail); }
        String msg = "ffmpeg failed writing " + out + (rc >= 0 ? " (exit status " + rc + ")" : "")
                + (lines.isEmpty() ? (rc == 0 ? ": it wrote no video" : "") : ":\n" + lines);
        return new IOException(msg, cause);
    }

    /**
     * The ffmpeg to run: the executable DRAGEDIT_FFMPEG names (a path, or a name looked up on PATH), else
     * {@code ffmpeg} on PATH.
     *
     * @throws IllegalArgumentException when there is none, saying MP4 needs ffmpeg and a .gif needs nothing
     */
    static Path findFfmpeg(Map<String, String> env) {
        String named = env.get(VideoWriter.FFMPEG_ENV);
        if (named != null && !named.isBlank()) {
            Path p = onPath(named.strip(), env);
            if (p == null)
                throw new IllegalArgumentException("--video: " + VideoWriter.FFMPEG_ENV + "=" + named
                        + " is not an executable file; MP4 output needs ffmpeg (or write a .gif instead, which needs nothing)");
            return p;
        }
        Path p = onPath("ffmpeg", env);
        if (p == null)
            throw new IllegalArgumentException("--video: MP4 output needs ffmpeg, and none was found on PATH or in "
                    + VideoWriter.FFMPEG_ENV + "; install ffmpeg, set " + VideoWriter.FFMPEG_ENV
                    + " to its path, or use a .gif name instead");
        return p;
    }

    /** name as an executable: a path when it has a separator, else looked up in the PATH folders; null if none. */
    private static Path onPath(String name, Map<String, String> env) {
        if (name.contains(File.separator)) {
            Path p = Path.of(name);
            return Files.isRegularFile(p) && Files.isExecutable(p) ? p.toAbsolutePath() : null;
        }
        String path = env.get("PATH");
        if (path == null) return null;
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            try {
                Path p = Path.of(dir, name);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) return p.toAbsolutePath();
            } catch (java.nio.file.InvalidPathException ignored) {
                // a malformed PATH entry: skipped, as a shell does
            }
        }
        return null;
    }
}
