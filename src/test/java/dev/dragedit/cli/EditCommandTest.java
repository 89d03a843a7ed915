package dev.dragedit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.drag.Images;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code dragedit edit} end to end on a Stable Diffusion folder of the tiny fixtures (unet-tiny, vae-tiny,
 * clip-text-tiny, the CLIP tokenizer, the DDIM config) with a synthetic image, on the CPU with a short run
 * (--lora-steps 2 --steps 3, so the test stays fast): exit 0, the image at the input size (also a size that is no
 * multiple of 64, which the command resizes there and back), the sidecar with its fields; and the bad inputs the issue
 * lists (unreadable image, point outside, handle equal to target, mask of another size), each one line, exit ≠ 0 and
 * no output file.
 */
class EditCommandTest {

    /** A smooth synthetic picture: a bright disc on a gradient, so the features have structure to drag (bench edit's input). */
    private static Images.Rgb picture(int h, int w) {
        return dev.dragedit.bench.EditBench.picture(h, w);
    }

    private static ForwardCommandTest.Run edit(String... args) {
        List<String> a = new ArrayList<>(List.of("edit", "--device", "cpu"));
        a.addAll(List.of(args));
        return ForwardCommandTest.run(a.toArray(String[]::new));
    }

    @Test
    void editsATinyModelEndToEnd(@TempDir Path tmp) throws IOException {
        Path sd = ForwardCommandTest.sdFolder(tmp);
        Path in = tmp.resolve("in.png");
        Images.write(in, picture(64, 64));
        byte[] before = Files.readAllBytes(in);
        Path out = tmp.resolve("res/out.png");
        ForwardCommandTest.Run r = edit("--model", sd.toString(), "--image", in.toString(), "--drag", "20,32:30,32",
                "--prompt", "a red ball", "--out", out.toString(), "--lora-steps", "2", "--steps", "3", "--seed", "7");
        assertEquals(0, r.code(), r.out() + r.err());
        for (String phase : List.of("lora", "inversion", "drag", "denoise", "decode"))
            assertTrue(r.out().contains("edit: " + phase + ":"), "progress of " + phase + ":\n" + r.out());
        assertTrue(r.out().contains("drag iteration 1/3, loss"), r.out());
        Images.Rgb res = Images.read(out);
        assertEquals(64, res.width());
        assertEquals(64, res.height());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(in)), "the input is never modified");

        JsonNode j = new ObjectMapper().readTree(tmp.resolve("res/out.json").toFile());
        for (String k : List.of("model", "image", "drags", "mask", "prompt", "parameters", "seed", "device", "phase_seconds",
                "iterations", "final_handles_rc", "final_distances", "targets_rc", "lora_losses"))
            assertTrue(j.has(k), "sidecar field " + k + ":\n" + j.toPrettyString());
        assertEquals(7, j.get("seed").asLong());
        assertEquals("a red ball", j.get("prompt").asText());
        assertEquals(2, j.get("lora_losses").size());
        assertEquals(3, j.get("parameters").get("drag_steps").asInt());
        assertEquals(681, j.get("parameters").get("t").asInt());
        int its = j.get("iterations").size();
        assertTrue(its >= 1 && its <= 3, "1..3 iterations recorded: " + its);
        JsonNode it0 = j.get("iterations").get(0);
        assertTrue(it0.get("loss").isNumber() && Double.isFinite(it0.get("loss").asDouble()));
        assertEquals(1, it0.get("handles_rc").size());
        assertEquals(1, j.get("final_distances").size());
        for (String p : List.of("text", "lora", "inversion", "drag", "denoise", "decode"))
            assertTrue(j.get("phase_seconds").has(p), "time of " + p);
        // The handle (20, 32) → supervision (row 16, col 10), the target (30, 32) → (16, 15).
        assertEquals(16.0, j.get("targets_rc").get(0).get(0).asDouble());
        assertEquals(15.0, j.get("targets_rc").get(0).get(1).asDouble());
    }

    @Test
    void anyImageSizeComesBackAtItsSizeAndAMaskIsUsed(@TempDir Path tmp) throws IOException {
        // 80×56 → worked at 64×64 (nearest multiples of 64) and resized back; no LoRA (--lora-steps 0), one iteration.
        Path sd = ForwardCommandTest.sdFolder(tmp);
        Path in = tmp.resolve("wide.png");
        Images.write(in, picture(56, 80));
        byte[] m = new byte[3 * 56 * 80];
        for (int y = 10; y < 46; y++) for (int x = 10; x < 60; x++) for (int c = 0; c < 3; c++) m[3 * (y * 80 + x) + c] = (byte) 255;
        Path mask = tmp.resolve("mask.png");
        Images.write(mask, new Images.Rgb(56, 80, m));
        Path out = tmp.resolve("wide-out.png");
        ForwardCommandTest.Run r = edit("--model", sd.toString(), "--image", in.toString(), "--drag", "25,28:35,28",
                "--mask", mask.toString(), "--out", out.toString(), "--lora-steps", "0", "--steps", "1");
        assertEquals(0, r.code(), r.out() + r.err());
        assertFalse(r.out().contains("edit: lora:"), "--lora-steps 0 skips the LoRA:\n" + r.out());
        Images.Rgb res = Images.read(out);
        assertEquals(80, res.width());
        assertEquals(56, res.height());
        JsonNode j = new ObjectMapper().readTree(tmp.resolve("wide-out.json").toFile());
        assertEquals(64, j.get("parameters").get("work_width").asInt());
        assertEquals(64, j.get("parameters").get("work_height").asInt());
        assertEquals(mask.toString(), j.get("mask").asText());
        assertFalse(j.get("phase_seconds").has("lora"));
    }

    /**
     * The same edit on the CUDA backend (the GPU when there is one, else its CPU emulation). The emulation runs a UNet
     * forward+backward at 64×64 in seconds, not milliseconds, so this run is the shortest that passes through every
     * phase: no LoRA, 2 DDIM steps at strength 0.5 (1 inverted, 1 denoised), one drag iteration (~20 s emulated).
     */
    @Test
    void editsOnTheCudaBackend(@TempDir Path tmp) throws IOException {
        Path sd = ForwardCommandTest.sdFolder(tmp);
        Path in = tmp.resolve("in.png");
        Images.write(in, picture(64, 64));
        Path out = tmp.resolve("cuda.png");
        ForwardCommandTest.Run r = ForwardCommandTest.run("edit", "--device", ForwardCommandTest.kernelDevice(), "--model", sd.toString(),
                "--image", in.toString(), "--drag", "20,32:30,32", "--out", out.toString(), "--lora-steps", "0", "--steps", "1",
                "--inference-steps", "2", "--strength", "0.5");
        assertEquals(0, r.code(), r.out() + r.err());
        Images.Rgb res = Images.read(out);
        assertEquals(64, res.width());
        assertEquals(64, res.height());
        JsonNode j = new ObjectMapper().readTree(tmp.resolve("cuda.json").toFile());
        assertTrue(j.get("device").asText().contains("Cuda"), j.get("device").asText());
        assertEquals(1, j.get("iterations").size());
        assertEquals(1, j.get("parameters").get("t").asInt()); // timesteps [501, 1]: round(0.5·2) = 1 step inverted
    }

    @Test
    void writesAVideoAndASidecarThatReplaysTheEditExactly(@TempDir Path tmp) throws IOException {
        Path sd = ForwardCommandTest.sdFolder(tmp);
        Path in = tmp.resolve("in.png");
        Images.write(in, picture(64, 64));
        Path out = tmp.resolve("a/out.png"), gif = tmp.resolve("a/drag.gif");
        // A handle in the last pixel column (supervision column 32 → clamped to 31) drags left along the edge, where
        // the reference's motion patch would leave the grid.
        ForwardCommandTest.Run r = edit("--model", sd.toString(), "--image", in.toString(), "--drag", "63,40:50,40", "--drag", "20,63:20,50",
                "--out", out.toString(), "--video", gif.toString(), "--lora-steps", "1", "--steps", "2", "--inference-steps", "4",
                "--strength", "0.5", "--seed", "3");
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode j = new ObjectMapper().readTree(tmp.resolve("a/out.json").toFile());
        int its = j.get("iterations_run").asInt();
        JsonNode v = j.get("video");
        assertEquals(gif.toString(), v.get("path").asText());
        assertTrue(v.get("preview").asText().contains("pred_x0"), v.toPrettyString());
        // The input, one preview per drag iteration evaluated (the stopping one too), the result.
        int frames = v.get("frames").asInt();
        assertTrue(frames >= its + 2 && frames <= its + 3, frames + " frames for " + its + " iterations");
        javax.imageio.ImageReader reader = javax.imageio.ImageIO.getImageReadersByFormatName("gif").next();
        try (javax.imageio.stream.ImageInputStream s = javax.imageio.ImageIO.createImageInputStream(gif.toFile())) {
            reader.setInput(s);
            assertEquals(frames, reader.getNumImages(true));
            assertEquals(256, reader.getWidth(0)); // 64×64 scaled up ×4 so the points show
        }
        assertEquals(64, j.get("model_hash").get("sha256").asText().length());
        assertTrue(j.get("model_hash").get("files").has("unet/diffusion_pytorch_model.safetensors"), j.get("model_hash").toPrettyString());
        assertTrue(j.get("peak_memory").get("process_rss_mib").asDouble() > 0, j.get("peak_memory").toPrettyString());
        assertEquals(2, j.get("final_handles_xy").size());

        // Replay from the sidecar, to another image: the same pixels.
        Path again = tmp.resolve("b/again.png");
        ForwardCommandTest.Run r2 = edit("--spec", tmp.resolve("a/out.json").toString(), "--out", again.toString());
        assertEquals(0, r2.code(), r2.out() + r2.err());
        assertTrue(java.util.Arrays.equals(Images.read(out).pixels(), Images.read(again).pixels()), "the replay gives the same image");
        JsonNode j2 = new ObjectMapper().readTree(tmp.resolve("b/again.json").toFile());
        assertEquals(j.get("model_hash").get("sha256").asText(), j2.get("model_hash").get("sha256").asText());
        assertEquals(j.get("iterations").toString(), j2.get("iterations").toString());
        assertEquals(gif.toAbsolutePath().toString(), j2.get("video").get("path").asText()); // the spec's video, rewritten
    }

    @Test
    void aSpecFileCarriesTheFieldsAndTheCommandLineWins(@TempDir Path tmp) throws IOException {
        Path sd = ForwardCommandTest.sdFolder(tmp);
        Images.write(tmp.resolve("in.png"), picture(64, 64));
        Path spec = Files.writeString(tmp.resolve("edit.json"), "{\"model\": \"" + sd.toString().replace("\\", "\\\\") + "\", \"image\": \"in.png\","
                + " \"drags\": [[[20, 32], [30, 32]], {\"handle_xy\": [40, 20], \"target_xy\": [40, 30]}], \"out\": \"spec-out.png\","
                + " \"lora_steps\": 0, \"steps\": 5, \"inference_steps\": 2, \"strength\": 0.5, \"prompt\": \"a disc\", \"device\": \"cpu\"}");
        ForwardCommandTest.Run r = ForwardCommandTest.run("edit", "--spec", spec.toString(), "--steps", "1");
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode j = new ObjectMapper().readTree(tmp.resolve("spec-out.json").toFile()); // relative to the spec's folder
        assertEquals(1, j.get("parameters").get("drag_steps").asInt()); // the command line won
        assertEquals(2, j.get("drags").size());
        assertEquals("a disc", j.get("prompt").asText());
        assertEquals("cpu", j.get("spec").get("device").asText());

        Path typo = Files.writeString(tmp.resolve("typo.json"), "{\"stesp\": 3}");
        ForwardCommandTest.Run bad = ForwardCommandTest.run("edit", "--spec", typo.toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("unknown field \"stesp\""), bad.err());
        Path wrongType = Files.writeString(tmp.resolve("type.json"), "{\"steps\": \"many\"}");
        ForwardCommandTest.Run bad2 = ForwardCommandTest.run("edit", "--spec", wrongType.toString());
        assertEquals(2, bad2.code());
        assertTrue(bad2.err().contains("\"steps\" is \"many\"; expected a whole number"), bad2.err());
        ForwardCommandTest.Run none = ForwardCommandTest.run("edit", "--device", "cpu", "--image", "x.png");
        assertEquals(2, none.code());
        assertTrue(none.err().contains("--model is required"), none.err());
    }

    @Test
    void theDragKnobsAreOptionsSpecFieldsAndSidecarFieldsThatTheReplayUses(@TempDir Path tmp) throws IOException {
        Path sd = ForwardCommandTest.sdFolder(tmp);
        Path in = tmp.resolve("in.png");
        Images.write(in, picture(64, 64));
        String[] common = {"--model", sd.toString(), "--image", in.toString(), "--drag", "20,32:30,32", "--lora-steps", "0", "--steps", "2",
                "--inference-steps", "2", "--strength", "0.5"};
        Path plain = tmp.resolve("plain.png"), knobs = tmp.resolve("knobs.png");
        List<String> a = new ArrayList<>(List.of(common));
        a.addAll(List.of("--out", plain.toString()));
        assertEquals(0, edit(a.toArray(String[]::new)).code());
        a = new ArrayList<>(List.of(common));
        a.addAll(List.of("--out", knobs.toString(), "--lr", "0.05", "--lam", "0.25", "--r-m", "2", "--r-p", "4", "--reach", "1.5",
                "--feature-idx", "1,2", "--lora-lr", "0.002"));
        ForwardCommandTest.Run r = edit(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode plainJ = new ObjectMapper().readTree(tmp.resolve("plain.json").toFile());
        JsonNode j = new ObjectMapper().readTree(tmp.resolve("knobs.json").toFile());
        JsonNode p = j.get("parameters"), s = j.get("spec");
        assertEquals(0.05, p.get("drag_lr").asDouble());
        assertEquals(0.25, p.get("lam").asDouble());
        assertEquals(2, p.get("r_m").asInt());
        assertEquals(4, p.get("r_p").asInt());
        assertEquals(0.05, s.get("lr").asDouble());
        assertEquals(0.25, s.get("lam").asDouble());
        assertEquals(2, s.get("r_m").asInt());
        assertEquals(4, s.get("r_p").asInt());
        assertEquals(1.5, p.get("reach").asDouble());
        assertEquals(1.5, s.get("reach").asDouble());
        assertEquals(2.0, plainJ.get("parameters").get("reach").asDouble());
        assertEquals("[1,2]", p.get("unet_feature_idx").toString());
        assertEquals("[1,2]", s.get("feature_idx").toString());
        assertEquals("[3]", plainJ.get("parameters").get("unet_feature_idx").toString()); // DragDiffusion's
        assertEquals(0.002, p.get("lora_lr").asDouble());
        assertEquals(0.002, s.get("lora_lr").asDouble());
        assertEquals(5e-4, plainJ.get("parameters").get("lora_lr").asDouble());
        assertEquals(0.01, plainJ.get("spec").get("lr").asDouble()); // the defaults are recorded too
        assertEquals(3, plainJ.get("spec").get("r_p").asInt());
        assertNotEquals(plainJ.get("iterations").toString(), j.get("iterations").toString(), "the knobs changed the drag");

        Path again = tmp.resolve("again.png");
        ForwardCommandTest.Run r2 = edit("--spec", tmp.resolve("knobs.json").toString(), "--out", again.toString());
        assertEquals(0, r2.code(), r2.out() + r2.err());
        assertTrue(java.util.Arrays.equals(Images.read(knobs).pixels(), Images.read(again).pixels()), "the replay uses the knobs");
        assertEquals(j.get("iterations").toString(), new ObjectMapper().readTree(tmp.resolve("again.json").toFile()).get("iterations").toString());

        Path bad = Files.writeString(tmp.resolve("bad.json"), "{\"r_m\": 1.5}");
        ForwardCommandTest.Run b = ForwardCommandTest.run("edit", "--spec", bad.toString());
        assertEquals(2, b.code());
        assertTrue(b.err().contains("\"r_m\" is 1.5; expected a whole number"), b.err());
        Path badIdx = Files.writeString(tmp.resolve("badidx.json"), "{\"feature_idx\": 3}");
        ForwardCommandTest.Run bi = ForwardCommandTest.run("edit", "--spec", badIdx.toString());
        assertEquals(2, bi.code());
        assertTrue(bi.err().contains("\"feature_idx\" is 3; expected an array of 1 to 16 whole numbers"), bi.err());
    }

    @Test
    void badInputsFailCleanlyWithoutOutput(@TempDir Path tmp) throws IOException {
        Path sd = ForwardCommandTest.sdFolder(tmp);
        Path in = tmp.resolve("in.png");
        Images.write(in, picture(64, 64));
        Path notPng = Files.writeString(tmp.resolve("bad.png"), "not a png");
        Path smallMask = tmp.resolve("small.png");
        Images.write(smallMask, picture(32, 32));
        String model = sd.toString();
        expectFailure(tmp, 1, "not an image format", "--model", model, "--image", notPng.toString(), "--drag", "1,1:5,5");
        expectFailure(tmp, 1, "does not exist", "--model", model, "--image", tmp.resolve("none.png").toString(), "--drag", "1,1:5,5");
        expectFailure(tmp, 1, "outside the 64×64 image", "--model", model, "--image", in.toString(), "--drag", "10,10:64,10");
        expectFailure(tmp, 1, "outside the 64×64 image", "--model", model, "--image", in.toString(), "--drag", "-1,10:20,10");
        expectFailure(tmp, 2, "handle equals its target", "--model", model, "--image", in.toString(), "--drag", "10,10:10,10");
        expectFailure(tmp, 2, "expected x1,y1:x2,y2", "--model", model, "--image", in.toString(), "--drag", "10,10");
        expectFailure(tmp, 1, "give a mask of the image's size", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10",
                "--mask", smallMask.toString());
        expectFailure(tmp, 2, "not a Stable Diffusion folder", "--model", tmp.toString(), "--image", in.toString(), "--drag", "10,10:20,10");
        expectFailure(tmp, 2, "--steps -1", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10", "--steps", "-1");
        expectFailure(tmp, 2, "expected a name ending in .gif or .mp4", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10",
                "--video", tmp.resolve("drag.avi").toString());
        assertFalse(Files.exists(tmp.resolve("drag.avi")));
        expectFailure(tmp, 2, "--lr 0.0: expected a finite number > 0", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10", "--lr", "0");
        expectFailure(tmp, 2, "--lam -0.5: expected a finite number ≥ 0", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10", "--lam", "-0.5");
        expectFailure(tmp, 2, "--r-m 0: expected a whole number ≥ 1", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10", "--r-m", "0");
        expectFailure(tmp, 2, "--r-p 0: expected a whole number ≥ 1", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10", "--r-p", "0");
        expectFailure(tmp, 2, "--reach 0.0: expected a finite number > 0", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10", "--reach", "0");
        expectFailure(tmp, 2, "--feature-idx [3, -1]: -1 is negative", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10", "--feature-idx", "3,-1");
        expectFailure(tmp, 2, "--lora-lr 0.0: expected a number in (0, 1]", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10", "--lora-lr", "0");
        expectFailure(tmp, 2, "--feature-idx [3, 3] names 3 twice", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10", "--feature-idx", "3,3");
        expectFailure(tmp, 1, "unet_feature_idx [9]: 9 does not exist; this UNet has", "--model", model, "--image", in.toString(), "--drag", "10,10:20,10",
                "--feature-idx", "9", "--lora-steps", "0", "--steps", "1", "--inference-steps", "2");
    }

    private static void expectFailure(Path tmp, int code, String part, String... args) throws IOException {
        Path out = tmp.resolve("never.png");
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--out");
        a.add(out.toString());
        ForwardCommandTest.Run r = edit(a.toArray(String[]::new));
        assertEquals(code, r.code(), String.join(" ", args) + "\n" + r.out() + r.err());
        assertNotEquals("", r.err().strip());
        assertTrue(r.err().contains(part), "expected '" + part + "' in:\n" + r.err());
        assertFalse(Files.exists(out), "no image on failure");
        assertFalse(Files.exists(tmp.resolve("never.json")), "no sidecar on failure");
        assertTrue(r.err().strip().lines().count() <= 2, "one clear line (plus picocli's help hint):\n" + r.err());
    }
}
