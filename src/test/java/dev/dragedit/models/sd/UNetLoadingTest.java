package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.RandomWeights;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Loading a diffusers unet/ folder strictly (modified copies of the unet-tiny fixture: a missing tensor, a wrong
 * shape, an extra tensor, the fp16 variant), reading and validating config.json, and the SD1.5 layout (tensor and
 * parameter counts of sd15.md).
 */
class UNetLoadingTest {
    @TempDir Path tmp;
    private static Path fixture;
    private static Map<String, Tensor> weights;

    @BeforeAll
    static void read() throws Exception {
        fixture = Fixtures.require("unet-tiny/diffusion_pytorch_model.safetensors").getParent();
        weights = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(fixture.resolve("diffusion_pytorch_model.safetensors"))) {
            for (String k : st.names()) weights.put(k, st.get(k).copy());
        }
    }

    /** A unet/ folder with the fixture's config and its weights after edit, written as fileName. */
    private Path folder(String name, String fileName, Consumer<Map<String, Tensor>> edit) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        Files.copy(fixture.resolve("config.json"), d.resolve("config.json"));
        Map<String, Tensor> m = new LinkedHashMap<>(weights);
        edit.accept(m);
        SafeTensors.write(d.resolve(fileName), m, Map.of("format", "pt"));
        return d;
    }

    private static final String F = "diffusion_pytorch_model.safetensors";

    @Test
    void theFixtureHasExactlyTheModelsTensors() {
        RandomWeights r = new RandomWeights(1, Placement.cpu());
        new UNet2DConditionModel(UNetConfig.from(ModelConfig.read(fixture.resolve("config.json"))), r);
        assertEquals(weights.keySet(), r.params().keySet());
        long n = 0;
        for (var e : r.params().entrySet()) {
            assertArrayEquals(weights.get(e.getKey()).shape(), e.getValue().shape(), e.getKey());
            n += e.getValue().numel();
        }
        assertEquals(2446788, n);
    }

    @Test
    void aMissingTensorIsNamedWithTheFile() throws Exception {
        String key = "up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_k.weight";
        Path d = folder("missing", F, m -> m.remove(key));
        var e = assertThrows(WeightsException.class, () -> UNet2DConditionModel.load(d, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("missing tensor " + key + " [32, 32]") && e.getMessage().contains(d.resolve(F).toString()), e.getMessage());
    }

    @Test
    void aWrongShapeIsNamedWithExpectedAndFound() throws Exception {
        String key = "down_blocks.1.resnets.0.conv1.weight";
        Path d = folder("shape", F, m -> m.put(key, Tensor.zeros(32, 32, 1, 1)));
        var e = assertThrows(WeightsException.class, () -> UNet2DConditionModel.load(d, Placement.cpu(), null));
        assertTrue(e.getMessage().contains(key) && e.getMessage().contains("has shape [32, 32, 1, 1], expected [32, 32, 3, 3]")
                && e.getMessage().contains(d.resolve(F).toString()), e.getMessage());
    }

    @Test
    void anUnusedTensorIsAnError() throws Exception {
        String key = "mid_block.attentions.0.transformer_blocks.1.norm1.weight";
        Path d = folder("extra", F, m -> m.put(key, Tensor.zeros(64)));
        var e = assertThrows(WeightsException.class, () -> UNet2DConditionModel.load(d, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("not used") && e.getMessage().contains(key) && e.getMessage().contains(d.resolve(F).toString()), e.getMessage());
    }

    @Test
    void theFp16VariantLoadsAndAbsentFilesAreExplained() throws Exception {
        Path d = folder("fp16", "diffusion_pytorch_model.fp16.safetensors", m -> m.replaceAll((k, t) -> t.to(DType.F16)));
        var e = assertThrows(WeightsException.class, () -> UNet2DConditionModel.load(d, Placement.cpu(), null));
        assertTrue(e.getMessage().contains(d.resolve(F) + " does not exist") && e.getMessage().contains("fp16 variant"), e.getMessage());
        e = assertThrows(WeightsException.class, () -> UNet2DConditionModel.load(tmp, Placement.cpu(), null));
        assertTrue(e.getMessage().contains("no config.json"), e.getMessage());

        // The F16 file must give exactly the model whose F32 weights are the F16-rounded values.
        Path rounded = folder("rounded", F, m -> m.replaceAll((k, t) -> t.to(DType.F16).to(DType.F32)));
        UNet2DConditionModel half = UNet2DConditionModel.load(d, Placement.cpu(), "fp16");
        UNet2DConditionModel ref = UNet2DConditionModel.load(rounded, Placement.cpu(), null);
        Functional f = new Functional(Placement.cpu().ops());
        Tensor x = Tensor.of(new float[2 * 4 * 8 * 8], 2, 4, 8, 8);
        for (int i = 0; i < x.numel(); i++) x.data()[i] = (float) Math.sin(i * 0.37);
        Tensor ctx = Tensor.full(0.1f, 2, 5, 32);
        try (var g = Tape.noGrad()) {
            ref.forward(f, x, 500f, ctx);   // once first, so both compared calls run the same compiled CPU kernels
            UNetFixtureTest.assertRel("fp16 variant vs F16-rounded fp32", ref.forward(f, x, 500f, ctx).out(),
                    half.forward(f, x, 500f, ctx).out(), 1e-6);
        }
    }

    private static ModelConfig config(String edit) throws Exception {
        String json = Files.readString(fixture.resolve("config.json"));
        String[] kv = edit.split("=", 2);
        String edited = json.replaceFirst("\"" + kv[0] + "\": [^,\\n]*(,?)\\n", "\"" + kv[0] + "\": " + kv[1] + "$1\n");
        assertNotEquals(json, edited, "the edit " + edit + " changed nothing");
        return ModelConfig.parse(edited, "edited/config.json");
    }

    @Test
    void unsupportedConfigOptionsAreRefusedByName() throws Exception {
        for (String[] c : new String[][]{
                {"use_linear_projection=true", "\"use_linear_projection\" = true"},
                {"upcast_attention=true", "\"upcast_attention\" = true"},
                {"only_cross_attention=true", "\"only_cross_attention\" = true"},
                {"class_embed_type=\"timestep\"", "\"class_embed_type\""},
                {"num_attention_heads=8", "\"num_attention_heads\""},
                {"act_fn=\"gelu\"", "\"act_fn\" = \"gelu\""},
                {"mid_block_type=\"UNetMidBlock2DSimpleCrossAttn\"", "mid_block_type"},
                {"norm_num_groups=24", "not a positive multiple of norm_num_groups = 24"},
                {"attention_head_dim=[8, 8]", "\"attention_head_dim\" has 2 values, expected one per block (4)"},
        }) {
            var e = assertThrows(WeightsException.class, () -> UNetConfig.from(config(c[0])), c[0]);
            assertTrue(e.getMessage().contains("edited/config.json") && e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
        }
        String json = Files.readString(fixture.resolve("config.json")).replace("\"CrossAttnDownBlock2D\",\n    \"DownBlock2D\"", "\"CrossAttnDownBlock2D\",\n    \"DownBlock3D\"");
        var e = assertThrows(WeightsException.class, () -> UNetConfig.from(ModelConfig.parse(json, "edited/config.json")));
        assertTrue(e.getMessage().contains("down_block_types[3] = \"DownBlock3D\" is not supported"), e.getMessage());
        // Per-block lists and the older "UNetRes" spelling are accepted.
        UNetConfig ok = UNetConfig.from(config("attention_head_dim=[1, 2, 4, 8]"));
        assertArrayEquals(new int[]{1, 2, 4, 8}, ok.heads);
    }

    /** runwayml/stable-diffusion-v1-5 unet/config.json (written by diffusers 0.6.0: many keys absent, defaults apply). */
    private static final String SD15_CONFIG = """
            {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
             "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false,
             "cross_attention_dim": 768, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
             "CrossAttnDownBlock2D", "DownBlock2D"], "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0,
             "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
             "norm_num_groups": 32, "out_channels": 4, "sample_size": 64, "up_block_types": ["UpBlock2D",
             "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]}""";

    @Test
    void theSd15ConfigFileGivesSd15() {
        UNetConfig a = UNetConfig.from(ModelConfig.parse(SD15_CONFIG, "sd15/unet/config.json")), b = UNetConfig.sd15();
        assertArrayEquals(b.blockOutChannels, a.blockOutChannels);
        assertArrayEquals(b.layersPerBlock, a.layersPerBlock);
        assertArrayEquals(b.heads, a.heads);
        assertArrayEquals(b.transformerLayers, a.transformerLayers);
        assertArrayEquals(b.downCrossAttn, a.downCrossAttn);
        assertArrayEquals(b.upCrossAttn, a.upCrossAttn);
        assertEquals(b.crossAttentionDim, a.crossAttentionDim);
        assertEquals(b.timeEmbedDim, a.timeEmbedDim);
        assertEquals(b.normNumGroups, a.normNumGroups);
        assertEquals(b.normEps, a.normEps);
        assertEquals(b.flipSinToCos, a.flipSinToCos);
        assertEquals(b.freqShift, a.freqShift);
        assertEquals(b.downsamplePadding, a.downsamplePadding);
        assertEquals(b.inChannels, a.inChannels);
        assertEquals(b.outChannels, a.outChannels);
    }

    @Test
    void sd15HasTheSpecifiedLayout() {
        // Shapes only (sd15.md §7: 859,520,964 parameters in 686 tensors): a source that hands out one-element
        // stand-ins, since the model only stores its parameters when it is built.
        long[] count = new long[2];
        Tensor dummy = Tensor.zeros(1);
        ParamSource shapes = new ParamSource() {
            @Override public Tensor param(String key, int... shape) { count[0]++; count[1] += Tensor.numel(shape); return dummy; }
            @Override public boolean has(String key) { return true; }
            @Override public Placement placement() { return Placement.cpu(); }
        };
        new UNet2DConditionModel(UNetConfig.sd15(), shapes);
        assertEquals(686, count[0]);
        assertEquals(859_520_964L, count[1]);
    }
}
