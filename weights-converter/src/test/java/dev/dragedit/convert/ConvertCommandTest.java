package dev.dragedit.convert;

import dev.dragedit.cli.Main;
import dev.dragedit.convert.lora.LoraMerger;
import dev.dragedit.convert.testing.CkptWriter;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.ModelResolver;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** `dragedit convert` through the real CLI (ServiceLoader finds the command), and the cached ModelResolver. */
class ConvertCommandTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = Main.run(args, new PrintWriter(o), new PrintWriter(e));
        return new Run(code, o.toString(), e.toString());
    }

    static Map<String, Tensor> lora() {
        float[] d = new float[2 * 32], u = new float[32 * 2];
        for (int i = 0; i < d.length; i++) d[i] = (i % 7) * 0.01f - 0.03f;
        for (int i = 0; i < u.length; i++) u[i] = (i % 5) * 0.02f - 0.04f;
        Map<String, Tensor> l = new LinkedHashMap<>();
        l.put("lora_unet_down_blocks_1_attentions_1_transformer_blocks_0_attn2_to_v.lora_down.weight", Tensor.of(d, 2, 32));
        l.put("lora_unet_down_blocks_1_attentions_1_transformer_blocks_0_attn2_to_v.lora_up.weight", Tensor.of(u, 32, 2));
        l.put("lora_unet_down_blocks_1_attentions_1_transformer_blocks_0_attn2_to_v.alpha", Tensor.scalar(1f));
        return l;
    }

    @Test
    void convertWithLoraThroughTheCli(@TempDir Path tmp) throws Exception {
        LdmConvertTest.load();
        Path in = tmp.resolve("model.ckpt");
        CkptWriter.write(in, LdmConvertTest.ldm());
        Path lf = tmp.resolve("style.safetensors");
        SafeTensors.write(lf, lora());
        Path out = tmp.resolve("out");
        Run r = run("convert", in.toString(), out.toString(), "--lora", lf + ":0.5", "--config-from", LdmConvertTest.configDir(tmp).toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("1 LoRA merged"), r.out());
        String key = "down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_v.weight";
        Map<String, Tensor> unet = new LinkedHashMap<>(LdmConvertTest.unet);
        LoraMerger.merge(lf, lora(), Map.of(), 0.5, unet, new LinkedHashMap<>());
        Map<String, Tensor> got = LdmConvertTest.read(out.resolve("unet/diffusion_pytorch_model.safetensors"));
        assertArrayEquals(unet.get(key).data(), got.get(key).data());
        assertFalse(java.util.Arrays.equals(LdmConvertTest.unet.get(key).data(), got.get(key).data()), "the LoRA changed the weight");

        // Re-converting the diffusers folder with --dtype f16 works from a folder input too.
        Path half = tmp.resolve("half");
        r = run("convert", out.toString(), half.toString(), "--dtype", "f16");
        assertEquals(0, r.code(), r.err());
        assertEquals(dev.dragedit.tensor.DType.F16, LdmConvertTest.read(half.resolve("unet/diffusion_pytorch_model.safetensors")).get(key).dtype());
    }

    @Test
    void failuresAreOneLineMessages(@TempDir Path tmp) throws Exception {
        Run r = run("convert", tmp.resolve("missing.ckpt").toString(), tmp.resolve("o").toString());
        assertEquals(Main.EXIT_FAILURE, r.code());
        assertTrue(r.err().contains("missing.ckpt") && r.err().contains("no such file"), r.err());
        Path evil = tmp.resolve("evil.ckpt");
        CkptWriter.writeZip(evil, "archive", new dev.dragedit.convert.testing.PickleWriter().proto()
                .global("builtins", "eval").mark().str("1+1").tuple().reduce().stop().bytes(), Map.of());
        r = run("convert", evil.toString(), tmp.resolve("o").toString());
        assertEquals(Main.EXIT_FAILURE, r.code());
        assertTrue(r.err().contains("refused global builtins.eval"), r.err());
        assertFalse(Files.exists(tmp.resolve("o")));
        Path lf = tmp.resolve("style.safetensors");
        SafeTensors.write(lf, lora());
        r = run("convert", lf.toString(), tmp.resolve("o").toString());
        assertEquals(Main.EXIT_FAILURE, r.code());
        assertTrue(r.err().contains("is a LoRA file") && r.err().contains("--lora"), r.err());
        r = run("convert", evil.toString(), tmp.resolve("o").toString(), "--dtype", "f8");
        assertEquals(Main.EXIT_USAGE, r.code(), r.err());
    }

    /** A 1-layer CLIP text tower 64 wide (so its head count, 64-wide heads, is inferable), random weights. */
    static Map<String, Tensor> clip64() {
        java.util.Random r = new java.util.Random(7);
        Map<String, Tensor> m = new LinkedHashMap<>();
        java.util.function.Function<int[], Tensor> t = s -> {
            float[] d = new float[(int) Tensor.numel(s)];
            for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian() * 0.02f;
            return Tensor.of(d, s);
        };
        String p = "text_model.";
        m.put(p + "embeddings.token_embedding.weight", t.apply(new int[]{1000, 64}));
        m.put(p + "embeddings.position_embedding.weight", t.apply(new int[]{77, 64}));
        String l = p + "encoder.layers.0.";
        for (String n : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
            m.put(l + "self_attn." + n + ".weight", t.apply(new int[]{64, 64}));
            m.put(l + "self_attn." + n + ".bias", t.apply(new int[]{64}));
        }
        for (String n : new String[]{"layer_norm1", "layer_norm2"}) {
            m.put(l + n + ".weight", t.apply(new int[]{64}));
            m.put(l + n + ".bias", t.apply(new int[]{64}));
        }
        m.put(l + "mlp.fc1.weight", t.apply(new int[]{256, 64}));
        m.put(l + "mlp.fc1.bias", t.apply(new int[]{256}));
        m.put(l + "mlp.fc2.weight", t.apply(new int[]{64, 256}));
        m.put(l + "mlp.fc2.bias", t.apply(new int[]{64}));
        m.put(p + "final_layer_norm.weight", t.apply(new int[]{64}));
        m.put(p + "final_layer_norm.bias", t.apply(new int[]{64}));
        return m;
    }

    @Test
    void modelArgumentsResolveOnceIntoTheCache(@TempDir Path tmp) throws Exception {
        LdmConvertTest.load();
        Path in = tmp.resolve("m.ckpt");
        CkptWriter.write(in, dev.dragedit.convert.testing.LdmNames.ldm(LdmConvertTest.unet, LdmConvertTest.vae, clip64()));
        String old = System.getProperty("dragedit.cache");
        System.setProperty("dragedit.cache", tmp.resolve("cache").toString());
        try {
            // A single file converts once into cache/models/<sha256>/; a second call (even of a renamed copy) reuses it.
            Path a = ModelResolver.resolveModel(in, List.of());
            assertEquals(tmp.resolve("cache").resolve("models"), a.getParent());
            assertEquals(64, a.getFileName().toString().length());
            assertEquals(1, new com.fasterxml.jackson.databind.ObjectMapper().readTree(a.resolve("text_encoder/config.json").toFile())
                    .get("num_attention_heads").asInt());
            long t = Files.getLastModifiedTime(a.resolve("unet/diffusion_pytorch_model.safetensors")).toMillis();
            Path copy = tmp.resolve("renamed.ckpt");
            Files.copy(in, copy);
            assertEquals(a, ModelResolver.resolveModel(copy, List.of()), "same content, same cache entry");
            assertEquals(t, Files.getLastModifiedTime(a.resolve("unet/diffusion_pytorch_model.safetensors")).toMillis(), "not converted again");

            assertEquals(a, ModelResolver.resolveModel(a, List.of()), "a folder without LoRAs is used as it is");
            Path lf = tmp.resolve("l.safetensors");
            SafeTensors.write(lf, lora());
            Path b = ModelResolver.resolveModel(in, List.of(lf + ":0.25"));
            assertNotEquals(a, b);
            assertEquals(b, ModelResolver.resolveModel(in, List.of(lf + ":0.25")));
            assertNotEquals(b, ModelResolver.resolveModel(in, List.of(lf + ":0.5")), "another scale is another model");
            Path c = ModelResolver.resolveModel(a, List.of(lf + ":0.25")); // folder + LoRA
            String key = "down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_v.weight";
            assertArrayEquals(LdmConvertTest.read(b.resolve("unet/diffusion_pytorch_model.safetensors")).get(key).data(),
                    LdmConvertTest.read(c.resolve("unet/diffusion_pytorch_model.safetensors")).get(key).data());
            // A component folder on its own (the fixture's unet-tiny: config.json + weights) with a LoRA.
            Path unetDir = dev.dragedit.convert.testing.FixtureFiles.require("unet-tiny/config.json").getParent();
            Path d = ModelResolver.resolveModel(unetDir, List.of(lf + ":0.25"));
            assertTrue(Files.isRegularFile(d.resolve("config.json")));
            assertArrayEquals(LdmConvertTest.read(b.resolve("unet/diffusion_pytorch_model.safetensors")).get(key).data(),
                    LdmConvertTest.read(d.resolve("diffusion_pytorch_model.safetensors")).get(key).data());
            Path teLora = tmp.resolve("te.safetensors");
            SafeTensors.write(teLora, Map.of("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", Tensor.zeros(1, 32),
                    "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", Tensor.zeros(128, 1)));
            Exception e = assertThrows(java.io.IOException.class, () -> ModelResolver.resolveModel(unetDir, List.of(teLora.toString())));
            assertTrue(e.getMessage().contains("has nothing for the UNet"), e.getMessage());
            e = assertThrows(java.io.IOException.class, () -> ModelResolver.resolveModel(tmp.resolve("nope.ckpt"), List.of()));
            assertTrue(e.getMessage().contains("nope.ckpt"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty("dragedit.cache"); else System.setProperty("dragedit.cache", old);
        }
    }
}
