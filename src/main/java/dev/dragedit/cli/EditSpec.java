package dev.dragedit.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code dragedit edit --spec FILE}: the edit's inputs and parameters as JSON, with the command line's names in
 * snake_case. A field left out takes the command-line value or default; an option given on the command line wins
 * over the file. The file may also be an edit's sidecar: its {@code "spec"} member (every input and parameter of that
 * run, paths absolute) replays the edit. Relative paths in a spec file are relative to the file's folder. Unknown
 * fields and wrong types are errors naming the field (a misspelt "stesp" must not be ignored silently).
 * <pre>
 * {"model": "models/tiny", "image": "cat.png", "drags": ["40,32:52,30"], "mask": null, "prompt": "a cat",
 *  "out": "cat-edited.png", "video": "cat.gif", "lora_steps": 80, "steps": 80, "inference_steps": 50,
 *  "strength": 0.7, "seed": 0, "variant": null, "device": "auto", "video_fps": 10,
 *  "lr": 0.01, "lam": 0.1, "r_m": 1, "r_p": 3, "reach": 2, "feature_idx": [3], "lora_lr": 5e-4}
 * </pre>
 * A drag is "x1,y1:x2,y2", [[x1, y1], [x2, y2]] or {"handle_xy": [x1, y1], "target_xy": [x2, y2]} (the sidecar's form).
 * Public so that other front ends (the viewer's save) write the same replayable spec into their sidecars.
 */
public record EditSpec(Path model, String variant, Path image, Path mask, String prompt, Path out, Path video, Double videoFps,
                       List<String> drags, Integer loraSteps, Integer steps, Integer inferenceSteps, Double strength, Long seed,
                       String device, Double lr, Double lam, Integer rM, Integer rP, Double reach, List<Integer> featureIdx,
                       Double loraLr) {

    /** Without a LoRA learning rate (the default: DragDiffusion's 5e-4). */
    public EditSpec(Path model, String variant, Path image, Path mask, String prompt, Path out, Path video, Double videoFps,
                    List<String> drags, Integer loraSteps, Integer steps, Integer inferenceSteps, Double strength, Long seed,
                    String device, Double lr, Double lam, Integer rM, Integer rP, Double reach, List<Integer> featureIdx) {
        this(model, variant, image, mask, prompt, out, video, videoFps, drags, loraSteps, steps, inferenceSteps, strength, seed,
                device, lr, lam, rM, rP, reach, featureIdx, null);
    }

    /** Without UNet feature indices (the default: DragDiffusion's [3]). */
    public EditSpec(Path model, String variant, Path image, Path mask, String prompt, Path out, Path video, Double videoFps,
                    List<String> drags, Integer loraSteps, Integer steps, Integer inferenceSteps, Double strength, Long seed,
                    String device, Double lr, Double lam, Integer rM, Integer rP, Double reach) {
        this(model, variant, image, mask, prompt, out, video, videoFps, drags, loraSteps, steps, inferenceSteps, strength, seed,
                device, lr, lam, rM, rP, reach, null);
    }

    /** Without a reach distance (the default: DragDiffusion's 2 supervision pixels). */
    public EditSpec(Path model, String variant, Path image, Path mask, String prompt, Path out, Path video, Double videoFps,
                    List<String> drags, Integer loraSteps, Integer steps, Integer inferenceSteps, Double strength, Long seed,
                    String device, Double lr, Double lam, Integer rM, Integer rP) {
        this(model, variant, image, mask, prompt, out, video, videoFps, drags, loraSteps, steps, inferenceSteps, strength, seed,
                device, lr, lam, rM, rP, null);
    }

    static final Set<String> FIELDS = Set.of("model", "variant", "image", "mask", "prompt", "out", "video", "video_fps", "drags",
            "lora_steps", "steps", "inference_steps", "strength", "seed", "device", "lr", "lam", "r_m", "r_p", "reach", "feature_idx", "lora_lr");

    /** Reads a spec file, or the "spec" member of a sidecar. Throws IllegalArgumentException naming the file and field. */
    static EditSpec read(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--spec " + file + " does not exist");
        JsonNode root;
        try {
            if (Files.size(file) > 16 << 20) throw new IllegalArgumentException("--spec " + file + ": " + Files.size(file) + " bytes; a spec is a small JSON object");
            root = new ObjectMapper().readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("--spec " + file + ": not valid JSON (" + e.getOriginalMessage() + " at line "
                    + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()) + ")");
        } catch (IOException e) {
            throw new IllegalArgumentException("--spec " + file + ": cannot be read (" + e.getMessage() + ")");
        }
        String what = "--spec " + file;
        if (root == null || !root.isObject()) throw new IllegalArgumentException(what + ": expected a JSON object of edit fields");
        if (root.has("spec") && root.has("command")) { // an edit's sidecar
            root = root.get("spec");
            what += " (its \"spec\")";
            if (!root.isObject()) throw new IllegalArgumentException(what + ": expected a JSON object");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!FIELDS.contains(k))
                throw new IllegalArgumentException(what + ": unknown field \"" + k + "\"; the fields are " + new java.util.TreeSet<>(FIELDS));
        }
        Path base = file.toAbsolutePath().getParent();
        Parser p = new Parser(root, what, base);
        return new EditSpec(p.path("model"), p.string("variant"), p.path("image"), p.path("mask"), p.string("prompt"), p.path("out"),
                p.path("video"), p.number("video_fps"), p.drags(), p.integer("lora_steps"), p.integer("steps"), p.integer("inference_steps"),
                p.number("strength"), p.longInt("seed"), p.string("device"), p.number("lr"), p.number("lam"), p.integer("r_m"), p.integer("r_p"), p.number("reach"),
                p.integers("feature_idx"), p.number("lora_lr"));
    }

    /** This spec as the JSON object {@link #read} accepts (null fields written as null; paths as they are). */
    public ObjectNode toJson(ObjectMapper m) {
        ObjectNode o = m.createObjectNode();
        o.put("model", str(model));
        o.put("variant", variant);
        o.put("image", str(image));
        o.put("mask", str(mask));
        o.put("prompt", prompt);
        o.put("out", str(out));
        o.put("video", str(video));
        o.put("video_fps", videoFps);
        ArrayNode d = o.putArray("drags");
        if (drags != null) drags.forEach(d::add);
        o.put("lora_steps", loraSteps);
        o.put("steps", steps);
        o.put("inference_steps", inferenceSteps);
        o.put("strength", strength);
        o.put("seed", seed);
        o.put("device", device);
        o.put("lr", lr);
        o.put("lam", lam);
        o.put("r_m", rM);
        o.put("r_p", rP);
        if (reach != null) o.put("reach", reach);
        if (featureIdx != null) featureIdx.forEach(o.putArray("feature_idx")::add);
        if (loraLr != null) o.put("lora_lr", loraLr);
        return o;
    }

    /** A handle and its target {x, y} as the drag string "x1,y1:x2,y2" (whole numbers without ".0"; others exactly, Double.toString). */
    public static String drag(double[] handle, double[] target) {
        return num(handle[0]) + "," + num(handle[1]) + ":" + num(target[0]) + "," + num(target[1]);
    }

    private static String str(Path p) { return p == null ? null : p.toString(); }

    private record Parser(JsonNode root, String what, Path base) {
        private JsonNode get(String k) {
            JsonNode n = root.get(k);
            return n == null || n.isNull() ? null : n;
        }

        private IllegalArgumentException bad(String k, String expected, JsonNode n) {
            return new IllegalArgumentException(what + ": \"" + k + "\" is " + n + "; expected " + expected);
        }

        String string(String k) {
            JsonNode n = get(k);
            if (n == null) return null;
            if (!n.isTextual()) throw bad(k, "a string", n);
            return n.asText();
        }

        Path path(String k) {
            String s = string(k);
            if (s == null) return null;
            if (s.isEmpty()) throw bad(k, "a file name", root.get(k));
            Path p = Path.of(s);
            return p.isAbsolute() ? p : base.resolve(p).normalize();
        }

        Integer integer(String k) {
            JsonNode n = get(k);
            if (n == null) return null;
            if (!n.isIntegralNumber() || !n.canConvertToInt()) throw bad(k, "a whole number", n);
            return n.asInt();
        }

        List<Integer> integers(String k) {
            JsonNode n = get(k);
            if (n == null) return null;
            if (!n.isArray() || n.size() == 0 || n.size() > 16) throw bad(k, "an array of 1 to 16 whole numbers", n);
            List<Integer> out = new ArrayList<>();
            for (JsonNode e : n) {
                if (!e.isIntegralNumber() || !e.canConvertToInt()) throw bad(k, "an array of whole numbers", n);
                out.add(e.asInt());
            }
            return List.copyOf(out);
        }

        Long longInt(String k) {
            JsonNode n = get(k);
            if (n == null) return null;
            if (!n.isIntegralNumber() || !n.canConvertToLong()) throw bad(k, "a whole number", n);
            return n.asLong();
        }

        Double number(String k) {
            JsonNode n = get(k);
            if (n == null) return null;
            if (!n.isNumber()) throw bad(k, "a number", n);
            return n.asDouble();
        }

        List<String> drags() {
            JsonNode n = get("drags");
            if (n == null) return null;
            if (!n.isArray()) throw bad("drags", "an array of drags", n);
            List<String> out = new ArrayList<>();
            for (JsonNode d : n) {
                if (d.isTextual()) out.add(d.asText());
                else if (d.isArray() && d.size() == 2) out.add(point(d.get(0), d) + ":" + point(d.get(1), d));
                else if (d.isObject() && d.size() == 2 && d.has("handle_xy") && d.has("target_xy"))
                    out.add(point(d.get("handle_xy"), d) + ":" + point(d.get("target_xy"), d));
                else throw bad("drags", "each drag as \"x1,y1:x2,y2\", [[x1, y1], [x2, y2]] or {\"handle_xy\": [x1, y1], \"target_xy\": [x2, y2]}", d);
            }
            return out;
        }

        private String point(JsonNode p, JsonNode drag) {
            if (p == null || !p.isArray() || p.size() != 2 || !p.get(0).isNumber() || !p.get(1).isNumber())
                throw bad("drags", "points as [x, y] numbers", drag);
            return num(p.get(0).asDouble()) + "," + num(p.get(1).asDouble());
        }
    }

    static String num(double v) { return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%s", v); }

}
