package dev.dragedit.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.autograd.Functional;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.RandomWeights;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.tensor.DType;
import dev.dragedit.testing.Fixtures;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CLIP text encoder against the clip-text-tiny fixture (OpenAI encode_text up to ln_final, float64 reference):
 * last_hidden_state and pooled_output of the 3 prompts on the CPU and on the CUDA backend (the emulation in CI),
 * within the README's float32 tolerance (1e-4 absolute); the tokenizer reproduces the stored input_ids.
 */
class ClipTextModelTest {
    static final double TOL = 1e-4;
    static Path dir;
    static long[][] ids;
    static Tensor wantHidden, wantPooled;
    static List<String> prompts;
    static KernelDevice device;

    @BeforeAll
    static void load() throws Exception {
        dir = Fixtures.require("clip-text-tiny/io.safetensors").getParent();
        try (SafeTensors io = SafeTensors.open(dir.resolve("io.safetensors"))) {
            Tensor t = io.get("input_ids");
            assertEquals(DType.I64, t.dtype());
            long[] flat = t.longs();
            int b = t.dim(0), l = t.dim(1);
            ids = new long[b][l];
            for (int i = 0; i < b; i++) System.arraycopy(flat, i * l, ids[i], 0, l);
            wantHidden = io.get("last_hidden_state").to(DType.F32);
            wantPooled = io.get("pooled_output").to(DType.F32);
            prompts = new ArrayList<>();
            for (JsonNode p : new ObjectMapper().readTree(io.metadata().get("prompts"))) prompts.add(p.textValue());
        }
    }


    @AfterAll
    static void close() {
        if (device != null) device.close();
    }

