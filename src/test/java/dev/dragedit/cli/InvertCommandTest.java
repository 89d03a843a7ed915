package dev.dragedit.cli;

import dev.dragedit.drag.Images;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code dragedit invert}: the drag-loop fixture's inversion (inversion.safetensors, unet-tiny + vae-tiny) reproduced
 * from the command line on the CPU — z0 within 1e-4 × max |ref|, every inversion_latents entry and invert_code within
 * 1e-3 × max |ref| (fixtures README); the uint8 source pixels instead of the image tensor; a PNG plus a prompt encoded
 * by an SD folder's text encoder; the CUDA backend against the CPU on a 64×64 crop with one step (the emulated VAE
 * at 128×128 plus UNet steps would take over a minute; the library test checks the device against the fixture); and
 * bad arguments or inputs: one error line, exit ≠ 0, no output file.
 */
class InvertCommandTest {
    private static Path fixture(String rel) { return Fixtures.require(rel); }

    private static String unet() { return fixture("unet-tiny/config.json").getParent().toString(); }

    private static String vae() { return fixture("vae-tiny/config.json").getParent().toString(); }

    private static Map<String, Tensor> read(Path f) throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(f)) {
            for (String n : st.names()) m.put(n, st.get(n).copy());
        }
        return m;
    }

    private static Map<String, Tensor> invert(Path out, String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of("invert"));
        a.addAll(List.of(args));
        a.add("--out");
        a.add(out.toString());
        ForwardCommandTest.Run r = ForwardCommandTest.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), "exit code; stderr: " + r.err());
        assertTrue(r.out().contains("invert: wrote"), r.out());
        return read(out);
    }

    private static double assertRel(String what, Tensor want, Tensor got, double rel) {
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] w = want.to(DType.F32).data(), g = got.data();
        double max = 0, diff = 0;
        for (int i = 0; i < w.length; i++) {
            max = Math.max(max, Math.abs(w[i]));
            double d = Math.abs((double) g[i] - w[i]);
            if (!(d <= diff)) diff = d;
        }
        assertTrue(diff <= rel * max, String.format(Locale.ROOT, "%s: error %.3g > %.3g of max |ref| %.3g", what, diff / max, rel, max));
        return diff / max;
    }

    private static Tensor entry(Tensor traj, int k) {
        int[] s = traj.shape();
        return CpuOps.INSTANCE.slice(traj, 0, k, k + 1).reshape(1, s[1], s[2], s[3]);
    }

    @Test
    void reproducesTheFixtureTrajectoryOnTheCpu(@TempDir Path tmp) throws IOException {
        Path inFile = fixture("drag-loop/inversion.safetensors");
        Map<String, Tensor> got = invert(tmp.resolve("inv.safetensors"), "--device", "cpu", "--unet", unet(), "--vae", vae(),
                "--in", inFile.toString());
        assertEquals(List.of("z0", "inversion_timesteps", "inversion_latents", "invert_code"), new ArrayList<>(got.keySet()));
        Map<String, Tensor> ref = read(inFile);
        assertArrayEquals(ref.get("inversion_timesteps").data(), got.get("inversion_timesteps").data());
        assertRel("z0", ref.get("z0"), got.get("z0"), 1e-4);
        assertArrayEquals(new int[]{36, 4, 16, 16}, got.get("inversion_latents").shape());
        for (int k = 0; k < 36; k++)
            assertRel("inversion_latents[" + k + "]", entry(ref.get("inversion_latents"), k), entry(got.get("inversion_latents"), k),
                    k == 0 ? 1e-4 : 1e-3);
        double e = assertRel("invert_code", ref.get("invert_code"), got.get("invert_code"), 1e-3);
        System.out.printf(Locale.ROOT, "invert --device cpu: invert_code error %.3g of max |ref|%n", e);
        try (SafeTensors st = SafeTensors.open(tmp.resolve("inv.safetensors"))) {
            assertEquals("681", st.metadata().get("t"));
        }
    }

    /** The uint8 pixels alone (no image tensor) give the same z0 and first steps: preprocess_image is exact. */
    @Test
    void sourcePixelsWorkInsteadOfTheImageTensor(@TempDir Path tmp) throws IOException {
        Map<String, Tensor> ref = read(fixture("drag-loop/inversion.safetensors"));
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("source_image_hwc_uint8_values", ref.get("source_image_hwc_uint8_values"));
        in.put("text_embeddings", ref.get("text_embeddings"));
        Path inFile = tmp.resolve("pixels.safetensors");
        SafeTensors.write(inFile, in);
        // strength 0.04 of 50 steps = 2 steps: timesteps 1 and 21, the fixture's first two.
        Map<String, Tensor> got = invert(tmp.resolve("o.safetensors"), "--device", "cpu", "--unet", unet(), "--vae", vae(),
                "--in", inFile.toString(), "--strength", "0.04");
        assertArrayEquals(new float[]{1, 21}, got.get("inversion_timesteps").data());
        assertRel("z0", ref.get("z0"), got.get("z0"), 1e-4);
        for (int k = 1; k <= 2; k++)
            assertRel("latent " + k, entry(ref.get("inversion_latents"), k), entry(got.get("inversion_latents"), k), 1e-3);
    }

    /** --image + --prompt through a Stable Diffusion folder of the tiny fixtures (text encoder and tokenizer included). */
    @Test
    void aPngAndAPromptThroughAStableDiffusionFolder(@TempDir Path tmp) throws IOException {
        Path sd = ForwardCommandTest.sdFolder(tmp);
        Map<String, Tensor> ref = read(fixture("drag-loop/inversion.safetensors"));
        Tensor hwc = ref.get("source_image_hwc_uint8_values");
        byte[] px = new byte[hwc.numel()];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (int) hwc.getFloat(i);
        Path png = tmp.resolve("source.png");
        Images.write(png, new Images.Rgb(128, 128, px));
        byte[] before = Files.readAllBytes(png);
        Map<String, Tensor> got = invert(tmp.resolve("p.safetensors"), "--device", "cpu", "--model", sd.toString(),
                "--image", png.toString(), "--prompt", "a photo of a cat", "--strength", "0.02");
        assertRel("z0 from the PNG", ref.get("z0"), got.get("z0"), 1e-4);  // the PNG holds exactly the fixture's pixels
        assertArrayEquals(new int[]{2, 4, 16, 16}, got.get("inversion_latents").shape());
        assertArrayEquals(new int[]{1, 4, 16, 16}, got.get("invert_code").shape());
        assertArrayEquals(before, Files.readAllBytes(png), "the input is not modified");
    }

    /** The kernel backend (the emulation without a GPU) against the CPU on a 64×64 crop, one step (see the class comment). */
    @Test
    void cudaBackendMatchesTheCpu(@TempDir Path tmp) throws IOException {
        Map<String, Tensor> ref = read(fixture("drag-loop/inversion.safetensors"));
        Tensor crop = CpuOps.INSTANCE.slice(CpuOps.INSTANCE.slice(ref.get("image"), 2, 32, 96), 3, 32, 96);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("image", crop);
        in.put("text_embeddings", ref.get("text_embeddings"));
        Path inFile = tmp.resolve("crop.safetensors");
        SafeTensors.write(inFile, in);
        String[] common = {"--unet", unet(), "--vae", vae(), "--in", inFile.toString(), "--strength", "0.02"};
        Map<String, Tensor> cpu = invert(tmp.resolve("cpu.safetensors"), concat(common, "--device", "cpu"));
        Map<String, Tensor> dev = invert(tmp.resolve("dev.safetensors"), concat(common, "--device", ForwardCommandTest.kernelDevice()));
        assertArrayEquals(new int[]{1, 4, 8, 8}, dev.get("z0").shape());
        for (String n : List.of("z0", "inversion_latents", "invert_code")) {
            double e = assertRel("device vs cpu " + n, cpu.get(n), dev.get(n), 1e-4);
            System.out.printf(Locale.ROOT, "invert --device %s vs cpu: %s error %.3g of max%n", ForwardCommandTest.kernelDevice(), n, e);
        }
    }

    private static String[] concat(String[] a, String... b) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(List.of(b));
        return l.toArray(String[]::new);
    }

    @Test
    void badArgumentsAndInputsFailCleanly(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("never.safetensors");
        String inv = fixture("drag-loop/inversion.safetensors").toString();
        expectFailure(out, 2, "exactly one of --in", "--unet", unet(), "--vae", vae());
        expectFailure(out, 2, "--image needs --prompt", "--unet", unet(), "--vae", vae(), "--image", "x.png");
        expectFailure(out, 2, "--unet DIR and --vae DIR", "--unet", unet(), "--in", inv);
        expectFailure(out, 2, "rounds to 0", "--unet", unet(), "--vae", vae(), "--in", inv, "--strength", "0.001");
        expectFailure(out, 2, "must be in (0, 1]", "--unet", unet(), "--vae", vae(), "--in", inv, "--strength", "1.5");
        expectFailure(out, 2, "--model", "--model", unet(), "--in", inv);   // a component folder given as --model
        expectFailure(out, 1, "does not exist", "--unet", unet(), "--vae", vae(), "--in", tmp.resolve("none.safetensors").toString());

        Map<String, Tensor> noText = new LinkedHashMap<>();
        noText.put("image", Tensor.zeros(1, 3, 64, 64));
        Path f1 = tmp.resolve("notext.safetensors");
        SafeTensors.write(f1, noText);
        expectFailure(out, 1, "no tensor \"text_embeddings\"", "--unet", unet(), "--vae", vae(), "--in", f1.toString());

        Map<String, Tensor> odd = new LinkedHashMap<>();
        odd.put("image", Tensor.zeros(1, 3, 72, 64));
        odd.put("text_embeddings", Tensor.zeros(1, 77, 32));
        Path f2 = tmp.resolve("odd.safetensors");
        SafeTensors.write(f2, odd);
        expectFailure(out, 1, "multiples of 64", "--unet", unet(), "--vae", vae(), "--in", f2.toString());

        Map<String, Tensor> wideText = new LinkedHashMap<>();
        wideText.put("image", Tensor.zeros(1, 3, 64, 64));
        wideText.put("text_embeddings", Tensor.zeros(1, 77, 16));
        Path f3 = tmp.resolve("wide.safetensors");
        SafeTensors.write(f3, wideText);
        expectFailure(out, 1, "cross_attention_dim", "--unet", unet(), "--vae", vae(), "--in", f3.toString());

        Path notPng = Files.writeString(tmp.resolve("bad.png"), "not a png");
        Path sd = ForwardCommandTest.sdFolder(tmp);
        expectFailure(out, 1, "not an image format", "--model", sd.toString(), "--image", notPng.toString(), "--prompt", "x");
    }

    private static void expectFailure(Path out, int code, String part, String... args) {
        List<String> a = new ArrayList<>(List.of("invert", "--device", "cpu"));
        a.addAll(List.of(args));
        a.add("--out");
        a.add(out.toString());
        ForwardCommandTest.Run r = ForwardCommandTest.run(a.toArray(String[]::new));
        assertEquals(code, r.code(), "exit code of " + a + "; stderr: " + r.err());
        assertTrue(r.err().contains(part), "expected '" + part + "' in: " + r.err());
        assertTrue(r.err().strip().lines().filter(l -> l.startsWith("dragedit:")).count() == 1, r.err());
        assertFalse(Files.exists(out), "no output file after a failure");
    }
}
