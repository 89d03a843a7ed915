package dev.dragedit.convert;

import dev.dragedit.convert.lora.LoraMerger;
import dev.dragedit.convert.testing.FixtureFiles;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** LoRA merges checked against W + m*(alpha/r)*up@down computed here element by element. */
class LoraMergeTest {
    Map<String, Tensor> unet, te;
    final Random rnd = new Random(42);
    static final Path SRC = Path.of("test-lora.safetensors");

    @BeforeEach
    void load() throws IOException {
        unet = LdmConvertTest.read(FixtureFiles.require("unet-tiny/diffusion_pytorch_model.safetensors"));
        te = LdmConvertTest.read(FixtureFiles.require("clip-text-tiny/model.safetensors"));
    }

    Tensor random(int... shape) {
        float[] d = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) rnd.nextGaussian();
        return Tensor.of(d, shape);
    }

    /** W + f * up[out,r] @ down[r,in...], in double, the hand computation. */
    static float[] expected(Tensor w, Tensor down, Tensor up, double f) {
        float[] base = w.data().clone(), d = down.data(), u = up.data();
        int r = down.dim(0), out = up.dim(0), in = d.length / r;
        for (int o = 0; o < out; o++)
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int k = 0; k < r; k++) s += (double) u[o * r + k] * d[k * in + i];
                base[o * in + i] = (float) (base[o * in + i] + f * s);
            }
        return base;
    }

    static void assertClose(float[] exp, float[] got, String what) {
        assertEquals(exp.length, got.length, what);
        for (int i = 0; i < exp.length; i++)
            assertEquals(exp[i], got[i], 1e-6f * Math.max(1, Math.abs(exp[i])), what + " [" + i + "]");
    }

    @Test
    void kohyaLinearConvAndTextEncoder() throws Exception {
        String q = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight";
        String conv = "down_blocks.0.resnets.0.conv1.weight";
        String fc1 = "text_model.encoder.layers.1.mlp.fc1.weight";
        String out0 = "up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_out.0.weight";
        Tensor qd = random(2, 32), qu = random(32, 2);
        Tensor cd = random(4, 32, 3, 3), cu = random(32, 4, 1, 1);
        Tensor fd = random(2, 32), fu = random(128, 2);
        Tensor od = random(3, 32), ou = random(32, 3);
        Map<String, Tensor> lora = new LinkedHashMap<>();
        lora.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight", qd);
        lora.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight", qu);
        lora.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha", Tensor.scalar(1f).reshape());
        // A LoCon 3x3 conv LoRA in LDM module names (input_blocks.1.0.in_layers.2 = down_blocks.0.resnets.0.conv1), no alpha.
        lora.put("lora_unet_input_blocks_1_0_in_layers_2.lora_down.weight", cd);
        lora.put("lora_unet_input_blocks_1_0_in_layers_2.lora_up.weight", cu);
        // LDM name of up_blocks.2.attentions.1 = output_blocks.7.1.
        lora.put("lora_unet_output_blocks_7_1_transformer_blocks_0_attn2_to_out_0.lora_down.weight", od);
        lora.put("lora_unet_output_blocks_7_1_transformer_blocks_0_attn2_to_out_0.lora_up.weight", ou);
        lora.put("lora_unet_output_blocks_7_1_transformer_blocks_0_attn2_to_out_0.alpha", Tensor.scalar(6f));
        lora.put("lora_te_text_model_encoder_layers_1_mlp_fc1.lora_down.weight", fd);
        lora.put("lora_te_text_model_encoder_layers_1_mlp_fc1.lora_up.weight", fu);
        lora.put("lora_te_text_model_encoder_layers_1_mlp_fc1.alpha", Tensor.scalar(4f));
        Map<String, Tensor> u0 = new LinkedHashMap<>(unet), t0 = new LinkedHashMap<>(te);
        double m = 0.7;
        assertEquals(4, LoraMerger.merge(SRC, lora, Map.of(), m, unet, te));
        assertClose(expected(u0.get(q), qd, qu, m * 1 / 2), unet.get(q).data(), "kohya linear");
        assertClose(expected(u0.get(conv), cd, cu, m * 4 / 4), unet.get(conv).data(), "kohya conv (LDM name, alpha = r)");
        assertClose(expected(u0.get(out0), od, ou, m * 6 / 3), unet.get(out0).data(), "kohya to_out.0 (LDM name)");
        assertClose(expected(t0.get(fc1), fd, fu, m * 4 / 2), te.get(fc1).data(), "kohya text encoder");
        assertArrayEquals(u0.get(conv).shape(), unet.get(conv).shape());
        // Everything else untouched.
        for (String k : u0.keySet()) if (!k.equals(q) && !k.equals(conv) && !k.equals(out0)) assertSame(u0.get(k), unet.get(k), k);
    }

    @Test
    void peftWithAlphaFromMetadataAndLegacyProcessorNames() throws Exception {
        String proj = "up_blocks.1.attentions.2.proj_in.weight"; // a 1x1 conv [64,64,1,1] with a linear LoRA
        String k = "text_model.encoder.layers.0.self_attn.k_proj.weight";
        String v = "mid_block.attentions.0.transformer_blocks.0.attn1.to_v.weight";
        Tensor pa = random(4, 64), pb = random(64, 4), ka = random(4, 32), kb = random(32, 4), va = random(2, 64), vb = random(64, 2);
        Map<String, Tensor> lora = new LinkedHashMap<>();
        lora.put("unet.up_blocks.1.attentions.2.proj_in.lora_A.weight", pa);
        lora.put("unet.up_blocks.1.attentions.2.proj_in.lora_B.weight", pb);
        lora.put("text_encoder.text_model.encoder.layers.0.self_attn.k_proj.lora_A.weight", ka);
        lora.put("text_encoder.text_model.encoder.layers.0.self_attn.k_proj.lora_B.weight", kb);
        Map<String, Tensor> u0 = new LinkedHashMap<>(unet), t0 = new LinkedHashMap<>(te);
        Map<String, String> meta = Map.of("lora_adapter_metadata", "{\"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"to_q\"]}");
        assertEquals(2, LoraMerger.merge(SRC, lora, meta, 1.0, unet, te));
        assertClose(expected(u0.get(proj).reshape(64, 64), pa, pb, 8.0 / 4), unet.get(proj).data(), "PEFT unet on a 1x1 conv");
        assertArrayEquals(new int[]{64, 64, 1, 1}, unet.get(proj).shape());
        assertClose(expected(t0.get(k), ka, kb, 8.0 / 4), te.get(k).data(), "PEFT text encoder");

        // Per-component metadata (diffusers packs the adapter configs with a component prefix).
        Map<String, Tensor> u1 = new LinkedHashMap<>(unet);
        Map<String, Tensor> again = new LinkedHashMap<>();
        again.put("unet.up_blocks.1.attentions.2.proj_in.lora_A.weight", pa);
        again.put("unet.up_blocks.1.attentions.2.proj_in.lora_B.weight", pb);
        assertEquals(1, LoraMerger.merge(SRC, again, Map.of("lora_adapter_metadata", "{\"unet.r\": 4, \"unet.lora_alpha\": 2}"), 1.0, unet, te));
        assertClose(expected(u1.get(proj).reshape(64, 64), pa, pb, 2.0 / 4), unet.get(proj).data(), "PEFT, prefixed metadata");

        // Without metadata the PEFT scale is 1; the legacy attention-processor spelling maps to_v.
        Map<String, Tensor> legacy = new LinkedHashMap<>();
        legacy.put("mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_v_lora.down.weight", va);
        legacy.put("mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_v_lora.up.weight", vb);
        assertEquals(1, LoraMerger.merge(SRC, legacy, Map.of(), 0.5, unet, te));
        assertClose(expected(u0.get(v), va, vb, 0.5), unet.get(v).data(), "legacy processor LoRA");
    }

    @Test
    void unmatchedModulesAndUnsupportedVariantsAreErrors() {
        Map<String, Tensor> l1 = Map.of("lora_unet_down_blocks_9_attentions_0_proj_in.lora_down.weight", random(2, 32));
        String msg = assertThrows(ConvertException.class, () -> LoraMerger.merge(SRC, l1, Map.of(), 1, unet, te)).getMessage();
        assertTrue(msg.contains("lora_unet_down_blocks_9_attentions_0_proj_in") && msg.contains("matches no UNet weight"), msg);
        Map<String, Tensor> l2 = Map.of("lora_unet_down_blocks_0_attentions_0_proj_in.hada_w1_a", random(2, 32));
        msg = assertThrows(ConvertException.class, () -> LoraMerger.merge(SRC, l2, Map.of(), 1, unet, te)).getMessage();
        assertTrue(msg.contains("LoHa"), msg);
        Map<String, Tensor> l3 = Map.of("unet.down_blocks.0.attentions.0.nothing.lora_A.weight", random(2, 32));
        msg = assertThrows(ConvertException.class, () -> LoraMerger.merge(SRC, l3, Map.of(), 1, unet, te)).getMessage();
        assertTrue(msg.contains("down_blocks.0.attentions.0.nothing"), msg);
        Map<String, Tensor> l4 = Map.of("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", random(2, 32));
        msg = assertThrows(ConvertException.class, () -> LoraMerger.merge(SRC, l4, Map.of(), 1, unet, te)).getMessage();
        assertTrue(msg.contains("no up"), msg);
        Map<String, Tensor> l5 = new LinkedHashMap<>();
        l5.put("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", random(2, 31));
        l5.put("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", random(32, 2));
        msg = assertThrows(ConvertException.class, () -> LoraMerger.merge(SRC, l5, Map.of(), 1, unet, te)).getMessage();
        assertTrue(msg.contains("does not fit") && msg.contains("q_proj"), msg);
        Map<String, Tensor> l6 = Map.of("some.random.tensor", random(2));
        msg = assertThrows(ConvertException.class, () -> LoraMerger.merge(SRC, l6, Map.of(), 1, unet, te)).getMessage();
        assertTrue(msg.contains("some.random.tensor"), msg);
    }

    @Test
    void loraSpecParsing() {
        assertEquals(new LoraMerger.Lora(Path.of("a/b.safetensors"), 0.75), LoraMerger.Lora.parse("a/b.safetensors:0.75"));
        assertEquals(new LoraMerger.Lora(Path.of("a/b.safetensors"), 1.0), LoraMerger.Lora.parse("a/b.safetensors"));
        assertEquals(new LoraMerger.Lora(Path.of("c:/x.safetensors"), 1.0), LoraMerger.Lora.parse("c:/x.safetensors"));
    }

    static void writeLora(Path f, Map<String, Tensor> t) throws IOException { SafeTensors.write(f, t); }
}
