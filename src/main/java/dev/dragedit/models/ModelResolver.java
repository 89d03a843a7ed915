// Where a model argument becomes a diffusers folder. Commands take --model as a folder; with the weights converter
// on the classpath (dragedit-weights-converter, found through ServiceLoader) they also take a single-file LDM
// checkpoint (.safetensors / .ckpt) and LoRA files, which the converter turns into a folder once and caches under
// ~/.cache/dragedit/models/<sha256>/. The engine itself never parses those formats, so it does not depend on the
// converter module; a missing converter is reported, not guessed around.
package dev.dragedit.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/** Service interface: turns a model file (plus LoRAs) into a diffusers folder. */
public interface ModelResolver {
    /**
     * The diffusers folder for {@code input} with {@code loras} ({@code FILE[:scale]}) merged, or null when this
     * resolver does not handle such an input.
     */
    Path resolve(Path input, List<String> loras) throws IOException;

    /**
     * The folder to load for a model argument: a folder without LoRAs as it is; anything else through the first
     * {@link ModelResolver} on the classpath that takes it. Errors name the input and what was expected.
     */
    static Path resolveModel(Path input, List<String> loras) throws IOException {
        List<String> ls = loras == null ? List.of() : loras;
        if (!Files.exists(input)) throw new IOException(input + ": no such model folder or weights file");
        if (Files.isDirectory(input) && ls.isEmpty()) return input;
        try {
            for (ModelResolver r : ServiceLoader.load(ModelResolver.class)) {
                Path p = r.resolve(input, ls);
                if (p != null) return p;
            }
        } catch (ServiceConfigurationError e) {
            throw new IOException("a META-INF/services/" + ModelResolver.class.getName() + " entry is broken: " + e.getMessage(), e);
        }
        throw new IOException(input + (Files.isDirectory(input) ? ": merging LoRA files" : ": is a single file; reading single-file checkpoints")
                + " needs the weights converter (dragedit-weights-converter) on the classpath");
    }

    /** Where converted models are cached: -Ddragedit.cache, else DRAGEDIT_CACHE, else ~/.cache/dragedit; then models/. */
    static Path cacheRoot() {
        String p = System.getProperty("dragedit.cache", System.getenv("DRAGEDIT_CACHE"));
        Path base = p != null && !p.isBlank() ? Path.of(p) : Path.of(System.getProperty("user.home"), ".cache", "dragedit");
        return base.resolve("models");
    }
}
