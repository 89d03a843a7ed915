package dev.dragedit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.dragedit.cli.ForwardCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code dragedit tokenize}: the 77 input ids of every clip-tokenizer fixture case (README "clip-tokenizer"), plain
 * and as JSON, from a tokenizer folder and from a Stable Diffusion folder; errors.
 */
class TokenizeCommandTest {
    private static List<JsonNode> cases() throws IOException {
        ObjectMapper om = new ObjectMapper();
        List<JsonNode> r = new ArrayList<>();
        for (String line : Files.readAllLines(Fixtures.require("clip-tokenizer/cases.jsonl"), StandardCharsets.UTF_8))
            if (!line.isBlank()) r.add(om.readTree(line));
        return r;
    }

    private static String tokenizerDir() { return Fixtures.require("clip-tokenizer/tokenizer/vocab.json").getParent().toString(); }

    @Test
    void everyFixtureCaseGivesItsInputIds() throws IOException {
        List<JsonNode> cases = cases();
        List<String> args = new ArrayList<>(List.of("tokenize", "--tokenizer", tokenizerDir(), "--"));
        for (JsonNode c : cases) args.add(c.get("text").textValue());
        ForwardCommandTest.Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(cases.size(), lines.size());
        int bad = 0;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < cases.size(); i++) {
            StringBuilder want = new StringBuilder();
            for (JsonNode id : cases.get(i).get("input_ids")) want.append(want.length() == 0 ? "" : " ").append(id.asLong());
            if (!want.toString().equals(lines.get(i))) {
                if (bad++ == 0) first.append("case ").append(i).append(" ").append(cases.get(i).get("text")).append(": got ").append(lines.get(i));
            }
            assertEquals(77, lines.get(i).split(" ").length);
        }
        assertEquals(0, bad, bad + " of " + cases.size() + " cases differ; first: " + first);
    }

    @Test
    void jsonGivesIdsTokensAndInputIds(@TempDir Path tmp) throws IOException {
        List<JsonNode> cases = cases().subList(0, 40);
        // Through a Stable Diffusion folder's tokenizer/ as well.
        Path sd = tmp.resolve("sd");
        Files.createDirectories(sd.resolve("unet"));
        Files.createSymbolicLink(sd.resolve("tokenizer"), Path.of(tokenizerDir()).toAbsolutePath());
        List<String> args = new ArrayList<>(List.of("tokenize", "--json", "--tokenizer", sd.toString(), "--"));
        for (JsonNode c : cases) args.add(c.get("text").textValue());
        ForwardCommandTest.Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(cases.size(), lines.size());
        ObjectMapper om = new ObjectMapper();
        for (int i = 0; i < cases.size(); i++) {
            JsonNode got = om.readTree(lines.get(i)), want = cases.get(i);
            assertEquals(want.get("text"), got.get("text"));
            assertEquals(want.get("ids"), got.get("ids"), "ids of case " + i);
            assertEquals(want.get("tokens"), got.get("tokens"), "tokens of case " + i);
            assertEquals(want.get("input_ids"), got.get("input_ids"), "input_ids of case " + i);
        }
    }

    @Test
    void withoutATokenizerFolderTheBundledSd1TokenizerIsUsed() throws IOException {
        List<JsonNode> cases = cases().subList(0, 25);
        List<String> args = new ArrayList<>(List.of("tokenize", "--"));
        for (JsonNode c : cases) args.add(c.get("text").textValue());
        ForwardCommandTest.Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        for (int i = 0; i < cases.size(); i++) {
            StringBuilder want = new StringBuilder();
            for (JsonNode id : cases.get(i).get("input_ids")) want.append(want.length() == 0 ? "" : " ").append(id.asLong());
            assertEquals(want.toString(), lines.get(i), "case " + i);
        }
    }

    @Test
    void errors(@TempDir Path tmp) {
        ForwardCommandTest.Run r = run("tokenize", "--tokenizer", tmp.toString(), "a cat");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("vocab.json does not exist"), r.err());
        r = run("tokenize", "--tokenizer", tokenizerDir());
        assertEquals(2, r.code(), "a text is required");
        assertTrue(r.err().contains("TEXT"), r.err());
    }
}