    static void assertClose(String what, Tensor want, Tensor got, double tol) {
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] w = want.data(), g = got.toCpu().to(DType.F32).data();
        double worst = 0;
        int at = 0;
        for (int i = 0; i < w.length; i++) {
            double e = Math.abs((double) w[i] - g[i]);
            if (Double.isNaN(e)) { worst = Double.POSITIVE_INFINITY; at = i; break; }
            if (e > worst) { worst = e; at = i; }
        }
        System.out.println(what + ": max |diff| " + worst + " (tolerance " + tol + ")");
        assertTrue(worst <= tol, what + ": max |diff| " + worst + " at " + at + " (got " + g[at] + ", want " + w[at] + "), tolerance " + tol);
    }

    private void check(Placement placement) {
        ClipTextModel m = ClipTextModel.load(dir, placement);
        Functional f = new Functional(placement.ops());
        Tensor h = m.forward(f, ids);
        assertEquals(placement.onDevice(), h.onDevice(), "computed where the weights are");
        assertClose(placement + " last_hidden_state", wantHidden, h, TOL);
        assertClose(placement + " pooled_output", wantPooled, m.pooled(f, h, ids), TOL);
    }

    @Test
    void lastHiddenStateAndPooledOnTheCpu() {
        check(Placement.cpu());
    }

    @Test
    void lastHiddenStateAndPooledOnTheCudaBackend() {
        device = Devices.best();
        check(Placement.on(device, DType.F32));
    }

    @Test
    void tokenizerGivesTheStoredInputIds() {
        ClipTokenizer tok = ClipTokenizer.load(Fixtures.require("clip-tokenizer/tokenizer/vocab.json").getParent());
        assertEquals(ids.length, prompts.size());
        for (int i = 0; i < ids.length; i++) assertArrayEquals(ids[i], tok.inputIds(prompts.get(i)), "prompt " + i);
        assertEquals(102, tok.encode(prompts.get(2)).length, "the long prompt is truncated from 102 ids");
    }

    @Test
    void configFromTransformersAndSd15() {
        ClipTextConfig c = ClipTextConfig.from(ModelConfig.read(dir.resolve("config.json")));
        assertEquals(new ClipTextConfig(49408, 32, 128, 2, 4, 77, "quick_gelu", 1e-5f), c);
        assertEquals(8, c.headDim());
        assertEquals(768, ClipTextConfig.sd15().hiddenSize());
        assertEquals(64, ClipTextConfig.sd15().headDim());
        WeightsException e = assertThrows(WeightsException.class,
                () -> ClipTextConfig.from(ModelConfig.parse("{\"hidden_size\": 30, \"num_attention_heads\": 4}", "x.json")));
        assertTrue(e.getMessage().contains("x.json") && e.getMessage().contains("multiple"), e.getMessage());
    }

    @Test
    void clipSkipUsesAnEarlierLayer() {
        ClipTextConfig c = new ClipTextConfig(100, 16, 32, 3, 2, 8, "quick_gelu", 1e-5f);
        ClipTextModel m = new ClipTextModel(c, new RandomWeights(7, Placement.cpu()));
        ClipTextConfig two = new ClipTextConfig(100, 16, 32, 2, 2, 8, "quick_gelu", 1e-5f);
        ClipTextModel m2 = new ClipTextModel(two, new RandomWeights(7, Placement.cpu()));
        Functional f = new Functional(Placement.cpu().ops());
        long[][] x = {{1, 5, 9, 99}, {3, 3, 3, 3}};
        // RandomWeights is deterministic per key, so the 2-layer model has the first two layers of the 3-layer one.
        assertClose("clip_skip 1", m2.forward(f, x), m.forward(f, x, 1), 0);
        assertThrows(IllegalArgumentException.class, () -> m.forward(f, x, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.forward(f, new long[][]{{1, 100}}));
        assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(f, new long[][]{new long[9]}));
        assertTrue(e.getMessage().contains("1..8"), e.getMessage());
    }

    @Test
    void causalPrefixDoesNotSeeLaterTokens() {
        ClipTextModel m = ClipTextModel.load(dir, Placement.cpu());
        Functional f = new Functional(Placement.cpu().ops());
        long[][] a = {ids[0].clone()}, b = {ids[0].clone()};
        b[0][40] = 320; // change a later token
        Tensor ha = m.forward(f, a), hb = m.forward(f, b);
        float[] da = ha.data(), db = hb.data();
        for (int i = 0; i < 40 * 32; i++) assertEquals(da[i], db[i], "position " + i / 32 + " sees a later token");
    }

    @Test
    void strictLoading(@TempDir Path tmp) throws Exception {
        Map<String, Tensor> all = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(dir.resolve("model.safetensors"))) {
            for (String k : st.names()) all.put(k, st.get(k).copy());
        }
        Files.copy(dir.resolve("config.json"), tmp.resolve("config.json"));
        Map<String, Tensor> missing = new LinkedHashMap<>(all);
        missing.remove("text_model.encoder.layers.1.mlp.fc2.bias");
        SafeTensors.write(tmp.resolve("model.safetensors"), missing);
        WeightsException e = assertThrows(WeightsException.class, () -> ClipTextModel.load(tmp, Placement.cpu()));
        assertTrue(e.getMessage().contains("missing tensor text_model.encoder.layers.1.mlp.fc2.bias [32]"), e.getMessage());

        Map<String, Tensor> extra = new LinkedHashMap<>(all);
        extra.put("text_model.encoder.layers.2.mlp.fc2.bias", Tensor.zeros(32));
        SafeTensors.write(tmp.resolve("model.safetensors"), extra);
        e = assertThrows(WeightsException.class, () -> ClipTextModel.load(tmp, Placement.cpu()));
        assertTrue(e.getMessage().contains("not used") && e.getMessage().contains("layers.2.mlp.fc2.bias"), e.getMessage());

        Map<String, Tensor> noPositionIds = new LinkedHashMap<>(all);
        noPositionIds.remove("text_model.embeddings.position_ids");
        SafeTensors.write(tmp.resolve("model.safetensors"), noPositionIds);
        assertNotNull(ClipTextModel.load(tmp, Placement.cpu()), "the position_ids buffer is optional");

        Files.delete(tmp.resolve("model.safetensors"));
        e = assertThrows(WeightsException.class, () -> ClipTextModel.load(tmp, Placement.cpu()));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void f16WeightsOnTheCpuAreWidened(@TempDir Path tmp) throws Exception {
        Map<String, Tensor> half = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(dir.resolve("model.safetensors"))) {
            for (String k : st.names()) {
                Tensor t = st.get(k);
                half.put(k, t.dtype() == DType.F32 ? t.to(DType.F16) : t.copy());
            }
        }
        Files.copy(dir.resolve("config.json"), tmp.resolve("config.json"));
        SafeTensors.write(tmp.resolve("model.fp16.safetensors"), half);
        ClipTextModel m = ClipTextModel.load(tmp, Placement.cpu(), "fp16");
        Tensor h = m.forward(new Functional(Placement.cpu().ops()), ids);
        assertClose("F16 weights", wantHidden, h, 0.05); // the weights themselves are rounded to F16
    }
}
