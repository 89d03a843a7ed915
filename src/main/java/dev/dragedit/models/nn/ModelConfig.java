package dev.dragedit.models.nn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model's config.json (as diffusers' save_config or transformers write it), read with typed getters: a missing key
 * takes the reference implementation's default where the caller gives one, and a value of the wrong type is an
 * error naming the file and the key. Files over 1 MiB are refused (a config is a few KiB).
 */
public final class ModelConfig {
    private static final long MAX_BYTES = 1 << 20;
    private final JsonNode root;
    private final String source;

    private ModelConfig(JsonNode root, String source) {
        this.root = root;
        this.source = source;
    }

    public static ModelConfig read(Path file) {
        try {
            if (!Files.isRegularFile(file)) throw new WeightsException("config: " + file + " does not exist or is not a file");
            if (Files.size(file) > MAX_BYTES)
                throw new WeightsException("config: " + file + " is " + Files.size(file) + " bytes; a config.json is at most " + MAX_BYTES);
            JsonNode n = new ObjectMapper().readTree(file.toFile());
            if (n == null || !n.isObject()) throw new WeightsException("config: " + file + " is not a JSON object");
            return new ModelConfig(n, file.toString());
        } catch (IOException e) {
            throw new WeightsException("config: cannot parse " + file + ": " + e.getMessage(), e);
        }
    }

    public static ModelConfig parse(String json, String source) {
        try {
            JsonNode n = new ObjectMapper().readTree(json);
            if (n == null || !n.isObject()) throw new WeightsException("config: " + source + " is not a JSON object");
            return new ModelConfig(n, source);
        } catch (IOException e) {
            throw new WeightsException("config: cannot parse " + source + ": " + e.getMessage(), e);
        }
    }

    public String source() { return source; }

    public JsonNode json() { return root; }

    public boolean has(String key) { return root.has(key) && !root.get(key).isNull(); }

    public int getInt(String key) {
        JsonNode v = require(key);
        if (!v.canConvertToInt() || !v.isIntegralNumber()) throw bad(key, v, "an integer");
        return v.intValue();
    }

    public int getInt(String key, int def) { return has(key) ? getInt(key) : def; }

    public double getDouble(String key) {
        JsonNode v = require(key);
        if (!v.isNumber()) throw bad(key, v, "a number");
        return v.doubleValue();
    }

    public double getDouble(String key, double def) { return has(key) ? getDouble(key) : def; }

    public boolean getBool(String key, boolean def) {
        if (!has(key)) return def;
        JsonNode v = root.get(key);
        if (!v.isBoolean()) throw bad(key, v, "true or false");
        return v.booleanValue();
    }

    public String getString(String key, String def) {
        if (!has(key)) return def;
        JsonNode v = root.get(key);
        if (!v.isTextual()) throw bad(key, v, "a string");
        return v.textValue();
    }

    public int[] getInts(String key) {
        JsonNode v = require(key);
        if (v.isIntegralNumber()) return new int[]{v.intValue()};
        if (!v.isArray()) throw bad(key, v, "a list of integers");
        int[] r = new int[v.size()];
        for (int i = 0; i < r.length; i++) {
            if (!v.get(i).isIntegralNumber()) throw bad(key, v, "a list of integers");
            r[i] = v.get(i).intValue();
        }
        return r;
    }

    public String[] getStrings(String key) {
        JsonNode v = require(key);
        if (!v.isArray()) throw bad(key, v, "a list of strings");
        String[] r = new String[v.size()];
        for (int i = 0; i < r.length; i++) {
            if (!v.get(i).isTextual()) throw bad(key, v, "a list of strings");
            r[i] = v.get(i).textValue();
        }
        return r;
    }

    private JsonNode require(String key) {
        if (!has(key)) throw new WeightsException("config: " + source + " lacks \"" + key + "\"");
        return root.get(key);
    }

    private WeightsException bad(String key, JsonNode v, String expected) {
        return new WeightsException("config: " + source + ": \"" + key + "\" is " + v + ", expected " + expected);
    }
}
