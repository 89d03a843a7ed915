// The full Stable Diffusion 1.5 parameter list (diffusers / transformers names and shapes), derived from the layer
// lists of sd15.md sections 1-4, for tests at real size without real weights: every tensor is an F16 view of one
// shared zero buffer, so a 1.07-billion-parameter model costs 76 MB of memory.
package dev.dragedit.convert.testing;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

public final class Sd15Shapes {
    private Sd15Shapes() {}

    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(49408 * 768 * 2);

    static Tensor t(int... shape) {
        long bytes = Tensor.numel(shape) * 2;
        return Tensor.mapped(ZEROS.slice(0, (int) bytes), DType.F16, shape);
    }

    static void wb(Map<String, Tensor> m, String k, int... shape) {
        m.put(k + ".weight", t(shape));
        m.put(k + ".bias", t(shape[0]));
    }

    static void resnet(Map<String, Tensor> m, String p, int cin, int cout, boolean temb) {
        wb(m, p + "norm1", cin);
        wb(m, p + "conv1", cout, cin, 3, 3);
        if (temb) wb(m, p + "time_emb_proj", cout, 1280);
        wb(m, p + "norm2", cout);
        wb(m, p + "conv2", cout, cout, 3, 3);
        if (cin != cout) wb(m, p + "conv_shortcut", cout, cin, 1, 1);
    }

    static void transformer(Map<String, Tensor> m, String p, int c) {
        wb(m, p + "norm", c);
        wb(m, p + "proj_in", c, c, 1, 1);
        String b = p + "transformer_blocks.0.";
        for (String n : new String[]{"norm1", "norm2", "norm3"}) wb(m, b + n, c);
        for (String n : new String[]{"to_q", "to_k", "to_v"}) m.put(b + "attn1." + n + ".weight", t(c, c));
        wb(m, b + "attn1.to_out.0", c, c);
        m.put(b + "attn2.to_q.weight", t(c, c));
        m.put(b + "attn2.to_k.weight", t(c, 768));
        m.put(b + "attn2.to_v.weight", t(c, 768));
        wb(m, b + "attn2.to_out.0", c, c);
        wb(m, b + "ff.net.0.proj", 8 * c, c);
        wb(m, b + "ff.net.2", c, 4 * c);
        wb(m, p + "proj_out", c, c, 1, 1);
    }

    public static Map<String, Tensor> unet() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        int[] ch = {320, 640, 1280, 1280};
        wb(m, "conv_in", 320, 4, 3, 3);
        wb(m, "time_embedding.linear_1", 1280, 320);
        wb(m, "time_embedding.linear_2", 1280, 1280);
        Deque<Integer> skips = new ArrayDeque<>();
        skips.push(320);
        int h = 320;
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) {
                resnet(m, "down_blocks." + i + ".resnets." + j + ".", h, ch[i], true);
                h = ch[i];
                if (i < 3) transformer(m, "down_blocks." + i + ".attentions." + j + ".", h);
                skips.push(h);
            }
            if (i < 3) {
                wb(m, "down_blocks." + i + ".downsamplers.0.conv", h, h, 3, 3);
                skips.push(h);
            }
        }
        resnet(m, "mid_block.resnets.0.", 1280, 1280, true);
        transformer(m, "mid_block.attentions.0.", 1280);
        resnet(m, "mid_block.resnets.1.", 1280, 1280, true);
        for (int i = 0; i < 4; i++) {
            int out = ch[3 - i];
            for (int j = 0; j < 3; j++) {
                resnet(m, "up_blocks." + i + ".resnets." + j + ".", h + skips.pop(), out, true);
                h = out;
                if (i > 0) transformer(m, "up_blocks." + i + ".attentions." + j + ".", h);
            }
            if (i < 3) wb(m, "up_blocks." + i + ".upsamplers.0.conv", h, h, 3, 3);
        }
        wb(m, "conv_norm_out", 320);
        wb(m, "conv_out", 4, 320, 3, 3);
        return m;
    }

    public static Map<String, Tensor> vae() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        int[] ch = {128, 256, 512, 512};
        wb(m, "encoder.conv_in", 128, 3, 3, 3);
        int h = 128;
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) {
                resnet(m, "encoder.down_blocks." + i + ".resnets." + j + ".", h, ch[i], false);
                h = ch[i];
            }
            if (i < 3) wb(m, "encoder.down_blocks." + i + ".downsamplers.0.conv", h, h, 3, 3);
        }
        for (String side : new String[]{"encoder", "decoder"}) {
            if (side.equals("decoder")) {
                wb(m, "quant_conv", 8, 8, 1, 1);
                wb(m, "post_quant_conv", 4, 4, 1, 1);
                wb(m, "decoder.conv_in", 512, 4, 3, 3);
            }
            resnet(m, side + ".mid_block.resnets.0.", 512, 512, false);
            wb(m, side + ".mid_block.attentions.0.group_norm", 512);
            for (String n : new String[]{"to_q", "to_k", "to_v", "to_out.0"}) wb(m, side + ".mid_block.attentions.0." + n, 512, 512);
            resnet(m, side + ".mid_block.resnets.1.", 512, 512, false);
            if (side.equals("encoder")) {
                wb(m, "encoder.conv_norm_out", 512);
                wb(m, "encoder.conv_out", 8, 512, 3, 3);
            }
        }
        h = 512;
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 3; j++) {
                resnet(m, "decoder.up_blocks." + i + ".resnets." + j + ".", h, ch[3 - i], false);
                h = ch[3 - i];
            }
            if (i < 3) wb(m, "decoder.up_blocks." + i + ".upsamplers.0.conv", h, h, 3, 3);
        }
        wb(m, "decoder.conv_norm_out", 128);
        wb(m, "decoder.conv_out", 3, 128, 3, 3);
        return m;
    }

    public static Map<String, Tensor> clip() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("text_model.embeddings.token_embedding.weight", t(49408, 768));
        m.put("text_model.embeddings.position_embedding.weight", t(77, 768));
        for (int l = 0; l < 12; l++) {
            String p = "text_model.encoder.layers." + l + ".";
            for (String n : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) wb(m, p + "self_attn." + n, 768, 768);
            wb(m, p + "layer_norm1", 768);
            wb(m, p + "layer_norm2", 768);
            wb(m, p + "mlp.fc1", 3072, 768);
            wb(m, p + "mlp.fc2", 768, 3072);
        }
        wb(m, "text_model.final_layer_norm", 768);
        return m;
    }
}
