// Locates ../shared/fixtures for the converter's tests, with the rules of the engine's test helper
// dev.dragedit.testing.Fixtures (whose test classes this module cannot see): -Ddragedit.fixtures, DRAGEDIT_FIXTURES,
// else shared/fixtures above the working directory; skipped when absent, failed when absent under CI=true.
package dev.dragedit.convert.testing;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

public final class FixtureFiles {
    private FixtureFiles() {}

    public static Path dir() {
        String p = System.getProperty("dragedit.fixtures", System.getenv("DRAGEDIT_FIXTURES"));
        if (p != null && !p.isBlank()) return Path.of(p);
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path c = d.resolve("shared").resolve("fixtures");
            if (Files.isDirectory(c)) return c;
        }
        return null;
    }

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
