package dev.dragedit.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * models/tiny/reproduce.sh, the script that re-runs the bundled model's four training runs: its arguments are checked
 * before anything is trained or written, an existing run folder is never overwritten, and its table of commits still
 * names the bundled weights (the script refuses to start otherwise, so reaching the folder check proves the table).
 * The training itself takes hours and is not run here.
 */
class ReproduceScriptTest {
    @TempDir Path tmp;

    record Run(int code, String out) {}

    static Path root() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent())
            if (Files.isRegularFile(d.resolve("models/tiny/reproduce.sh"))) return d;
        throw new IllegalStateException("models/tiny/reproduce.sh not found above " + Path.of("").toAbsolutePath());
    }

    static Run run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", root().resolve("models/tiny/reproduce.sh").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        boolean done = p.waitFor(60, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) p.destroyForcibly();
        assertTrue(done, "reproduce.sh did not finish:\n" + out);
        return new Run(p.exitValue(), out);
    }

    @Test
    void badArgumentsAreRefusedBeforeAnythingIsWritten() throws Exception {
        Path work = tmp.resolve("work");
        String[][] bad = {{"--from", "5"}, {"--from", "3", "--to", "2"}, {"--from", "x"}, {"--from"}, {"--work", "--eval"},
                {"--bogus"}};
        String[] expected = {"--from and --to must be runs 1–4", "--from and --to must be runs 1–4", "--from and --to must be runs 1–4",
                "--from needs a value", "--work needs a value", "unknown argument '--bogus'"};
        for (int i = 0; i < bad.length; i++) {
            List<String> a = new ArrayList<>(List.of(bad[i]));
            if (!a.contains("--work")) a.addAll(List.of("--work", work.toString()));
            Run r = run(a.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", a) + ":\n" + r.out());
            assertTrue(r.out().contains(expected[i]), String.join(" ", a) + ":\n" + r.out());
            assertFalse(Files.exists(work), "nothing may be written for " + String.join(" ", a));
        }
    }

    @Test
    void helpDescribesTheOptions() throws Exception {
        Run r = run("--help");
        assertEquals(0, r.code(), r.out());
        for (String o : List.of("--from N", "--to N", "--work DIR", "--eval")) assertTrue(r.out().contains(o), r.out());
    }

    @Test
    void anExistingRunFolderIsLeftAloneAndTheCommitTableNamesTheBundledModel() throws Exception {
        Path root = root();
        assumeTrue(Files.exists(root.resolve(".git")), "not a git checkout: the script needs the repository's history");
        Process shallow = new ProcessBuilder("git", "-C", root.toString(), "rev-parse", "--is-shallow-repository").start();
        String s = new String(shallow.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        shallow.waitFor();
        assumeTrue(s.equals("false"), "a shallow clone lacks the commits the script compares with");

        Path work = tmp.resolve("work");
        Path run4 = Files.createDirectories(work.resolve("run4"));
        Files.writeString(run4.resolve("keep.txt"), "mine");
        Run r = run("--from", "4", "--work", work.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains(run4 + " exists"), r.out());
        assertFalse(r.out().contains("differs from run 4's"), r.out());
        assertEquals("mine", Files.readString(run4.resolve("keep.txt")));
        try (var files = Files.list(work)) { assertEquals(List.of(run4), files.toList()); }
    }
}
