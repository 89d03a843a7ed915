package dev.dragedit.viewer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --script} files: every event kind parses into its record with its values (paths resolved against the
 * script's folder), the top level's defaults, and every kind of bad script — not JSON, no file, an unknown event, a
 * missing or wrong-typed field, a misspelt field, a negative radius, a fractional index — is one
 * IllegalArgumentException naming the event index, the field and what was expected.
 */
class SessionScriptTest {
    @TempDir
    Path dir;

    private SessionScript read(String json) throws IOException {
        Path f = dir.resolve("session.json");
        Files.writeString(f, json);
        return SessionScript.read(f);
    }

    /** The message of reading a script with these events; fails if it reads. */
    private String error(String events) throws IOException {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{\"events\": [" + events + "]}");
        return assertThrows(IllegalArgumentException.class, () -> SessionScript.read(f)).getMessage();
    }

    private static void contains(String message, String... parts) {
        for (String p : parts) assertTrue(message.contains(p), "\"" + message + "\" should mention " + p);
        assertTrue(!message.contains("\n"), "one line: " + message);
    }

    @Test
    void everyEventKindParses() throws IOException {
        SessionScript s = read("""
                {"window": [640, 480], "image": "in/cat.png", "model": "../models/tiny", "events": [
                  {"do": "click", "x": 10, "y": 20.5},
                  {"do": "drag_point", "index": 1, "x": 3, "y": 4},
                  {"do": "remove_point", "index": 0},
                  {"do": "paint", "mode": "may_change", "radius": 6, "points": [[1, 2], [3.5, 4]]},
                  {"do": "paint", "mode": "keep", "radius": 0.5, "points": [[7, 8]]},
                  {"do": "reset_mask"},
                  {"do": "show_mask", "on": false},
                  {"do": "set", "field": "prompt", "value": "a cat"},
                  {"do": "set", "field": "seed", "value": 12345678901},
                  {"do": "set", "field": "steps", "value": 5},
                  {"do": "set", "field": "lr", "value": 0.02},
                  {"do": "set", "field": "lam", "value": 0},
                  {"do": "set", "field": "r_m", "value": 2},
                  {"do": "set", "field": "r_p", "value": 4},
                  {"do": "set", "field": "strength", "value": 0.6},
                  {"do": "set", "field": "lora_steps", "value": 0},
                  {"do": "set", "field": "inference_steps", "value": 10},
                  {"do": "start"},
                  {"do": "wait_steps", "n": 3, "timeout_s": 60},
                  {"do": "stop"},
                  {"do": "wait_done"},
                  {"do": "undo"}, {"do": "redo"},
                  {"do": "zoom", "factor": 2, "x": 100, "y": 50},
                  {"do": "fit"}, {"do": "actual_size"},
                  {"do": "pan", "dx": -5, "dy": 7.5},
                  {"do": "screenshot", "path": "shots/a.png"},
                  {"do": "save", "path": "/tmp/out.png"},
                  {"do": "export", "path": "drag.GIF"},
                  {"do": "export", "path": "drag.mp4"},
                  {"do": "open", "path": "other.jpg"},
                  {"do": "frames", "n": 2}
                ]}""");
        assertEquals(640, s.windowWidth());
        assertEquals(480, s.windowHeight());
        assertEquals(dir.resolve("in/cat.png").toAbsolutePath().normalize(), s.image());
        assertEquals(dir.getParent().resolve("models/tiny").toAbsolutePath().normalize(), s.model());
        assertEquals(dir.resolve("session.json").toAbsolutePath().normalize(), s.file());
        List<SessionScript.Event> e = s.events();
        assertEquals(33, e.size());
        assertEquals(new SessionScript.Click(10, 20.5), e.get(0));
        assertEquals(new SessionScript.DragPoint(1, 3, 4), e.get(1));
        assertEquals(new SessionScript.RemovePoint(0), e.get(2));
        SessionScript.Paint p = assertInstanceOf(SessionScript.Paint.class, e.get(3));
        assertTrue(p.mayChange());
        assertEquals(6, p.radius());
        assertArrayEquals(new double[]{1, 2}, p.points().get(0));
        assertArrayEquals(new double[]{3.5, 4}, p.points().get(1));
        SessionScript.Paint keep = assertInstanceOf(SessionScript.Paint.class, e.get(4));
        assertTrue(!keep.mayChange());
        assertEquals(0.5, keep.radius());
        assertEquals(1, keep.points().size());
        assertEquals(new SessionScript.ResetMask(), e.get(5));
        assertEquals(new SessionScript.ShowMask(false), e.get(6));
        assertEquals(new SessionScript.SetField("prompt", "a cat"), e.get(7));
        assertEquals(new SessionScript.SetField("seed", 12345678901L), e.get(8));
        assertEquals(12345678901L, ((SessionScript.SetField) e.get(8)).longValue());
        assertEquals(new SessionScript.SetField("steps", 5), e.get(9));
        assertEquals(new SessionScript.SetField("lr", 0.02), e.get(10));
        assertEquals(0.0, ((SessionScript.SetField) e.get(11)).doubleValue());
        assertEquals(new SessionScript.SetField("r_m", 2), e.get(12));
        assertEquals(new SessionScript.SetField("r_p", 4), e.get(13));
        assertEquals(new SessionScript.SetField("strength", 0.6), e.get(14));
        assertEquals(new SessionScript.SetField("lora_steps", 0), e.get(15));
        assertEquals(10, ((SessionScript.SetField) e.get(16)).intValue());
        assertEquals(new SessionScript.Start(), e.get(17));
        assertEquals(new SessionScript.WaitSteps(3, 60), e.get(18));
        assertEquals(new SessionScript.Stop(), e.get(19));
        assertEquals(new SessionScript.WaitDone(SessionScript.DEFAULT_TIMEOUT_S), e.get(20));
        assertEquals(new SessionScript.Undo(), e.get(21));
        assertEquals(new SessionScript.Redo(), e.get(22));
        assertEquals(new SessionScript.Zoom(2, 100, 50), e.get(23));
        assertEquals(new SessionScript.Fit(), e.get(24));
        assertEquals(new SessionScript.ActualSize(), e.get(25));
        assertEquals(new SessionScript.Pan(-5, 7.5), e.get(26));
        assertEquals(new SessionScript.Screenshot(dir.resolve("shots/a.png").toAbsolutePath().normalize()), e.get(27));
        assertEquals(new SessionScript.Save(Path.of("/tmp/out.png")), e.get(28));
        assertEquals(new SessionScript.Export(dir.resolve("drag.GIF").toAbsolutePath().normalize()), e.get(29));
        assertEquals(new SessionScript.Export(dir.resolve("drag.mp4").toAbsolutePath().normalize()), e.get(30));
        assertEquals(new SessionScript.Open(dir.resolve("other.jpg").toAbsolutePath().normalize()), e.get(31));
        assertEquals(new SessionScript.Frames(2), e.get(32));
    }

    @Test
    void theTopLevelHasDefaults() throws IOException {
        SessionScript s = read("{\"events\": []}");
        assertEquals(SessionScript.DEFAULT_W, s.windowWidth());
        assertEquals(SessionScript.DEFAULT_H, s.windowHeight());
        assertNull(s.image());
        assertNull(s.model());
        assertTrue(s.events().isEmpty());
        assertEquals(new SessionScript.Click(1, 2), read("{\"events\": [{\"do\": \"click\", \"x\": 1, \"y\": 2}], \"window\": null}").events().get(0));
    }

    @Test
    void aMissingFileOrFolderOrNonJsonIsOneClearError() throws IOException {
        Path missing = dir.resolve("nope.json");
        contains(assertThrows(IllegalArgumentException.class, () -> SessionScript.read(missing)).getMessage(), "nope.json", "does not exist");
        contains(assertThrows(IllegalArgumentException.class, () -> SessionScript.read(dir)).getMessage(), "is a folder");
        Path f = dir.resolve("x.json");
        Files.writeString(f, "{\"events\": [ {\"do\": \"click\", ");
        contains(assertThrows(IllegalArgumentException.class, () -> SessionScript.read(f)).getMessage(), "x.json", "not valid JSON", "line");
        Files.writeString(f, "[1, 2]");
        contains(assertThrows(IllegalArgumentException.class, () -> SessionScript.read(f)).getMessage(), "expected a JSON object");
        Files.writeString(f, "{\"events\": []} {\"more\": 1}");
        contains(assertThrows(IllegalArgumentException.class, () -> SessionScript.read(f)).getMessage(), "not valid JSON");
        Files.writeString(f, "{\"events\": [], \"events\": []}");
        contains(assertThrows(IllegalArgumentException.class, () -> SessionScript.read(f)).getMessage(), "not valid JSON", "events");
    }

    @Test
    void badTopLevelFieldsNameTheField() throws IOException {
        contains(assertThrows(IllegalArgumentException.class, () -> read("{}")).getMessage(), "\"events\"", "missing");
        contains(assertThrows(IllegalArgumentException.class, () -> read("{\"events\": {}}")).getMessage(), "\"events\"", "list", "an object");
        contains(assertThrows(IllegalArgumentException.class, () -> read("{\"events\": [], \"evnets\": []}")).getMessage(), "unknown field \"evnets\"");
        contains(assertThrows(IllegalArgumentException.class, () -> read("{\"events\": [], \"window\": [0, 10]}")).getMessage(), "\"window\"", "[width, height]");
        contains(assertThrows(IllegalArgumentException.class, () -> read("{\"events\": [], \"window\": [640]}")).getMessage(), "\"window\"");
        contains(assertThrows(IllegalArgumentException.class, () -> read("{\"events\": [], \"window\": [640.5, 480]}")).getMessage(), "\"window\"");
        contains(assertThrows(IllegalArgumentException.class, () -> read("{\"events\": [], \"image\": 3}")).getMessage(), "\"image\"", "path");
        contains(assertThrows(IllegalArgumentException.class, () -> read("{\"events\": [], \"model\": \"\"}")).getMessage(), "\"model\"", "path");
    }

    @Test
    void badEventsNameTheEventIndexTheFieldAndWhatWasExpected() throws IOException {
        String ok = "{\"do\": \"start\"}, ";
        contains(error(ok + "{\"do\": \"jump\"}"), "events[1]", "\"do\"", "unknown event \"jump\"", "click");
        contains(error(ok + ok + "{\"x\": 1}"), "events[2]", "\"do\"", "missing");
        contains(error("{\"do\": 5}"), "events[0]", "\"do\"", "string");
        contains(error("3"), "events[0]", "expected an object");
        contains(error("{\"do\": \"click\", \"x\": 1}"), "events[0] (\"click\")", "\"y\"", "missing");
        contains(error("{\"do\": \"click\", \"x\": \"1\", \"y\": 2}"), "events[0] (\"click\")", "\"x\"", "a number", "a string");
        contains(error("{\"do\": \"click\", \"x\": 1, \"y\": 2, \"z\": 3}"), "events[0] (\"click\")", "unknown field \"z\"", "x, y");
        contains(error("{\"do\": \"start\", \"now\": true}"), "events[0] (\"start\")", "unknown field \"now\"", "no fields");
        contains(error(ok + "{\"do\": \"paint\", \"mode\": \"keep\", \"radius\": -2, \"points\": [[1, 1]]}"),
                "events[1] (\"paint\")", "\"radius\"", "a positive number", "-2");
        contains(error("{\"do\": \"paint\", \"mode\": \"maybe\", \"radius\": 2, \"points\": [[1, 1]]}"), "\"mode\"", "\"may_change\" or \"keep\"");
        contains(error("{\"do\": \"paint\", \"mode\": \"keep\", \"radius\": 2, \"points\": []}"), "\"points\"", "non-empty list");
        contains(error("{\"do\": \"paint\", \"mode\": \"keep\", \"radius\": 2, \"points\": [[1, 1], [2]]}"), "\"points\"[1]", "[x, y]");
        contains(error("{\"do\": \"paint\", \"mode\": \"keep\", \"radius\": 2, \"points\": [[1, \"a\"]]}"), "\"points\"[0]");
        contains(error(ok + ok + ok + "{\"do\": \"drag_point\", \"index\": 1.5, \"x\": 1, \"y\": 1}"),
                "events[3] (\"drag_point\")", "\"index\"", "a whole number", "1.5");
        contains(error("{\"do\": \"remove_point\", \"index\": \"0\"}"), "\"index\"", "a whole number", "a string");
        contains(error("{\"do\": \"remove_point\", \"index\": -1}"), "\"index\"", "a whole number ≥ 0");
        contains(error("{\"do\": \"remove_point\", \"index\": 1e12}"), "\"index\"");
        contains(error("{\"do\": \"show_mask\", \"on\": 1}"), "\"on\"", "true or false");
        contains(error("{\"do\": \"set\", \"field\": \"stesp\", \"value\": 1}"), "\"field\"", "unknown panel field \"stesp\"", "steps");
        contains(error("{\"do\": \"set\", \"field\": \"steps\", \"value\": 2.5}"), "\"value\"", "a whole number");
        contains(error("{\"do\": \"set\", \"field\": \"prompt\", \"value\": 3}"), "\"value\"", "a string");
        contains(error("{\"do\": \"set\", \"field\": \"strength\", \"value\": 1.5}"), "\"value\"", "strength", "(0, 1]");
        contains(error("{\"do\": \"set\", \"field\": \"lr\", \"value\": 0}"), "\"value\"", "a positive number");
        contains(error("{\"do\": \"set\", \"field\": \"r_m\", \"value\": 0}"), "\"value\"", "≥ 1");
        contains(error("{\"do\": \"set\", \"field\": \"steps\"}"), "\"value\"", "missing");
        contains(error("{\"do\": \"wait_steps\", \"n\": 0}"), "\"n\"", "≥ 1");
        contains(error("{\"do\": \"wait_steps\", \"n\": 2, \"timeout_s\": -1}"), "\"timeout_s\"", "a positive number");
        contains(error("{\"do\": \"wait_done\", \"timeout_s\": \"long\"}"), "\"timeout_s\"", "a number");
        contains(error("{\"do\": \"zoom\", \"factor\": 0, \"x\": 1, \"y\": 1}"), "\"factor\"", "a positive number");
        contains(error("{\"do\": \"pan\", \"dx\": 1}"), "\"dy\"", "missing");
        contains(error("{\"do\": \"screenshot\", \"path\": \"shot.jpg\"}"), "events[0] (\"screenshot\")", "\"path\"", ".png");
        contains(error("{\"do\": \"export\", \"path\": \"drag.avi\"}"), "\"path\"", ".gif or .mp4");
        contains(error("{\"do\": \"save\", \"path\": null}"), "\"path\"", "missing");
        contains(error("{\"do\": \"open\", \"path\": \"\"}"), "\"path\"", "a path");
        contains(error("{\"do\": \"frames\", \"n\": true}"), "\"n\"", "a whole number", "a boolean");
    }

    @Test
    void aScriptNamesItselfInItsErrors() throws IOException {
        Path f = dir.resolve("my-session.json");
        Files.writeString(f, "{\"events\": [{\"do\": \"click\"}]}");
        contains(assertThrows(IllegalArgumentException.class, () -> SessionScript.read(f)).getMessage(), "--script", "my-session.json", "events[0]");
    }
}
