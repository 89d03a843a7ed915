package dev.dragedit.video;

import dev.dragedit.drag.Images.Rgb;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * What both video writers share: the temporary file next to the output, the frame-size and state checks, and the
 * atomic move on {@link #finish()} / clean-up on {@link #close()}. Subclasses stream frames into {@link #tmp}.
 * The temporary file is also marked delete-on-exit, so Ctrl+C (which skips finally blocks in running threads but
 * runs shutdown hooks) leaves nothing behind either.
 */
abstract class AtomicVideoFile implements VideoWriter {
    /** The output, absolute. */
    protected final Path out;
    /** The temporary file in out's folder, ".&lt;name&gt;.&lt;random&gt;.tmp". */
    protected final Path tmp;
    protected final double fps;
    private int width, height, frames;
    private boolean finished, closed;

    AtomicVideoFile(Path out, double fps) throws IOException {
        this.fps = checkFps(fps);
        this.out = out.toAbsolutePath();
        Path dir = this.out.getParent();
        Files.createDirectories(dir);
        this.tmp = Files.createTempFile(dir, "." + this.out.getFileName() + ".", ".tmp");
        this.tmp.toFile().deleteOnExit();
    }

    /** Called once, with the first frame's size, before the first {@link #write}. */
    protected abstract void begin(int width, int height) throws IOException;

    /** Streams one frame (of the fixed size) toward the temporary file. */
    protected abstract void write(Rgb frame) throws IOException;

    /** Completes the temporary file (all frames added); throws when it could not be completed. */
    protected abstract void complete() throws IOException;

    /** Releases whatever is open (streams, processes); the temporary file is deleted afterwards. Must not throw. */
    protected abstract void abort();

    @Override
    public final void add(Rgb frame) throws IOException {
        open("add a frame to");
        if (frame == null) throw new IllegalArgumentException("video frame is null");
        if (frames == 0) {
            width = frame.width();
            height = frame.height();
            begin(width, height);
        } else if (frame.width() != width || frame.height() != height) {
            throw new IllegalArgumentException("video frame " + (frames + 1) + " is " + frame.size() + " but the video is "
                    + width + "×" + height + " (the first frame's size); all frames must have one size");
        }
        write(frame);
        frames++;
    }

    @Override
    public final int frames() { return frames; }

    /** The video's size as fixed by the first frame (0 before it). */
    final int width() { return width; }

    final int height() { return height; }

    @Override
    public final void finish() throws IOException {
        open("finish");
        if (frames == 0) throw new IllegalStateException("video " + out + ": no frames were added; nothing to write");
        complete();
        shareable();
        try {
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
        }
        finished = true;
    }

    @Override
    public final void close() {
        if (closed) return;
        closed = true;
        if (finished) return;
        abort();
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // best effort: the file is also marked delete-on-exit
        }
    }

    /**
     * Gives the temporary file (created owner-only) the permissions of the file it replaces, or rw-r--r-- — what a
     * video written by other tools has. Best effort: skipped where POSIX permissions are not supported.
     */
    private void shareable() {
        try {
            Set<PosixFilePermission> perms = Files.exists(out) ? Files.getPosixFilePermissions(out)
                    : PosixFilePermissions.fromString("rw-r--r--");
            Files.setPosixFilePermissions(tmp, perms);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not a POSIX file system, or not ours to read: the default permissions stay
        }
    }

    private void open(String what) {
        if (closed) throw new IllegalStateException("cannot " + what + " video " + out + ": the writer is closed");
        if (finished) throw new IllegalStateException("cannot " + what + " video " + out + ": it is already finished");
    }

    /** fps checked: a number in (0, 100]. */
    static double checkFps(double fps) {
        if (!(fps > 0 && fps <= 100))
            throw new IllegalArgumentException("video frame rate " + fps + " must be more than 0 and at most 100 frames per second");
        return fps;
    }

    /**
     * The output's folder exists, or can be created: the nearest existing ancestor is a writable folder.
     *
     * @throws IllegalArgumentException otherwise
     */
    static void checkFolder(Path out) {
        Path dir = out.toAbsolutePath().getParent();
        if (Files.isDirectory(out)) throw new IllegalArgumentException("--video " + out + ": is a folder, expected a file name");
        Path p = dir;
        while (p != null && !Files.exists(p)) p = p.getParent();
        if (p == null) throw new IllegalArgumentException("--video " + out + ": folder " + dir + " cannot be created");
        if (!Files.isDirectory(p))
            throw new IllegalArgumentException("--video " + out + ": " + p + " is a file, so folder " + dir + " cannot be created");
        if (!Files.isWritable(p))
            throw new IllegalArgumentException("--video " + out + ": folder " + p + " is not writable");
    }
}
