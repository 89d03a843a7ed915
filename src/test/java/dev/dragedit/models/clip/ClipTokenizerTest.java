package dev.dragedit.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CLIP tokenizer against the clip-tokenizer fixture (OpenAI SimpleTokenizer.encode with ftfy 6.3.1, all 300 cases:
 * the cleaned text, the BPE ids, their vocabulary strings and SD's 77 input ids), plus edge cases and bad folders.
 */
class ClipTokenizerTest {
    static ClipTokenizer tok;
    static List<JsonNode> cases;

    @BeforeAll
    static void load() throws Exception {
        Path dir = Fixtures.require("clip-tokenizer/tokenizer/vocab.json").getParent();
        tok = ClipTokenizer.load(dir);
        cases = new ArrayList<>();
        ObjectMapper om = new ObjectMapper();
        for (String line : Files.readAllLines(Fixtures.require("clip-tokenizer/cases.jsonl"), StandardCharsets.UTF_8))
            if (!line.isBlank()) cases.add(om.readTree(line));
    }

    private static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).intValue();
        return r;
    }

    private static long[] longs(JsonNode a) {
        long[] r = new long[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).longValue();
        return r;
    }

    private static String show(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(c -> sb.append(c >= 0x20 && c < 0x7F ? String.valueOf((char) c) : String.format("\\u%04x", c)));
        return sb.toString();
    }

    @Test
    void allFixtureCases() {
        assertEquals(300, cases.size());
        List<String> failures = new ArrayList<>();
        int changed = 0;
        for (int k = 0; k < cases.size(); k++) {
            JsonNode c = cases.get(k);
            String text = c.get("text").textValue();
            if (c.get("ftfy_changed").booleanValue()) changed++;
            String cleaned = ClipTokenizer.clean(text);
            if (!cleaned.equals(c.get("cleaned").textValue())) {
                failures.add("case " + k + " " + show(text) + ": cleaned " + show(cleaned) + ", expected " + show(c.get("cleaned").textValue()));
                continue;
            }
            int[] ids = tok.encode(text);
            if (!Arrays.equals(ids, ints(c.get("ids")))) {
                failures.add("case " + k + " " + show(text) + ": ids " + Arrays.toString(ids) + ", expected " + c.get("ids"));
                continue;
            }
            List<String> tokens = new ArrayList<>();
            c.get("tokens").forEach(t -> tokens.add(t.textValue()));
            if (!tok.tokens(ids).equals(tokens)) failures.add("case " + k + ": tokens " + tok.tokens(ids));
            if (!Arrays.equals(tok.inputIds(text), longs(c.get("input_ids"))))
                failures.add("case " + k + ": input_ids " + Arrays.toString(tok.inputIds(text)));
        }
        assertEquals(33, changed, "ftfy_changed cases in the fixture");
        assertTrue(failures.isEmpty(), failures.size() + " of 300 cases differ:\n" + String.join("\n", failures));
    }

    @Test
    void ftfyChangesExactlyTheMarkedCases() {
        for (JsonNode c : cases) {
            String text = c.get("text").textValue();
            assertEquals(c.get("ftfy_changed").booleanValue(), !TextFixer.fixText(text).equals(text), show(text));
        }
    }

    @Test
    void inputIdsFrameTruncateAndPad() {
        long[] empty = tok.inputIds("");
        assertEquals(77, empty.length);
        assertEquals(49406, empty[0]);
        for (int i = 1; i < 77; i++) assertEquals(49407, empty[i]);
        String longText = "a photo of a cat ".repeat(40);
        int[] ids = tok.encode(longText);
        assertTrue(ids.length > 75);
        long[] row = tok.inputIds(longText);
        assertEquals(49406, row[0]);
        for (int i = 0; i < 75; i++) assertEquals(ids[i], row[1 + i]);
        assertEquals(49407, row[76]);
        assertEquals(77, tok.contextLength());
    }

    @Test
    void specialTokenTexts() {
        assertArrayEquals(new int[]{49406, 49407}, tok.encode("<|startoftext|><|endoftext|>"));
        assertArrayEquals(new int[]{49406}, tok.encode("<|STARTOFTEXT|>"), "matched after lower-casing");
    }

    @Test
    void badFoldersAreNamed(@TempDir Path dir) throws Exception {
        WeightsException e = assertThrows(WeightsException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("vocab.json") && e.getMessage().contains("does not exist"), e.getMessage());
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": \"x\"}");
        e = assertThrows(WeightsException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("the id of a"), e.getMessage());
        Files.writeString(dir.resolve("vocab.json"), "{\"a</w>\": 0, \"<|startoftext|>\": 1, \"<|endoftext|>\": 2}");
        e = assertThrows(WeightsException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("merges.txt"), e.getMessage());
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\na b c\n");
        e = assertThrows(WeightsException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        ClipTokenizer t = ClipTokenizer.load(dir);
        assertArrayEquals(new int[]{0}, t.encode("A"));
        IllegalStateException ise = assertThrows(IllegalStateException.class, () -> t.encode("b"));
        assertTrue(ise.getMessage().contains("not in vocab.json"), ise.getMessage());
    }
}
