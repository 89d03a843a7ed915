package dev.dragedit.viewer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code dragedit view --script session.json}: a list of input events (add points, paint, start, wait for N steps,
 * undo, screenshot, save…) that the viewer replays as if a user did them, so that CI can drive a real window and read
 * the screenshots back. The whole file is checked before the window opens: an unknown event, a missing or wrong-typed
 * field, a misspelt field name, a negative radius… is one {@link IllegalArgumentException} naming the file, the event
 * ({@code events[3] ("paint")}), the field and what was expected, so a broken script fails at once instead of half way
 * through a run.
 * <pre>
 * {"window": [1280, 800], "image": "cat.png", "model": "../models/tiny",
 *  "events": [{"do": "click", "x": 20, "y": 30}, {"do": "click", "x": 40, "y": 30},
 *             {"do": "paint", "mode": "may_change", "radius": 8, "points": [[10, 10], [50, 40]]},
 *             {"do": "start"}, {"do": "wait_steps", "n": 3, "timeout_s": 120}, {"do": "screenshot", "path": "s1.png"},
 *             {"do": "wait_done"}, {"do": "undo"}, {"do": "save", "path": "out.png"}]}
 * </pre>
 * Coordinates of click, drag_point and paint are image pixels; zoom's x, y and pan's dx, dy are window pixels. Paths
 * are relative to the script's folder and come out absolute. A wait's timeout_s is optional ({@link #DEFAULT_TIMEOUT_S}).
 */
public final class SessionScript {
    /** Window size when the script names none (the interactive default). */
    public static final int DEFAULT_W = 1280, DEFAULT_H = 800;
    /** A wait without timeout_s gives up after this long (a CI run must not hang on a drag that never ends). */
    public static final double DEFAULT_TIMEOUT_S = 300;
    /** Largest window side accepted (beyond any GL implementation's framebuffer). */
    static final int MAX_WINDOW = 16384;

    /** Fields "set" accepts, in RunParams's terms (the panel's fields). */
    public static final Set<String> SET_FIELDS = Set.of("prompt", "seed", "steps", "lr", "lam", "r_m", "r_p", "strength", "lora_steps", "inference_steps");

    public sealed interface Event permits Click, DragPoint, RemovePoint, Paint, ResetMask, ShowMask, SetField, Start, Stop,
            WaitSteps, WaitDone, Undo, Redo, Zoom, Fit, ActualSize, Pan, Screenshot, Save, Export, Open, Frames {
    }

    /** Adds a point at image pixels (x, y): a handle, or the pending pair's target. */
    public record Click(double x, double y) implements Event {}

    /** Moves point {@code index} (flat: 2k handle k, 2k+1 target k) to image pixels (x, y). */
    public record DragPoint(int index, double x, double y) implements Event {}

    public record RemovePoint(int index) implements Event {}

    /** One brush stroke through {@code points} ({x, y} image pixels). */
    public record Paint(boolean mayChange, double radius, List<double[]> points) implements Event {}

    public record ResetMask() implements Event {}

    public record ShowMask(boolean on) implements Event {}

    /**
     * A panel field; value is a String (prompt), Long (seed), Integer (steps, r_m, r_p, lora_steps, inference_steps)
     * or Double (lr, lam, strength).
     */
    public record SetField(String field, Object value) implements Event {
        public int intValue() { return ((Number) value).intValue(); }

        public long longValue() { return ((Number) value).longValue(); }

        public double doubleValue() { return ((Number) value).doubleValue(); }

        public String stringValue() { return value.toString(); }
    }

    public record Start() implements Event {}

    public record Stop() implements Event {}

    /** Waits until the running drag has made n optimisation steps or has finished. */
    public record WaitSteps(int n, double timeoutS) implements Event {}

    /** Waits until the run has finished and its result is applied. */
    public record WaitDone(double timeoutS) implements Event {}

    public record Undo() implements Event {}

    public record Redo() implements Event {}

    /** Zoom by factor at window pixels (x, y). */
    public record Zoom(double factor, double x, double y) implements Event {}

    public record Fit() implements Event {}

    public record ActualSize() implements Event {}

    /** Pans by (dx, dy) window pixels. */
    public record Pan(double dx, double dy) implements Event {}

    /** The window's pixels as PNG. */
    public record Screenshot(Path path) implements Event {}

    /** Like Ctrl+S: the image (PNG) and its sidecar. */
    public record Save(Path path) implements Event {}

    /** Like the export button: the last drag as GIF or MP4. */
    public record Export(Path path) implements Event {}

    /** Like Ctrl+O. */
    public record Open(Path path) implements Event {}

    /** Renders n frames without input. */
    public record Frames(int n) implements Event {}

    private static final Map<String, Set<String>> FIELDS = new LinkedHashMap<>();

    static {
        FIELDS.put("click", Set.of("x", "y"));
        FIELDS.put("drag_point", Set.of("index", "x", "y"));
        FIELDS.put("remove_point", Set.of("index"));
        FIELDS.put("paint", Set.of("mode", "radius", "points"));
        FIELDS.put("reset_mask", Set.of());
        FIELDS.put("show_mask", Set.of("on"));
        FIELDS.put("set", Set.of("field", "value"));
        FIELDS.put("start", Set.of());
        FIELDS.put("stop", Set.of());
        FIELDS.put("wait_steps", Set.of("n", "timeout_s"));
        FIELDS.put("wait_done", Set.of("timeout_s"));
        FIELDS.put("undo", Set.of());
        FIELDS.put("redo", Set.of());
        FIELDS.put("zoom", Set.of("factor", "x", "y"));
        FIELDS.put("fit", Set.of());
        FIELDS.put("actual_size", Set.of());
        FIELDS.put("pan", Set.of("dx", "dy"));
        FIELDS.put("screenshot", Set.of("path"));
        FIELDS.put("save", Set.of("path"));
        FIELDS.put("export", Set.of("path"));
        FIELDS.put("open", Set.of("path"));
        FIELDS.put("frames", Set.of("n"));
    }

    private static final Set<String> TOP = Set.of("window", "image", "model", "events");

    private final Path file;
    private final int windowW, windowH;
    private final Path image, model;
    private final List<Event> events;

    private SessionScript(Path file, int windowW, int windowH, Path image, Path model, List<Event> events) {
        this.file = file;
        this.windowW = windowW;
        this.windowH = windowH;
        this.image = image;
        this.model = model;
        this.events = List.copyOf(events);
    }

    /** The script file (absolute). */
    public Path file() { return file; }

    public int windowWidth() { return windowW; }

    public int windowHeight() { return windowH; }

    /** The image to open first (absolute), or null. */
    public Path image() { return image; }

    /** The model folder (absolute), or null. */
    public Path model() { return model; }

    public List<Event> events() { return events; }

    /** Reads and checks a script; IllegalArgumentException with one line naming the file, the event and the field. */
    public static SessionScript read(Path file) {
        String what = "--script " + file;
        if (!Files.exists(file)) throw new IllegalArgumentException(what + " does not exist; expected a JSON file of viewer events");
        if (Files.isDirectory(file)) throw new IllegalArgumentException(what + " is a folder; expected a JSON file of viewer events");
        JsonNode root;
        try {
            if (Files.size(file) > 16 << 20) throw new IllegalArgumentException(what + ": " + Files.size(file) + " bytes; a script is a small JSON object");
            ObjectMapper mapper = new ObjectMapper();
            mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
            mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            root = mapper.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(what + ": not valid JSON (" + e.getOriginalMessage() + " at line "
                    + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()) + ")");
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": cannot be read (" + e.getMessage() + ")");
        }
        if (root == null || !root.isObject())
            throw new IllegalArgumentException(what + ": expected a JSON object {\"window\": [w, h], \"image\": …, \"model\": …, \"events\": [...]}");
        Path abs = file.toAbsolutePath().normalize();
        Path dir = abs.getParent();
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!TOP.contains(k)) throw new IllegalArgumentException(what + ": unknown field \"" + k + "\"; expected " + String.join(", ", List.of("window", "image", "model", "events")));
        }
        int w = DEFAULT_W, h = DEFAULT_H;
        JsonNode win = root.get("window");
        if (win != null && !win.isNull()) {
            if (!win.isArray() || win.size() != 2 || !isInt(win.get(0)) || !isInt(win.get(1))
                    || win.get(0).asLong() < 1 || win.get(1).asLong() < 1 || win.get(0).asLong() > MAX_WINDOW || win.get(1).asLong() > MAX_WINDOW)
                throw new IllegalArgumentException(what + ": \"window\" must be [width, height], whole numbers in 1.." + MAX_WINDOW + ", got " + win);
            w = win.get(0).intValue();
            h = win.get(1).intValue();
        }
        Path image = topPath(root, "image", what, dir), model = topPath(root, "model", what, dir);
        JsonNode evs = root.get("events");
        if (evs == null || !evs.isArray())
            throw new IllegalArgumentException(what + ": \"events\" must be a list of event objects like {\"do\": \"click\", \"x\": 10, \"y\": 20}"
                    + (evs == null ? ", but it is missing" : ", got " + kind(evs)));
        List<Event> out = new ArrayList<>();
        for (int i = 0; i < evs.size(); i++) out.add(parse(evs.get(i), new Where(what, i, dir)));
        return new SessionScript(abs, w, h, image, model, out);
    }

    private static Path topPath(JsonNode root, String name, String what, Path dir) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) return null;
        if (!n.isTextual() || n.asText().isBlank()) throw new IllegalArgumentException(what + ": \"" + name + "\" must be a path (a non-empty string), got " + n);
        return dir.resolve(n.asText()).normalize();
    }

    /** Where a field is, for messages: "--script F: events[3] ("paint")". */
    private record Where(String file, int index, Path dir) {
        String at(String kind) { return file + ": events[" + index + "]" + (kind == null ? "" : " (\"" + kind + "\")"); }
    }

    private static Event parse(JsonNode e, Where where) {
        if (!e.isObject())
            throw new IllegalArgumentException(where.at(null) + ": expected an object like {\"do\": \"click\", \"x\": 10, \"y\": 20}, got " + kind(e));
        JsonNode d = e.get("do");
        if (d == null || !d.isTextual())
            throw new IllegalArgumentException(where.at(null) + ": field \"do\": expected the event kind as a string (one of " + String.join(", ", FIELDS.keySet())
                    + ")" + (d == null ? ", but it is missing" : ", got " + d));
        String kind = d.asText();
        Set<String> allowed = FIELDS.get(kind);
        if (allowed == null)
            throw new IllegalArgumentException(where.at(null) + ": field \"do\": unknown event \"" + kind + "\"; expected one of " + String.join(", ", FIELDS.keySet()));
        String at = where.at(kind);
        for (Iterator<String> it = e.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals("do") && !allowed.contains(k))
                throw new IllegalArgumentException(at + ": unknown field \"" + k + "\"; \"" + kind + "\" takes "
                        + (allowed.isEmpty() ? "no fields" : String.join(", ", allowed.stream().sorted().toList())));
        }
        F f = new F(e, at);
        return switch (kind) {
            case "click" -> new Click(f.num("x"), f.num("y"));
            case "drag_point" -> new DragPoint(f.index("index"), f.num("x"), f.num("y"));
            case "remove_point" -> new RemovePoint(f.index("index"));
            case "paint" -> {
                String mode = f.str("mode");
                if (!mode.equals("may_change") && !mode.equals("keep"))
                    throw new IllegalArgumentException(at + ": field \"mode\": expected \"may_change\" or \"keep\", got \"" + mode + "\"");
                yield new Paint(mode.equals("may_change"), f.positive("radius"), f.points("points"));
            }
            case "reset_mask" -> new ResetMask();
            case "show_mask" -> new ShowMask(f.bool("on"));
            case "set" -> setField(f, at);
            case "start" -> new Start();
            case "stop" -> new Stop();
            case "wait_steps" -> new WaitSteps(f.count("n", 1), f.timeout());
            case "wait_done" -> new WaitDone(f.timeout());
            case "undo" -> new Undo();
            case "redo" -> new Redo();
            case "zoom" -> new Zoom(f.positive("factor"), f.num("x"), f.num("y"));
            case "fit" -> new Fit();
            case "actual_size" -> new ActualSize();
            case "pan" -> new Pan(f.num("dx"), f.num("dy"));
            case "screenshot" -> new Screenshot(f.path("path", where.dir(), ".png"));
            case "save" -> new Save(f.path("path", where.dir(), ".png"));
            case "export" -> new Export(f.path("path", where.dir(), ".gif", ".mp4"));
            case "open" -> new Open(f.path("path", where.dir()));
            case "frames" -> new Frames(f.count("n", 1));
            default -> throw new AssertionError(kind); // FIELDS and this switch list the same kinds
        };
    }

    private static Event setField(F f, String at) {
        String field = f.str("field");
        if (!SET_FIELDS.contains(field))
            throw new IllegalArgumentException(at + ": field \"field\": unknown panel field \"" + field + "\"; expected one of "
                    + String.join(", ", SET_FIELDS.stream().sorted().toList()));
        Object v = switch (field) {
            case "prompt" -> f.str("value");
            case "seed" -> f.longValue("value");
            case "steps", "lora_steps" -> f.count("value", 0);
            case "inference_steps", "r_m", "r_p" -> f.count("value", 1);
            case "lr" -> f.positive("value");
            case "lam" -> f.nonNegative("value");
            case "strength" -> {
                double s = f.num("value");
                if (!(s > 0 && s <= 1)) throw new IllegalArgumentException(at + ": field \"value\" (strength): expected a number in (0, 1], got " + f.node("value"));
                yield s;
            }
            default -> throw new AssertionError(field);
        };
        return new SetField(field, v);
    }

    /** Typed access to one event's fields; every failure names the event and the field. */
    private record F(JsonNode e, String at) {
        JsonNode node(String name) {
            JsonNode n = e.get(name);
            if (n == null || n.isNull()) throw new IllegalArgumentException(at + ": field \"" + name + "\" is missing");
            return n;
        }

        private IllegalArgumentException wrong(String name, String expected, JsonNode n) {
            return new IllegalArgumentException(at + ": field \"" + name + "\": expected " + expected + ", got " + n + " (" + kind(n) + ")");
        }

        double num(String name) {
            JsonNode n = node(name);
            if (!n.isNumber() || !Double.isFinite(n.asDouble())) throw wrong(name, "a number", n);
            return n.asDouble();
        }

        double positive(String name) {
            double v = num(name);
            if (!(v > 0)) throw wrong(name, "a positive number", node(name));
            return v;
        }

        double nonNegative(String name) {
            double v = num(name);
            if (!(v >= 0)) throw wrong(name, "a number ≥ 0", node(name));
            return v;
        }

        int index(String name) {
            return count(name, 0);
        }

        /** A whole number ≥ min that fits an int (1.0 counts as whole; 1.5 and "1" do not). */
        int count(String name, int min) {
            JsonNode n = node(name);
            String expected = "a whole number ≥ " + min;
            if (!isInt(n)) throw wrong(name, expected, n);
            long v = n.asLong();
            if (v < min || v > Integer.MAX_VALUE) throw wrong(name, expected, n);
            return (int) v;
        }

        long longValue(String name) {
            JsonNode n = node(name);
            if (!isInt(n) || (n.isBigInteger() && !n.canConvertToLong())) throw wrong(name, "a whole number", n);
            return n.asLong();
        }

        String str(String name) {
            JsonNode n = node(name);
            if (!n.isTextual()) throw wrong(name, "a string", n);
            return n.asText();
        }

        boolean bool(String name) {
            JsonNode n = node(name);
            if (!n.isBoolean()) throw wrong(name, "true or false", n);
            return n.asBoolean();
        }

        double timeout() {
            return e.has("timeout_s") && !e.get("timeout_s").isNull() ? positive("timeout_s") : DEFAULT_TIMEOUT_S;
        }

        List<double[]> points(String name) {
            JsonNode n = node(name);
            String expected = "a non-empty list of [x, y] points in image pixels";
            if (!n.isArray() || n.isEmpty()) throw wrong(name, expected, n);
            List<double[]> out = new ArrayList<>();
            for (int i = 0; i < n.size(); i++) {
                JsonNode p = n.get(i);
                if (!p.isArray() || p.size() != 2 || !p.get(0).isNumber() || !p.get(1).isNumber()
                        || !Double.isFinite(p.get(0).asDouble()) || !Double.isFinite(p.get(1).asDouble()))
                    throw new IllegalArgumentException(at + ": field \"" + name + "\"[" + i + "]: expected [x, y] (two numbers), got " + p);
                out.add(new double[]{p.get(0).asDouble(), p.get(1).asDouble()});
            }
            return out;
        }

        Path path(String name, Path dir, String... extensions) {
            String s = str(name);
            if (s.isBlank()) throw wrong(name, "a path", node(name));
            if (extensions.length > 0) {
                String lower = s.toLowerCase(Locale.ROOT);
                boolean ok = false;
                for (String x : extensions) ok |= lower.endsWith(x);
                if (!ok) throw wrong(name, "a path ending in " + String.join(" or ", extensions), node(name));
            }
            try {
                return dir.resolve(s).normalize();
            } catch (java.nio.file.InvalidPathException ex) {
                throw wrong(name, "a valid path (" + ex.getReason() + ")", node(name));
            }
        }
    }

    private static boolean isInt(JsonNode n) {
        if (n == null) return false;
        if (n.isIntegralNumber()) return true;
        return n.isFloatingPointNumber() && n.asDouble() == Math.rint(n.asDouble()) && Double.isFinite(n.asDouble()) && Math.abs(n.asDouble()) < 1e15;
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isNull()) return "null";
        if (n.isTextual()) return "a string";
        if (n.isBoolean()) return "a boolean";
        if (n.isNumber()) return "a number";
        if (n.isArray()) return "a list";
        if (n.isObject()) return "an object";
        return n.getNodeType().toString().toLowerCase(Locale.ROOT);
    }
}
