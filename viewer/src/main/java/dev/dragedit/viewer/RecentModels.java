package dev.dragedit.viewer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.dragedit.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model picker's "Recent" list: model folders the user loaded, newest first, at most {@link #MAX}, kept in
 * ~/.config/dragedit/recent.json ($XDG_CONFIG_HOME when set) as {"models": [...]}. A missing or unreadable file is an
 * empty list (it is a convenience, never a reason not to start); writes are atomic so two viewers cannot leave half a
 * file. Only loads from the panel or a drop are remembered, not --model or a script's model, so scripted runs (CI)
 * leave the user's list alone.
 */
final class RecentModels {
    static final int MAX = 8;

    private final Path file;
    private final List<String> models = new ArrayList<>();

    RecentModels(Path file) {
        this.file = file;
        try {
            if (Files.isRegularFile(file)) {
                JsonNode root = new ObjectMapper().readTree(file.toFile());
                JsonNode list = root == null ? null : root.get("models");
                if (list != null && list.isArray()) {
                    for (JsonNode n : list) {
                        if (n.isTextual() && !models.contains(n.asText()) && models.size() < MAX) models.add(n.asText());
                    }
                }
            }
        } catch (IOException e) {
            // an unreadable list starts empty and is rewritten at the next load
        }
    }

    /** ~/.config/dragedit/recent.json, or under $XDG_CONFIG_HOME. */
    static Path defaultFile() {
        String xdg = System.getenv("XDG_CONFIG_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        return base.resolve("dragedit").resolve("recent.json");
    }

    List<String> list() { return List.copyOf(models); }

    /** Moves (or adds) {@code model} to the front, drops the oldest beyond {@link #MAX}, and writes the file. */
    void add(String model) throws IOException {
        models.remove(model);
        models.add(0, model);
        while (models.size() > MAX) models.remove(models.size() - 1);
        ObjectMapper m = new ObjectMapper();
        ArrayNode arr = m.createArrayNode();
        models.forEach(arr::add);
        AtomicFiles.write(file, m.writerWithDefaultPrettyPrinter().writeValueAsBytes(m.createObjectNode().set("models", arr)));
    }
}
