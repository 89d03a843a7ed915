package dev.dragedit.models;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the bundled default model lives: models/tiny in the repository (a diffusers-layout Stable Diffusion folder
 * that {@code dragedit train-tiny} made). Found from the launcher's {@code -Ddragedit.home}, else from the jar's
 * location (target/dragedit.jar → the repository), else relative to the working directory.
 */
public final class BundledModel {
    private BundledModel() {}

    public static Path path() {
        String home = System.getProperty("dragedit.home");
        if (home != null && !home.isEmpty()) return Path.of(home, "models", "tiny");
        try {
            Path jar = Path.of(BundledModel.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // target/dragedit.jar, or target/classes when run from the build tree (src/target/classes: two levels up).
            for (Path p = jar.getParent(); p != null; p = p.getParent()) {
                Path m = p.resolve("models").resolve("tiny");
                if (Files.isDirectory(m)) return m;
            }
        } catch (Exception e) {
            // fall through
        }
        return Path.of("models", "tiny");
    }
}
