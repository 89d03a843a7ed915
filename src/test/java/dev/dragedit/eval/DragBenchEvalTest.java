package dev.dragedit.eval;

import dev.dragedit.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The engine alone has no {@link DragBenchReader} (the weights converter brings it): {@code eval --suite dragbench}
 * says so in one line and fails; the suite's usage errors; the synthetic suite refuses DragBench's options.
 */
class DragBenchEvalTest {
    static String[] run(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = Main.run(args, new PrintWriter(o), new PrintWriter(e));
        return new String[]{String.valueOf(code), o.toString(), e.toString()};
    }

    @Test
    void withoutAReaderItSaysSoInOneLine(@TempDir Path tmp) {
        assertTrue(DragBenchReader.find().isEmpty(), "the engine's own class path has no reader");
        String[] r = run("eval", "--suite", "dragbench", tmp.toString());
        assertEquals(String.valueOf(Main.EXIT_FAILURE), r[0]);
        assertTrue(r[2].contains("no DragBench reader on the class path"), r[2]);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
    }

    @Test
    void usageErrors(@TempDir Path tmp) {
        String[] noDir = run("eval", "--suite", "dragbench");
        assertEquals(String.valueOf(Main.EXIT_USAGE), noDir[0]);
        assertTrue(noDir[2].contains("--suite dragbench needs DIR"), noDir[2]);
        String[] unknown = run("eval", "--suite", "nope");
        assertEquals(String.valueOf(Main.EXIT_USAGE), unknown[0]);
        assertTrue(unknown[2].contains("expected 'synthetic' or 'dragbench'"), unknown[2]);
        String[] stray = run("eval", tmp.toString());
        assertEquals(String.valueOf(Main.EXIT_USAGE), stray[0]);
        assertTrue(stray[2].contains("belong to --suite dragbench"), stray[2]);
    }

    @Test
    void sampleChecksItsShape() {
        var img = new dev.dragedit.drag.Images.Rgb(2, 3, new byte[18]);
        assertThrows(IllegalArgumentException.class, () -> new DragBenchSample("c", "s", img, new double[][]{{1, 1}}, null, "p"));
        assertThrows(IllegalArgumentException.class, () -> new DragBenchSample("c", "s", img, new double[][]{{1, 1}, {2, 2}}, new byte[5], "p"));
        assertEquals("c/s", new DragBenchSample("c", "s", img, new double[][]{{1, 1}, {2, 2}}, new byte[6], "p").id());
    }
}
