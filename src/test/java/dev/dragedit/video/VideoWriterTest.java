package dev.dragedit.video;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.dragedit.video.GifVideoWriterTest.frame;
import static dev.dragedit.video.GifVideoWriterTest.listing;
import static org.junit.jupiter.api.Assertions.*;

class VideoWriterTest {
    @TempDir Path dir;

    @Test
    void sizeMismatchIsRejectedNamingBothSizes() throws Exception {
        Path out = dir.resolve("a.gif");
        try (VideoWriter w = VideoWriter.open(out, 5)) {
            w.add(frame(9, 17, 1));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.add(frame(10, 17, 2)));
            assertTrue(e.getMessage().contains("17×10") && e.getMessage().contains("17×9"), e.getMessage());
            assertEquals(1, w.frames());
        }
        assertEquals(List.of(), listing(dir));
    }

    @Test
    void closeWithoutFinishLeavesNoFileAndNoTemporaryFile() throws Exception {
        Path out = dir.resolve("sub/folder/a.gif");
        try (VideoWriter w = VideoWriter.open(out, 5)) {
            w.add(frame(9, 17, 1));
            w.add(frame(9, 17, 2));
            assertEquals(1, listing(out.getParent()).size(), "the temporary file while writing");
            assertTrue(listing(out.getParent()).get(0).getFileName().toString().matches("\\.a\\.gif\\..+\\.tmp"));
        }
        assertFalse(Files.exists(out));
        assertEquals(List.of(), listing(out.getParent()));
    }

    @Test
    void existingOutputStaysUntouchedOnAbortAndIsReplacedOnFinish() throws Exception {
        Path out = dir.resolve("keep.gif");
        Files.writeString(out, "old");
        if (Files.getFileStore(out).supportsFileAttributeView("posix"))
            Files.setPosixFilePermissions(out, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        try (VideoWriter w = VideoWriter.open(out, 5)) {
            w.add(frame(9, 17, 1));
            // an exception here, e.g. a failed drag step: no finish
        }
        assertEquals("old", Files.readString(out));
        assertEquals(List.of(out), listing(dir));
        try (VideoWriter w = VideoWriter.open(out, 5)) {
            w.add(frame(9, 17, 1));
            w.finish();
            assertThrows(IllegalStateException.class, () -> w.add(frame(9, 17, 1)));
        }
        assertTrue(Files.size(out) > 100);
        if (Files.getFileStore(out).supportsFileAttributeView("posix"))
            assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        assertEquals(List.of(out), listing(dir));
    }

    @Test
    void finishWithoutFramesIsAnError() throws Exception {
        Path out = dir.resolve("empty.gif");
        try (VideoWriter w = VideoWriter.open(out, 5)) {
            assertThrows(IllegalStateException.class, w::finish);
        }
        assertEquals(List.of(), listing(dir));
    }

    @Test
    void checkMessages() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VideoWriter.check(dir.resolve("x.avi")));
        assertEquals("--video " + dir.resolve("x.avi") + ": expected a name ending in .gif or .mp4", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VideoWriter.check(dir.resolve("gif")));
        VideoWriter.check(dir.resolve("ok.gif"));
        VideoWriter.check(dir.resolve("new/folder/ok.GIF"));
        assertFalse(Files.exists(dir.resolve("new")), "check creates nothing");
        Files.writeString(dir.resolve("file"), "x");
        e = assertThrows(IllegalArgumentException.class, () -> VideoWriter.check(dir.resolve("file/a.gif")));
        assertTrue(e.getMessage().contains("is a file"), e.getMessage());

        Map<String, String> noFfmpeg = Map.of("PATH", dir.toString());
        e = assertThrows(IllegalArgumentException.class, () -> VideoWriter.check(dir.resolve("a.mp4"), noFfmpeg));
        assertTrue(e.getMessage().contains("MP4 output needs ffmpeg") && e.getMessage().contains("PATH")
                && e.getMessage().contains("DRAGEDIT_FFMPEG") && e.getMessage().contains(".gif"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> VideoWriter.check(dir.resolve("a.mp4"), Map.of("DRAGEDIT_FFMPEG", dir.resolve("nope").toString())));
        assertTrue(e.getMessage().contains("DRAGEDIT_FFMPEG=") && e.getMessage().contains("not an executable"), e.getMessage());

        Path fake = Mp4VideoWriterTest.script(dir, "ffmpeg", "exit 0");
        VideoWriter.check(dir.resolve("a.MP4"), Map.of("PATH", "/nonexistent:" + dir));
        VideoWriter.check(dir.resolve("a.mp4"), Map.of("DRAGEDIT_FFMPEG", fake.toString()));
        assertEquals(fake.toAbsolutePath(), Mp4VideoWriter.findFfmpeg(Map.of("DRAGEDIT_FFMPEG", "ffmpeg", "PATH", dir.toString())));
        VideoWriter.check(dir.resolve("a.gif"), Map.of());   // GIF needs no ffmpeg
    }

    @Test
    void fpsIsChecked() {
        for (double fps : new double[] {0, -1, 100.5, Double.NaN, Double.POSITIVE_INFINITY})
            assertThrows(IllegalArgumentException.class, () -> VideoWriter.open(dir.resolve("f.gif"), fps), "fps " + fps);
        assertEquals(List.of(), assertDoesNotThrow(() -> listing(dir)));
    }

}
