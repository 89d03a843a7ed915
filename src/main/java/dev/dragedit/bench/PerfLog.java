package dev.dragedit.bench;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * Where benchmark results go: one JSON line per run appended to docs/perf/&lt;name&gt;.jsonl of the repository, so
 * the history of a number travels with the code that produced it (with the commit hash on each line). The
 * repository is found from DRAGEDIT_HOME, else from the jar's location (target/dragedit.jar), else by walking up
 * from the working directory — so the result lands in the same file whichever directory ./dragedit ran from.
 */
public final class PerfLog {
    private PerfLog() {}

    /** The repository root, or null when none can be found. */
    public static Path home() {
        String env = System.getenv("DRAGEDIT_HOME");
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath();
        try {
            var src = PerfLog.class.getProtectionDomain().getCodeSource();
            if (src != null) {
                Path root = findRoot(Path.of(src.getLocation().toURI()));
                if (root != null) return root;
            }
        } catch (URISyntaxException | RuntimeException ignored) {
            // An unusual class loader: fall back to the working directory.
        }
        return findRoot(Path.of("").toAbsolutePath());
    }

    private static Path findRoot(Path start) {
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isRegularFile(p.resolve("dragedit"))) return p;
        }
        return null;
    }

    /** docs/perf/&lt;name&gt;.jsonl under the repository (or the working directory when there is none). */
    public static Path defaultFile(String name) {
        Path home = home();
        return (home != null ? home : Path.of("").toAbsolutePath()).resolve("docs/perf").resolve(name + ".jsonl");
    }

    /** The short commit hash of the repository, or null (no git, not a checkout). */
    public static String commit(Path dir) {
        if (dir == null) return null;
        try {
            Process p = new ProcessBuilder("git", "rev-parse", "--short", "HEAD").directory(dir.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            String hash = new String(out, StandardCharsets.UTF_8).strip();
            return p.exitValue() == 0 && !hash.isEmpty() ? hash : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Appends one line (a JSON document without newlines) to {@code file}, creating its folder. */
    public static void append(Path file, String jsonLine) throws IOException {
        if (jsonLine.indexOf('\n') >= 0) throw new IllegalArgumentException("a perf log line must not contain a newline");
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Files.writeString(file, jsonLine + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
