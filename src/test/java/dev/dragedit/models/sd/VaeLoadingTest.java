package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Loading a diffusers vae/ folder: both attention spellings (v0.24.0 to_q/to_k/to_v/to_out.0 and the older
 * query/key/value/proj_attn) give identical models, the fp16 variant file, and strict errors (missing, unused and
 * wrong-shaped tensors, a file with both spellings, missing files, unsupported configs) that name the file, the key
 * and the shapes. Also the SD1.5 parameter inventory against sd15.md (248 tensors, 83,653,863 parameters).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VaeLoadingTest {
    @TempDir Path tmp;

    private Path fixture;
    private Map<String, Tensor> weights;
    private Tensor x, z;

    @BeforeAll
    void read() throws Exception {
        fixture = Fixtures.require("vae-tiny/config.json").getParent();
        weights = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(fixture.resolve("diffusion_pytorch_model.safetensors"))) {
            for (String k : st.names()) weights.put(k, st.get(k).copy());
        }
        try (SafeTensors io = SafeTensors.open(Fixtures.require("vae-tiny/io.safetensors"))) {
            x = io.get("x").copy();
            z = io.get("z").copy();
        }
    }

    /** A vae/ folder with the fixture's config and the given tensors (edited by {@code edit}) as {@code file}. */
    private Path folder(String name, String file, Consumer<Map<String, Tensor>> edit) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        Files.copy(fixture.resolve("config.json"), d.resolve("config.json"));
        Map<String, Tensor> m = new LinkedHashMap<>(weights);
        edit.accept(m);
        SafeTensors.write(d.resolve(file), m);
        return d;
    }

    private Path folder(String name, Consumer<Map<String, Tensor>> edit) throws Exception {
        return folder(name, "diffusion_pytorch_model.safetensors", edit);
    }

    private static float[][] run(AutoencoderKL vae, Tensor x, Tensor z) {
        Functional f = vae.functional();
        try (var g = Tape.noGrad()) {
            Posterior p = vae.encode(f, x);
            return new float[][]{p.mean().data(), p.logvar().data(), vae.decode(f, z).data()};
        }
    }

    @Test
    void theOldAttentionNamesLoadAndGiveIdenticalResults() throws Exception {
        Path old = folder("old", m -> {
            Map<String, Tensor> renamed = new LinkedHashMap<>();
            m.forEach((k, v) -> renamed.put(VaeKeys.legacy(k), v));
            m.clear();
            m.putAll(renamed);
        });
        try (SafeTensors st = SafeTensors.open(old.resolve("diffusion_pytorch_model.safetensors"))) {
            assertTrue(st.contains("encoder.mid_block.attentions.0.query.weight"));
            assertTrue(st.contains("decoder.mid_block.attentions.0.proj_attn.bias"));
            assertEquals(16, st.names().stream().filter(k -> !k.equals(VaeKeys.canonical(k))).count(),
                    "4 linears × weight/bias × 2 mid blocks are renamed");
        }
        AutoencoderKL a = AutoencoderKL.load(fixture, Placement.cpu(), null), b = AutoencoderKL.load(old, Placement.cpu(), null);
        // The same parameters in the same places ...
        for (VaeAttention[] at : new VaeAttention[][]{{a.encoder.mid.attn, b.encoder.mid.attn}, {a.decoder.mid.attn, b.decoder.mid.attn}}) {
            assertArrayEquals(at[0].toQ.weight.data(), at[1].toQ.weight.data());
            assertArrayEquals(at[0].toK.bias.data(), at[1].toK.bias.data());
            assertArrayEquals(at[0].toV.weight.data(), at[1].toV.weight.data());
            assertArrayEquals(at[0].toOut.weight.data(), at[1].toOut.weight.data());
            assertArrayEquals(at[0].toOut.bias.data(), at[1].toOut.bias.data());
        }
        // ... so the same outputs. Not compared bit for bit: the CPU op set's SIMD exp (Vector API EXP) returns
        // different last bits before and after C2 compiles it, so two runs of one model in one JVM can differ
        // by a few ulps, amplified by the network to ~1e-5 of the maximum.
        float[][] want = run(a, x, z), got = run(b, x, z);
        for (int i = 0; i < want.length; i++) {
            double maxRef = 0, maxErr = 0;
            for (int j = 0; j < want[i].length; j++) {
                maxRef = Math.max(maxRef, Math.abs(want[i][j]));
                maxErr = Math.max(maxErr, Math.abs(want[i][j] - got[i][j]));
            }
            assertTrue(maxErr <= 1e-5 * maxRef, "output " + i + " differs by " + maxErr + " of " + maxRef);
        }
    }

    @Test
    void keySpellingsMapBothWays() {
        assertEquals("decoder.mid_block.attentions.0.to_out.0.weight", VaeKeys.canonical("decoder.mid_block.attentions.0.proj_attn.weight"));
        assertEquals("encoder.mid_block.attentions.0.to_k.bias", VaeKeys.canonical("encoder.mid_block.attentions.0.key.bias"));
        assertEquals("encoder.mid_block.attentions.0.group_norm.weight", VaeKeys.canonical("encoder.mid_block.attentions.0.group_norm.weight"));
        assertEquals("encoder.conv_in.weight", VaeKeys.canonical("encoder.conv_in.weight"));
        for (String k : weights.keySet()) assertEquals(k, VaeKeys.canonical(VaeKeys.legacy(k)));
    }

    @Test
    void theFp16VariantLoadsFromItsOwnFile() throws Exception {
        Path d = folder("fp16", "diffusion_pytorch_model.fp16.safetensors", m -> m.replaceAll((k, v) -> v.to(DType.F16)));
        AutoencoderKL vae = AutoencoderKL.load(d, Placement.cpu(), "fp16");
        // The model holds exactly the F16-rounded weights, widened to F32 for the CPU op set.
        assertArrayEquals(weights.get("decoder.conv_out.weight").to(DType.F16).to(DType.F32).data(), vae.decoder.convOut.weight.data());
        float[] want = run(AutoencoderKL.load(fixture, Placement.cpu(), null), x, z)[2], got = run(vae, x, z)[2];
        double maxRef = 0, maxErr = 0;
        for (int i = 0; i < want.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(want[i]));
            maxErr = Math.max(maxErr, Math.abs(want[i] - got[i]));
        }
        assertTrue(maxErr > 0 && maxErr < 1e-2 * maxRef, "F16-rounded weights move decode by " + maxErr + " of " + maxRef);
        WeightsException e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(d, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("diffusion_pytorch_model.safetensors not found")
                && e.getMessage().contains("only the fp16 variant"), e.getMessage());
        e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(fixture, Placement.cpu(), "fp16"));
        assertTrue(e.getMessage().contains("diffusion_pytorch_model.fp16.safetensors not found")
                && e.getMessage().contains("default variant"), e.getMessage());
    }

    @Test
    void aMissingTensorIsNamedWithFileAndShape() throws Exception {
        Path d = folder("missing", m -> m.remove("decoder.up_blocks.1.resnets.2.conv2.weight"));
        WeightsException e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(d, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("missing tensor decoder.up_blocks.1.resnets.2.conv2.weight [64, 64, 3, 3]")
                && e.getMessage().contains(d.resolve("diffusion_pytorch_model.safetensors").toString()), e.getMessage());
        // An old-spelling file missing one attention tensor reports the canonical key it lacks.
        Path o = folder("missing-old", m -> {
            Map<String, Tensor> renamed = new LinkedHashMap<>();
            m.forEach((k, v) -> renamed.put(VaeKeys.legacy(k), v));
            renamed.remove("encoder.mid_block.attentions.0.value.weight");
            m.clear();
            m.putAll(renamed);
        });
        e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(o, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("missing tensor encoder.mid_block.attentions.0.to_v.weight [64, 64]"), e.getMessage());
    }

    @Test
    void anUnusedTensorIsAnError() throws Exception {
        Path d = folder("unused", m -> m.put("decoder.mid_block.attentions.1.to_q.weight", Tensor.zeros(64, 64)));
        WeightsException e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(d, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("not used by the model")
                && e.getMessage().contains("decoder.mid_block.attentions.1.to_q.weight"), e.getMessage());
    }

    @Test
    void aWrongShapeIsNamedWithBothShapes() throws Exception {
        Path d = folder("shape", m -> m.put("encoder.conv_out.weight", Tensor.zeros(4, 64, 3, 3)));
        WeightsException e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(d, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("encoder.conv_out.weight") && e.getMessage().contains("has shape [4, 64, 3, 3], expected [8, 64, 3, 3]"),
                e.getMessage());
        // Old-spelling attention weights stored as 1×1 conv kernels are refused: diffusers' old layers were Linear.
        Path c = folder("conv-shaped", m -> {
            Map<String, Tensor> renamed = new LinkedHashMap<>();
            m.forEach((k, v) -> renamed.put(VaeKeys.legacy(k), v));
            renamed.put("decoder.mid_block.attentions.0.query.weight", Tensor.zeros(64, 64, 1, 1));
            m.clear();
            m.putAll(renamed);
        });
        e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(c, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("decoder.mid_block.attentions.0.query.weight = decoder.mid_block.attentions.0.to_q.weight")
                && e.getMessage().contains("has shape [64, 64, 1, 1], expected [64, 64]"), e.getMessage());
    }

    @Test
    void bothSpellingsInOneFileAreRefused() throws Exception {
        Path d = folder("both", m -> m.put("encoder.mid_block.attentions.0.query.weight", m.get("encoder.mid_block.attentions.0.to_q.weight")));
        WeightsException e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(d, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("encoder.mid_block.attentions.0.query.weight")
                && e.getMessage().contains("are both the parameter encoder.mid_block.attentions.0.to_q.weight"), e.getMessage());
    }

    @Test
    void missingFilesAndBadConfigsSayWhatWasExpected() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        WeightsException e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(empty, Placement.cpu(), null));
        assertTrue(e.getMessage().contains(empty.resolve("config.json") + " not found"), e.getMessage());
        Path pipeline = Files.createDirectories(tmp.resolve("pipe").resolve("vae"));
        Files.copy(fixture.resolve("config.json"), pipeline.resolve("config.json"));
        e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(pipeline.getParent(), Placement.cpu(), null));
        assertTrue(e.getMessage().contains("pipeline folder"), e.getMessage());

        e = assertThrows(WeightsException.class, () -> VaeConfig.from(ModelConfig.parse(
                "{\"block_out_channels\": [32, 64], \"down_block_types\": [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"],"
                        + " \"up_block_types\": [\"UpDecoderBlock2D\"]}", "cfg.json")));
        assertTrue(e.getMessage().contains("cfg.json") && e.getMessage().contains("up_block_types has 1 entries"), e.getMessage());
        e = assertThrows(WeightsException.class, () -> VaeConfig.from(ModelConfig.parse(
                "{\"block_out_channels\": [32], \"down_block_types\": [\"DownBlock2D\"], \"up_block_types\": [\"UpDecoderBlock2D\"]}", "cfg.json")));
        assertTrue(e.getMessage().contains("\"DownBlock2D\""), e.getMessage());
        e = assertThrows(WeightsException.class, () -> VaeConfig.from(ModelConfig.parse("{\"block_out_channels\": [48]}", "cfg.json")));
        assertTrue(e.getMessage().contains("multiple of norm_num_groups = 32"), e.getMessage());
        e = assertThrows(WeightsException.class, () -> VaeConfig.from(ModelConfig.parse("{\"_class_name\": \"AutoencoderTiny\"}", "cfg.json")));
        assertTrue(e.getMessage().contains("AutoencoderTiny"), e.getMessage());

        Path truncated = folder("truncated", m -> {});
        Path f = truncated.resolve("diffusion_pytorch_model.safetensors");
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length / 2));
        e = assertThrows(WeightsException.class, () -> AutoencoderKL.load(truncated, Placement.cpu(), null));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void configsReadTheFixtureAndDefaultTheScalingFactor() {
        VaeConfig c = VaeConfig.from(ModelConfig.read(fixture.resolve("config.json")));
        assertArrayEquals(new int[]{32, 32, 64, 64}, c.blockOutChannels());
        assertEquals(2, c.layersPerBlock());
        assertEquals(4, c.latentChannels());
        assertEquals(0.18215f, c.scalingFactor());
        assertEquals(8, c.downscale());
        assertEquals(0.13025f, VaeConfig.from(ModelConfig.parse("{\"scaling_factor\": 0.13025}", "x")).scalingFactor());
        VaeConfig d = VaeConfig.from(ModelConfig.parse("{}", "x"));
        assertEquals(0.18215f, d.scalingFactor());
        assertArrayEquals(new int[]{64}, d.blockOutChannels());
        assertEquals(1, d.layersPerBlock());
    }

    /** Records what a model declares, without allocating it (the layers only keep the tensors they are given). */
    private static final class Inventory implements ParamSource {
        final Map<String, int[]> shapes = new LinkedHashMap<>();
        @Override public Tensor param(String key, int... shape) {
            assertNull(shapes.put(key, shape.clone()), key + " declared twice");
            return Tensor.zeros(1);
        }
        @Override public boolean has(String key) { return true; }
        @Override public Placement placement() { return Placement.cpu(); }
    }

    @Test
    void theSd15VaeHasTheParametersOfTheSpec() {
        Inventory inv = new Inventory();
        new AutoencoderKL(VaeConfig.sd15(), inv);
        assertEquals(248, inv.shapes.size());
        long n = 0, enc = 0, dec = 0;
        for (var e : inv.shapes.entrySet()) {
            long k = Tensor.numel(e.getValue());
            n += k;
            // sd15.md counts quant_conv with the encoder and post_quant_conv with the decoder.
            if (e.getKey().startsWith("encoder.") || e.getKey().startsWith("quant_conv.")) enc += k;
            if (e.getKey().startsWith("decoder.") || e.getKey().startsWith("post_quant_conv.")) dec += k;
        }
        assertEquals(83_653_863L, n);
        assertEquals(34_163_664L, enc);
        assertEquals(49_490_199L, dec);
        assertArrayEquals(new int[]{512, 512}, inv.shapes.get("decoder.mid_block.attentions.0.to_out.0.weight"));
        assertArrayEquals(new int[]{8, 8, 1, 1}, inv.shapes.get("quant_conv.weight"));
        assertArrayEquals(new int[]{256, 512, 1, 1}, inv.shapes.get("decoder.up_blocks.2.resnets.0.conv_shortcut.weight"));

        // The tiny fixture's checkpoint is exactly what its config declares (244 tensors, 1,399,879 parameters).
        Inventory tiny = new Inventory();
        new AutoencoderKL(VaeConfig.from(ModelConfig.read(fixture.resolve("config.json"))), tiny);
        assertEquals(weights.keySet(), tiny.shapes.keySet());
        for (var e : tiny.shapes.entrySet()) assertArrayEquals(weights.get(e.getKey()).shape(), e.getValue(), e.getKey());
        assertEquals(1_399_879L, tiny.shapes.values().stream().mapToLong(Tensor::numel).sum());
    }
}
