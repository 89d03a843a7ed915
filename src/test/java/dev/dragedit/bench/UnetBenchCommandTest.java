package dev.dragedit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.cli.Main;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code dragedit bench unet} end to end on the unet-tiny fixture's config (a plumbing check: no timing is
 * asserted): exit code, the table, one JSON line appended with every documented field, the FLOP count equal to what
 * the profiled forward's ops performed; --model on the fixture's weights; bad flags are usage errors (exit 2) that
 * write nothing.
 */
class UnetBenchCommandTest {

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void tinyConfigRunAppendsOneJsonLineWithTheFields(@TempDir Path dir) throws Exception {
        Path config = Fixtures.require("unet-tiny/config.json").getParent();
        Path file = dir.resolve("unet.jsonl");
        Files.writeString(file, "{\"earlier\":true}\n");   // appended to, never overwritten
        Result r = run("bench", "unet", "--config", config.toString(), "--random-weights", "--no-torch", "--repeats", "1",
                "--warmup", "0", "--batch", "2", "--profile", "--json", file.toString());
        assertEquals(0, r.code(), () -> "exit code; stdout:\n" + r.out() + "\nstderr:\n" + r.err());
        assertTrue(r.out().contains("dragedit (CPU, F32)"), r.out());
        assertTrue(r.out().contains("no comparison — skipped (--no-torch)"), r.out());
        assertTrue(r.out().contains("conv2d 3×3"), () -> "profile table: " + r.out());
        assertFalse(r.out().contains("warning:"), r.out());

        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertEquals(2, lines.size(), () -> String.join("\n", lines));
        assertEquals("{\"earlier\":true}", lines.get(0));
        JsonNode n = new ObjectMapper().readTree(lines.get(1));
        for (String f : List.of("bench", "date", "commit", "machine", "java", "config", "weights", "params", "shapes", "warmup",
                "repeats", "gflop", "ours", "theirs", "ratio", "profile", "warnings"))
            assertTrue(n.has(f), () -> "field " + f + " missing in " + lines.get(1));
        assertEquals("unet", n.get("bench").asText());
        assertTrue(n.get("config").asText().endsWith("config.json"), n.get("config").asText());
        assertEquals(1, n.get("repeats").asInt());
        assertEquals(2, n.get("shapes").get("batch").asInt());
        assertEquals(16, n.get("shapes").get("latent").asInt(), "default latent: the config's sample_size");
        assertEquals("[2,4,16,16]", n.get("shapes").get("sample").toString());
        assertEquals("[2,77,32]", n.get("shapes").get("context").toString());
        assertEquals(681.0, n.get("shapes").get("timestep").asDouble());
        assertTrue(n.get("params").asLong() > 0);
        for (String f : List.of("median_ms", "min_ms", "gflops", "peak_rss_mb"))
            assertTrue(n.get("ours").get(f).asDouble() > 0, () -> "ours." + f + " in " + lines.get(1));
        assertFalse(n.get("theirs").get("available").asBoolean());
        assertEquals("skipped (--no-torch)", n.get("theirs").get("reason").asText());
        assertTrue(n.get("ratio").isNull(), "no ratio without the baseline");
        assertTrue(n.get("gflop").get("total").asDouble() > 0);
        assertEquals(n.get("gflop").get("total").asDouble(), n.get("gflop").get("conv").asDouble()
                + n.get("gflop").get("linear").asDouble() + n.get("gflop").get("attention").asDouble(), 1e-3);
        assertTrue(n.get("profile").get("ops").size() > 5, lines.get(1));
        assertEquals(0, n.get("warnings").size(), () -> "the config's FLOP count must match the ops': " + n.get("warnings"));
    }

    @Test
    void modelFolderIsTimedWithItsOwnWeights(@TempDir Path dir) throws Exception {
        Path unet = Fixtures.require("unet-tiny/diffusion_pytorch_model.safetensors").getParent();
        Path file = dir.resolve("unet.jsonl");
        Result r = run("bench", "unet", "--model", unet.toString(), "--no-torch", "--repeats", "1", "--warmup", "0",
                "--latent", "8", "--json", file.toString());
        assertEquals(0, r.code(), () -> r.out() + r.err());
        JsonNode n = new ObjectMapper().readTree(Files.readAllLines(file).get(0));
        assertEquals(unet.toString(), n.get("weights").asText());
        assertEquals(8, n.get("shapes").get("latent").asInt());
        assertTrue(n.get("params").asLong() > 0);
    }

    @Test
    void badFlagsAreUsageErrors(@TempDir Path dir) {
        String config = Fixtures.require("unet-tiny/config.json").getParent().toString();
        Path json = dir.resolve("never.jsonl");
        for (String[] args : List.of(
                new String[]{},                                                   // no config, no model
                new String[]{"--config", config, "--repeats", "0"},
                new String[]{"--config", config, "--warmup", "-1"},
                new String[]{"--config", config, "--batch", "0"},
                new String[]{"--config", config, "--latent", "12"},              // not a multiple of 8
                new String[]{"--config", config, "--latent", "x"},
                new String[]{"--config", config, "--random-weights", "sd15"},    // two configs
                new String[]{"--model", config, "--random-weights"},
                new String[]{"--model", dir.resolve("nowhere").toString()},
                new String[]{"--config", config, "--device", "emulated"},
                new String[]{"--config", config, "--no-such-flag"})) {
            String[] all = new String[args.length + 5];
            all[0] = "bench";
            all[1] = "unet";
            System.arraycopy(args, 0, all, 2, args.length);
            all[args.length + 2] = "--no-torch";
            all[args.length + 3] = "--json";
            all[args.length + 4] = json.toString();
            Result r = run(all);
            assertEquals(Main.EXIT_USAGE, r.code(), () -> String.join(" ", all) + "\nstdout:\n" + r.out() + "\nstderr:\n" + r.err());
            assertTrue(r.err().contains("Usage") || r.err().contains("usage") || r.err().contains("dragedit"), r.err());
        }
        assertFalse(Files.exists(json), "a usage error writes no JSON line");
    }

    @Test
    void missingConfigIsAClearError(@TempDir Path dir) {
        Result r = run("bench", "unet", "--config", dir.toString(), "--no-torch", "--json", dir.resolve("x.jsonl").toString());
        assertEquals(Main.EXIT_FAILURE, r.code(), () -> r.out() + r.err());
        assertTrue(r.err().contains(dir.toString()) && r.err().contains("config.json"), r.err());
    }
}
