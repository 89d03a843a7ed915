package dev.dragedit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.cli.Main;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code dragedit bench edit} end to end on a tiny Stable Diffusion folder built from the fixtures (a plumbing check:
 * no timing is asserted): exit code, the table with the targets marked not applicable, one JSON line appended with
 * the per-phase keys; bad input is one message and a non-zero exit that writes nothing.
 */
public class EditBenchCommandTest {

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    /** A tiny SD folder: the fixtures' unet/vae/text encoder/tokenizer and DDIM scheduler (as ForwardCommandTest builds it). */
    static Path sdFolder(Path tmp) throws IOException {
        return tinySdFolder(tmp);
    }

    /** A Stable Diffusion folder of the tiny fixtures (links), for tests of commands that load one. */
    public static Path tinySdFolder(Path tmp) throws IOException {
        Path sd = tmp.resolve("sd-tiny");
        Files.createDirectories(sd.resolve("scheduler"));
        Files.createSymbolicLink(sd.resolve("unet"), Fixtures.require("unet-tiny/config.json").getParent().toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("vae"), Fixtures.require("vae-tiny/config.json").getParent().toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("text_encoder"), Fixtures.require("clip-text-tiny/config.json").getParent().toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("tokenizer"), Fixtures.require("clip-tokenizer/tokenizer/vocab.json").getParent().toAbsolutePath());
        Files.copy(Fixtures.require("ddim/scheduler_config.json"), sd.resolve("scheduler/scheduler_config.json"));
        Files.writeString(sd.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\", \"_diffusers_version\": \"0.24.0\","
                + " \"scheduler\": [\"diffusers\", \"DDIMScheduler\"], \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],"
                + " \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"], \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
                + " \"vae\": [\"diffusers\", \"AutoencoderKL\"], \"safety_checker\": [null, null], \"feature_extractor\": [null, null]}");
        return sd;
    }

    @Test
    void tinyEditOnTheCpuPrintsTheTableAndAppendsOneJsonLine(@TempDir Path tmp) throws Exception {
        Path sd = sdFolder(tmp);
        Path file = tmp.resolve("edit.jsonl");
        Files.writeString(file, "{\"earlier\":true}\n");   // appended to, never overwritten
        Result r = run("--device", "cpu", "bench", "edit", "--model", sd.toString(), "--random-weights", "--size", "64",
                "--lora-steps", "1", "--inference-steps", "2", "--strength", "0.5", "--drag-steps", "2", "--json", file.toString());
        assertEquals(0, r.code(), () -> "exit code; stdout:\n" + r.out() + "\nstderr:\n" + r.err());
        for (String row : List.of("dragedit bench edit", "text", "lora", "inversion", "drag", "denoise", "decode", "whole edit",
                "LoRA per step", "drag per iteration", "drag iterations run", "peak RSS", "≤ 5 s", "≤ 15 ms"))
            assertTrue(r.out().contains(row), () -> "table row " + row + ":\n" + r.out());
        assertTrue(r.out().contains("target applies only to a GPU run at sd15 512²"), r.out());
        assertFalse(r.out().contains("meets") || r.out().contains("misses"), () -> "no verdict off a GPU:\n" + r.out());
        for (String phase : List.of("lora", "inversion", "drag", "denoise", "decode"))
            assertTrue(r.err().contains(": " + phase + ": "), () -> "progress of " + phase + ":\n" + r.err());

        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertEquals(2, lines.size(), () -> String.join("\n", lines));
        assertEquals("{\"earlier\":true}", lines.get(0));
        JsonNode n = new ObjectMapper().readTree(lines.get(1));
        for (String f : List.of("bench", "what", "date", "commit", "card", "device", "machine", "config", "load_seconds", "runs", "best", "targets"))
            assertTrue(n.has(f), () -> "field " + f + " missing in " + lines.get(1));
        assertEquals("bench edit", n.get("what").asText());
        assertEquals("cpu", n.get("device_kind").asText());
        assertEquals(64, n.get("config").get("width").asInt());
        assertEquals(2, n.get("config").get("drag_steps").asInt());
        assertEquals(1, n.get("runs").size());
        JsonNode best = n.get("best");
        for (String p : EditBench.PHASES) {
            assertTrue(best.get("phase_seconds").has(p), () -> "phase " + p + " in " + best);
            assertTrue(best.get("phase_seconds").get(p).asDouble() >= 0, () -> "phase " + p + " in " + best);
        }
        assertTrue(best.get("total_seconds").asDouble() > 0, best::toString);
        assertTrue(best.get("lora_ms_per_step").asDouble() > 0, best::toString);
        int iterations = best.get("iterations").asInt();
        assertTrue(iterations >= 0 && iterations <= 2, best::toString);
        assertTrue(best.get("peak_rss_mib").asDouble() > 0, best::toString);
        assertTrue(best.get("peak_device_mib").isNull(), "no device memory on the CPU: " + best);
        assertFalse(n.get("targets").get("applies").asBoolean());
    }

    @Test
    void badInputIsOneMessageAndWritesNothing(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("edit.jsonl");
        Path sd = sdFolder(tmp);
        List<List<String>> cases = List.of(
                List.of("--model", sd.toString(), "--random-weights", "--size", "4"),
                List.of("--model", sd.toString(), "--random-weights", "--size", "-64"),
                List.of("--model", sd.toString(), "--random-weights", "--drag-steps", "-1"),
                List.of("--model", sd.toString(), "--random-weights", "--lora-steps", "-1"),
                List.of("--random-weights", "--size", "64"),
                List.of("--model", "sd15", "--size", "64"));
        List<String> expected = List.of("--size 4: must be at least 8", "--size -64: must be at least 8", "--drag-steps -1: must be ≥ 0",
                "--lora-steps -1: must be ≥ 0", "which model?", "add --random-weights");
        for (int i = 0; i < cases.size(); i++) {
            List<String> a = new java.util.ArrayList<>(List.of("--device", "cpu", "bench", "edit"));
            a.addAll(cases.get(i));
            a.addAll(List.of("--json", file.toString()));
            Result r = run(a.toArray(String[]::new));
            String want = expected.get(i);
            assertNotEquals(0, r.code(), () -> a + ": stdout:\n" + r.out());
            assertTrue(r.err().contains(want), () -> a + ": expected '" + want + "' in:\n" + r.err());
            assertFalse(r.out().contains("dragedit bench edit —"), r.out());
        }
        assertFalse(Files.exists(file), "nothing appended");
    }
}
