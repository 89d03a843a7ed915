package dev.dragedit.testing;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Where the golden fixtures of the reference implementations live: {@code -Ddragedit.fixtures}, else
 * {@code DRAGEDIT_FIXTURES}, else {@code shared/fixtures} beside the repository (found by walking up from the working
 * directory, so it works from the root, a module, or a fresh clone in CI).
 */
public final class Fixtures {
    private Fixtures() {}

    public static Path dir() {
        String p = System.getProperty("dragedit.fixtures", System.getenv("DRAGEDIT_FIXTURES"));
        if (p != null && !p.isBlank()) return Path.of(p);
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path c = d.resolve("shared").resolve("fixtures");
            if (Files.isDirectory(c)) return c;
        }
        return null;
    }

    /**
     * The fixture file, or the test is skipped when the fixtures are absent on a developer's machine; under CI
     * (CI=true) an absent fixture fails, so a misplaced folder cannot silently skip the golden checks.
     */
    public static Path require(String relative) {
        Path d = dir();
        Path f = d == null ? null : d.resolve(relative);
        if (f == null || !Files.isReadable(f)) {
            String msg = "fixture " + relative + " not found (looked in " + (d == null ? "no shared/fixtures above " + Path.of("").toAbsolutePath() : d)
                    + "; set -Ddragedit.fixtures or DRAGEDIT_FIXTURES)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) fail(msg);
            assumeTrue(false, msg);
        }
        return f;
    }
}
