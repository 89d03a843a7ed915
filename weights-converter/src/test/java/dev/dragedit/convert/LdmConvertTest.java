package dev.dragedit.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.convert.ldm.LdmConverter;
import dev.dragedit.convert.ldm.LdmKeys;
import dev.dragedit.convert.testing.CkptWriter;
import dev.dragedit.convert.testing.FixtureFiles;
import dev.dragedit.convert.testing.LdmNames;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Single-file LDM checkpoints made from the tiny fixtures (diffusers names mapped to LDM names by the test's own
 * table, LdmNames), written as .safetensors and as a torch.save-style .ckpt, converted back: every tensor must be
 * bit-identical to the fixture's and the configs must describe the fixture models.
 */
class LdmConvertTest {
    static Map<String, Tensor> unet, vae, clip;
    static Path fixtures;

    @BeforeAll
    static void load() throws IOException {
        Path u = FixtureFiles.require("unet-tiny/diffusion_pytorch_model.safetensors");
        Path v = FixtureFiles.require("vae-tiny/diffusion_pytorch_model.safetensors");
        Path c = FixtureFiles.require("clip-text-tiny/model.safetensors");
        fixtures = u.getParent().getParent();
        unet = read(u);
        vae = read(v);
        clip = read(c);
    }

    static Map<String, Tensor> read(Path f) throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(f)) {
            for (String n : st.names()) m.put(n, st.get(n));
        }
        return m;
    }

    /** The fixture LDM checkpoint, with the non-weight entries a real v1-5-pruned file has. */
    static Map<String, Tensor> ldm() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("betas", Tensor.zeros(1000));
        m.put("alphas_cumprod", Tensor.zeros(1000));
        m.put("alphas_cumprod_prev", Tensor.zeros(1000));
        m.put("model_ema.decay", Tensor.scalar(0.9999f));
        m.putAll(LdmNames.ldm(unet, vae, clip));
        return m;
    }

    /** A folder holding the fixtures' configs in diffusers layout, for --config-from. */
    static Path configDir(Path tmp) throws IOException {
        Path d = tmp.resolve("configs");
        for (String[] p : new String[][]{{"unet", "unet-tiny/config.json"}, {"vae", "vae-tiny/config.json"}, {"text_encoder", "clip-text-tiny/config.json"}}) {
            Files.createDirectories(d.resolve(p[0]));
            Files.copy(fixtures.resolve(p[1]), d.resolve(p[0]).resolve("config.json"));
        }
        return d;
    }

    static void assertIdentical(Map<String, Tensor> expected, Path file) throws IOException {
        Map<String, Tensor> got = read(file);
        Map<String, Tensor> exp = new LinkedHashMap<>(expected);
        exp.remove("text_model.embeddings.position_ids"); // a buffer, dropped by the conversion
        assertEquals(new java.util.TreeSet<>(exp.keySet()), new java.util.TreeSet<>(got.keySet()), file + ": key set");
        for (var e : exp.entrySet()) {
            Tensor g = got.get(e.getKey());
            assertArrayEquals(e.getValue().shape(), g.shape(), e.getKey());
            assertEquals(e.getValue().dtype(), g.dtype(), e.getKey());
            assertArrayEquals(CkptWriter.bytes(e.getValue()), CkptWriter.bytes(g), e.getKey() + ": bytes differ");
        }
    }

    static void assertConverted(Path out) throws IOException {
        assertIdentical(unet, out.resolve("unet/diffusion_pytorch_model.safetensors"));
        assertIdentical(vae, out.resolve("vae/diffusion_pytorch_model.safetensors"));
        assertIdentical(clip, out.resolve("text_encoder/model.safetensors"));
        ObjectMapper om = new ObjectMapper();
        assertEquals(om.readTree(fixtures.resolve("unet-tiny/config.json").toFile()), om.readTree(out.resolve("unet/config.json").toFile()));
        assertEquals(om.readTree(fixtures.resolve("vae-tiny/config.json").toFile()), om.readTree(out.resolve("vae/config.json").toFile()));
        assertEquals(om.readTree(fixtures.resolve("clip-text-tiny/config.json").toFile()), om.readTree(out.resolve("text_encoder/config.json").toFile()));
        JsonNode sched = om.readTree(out.resolve("scheduler/scheduler_config.json").toFile());
        assertEquals(0.00085, sched.get("beta_start").asDouble());
        assertEquals(0.012, sched.get("beta_end").asDouble());
        assertEquals("scaled_linear", sched.get("beta_schedule").asText());
        assertEquals(1, sched.get("steps_offset").asInt());
        assertFalse(sched.get("set_alpha_to_one").asBoolean());
        assertTrue(Files.isRegularFile(out.resolve("model_index.json")));
    }

    static byte[] sha(Path f) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f));
    }

    @Test
    void safetensorsRoundTrip(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("tiny-ldm.safetensors");
        SafeTensors.write(in, ldm());
        byte[] before = sha(in);
        Path out = tmp.resolve("out");
        Path tok = FixtureFiles.require("clip-tokenizer/tokenizer/vocab.json").getParent();
        LdmConverter.convert(in, out, new LdmConverter.Options(tok, configDir(tmp), List.of(), null));
        assertConverted(out);
        assertTrue(Files.isRegularFile(out.resolve("tokenizer/merges.txt")));
        assertArrayEquals(before, sha(in), "the input must not be modified");
        // Only the output folder appeared beside the input: no temporary folder left behind.
        try (var s = Files.list(tmp)) {
            assertEquals(List.of("configs", "out", "tiny-ldm.safetensors"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        // An existing output folder is never overwritten.
        ConvertException e = assertThrows(ConvertException.class, () -> LdmConverter.convert(in, out, LdmConverter.Options.defaults()));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    }

    @Test
    void ckptRoundTrip(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("tiny-ldm.ckpt");
        CkptWriter.write(in, ldm());
        Path out = tmp.resolve("out");
        LdmConverter.convert(in, out, new LdmConverter.Options(null, configDir(tmp), List.of(), null));
        assertConverted(out);
        // no tokenizer given: the bundled SD1.x tokenizer is written, so the folder loads as a whole
        assertArrayEquals(Files.readAllBytes(FixtureFiles.require("clip-tokenizer/tokenizer/vocab.json")),
                Files.readAllBytes(out.resolve("tokenizer/vocab.json")));
        assertTrue(Files.isRegularFile(out.resolve("tokenizer/merges.txt")));
    }

    @Test
    void configsInferredWithoutTemplates(@TempDir Path tmp) throws Exception {
        // Without --config-from the sizes still come from the weights; the CLIP head count cannot (hidden 32 is not
        // a multiple of CLIP's 64-wide heads), which must be said rather than guessed.
        Path in = tmp.resolve("tiny-ldm.safetensors");
        SafeTensors.write(in, ldm());
        ConvertException e = assertThrows(ConvertException.class, () -> LdmConverter.convert(in, tmp.resolve("out"), LdmConverter.Options.defaults()));
        assertTrue(e.getMessage().contains("attention heads") && e.getMessage().contains("--config-from"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("out")));
        ObjectMapper om = new ObjectMapper();
        LdmConverter.Components c = LdmConverter.map(in, ldm());
        JsonNode u = dev.dragedit.convert.ldm.DiffusersConfigs.unet(c.unet(), null);
        JsonNode fu = om.readTree(fixtures.resolve("unet-tiny/config.json").toFile());
        for (String k : new String[]{"block_out_channels", "down_block_types", "up_block_types", "in_channels", "out_channels",
                "layers_per_block", "cross_attention_dim", "use_linear_projection", "attention_head_dim", "mid_block_type"})
            assertEquals(fu.get(k), u.get(k), "unet " + k);
        JsonNode v = dev.dragedit.convert.ldm.DiffusersConfigs.vae(c.vae(), null);
        JsonNode fv = om.readTree(fixtures.resolve("vae-tiny/config.json").toFile());
        for (String k : new String[]{"block_out_channels", "down_block_types", "up_block_types", "in_channels", "out_channels",
                "latent_channels", "layers_per_block", "scaling_factor"})
            assertEquals(fv.get(k), v.get(k), "vae " + k);
    }

    @Test
    void sd15KeyNamesSpotChecks() {
        // Literal names from v1-5-pruned-emaonly and the diffusers SD1.5 repo.
        assertEquals("up_blocks.0.upsamplers.0.conv.weight", LdmKeys.unetToDiffusers("output_blocks.2.1.conv.weight", 2));
        assertEquals("up_blocks.1.upsamplers.0.conv.bias", LdmKeys.unetToDiffusers("output_blocks.5.2.conv.bias", 2));
        assertEquals("up_blocks.2.upsamplers.0.conv.weight", LdmKeys.unetToDiffusers("output_blocks.8.2.conv.weight", 2));
        assertEquals("down_blocks.0.downsamplers.0.conv.weight", LdmKeys.unetToDiffusers("input_blocks.3.0.op.weight", 2));
        assertEquals("down_blocks.3.resnets.1.conv2.weight", LdmKeys.unetToDiffusers("input_blocks.11.0.out_layers.3.weight", 2));
        assertEquals("down_blocks.1.resnets.0.conv_shortcut.weight", LdmKeys.unetToDiffusers("input_blocks.4.0.skip_connection.weight", 2));
        assertEquals("up_blocks.3.attentions.2.transformer_blocks.0.ff.net.0.proj.weight",
                LdmKeys.unetToDiffusers("output_blocks.11.1.transformer_blocks.0.ff.net.0.proj.weight", 2));
        assertEquals("mid_block.resnets.1.time_emb_proj.weight", LdmKeys.unetToDiffusers("middle_block.2.emb_layers.1.weight", 2));
        assertEquals("time_embedding.linear_2.bias", LdmKeys.unetToDiffusers("time_embed.2.bias", 2));
        assertNull(LdmKeys.unetToDiffusers("input_blocks.1.2.weight", 2));
        assertEquals("decoder.up_blocks.0.resnets.2.norm1.weight", LdmKeys.vaeToDiffusers("decoder.up.3.block.2.norm1.weight", 4));
        assertEquals("decoder.up_blocks.3.upsamplers.0.conv.weight".replace("3.upsamplers", "2.upsamplers"),
                LdmKeys.vaeToDiffusers("decoder.up.1.upsample.conv.weight", 4));
        assertEquals("encoder.mid_block.attentions.0.to_out.0.weight", LdmKeys.vaeToDiffusers("encoder.mid.attn_1.proj_out.weight", 4));
        assertEquals("encoder.mid_block.attentions.0.group_norm.bias", LdmKeys.vaeToDiffusers("encoder.mid.attn_1.norm.bias", 4));
        assertEquals("encoder.down_blocks.1.resnets.0.conv_shortcut.weight", LdmKeys.vaeToDiffusers("encoder.down.1.block.0.nin_shortcut.weight", 4));
        assertEquals("text_model.encoder.layers.11.mlp.fc2.weight", LdmKeys.clipToDiffusers("text_model.encoder.layers.11.mlp.fc2.weight"));
        assertEquals("text_model.final_layer_norm.weight", LdmKeys.clipToDiffusers("final_layer_norm.weight"));
    }

    @Test
    void unknownAndForeignKeysAreErrors(@TempDir Path tmp) {
        Map<String, Tensor> m = ldm();
        m.put("model.diffusion_model.input_blocks.1.7.weight", Tensor.zeros(2));
        m.put("some_lightning_thing.weight", Tensor.zeros(2));
        ConvertException e = assertThrows(ConvertException.class, () -> LdmConverter.map(tmp.resolve("x.safetensors"), m));
        assertTrue(e.getMessage().contains("model.diffusion_model.input_blocks.1.7.weight") && e.getMessage().contains("some_lightning_thing.weight"), e.getMessage());

        Map<String, Tensor> xl = ldm();
        xl.put("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", Tensor.zeros(2));
        e = assertThrows(ConvertException.class, () -> LdmConverter.map(tmp.resolve("x.safetensors"), xl));
        assertTrue(e.getMessage().contains("SDXL"), e.getMessage());

        Map<String, Tensor> noVae = new LinkedHashMap<>(ldm());
        noVae.keySet().removeIf(k -> k.startsWith("first_stage_model."));
        e = assertThrows(ConvertException.class, () -> LdmConverter.map(tmp.resolve("x.safetensors"), noVae));
        assertTrue(e.getMessage().contains("VAE"), e.getMessage());
    }

    @Test
    void vaeAttentionSqueezed() throws Exception {
        LdmConverter.Components c = LdmConverter.map(Path.of("x"), ldm());
        Tensor q = c.vae().get("decoder.mid_block.attentions.0.to_q.weight");
        assertArrayEquals(new int[]{64, 64}, q.shape());
        assertTrue(Arrays.equals(vae.get("decoder.mid_block.attentions.0.to_q.weight").data(), q.data()));
    }
}
