package dev.dragedit.video;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.dragedit.video.GifVideoWriterTest.frame;
import static dev.dragedit.video.GifVideoWriterTest.listing;
import static org.junit.jupiter.api.Assertions.*;

/** Mp4VideoWriter against fake ffmpeg shell scripts (this machine has no ffmpeg). */
class Mp4VideoWriterTest {
    @TempDir Path dir;

    /** An executable /bin/sh script named name in folder d with the given body. */
    static Path script(Path d, String name, String body) throws IOException {
        Path p = d.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        assertTrue(p.toFile().setExecutable(true));
        return p;
    }

    @Test
    void framesArePipedAsRawRgbPaddedToEvenSize() throws Exception {
        Path bin = Files.createDirectory(dir.resolve("bin"));
        Path args = bin.resolve("args.txt");
        // Copies stdin to its last argument and records its arguments.
        Path fake = script(bin, "fake-ffmpeg", "for a; do last=$a; done\necho \"$@\" > '" + args + "'\ncat > \"$last\"");
        Path out = dir.resolve("out/edit.mp4");
        try (Mp4VideoWriter w = new Mp4VideoWriter(out, 12.5, fake)) {
            for (int i = 0; i < 3; i++) w.add(frame(9, 17, i));
            assertThrows(IllegalArgumentException.class, () -> w.add(frame(8, 17, 4)));
            w.finish();
        }
        assertEquals(3L * 18 * 10 * 3, Files.size(out), "frames · W' · H' · 3 bytes with even W', H'");
        assertEquals(List.of(out), listing(out.getParent()));
        String a = Files.readString(args).strip();
        assertTrue(a.startsWith("-y -loglevel error -f rawvideo -pix_fmt rgb24 -s 18x10 -r 12.5 -i - -c:v libx264 -pix_fmt yuv420p -movflags +faststart -f mp4 "), a);
        assertTrue(a.matches(".*/out/\\.edit\\.mp4\\..+\\.tmp"), a);
        // Padding repeats the last column and row.
        byte[] v = Files.readAllBytes(out);
        var f0 = frame(9, 17, 0);
        for (int c = 0; c < 3; c++) {
            assertEquals(f0.get(0, 16, c), v[(0 * 18 + 17) * 3 + c] & 0xff);
            assertEquals(f0.get(8, 5, c), v[(9 * 18 + 5) * 3 + c] & 0xff);
            assertEquals(f0.get(8, 16, c), v[(9 * 18 + 17) * 3 + c] & 0xff);
            assertEquals(f0.get(4, 7, c), v[(4 * 18 + 7) * 3 + c] & 0xff);
        }
    }

    @Test
    void evenSizesAreSentAsTheyAre() throws Exception {
        Path fake = script(dir, "ff", "for a; do last=$a; done\ncat > \"$last\"");
        Path out = dir.resolve("e.mp4");
        try (Mp4VideoWriter w = new Mp4VideoWriter(out, 30, fake)) {
            w.add(frame(10, 16, 1));
            w.add(frame(10, 16, 2));
            w.finish();
        }
        assertEquals(2L * 16 * 10 * 3, Files.size(out));
    }

    @Test
    void ffmpegFailureIsAnIOExceptionWithItsMessageAndNoOutput() throws Exception {
        Path fake = script(dir, "bad-ffmpeg", "echo 'Unknown encoder libx264' >&2\nexit 1");
        Path out = dir.resolve("v/bad.mp4");
        IOException e = assertThrows(IOException.class, () -> {
            try (Mp4VideoWriter w = new Mp4VideoWriter(out, 10, fake)) {
                for (int i = 0; i < 3; i++) w.add(frame(9, 17, i));
                w.finish();
            }
        });
        assertTrue(e.getMessage().contains("Unknown encoder libx264") && e.getMessage().contains("exit status 1"), e.getMessage());
        assertEquals(List.of(), listing(out.getParent()));
    }

    @Test
    void ffmpegDyingWhileFramesAreWrittenIsReported() throws Exception {
        // Big frames fill the pipe, so the write itself fails once the fake has exited.
        Path fake = script(dir, "dies", "echo 'boom: cannot encode' >&2\nexit 3");
        Path out = dir.resolve("big.mp4");
        Files.writeString(out, "old");
        IOException e = assertThrows(IOException.class, () -> {
            try (Mp4VideoWriter w = new Mp4VideoWriter(out, 10, fake)) {
                for (int i = 0; i < 20; i++) w.add(OverlayTest.gradient(512, 512));
                w.finish();
            }
        });
        assertTrue(e.getMessage().contains("boom: cannot encode"), e.getMessage());
        assertEquals("old", Files.readString(out));
        assertEquals(List.of(out, dir.resolve("dies")), listing(dir));
    }

    @Test
    void abortDestroysFfmpegAndDeletesTheTemporaryFile() throws Exception {
        Path fake = script(dir, "slow", "for a; do last=$a; done\necho partial > \"$last\"\nsleep 30");
        Path out = dir.resolve("sub/a.mp4");
        long t0 = System.nanoTime();
        try (Mp4VideoWriter w = new Mp4VideoWriter(out, 10, fake)) {
            w.add(frame(9, 17, 1));
        }
        assertTrue(System.nanoTime() - t0 < 20e9, "did not wait for the fake to finish");
        assertEquals(List.of(), listing(out.getParent()));
    }
}
