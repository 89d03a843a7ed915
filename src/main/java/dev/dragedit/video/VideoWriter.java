package dev.dragedit.video;

import dev.dragedit.drag.Images.Rgb;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * An animation written frame by frame — the per-step previews of {@code dragedit edit --video out.gif|out.mp4}. Frames
 * are streamed to a temporary file next to the output (".&lt;name&gt;.&lt;random&gt;.tmp"), never all kept in memory;
 * {@link #finish()} completes it and moves it into place atomically, while {@link #close()} without finish aborts:
 * the temporary file is deleted and the output is left as it was, so a failed or interrupted edit leaves no partial
 * video. Use it in try-with-resources and call finish() as the last statement inside.
 * <p>
 * {@link #check(Path)} validates an output name before any work starts (so a typo fails in a second, not after the
 * edit); {@link #open(Path, double)} picks {@link GifVideoWriter} or {@link Mp4VideoWriter} by the extension.
 */
public interface VideoWriter extends AutoCloseable {

    /** Environment variable naming the ffmpeg executable for MP4 output (else {@code ffmpeg} on PATH). */
    String FFMPEG_ENV = "DRAGEDIT_FFMPEG";

    /**
     * Appends a frame. The first frame fixes the video's size.
     *
     * @throws IllegalArgumentException when the frame's size differs from the first frame's (both named)
     * @throws IllegalStateException    after finish() or close()
     */
    void add(Rgb frame) throws IOException;

    /** The number of frames added so far. */
    int frames();

    /**
     * Completes the file and moves it into place atomically (replacing an existing file).
     *
     * @throws IllegalStateException when no frame was added, or after finish() or close()
     */
    void finish() throws IOException;

    /** Without a successful {@link #finish()}: aborts, deleting the temporary file and leaving the output untouched. */
    @Override
    void close();

    /**
     * Checks an output name before any work: it ends in .gif or .mp4 (any case), its folder exists or can be
     * created, and for .mp4 that ffmpeg is available.
     *
     * @throws IllegalArgumentException with a one-line message for the user otherwise
     */
    static void check(Path out) {
        check(out, System.getenv());
    }

    /** {@link #check(Path)} with the environment given (for tests). */
    static void check(Path out, Map<String, String> env) {
        Format f = Format.of(out);
        AtomicVideoFile.checkFolder(out);
        if (f == Format.MP4) Mp4VideoWriter.findFfmpeg(env);
    }

    /**
     * Opens a writer for out, by its extension, at fps frames per second (0 &lt; fps ≤ 100); nothing appears at out
     * until {@link #finish()}.
     */
    static VideoWriter open(Path out, double fps) throws IOException {
        check(out);
        return switch (Format.of(out)) {
            case GIF -> new GifVideoWriter(out, fps);
            case MP4 -> new Mp4VideoWriter(out, fps, Mp4VideoWriter.findFfmpeg(System.getenv()));
        };
    }

    /** The output formats, by file extension. */
    enum Format {
        GIF, MP4;

        static Format of(Path out) {
            Path name = out == null ? null : out.getFileName();
            String n = name == null ? "" : name.toString().toLowerCase(Locale.ROOT);
            if (n.endsWith(".gif")) return GIF;
            if (n.endsWith(".mp4")) return MP4;
            throw new IllegalArgumentException("--video " + out + ": expected a name ending in .gif or .mp4");
        }
    }

}
