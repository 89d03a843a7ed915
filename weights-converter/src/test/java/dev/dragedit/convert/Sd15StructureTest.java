package dev.dragedit.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.convert.ldm.DiffusersConfigs;
import dev.dragedit.convert.ldm.LdmConverter;
import dev.dragedit.convert.lora.LoraMerger;
import dev.dragedit.convert.testing.LdmNames;
import dev.dragedit.convert.testing.Sd15Shapes;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The conversion at real SD1.5 size and names (shapes from sd15.md, data one shared zero buffer): tensor counts
 * 686 / 248 / 196 as sd15.md states, parameter counts, the inferred configs equal to SD1.5's, and LoRA module names
 * of SD1.5 LoRAs (diffusers and LDM spelling) resolving.
 */
class Sd15StructureTest {
    static long params(Map<String, Tensor> m) {
        return m.values().stream().mapToLong(t -> t.numel()).sum();
    }

    @Test
    void sd15ConvertsWithItsConfigs() throws Exception {
        Map<String, Tensor> unet = Sd15Shapes.unet(), vae = Sd15Shapes.vae(), clip = Sd15Shapes.clip();
        assertEquals(686, unet.size());
        assertEquals(248, vae.size());
        assertEquals(196, clip.size());
        assertEquals(859_520_964L, params(unet));
        assertEquals(83_653_863L, params(vae));
        assertEquals(123_060_480L, params(clip));
        Map<String, Tensor> ldm = new LinkedHashMap<>(LdmNames.ldm(unet, vae, clip));
        ldm.put("cond_stage_model.transformer.text_model.embeddings.position_ids", Tensor.ofI64(new long[77], 1, 77));
        LdmConverter.Components c = LdmConverter.map(Path.of("v1-5-shaped.safetensors"), ldm);
        assertEquals(unet.keySet(), c.unet().keySet());
        assertEquals(vae.keySet(), c.vae().keySet());
        assertEquals(clip.keySet(), c.textEncoder().keySet());
        for (var e : unet.entrySet()) assertArrayEquals(e.getValue().shape(), c.unet().get(e.getKey()).shape(), e.getKey());
        for (var e : vae.entrySet()) assertArrayEquals(e.getValue().shape(), c.vae().get(e.getKey()).shape(), e.getKey());

        ObjectMapper om = new ObjectMapper();
        assertEquals(om.readTree(DiffusersConfigs.UNET_SD15), DiffusersConfigs.unet(c.unet(), null));
        assertEquals(om.readTree(DiffusersConfigs.VAE_SD15), DiffusersConfigs.vae(c.vae(), null));
        JsonNode te = DiffusersConfigs.textEncoder(c.textEncoder(), null);
        assertEquals(om.readTree(DiffusersConfigs.CLIP_SD15), te);
    }

    @Test
    void sd15LoraNamesResolve() throws Exception {
        Map<String, Tensor> unet = Sd15Shapes.unet(), te = Sd15Shapes.clip();
        Map<String, Tensor> lora = new LinkedHashMap<>();
        // A kohya LoCon file for SD1.5 names modules like these (diffusers spelling) ...
        for (String mod : new String[]{"lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_ff_net_2",
                "lora_unet_down_blocks_2_attentions_1_proj_in", "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k",
                // ... or, from LDM-based trainers, like these:
                "lora_unet_output_blocks_11_1_transformer_blocks_0_attn1_to_out_0", "lora_unet_input_blocks_7_0_emb_layers_1",
                "lora_unet_output_blocks_2_1_conv", "lora_unet_middle_block_1_proj_out",
                "lora_te_text_model_encoder_layers_11_self_attn_out_proj"}) {
            lora.put(mod + ".lora_down.weight", Tensor.zeros(1, 1));
            lora.put(mod + ".lora_up.weight", Tensor.zeros(1, 1));
        }
        // Shapes do not fit (1x1 rank-1 stand-ins), so each resolves to its module and then reports the misfit,
        // naming the diffusers weight it resolved to.
        String[] targets = {"up_blocks.3.attentions.2.transformer_blocks.0.ff.net.2.weight", "down_blocks.2.attentions.1.proj_in.weight",
                "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight", "up_blocks.3.attentions.2.transformer_blocks.0.attn1.to_out.0.weight",
                "down_blocks.2.resnets.0.time_emb_proj.weight", "up_blocks.0.upsamplers.0.conv.weight", "mid_block.attentions.0.proj_out.weight",
                "text_model.encoder.layers.11.self_attn.out_proj.weight"};
        int i = 0;
        for (String mod : lora.keySet().stream().map(k -> k.substring(0, k.indexOf('.'))).distinct().toList()) {
            Map<String, Tensor> one = Map.of(mod + ".lora_down.weight", Tensor.zeros(1, 1), mod + ".lora_up.weight", Tensor.zeros(1, 1));
            String msg = assertThrows(ConvertException.class, () -> LoraMerger.merge(Path.of("l"), one, Map.of(), 1, unet, te)).getMessage();
            assertTrue(msg.contains("does not fit " + targets[i]), mod + ": " + msg);
            i++;
        }
    }
}
