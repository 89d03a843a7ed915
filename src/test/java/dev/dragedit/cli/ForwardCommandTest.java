package dev.dragedit.cli;

import dev.dragedit.cuda.Devices;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.models.sd.UNetConfig;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code dragedit forward}: each model run in-process on the fixtures' inputs reproduces the fixtures' outputs
 * (README tolerances: UNet and VAE 1e-4 × max |ref|, CLIP 1e-4 absolute), on the CPU and on the CUDA backend (the
 * emulation when there is no GPU); a Stable Diffusion folder works as --model; random weights; and bad input is one
 * error line with exit 1 and no output file.
 */
class ForwardCommandTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(code, out.toString(), err.toString());
    }

    /** The kernel backend of this machine: the GPU when there is one, else the CPU emulation of the CUDA kernels. */
    static String kernelDevice() { return Devices.cudaAvailable() ? "cuda" : "emulated"; }

    private static Path fixture(String rel) { return Fixtures.require(rel); }

    /** Runs a forward command and returns its output tensors (CPU, F32). */
    private static Map<String, Tensor> forward(Path out, String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--out");
        a.add(out.toString());
        Run r = run(a.toArray(String[]::new));
        assertEquals(0, r.code(), "exit code; stderr: " + r.err());
        assertTrue(r.out().startsWith("forward "), r.out());
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(out)) {
            for (String n : st.names()) {
                Tensor t = st.get(n);
                assertEquals(DType.F32, t.dtype(), n + " is written as F32");
                m.put(n, Tensor.of(t.data().clone(), t.shape()));
            }
        }
        return m;
    }

    /** max |got − ref| ≤ tol·max|ref| (relative) or ≤ tol (absolute); returns the error measured. */
    private static double assertClose(String what, Tensor ref, Tensor got, double tol, boolean relative) {
        assertArrayEquals(ref.shape(), got.shape(), what + ": shape");
        float[] r = ref.to(DType.F32).data(), g = got.data();
        double max = 0, diff = 0;
        for (int i = 0; i < r.length; i++) {
            max = Math.max(max, Math.abs(r[i]));
            double d = Math.abs((double) g[i] - r[i]);
            if (!(d <= diff)) diff = d; // NaN propagates
        }
        double err = relative ? diff / max : diff;
        assertTrue(err <= tol, String.format(Locale.ROOT, "%s: error %.3g > %.3g (%s)", what, err, tol, relative ? "relative to max |ref|" : "absolute"));
        return err;
    }

    // ------------------------------------------------------------------ the fixtures reproduced

    @Test
    void unetReproducesTheFixtureOnTheCpu(@TempDir Path tmp) throws IOException { unet(tmp, "cpu"); }

    @Test
    void unetReproducesTheFixtureOnTheCudaBackend(@TempDir Path tmp) throws IOException { unet(tmp, kernelDevice()); }

    private void unet(Path tmp, String device) throws IOException {
        Path io = fixture("unet-tiny/io.safetensors");
        // The emulation runs the kernels at about 1 GFLOP/s: there, batch element 0 alone keeps the test short (the UNet
        // computes each batch element on its own, so its outputs are the fixture's first rows).
        int batch = device.equals("emulated") ? 1 : 2;
        Path in = io;
        if (batch == 1) {
            Map<String, Tensor> first = new LinkedHashMap<>();
            try (SafeTensors ref = SafeTensors.open(io)) {
                first.put("sample", firstRow(ref.get("sample")));
                first.put("timestep", Tensor.of(ref.get("timestep").data().clone(), 1));
                first.put("encoder_hidden_states", firstRow(ref.get("encoder_hidden_states")));
            }
            in = write(tmp.resolve("in.safetensors"), first);
        }
        Map<String, Tensor> got = forward(tmp.resolve("unet.safetensors"), "forward", "unet", "--device", device,
                "--model", fixture("unet-tiny/config.json").getParent().toString(), "--in", in.toString());
        assertEquals(List.of("out", "up_block_0_out", "up_block_1_out", "up_block_2_out", "up_block_3_out"), new ArrayList<>(got.keySet()));
        try (SafeTensors ref = SafeTensors.open(io)) {
            for (String n : got.keySet()) {
                Tensor want = batch == 1 ? firstRow(ref.get(n)) : ref.get(n);
                double e = assertClose("unet " + device + " " + n, want, got.get(n), 1e-4, true);
                System.out.printf(Locale.ROOT, "forward unet --device %s (batch %d): %s error %.3g of max |ref|%n", device, batch, n, e);
            }
        }
    }

    /** t[0:1] along the first axis. */
    private static Tensor firstRow(Tensor t) {
        int[] s = t.shape();
        int n = t.numel() / s[0];
        s[0] = 1;
        return Tensor.of(java.util.Arrays.copyOf(t.to(DType.F32).data(), n), s);
    }

    @Test
    void vaeReproducesTheFixtureOnTheCpu(@TempDir Path tmp) throws IOException { vae(tmp, "cpu"); }

    @Test
    void vaeReproducesTheFixtureOnTheCudaBackend(@TempDir Path tmp) throws IOException { vae(tmp, kernelDevice()); }

    private void vae(Path tmp, String device) throws IOException {
        Path io = fixture("vae-tiny/io.safetensors");
        String model = fixture("vae-tiny/config.json").getParent().toString();
        Map<String, Tensor> enc = forward(tmp.resolve("enc.safetensors"), "forward", "vae-encode", "--device", device,
                "--model", model, "--in", io.toString());
        Map<String, Tensor> dec = forward(tmp.resolve("dec.safetensors"), "forward", "vae-decode", "--device", device,
                "--model", model, "--in", io.toString());
        assertEquals(List.of("posterior_mean", "posterior_logvar"), new ArrayList<>(enc.keySet()));
        assertEquals(List.of("decoded"), new ArrayList<>(dec.keySet()));
        try (SafeTensors ref = SafeTensors.open(io)) {
            for (var e : enc.entrySet()) report("vae-encode", device, e.getKey(), assertClose("vae-encode " + device + " " + e.getKey(), ref.get(e.getKey()), e.getValue(), 1e-4, true));
            report("vae-decode", device, "decoded", assertClose("vae-decode " + device, ref.get("decoded"), dec.get("decoded"), 1e-4, true));
        }
    }

    private static void report(String cmd, String device, String name, double e) {
        System.out.printf(Locale.ROOT, "forward %s --device %s: %s error %.3g%n", cmd, device, name, e);
    }

    @Test
    void textEncoderReproducesTheFixtureOnTheCpu(@TempDir Path tmp) throws IOException { textEncoder(tmp, "cpu"); }

    @Test
    void textEncoderReproducesTheFixtureOnTheCudaBackend(@TempDir Path tmp) throws IOException { textEncoder(tmp, kernelDevice()); }

    private void textEncoder(Path tmp, String device) throws IOException {
        Path io = fixture("clip-text-tiny/io.safetensors");
        Map<String, Tensor> got = forward(tmp.resolve("te.safetensors"), "forward", "text-encoder", "--device", device,
                "--model", fixture("clip-text-tiny/config.json").getParent().toString(), "--in", io.toString());
        try (SafeTensors ref = SafeTensors.open(io)) {
            for (String n : List.of("last_hidden_state", "pooled_output"))
                report("text-encoder", device, n, assertClose("text-encoder " + device + " " + n, ref.get(n), got.get(n), 1e-4, false));
        }
    }

    // ------------------------------------------------------------------ a Stable Diffusion folder

    /** A diffusers SD folder made of the tiny fixtures (their sizes fit together: cross_attention_dim 32 = hidden 32). */
    static Path sdFolder(Path tmp) throws IOException {
        Path sd = tmp.resolve("sd-tiny");
        Files.createDirectories(sd.resolve("scheduler"));
        Files.createSymbolicLink(sd.resolve("unet"), fixture("unet-tiny/config.json").getParent().toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("vae"), fixture("vae-tiny/config.json").getParent().toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("text_encoder"), fixture("clip-text-tiny/config.json").getParent().toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("tokenizer"), fixture("clip-tokenizer/tokenizer/vocab.json").getParent().toAbsolutePath());
        Files.copy(fixture("ddim/scheduler_config.json"), sd.resolve("scheduler/scheduler_config.json"));
        Files.writeString(sd.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\", \"_diffusers_version\": \"0.24.0\","
                + " \"scheduler\": [\"diffusers\", \"DDIMScheduler\"], \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],"
                + " \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"], \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
                + " \"vae\": [\"diffusers\", \"AutoencoderKL\"], \"safety_checker\": [null, null], \"feature_extractor\": [null, null]}");
        return sd;
    }

    @Test
    void aStableDiffusionFolderServesEveryModel(@TempDir Path tmp) throws IOException {
        Path sd = sdFolder(tmp);
        Path io = fixture("unet-tiny/io.safetensors");
        Map<String, Tensor> viaFolder = forward(tmp.resolve("a.safetensors"), "forward", "unet", "--device", "cpu",
                "--model", sd.toString(), "--in", io.toString());
        try (SafeTensors ref = SafeTensors.open(io)) {
            assertClose("unet via the SD folder", ref.get("out"), viaFolder.get("out"), 1e-4, true);
        }
        Map<String, Tensor> dec = forward(tmp.resolve("d.safetensors"), "forward", "vae-decode", "--device", "cpu",
                "--model", sd.toString(), "--in", fixture("vae-tiny/io.safetensors").toString());
        assertEquals(1, dec.size());

        StableDiffusion m = StableDiffusion.load(sd, Placement.cpu());
        assertEquals(32, m.unet.config.crossAttentionDim);
        assertEquals(0.18215f, m.vae.scalingFactor());
        assertFalse(m.scheduler.config().clipSample());
        assertEquals(49408, m.tokenizer.vocabSize());
        Tensor emb = m.encodePrompts(m.functional(), List.of("a photograph of an astronaut riding a horse"));
        assertArrayEquals(new int[]{1, 77, 32}, emb.shape());

        // Random weights from the folder's configs, with its tokenizer and scheduler.
        StableDiffusion r = SdModels.random(sd.toString(), 3, Placement.cpu());
        assertEquals(32, r.unet.config.crossAttentionDim);
        assertEquals(4, r.vae.config.latentChannels());
        assertEquals(49408, r.tokenizer.vocabSize());
        assertArrayEquals(new int[]{1, 77, 32}, r.encodePrompts(r.functional(), List.of("a cat")).shape());
        r.scheduler.setTimesteps(50);
        assertEquals(981, r.scheduler.timesteps()[0]);
    }

    @Test
    void aFolderMissingAPartIsAnErrorNamingIt(@TempDir Path tmp) throws IOException {
        Path sd = sdFolder(tmp);
        Files.delete(sd.resolve("tokenizer"));
        WeightsException e = assertThrows(WeightsException.class, () -> StableDiffusion.load(sd, Placement.cpu()));
        assertTrue(e.getMessage().contains("no tokenizer/ sub-folder"), e.getMessage());

        Files.delete(sd.resolve("unet"));
        Run r = run("forward", "unet", "--device", "cpu", "--model", sd.toString(), "--in", fixture("unet-tiny/io.safetensors").toString(),
                "--out", tmp.resolve("o.safetensors").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("without a unet/ sub-folder"), r.err());
        assertFalse(Files.exists(tmp.resolve("o.safetensors")));

        Path sd2 = sdFolder(tmp.resolve("x"));
        Files.writeString(sd2.resolve("model_index.json"), "{\"unet\": [\"diffusers\", \"UNet2DModel\"]}");
        e = assertThrows(WeightsException.class, () -> StableDiffusion.load(sd2, Placement.cpu()));
        assertTrue(e.getMessage().contains("unet is a UNet2DModel, expected UNet2DConditionModel"), e.getMessage());
    }

    @Test
    void fp16VariantFilesAreRead(@TempDir Path tmp) throws IOException {
        // An SD folder whose unet/ and text_encoder/ hold only the .fp16 variant files (the fixtures' weights rounded to F16).
        Path sd = tmp.resolve("sd");
        for (String[] c : new String[][]{{"unet", "unet-tiny", "diffusion_pytorch_model"}, {"text_encoder", "clip-text-tiny", "model"}}) {
            Path src = fixture(c[1] + "/config.json").getParent(), dst = sd.resolve(c[0]);
            Files.createDirectories(dst);
            Files.copy(src.resolve("config.json"), dst.resolve("config.json"));
            Map<String, Tensor> half = new LinkedHashMap<>();
            try (SafeTensors st = SafeTensors.open(src.resolve(c[2] + ".safetensors"))) {
                for (String n : st.names()) {
                    Tensor t = st.get(n);
                    half.put(n, t.dtype() == DType.F32 ? t.to(DType.F16) : t);
                }
            }
            SafeTensors.write(dst.resolve(c[2] + ".fp16.safetensors"), half);
        }
        Path io = fixture("clip-text-tiny/io.safetensors");
        Map<String, Tensor> got = forward(tmp.resolve("te.safetensors"), "forward", "text-encoder", "--device", "cpu",
                "--variant", "fp16", "--model", sd.toString(), "--in", io.toString());
        try (SafeTensors ref = SafeTensors.open(io)) {
            // F16 weights: the outputs move by about 1e-3 of their size, far from the F32 tolerance but close.
            double e = assertClose("text-encoder fp16", ref.get("last_hidden_state"), got.get("last_hidden_state"), 2e-2, true);
            assertTrue(e > 0, "the F16 weights were used");
        }
        Path uio = fixture("unet-tiny/io.safetensors");
        Map<String, Tensor> u = forward(tmp.resolve("u.safetensors"), "forward", "unet", "--device", "cpu",
                "--variant", "fp16", "--model", sd.toString(), "--in", uio.toString());
        try (SafeTensors ref = SafeTensors.open(uio)) {
            assertClose("unet fp16", ref.get("out"), u.get("out"), 2e-2, true);
        }
        Run r = run("forward", "text-encoder", "--device", "cpu", "--model", sd.toString(), "--in", io.toString(),
                "--out", tmp.resolve("x.safetensors").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("model.safetensors does not exist"), r.err());
    }

    // ------------------------------------------------------------------ random weights

    @Test
    void randomWeightsFromAConfigFolderAreDeterministicPerSeed(@TempDir Path tmp) throws IOException {
        Path io = fixture("unet-tiny/io.safetensors");
        String cfg = fixture("unet-tiny/config.json").getParent().toString();
        Map<String, Tensor> a = forward(tmp.resolve("a.safetensors"), "forward", "unet", "--device", "cpu",
                "--random-weights", cfg, "--seed", "5", "--in", io.toString());
        Map<String, Tensor> b = forward(tmp.resolve("b.safetensors"), "forward", "unet", "--device", "cpu",
                "--random-weights", fixture("unet-tiny/config.json").toString(), "--seed", "5", "--in", io.toString());
        Map<String, Tensor> c = forward(tmp.resolve("c.safetensors"), "forward", "unet", "--device", "cpu",
                "--random-weights", cfg, "--seed", "6", "--in", io.toString());
        // Same seed, same weights: the same bits (the CPU ops are deterministic, JIT tier included: VecMath).
        org.junit.jupiter.api.Assertions.assertArrayEquals(a.get("out").data(), b.get("out").data(), "same seed");
        double other = 0, max = 0;
        for (int i = 0; i < a.get("out").numel(); i++) {
            other = Math.max(other, Math.abs(a.get("out").data()[i] - c.get("out").data()[i]));
            max = Math.max(max, Math.abs(a.get("out").data()[i]));
        }
        assertTrue(other > 1e-2 * max, "another seed, other weights");
        for (float v : a.get("out").data()) assertTrue(Float.isFinite(v));

        // A config of another model is refused with the class it names.
        Run r = run("forward", "unet", "--device", "cpu", "--random-weights", fixture("vae-tiny/config.json").getParent().toString(),
                "--in", io.toString(), "--out", tmp.resolve("d.safetensors").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("configures a AutoencoderKL, not the UNet2DConditionModel"), r.err());
        // sd15 names the built-in SD1.5 sizes.
        UNetConfig sd15 = SdModels.unetConfig("sd15");
        assertArrayEquals(new int[]{320, 640, 1280, 1280}, sd15.blockOutChannels);
        assertEquals(768, sd15.crossAttentionDim);
        assertEquals(4, SdModels.vaeConfig("SD15").latentChannels());
        assertEquals(768, SdModels.textEncoderConfig("sd15").hiddenSize());
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void badInputIsOneLineExitOneAndNoOutput(@TempDir Path tmp) throws IOException {
        String model = fixture("unet-tiny/config.json").getParent().toString();
        Path out = tmp.resolve("out.safetensors");
        Tensor sample = Tensor.zeros(2, 4, 16, 16), ctx = Tensor.zeros(2, 77, 32), t = Tensor.of(new float[]{421}, 1);

        Path noCtx = write(tmp.resolve("noctx.safetensors"), Map.of("sample", sample, "timestep", t));
        Run r = run("forward", "unet", "--device", "cpu", "--model", model, "--in", noCtx.toString(), "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("dragedit: forward unet: " + noCtx + " has no tensor \"encoder_hidden_states\""), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        Path badShape = write(tmp.resolve("shape.safetensors"), Map.of("sample", Tensor.zeros(2, 3, 16, 16), "timestep", t, "encoder_hidden_states", ctx));
        r = run("forward", "unet", "--device", "cpu", "--model", model, "--in", badShape.toString(), "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("sample has shape [2, 3, 16, 16], expected [batch, 4, height, width]"), r.err());

        Path odd = write(tmp.resolve("odd.safetensors"), Map.of("sample", Tensor.zeros(2, 4, 12, 16), "timestep", t, "encoder_hidden_states", ctx));
        r = run("forward", "unet", "--device", "cpu", "--model", model, "--in", odd.toString(), "--out", out.toString());
        assertTrue(r.err().contains("multiples of 8"), r.err());

        Path ctxBatch = write(tmp.resolve("ctx.safetensors"), Map.of("sample", sample, "timestep", t, "encoder_hidden_states", Tensor.zeros(1, 77, 32)));
        r = run("forward", "unet", "--device", "cpu", "--model", model, "--in", ctxBatch.toString(), "--out", out.toString());
        assertTrue(r.err().contains("encoder_hidden_states has shape [1, 77, 32], expected [2, tokens, 32]"), r.err());

        Path twoT = write(tmp.resolve("t.safetensors"), Map.of("sample", sample, "timestep", Tensor.of(new float[]{1, 2}, 2), "encoder_hidden_states", ctx));
        r = run("forward", "unet", "--device", "cpu", "--model", model, "--in", twoT.toString(), "--out", out.toString());
        assertTrue(r.err().contains("one timestep for the whole batch"), r.err());

        // An int64 timestep, as diffusers holds timesteps, is accepted.
        Path longT = write(tmp.resolve("long.safetensors"), Map.of("sample", sample, "timestep", Tensor.ofI64(new long[]{421}, 1), "encoder_hidden_states", ctx));
        r = run("forward", "unet", "--device", "cpu", "--model", model, "--in", longT.toString(), "--out", tmp.resolve("ok.safetensors").toString());
        assertEquals(0, r.code(), r.err());

        Path ids = write(tmp.resolve("ids.safetensors"), Map.of("input_ids", Tensor.of(new float[]{1.5f, 2}, 1, 2)));
        r = run("forward", "text-encoder", "--device", "cpu", "--model", fixture("clip-text-tiny/config.json").getParent().toString(),
                "--in", ids.toString(), "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("input_ids[0][0] is 1.5, expected a token id in 0..49407"), r.err());

        // A single file is a checkpoint for the weights converter; without it on the classpath that is said plainly.
        r = run("forward", "vae-decode", "--device", "cpu", "--model", noCtx.toString(), "--in", noCtx.toString(), "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains(noCtx.toString()), r.err());

        r = run("forward", "vae-decode", "--device", "cpu", "--model", fixture("vae-tiny/config.json").getParent().toString(),
                "--in", tmp.resolve("missing.safetensors").toString(), "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("missing.safetensors does not exist"), r.err());
        assertFalse(Files.exists(out), "no output file after a failure");

        // Usage errors (exit 2): the model source is one of --model and --random-weights.
        r = run("forward", "unet", "--in", noCtx.toString(), "--out", out.toString());
        assertEquals(2, r.code(), r.err());
        r = run("forward", "unet", "--model", model, "--random-weights", "sd15", "--in", noCtx.toString(), "--out", out.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("mutually exclusive"), r.err());
        r = run("forward", "unet", "--device", "cpu", "--random-weights", "sd15", "--lora", "x.safetensors", "--in", noCtx.toString(), "--out", out.toString());
        assertEquals(2, r.code(), r.err());
        r = run("forward", "unet", "--device", "cpu", "--dtype", "f16", "--model", model, "--in", noCtx.toString(), "--out", out.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("needs a CUDA device"), r.err());
        r = run("forward");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("missing model"), r.err());
        assertFalse(Files.exists(out));
    }

    private static Path write(Path f, Map<String, Tensor> tensors) throws IOException {
        SafeTensors.write(f, new LinkedHashMap<>(tensors));
        return f;
    }
}
