// The diffusers -> LDM key map written out for the tests from sd15.md section 4's tables (SD1.x layout: 4 levels,
// 2 resnets per down level, 3 per up level, attention in down levels 0-2 and up levels 1-3), kept separate from the
// converter's own LdmKeys so that a round trip cannot pass by sharing one mistake in both directions.
package dev.dragedit.convert.testing;

import dev.dragedit.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class LdmNames {
    private LdmNames() {}

    private static final String[][] RESNET = {{"norm1", "in_layers.0"}, {"conv1", "in_layers.2"}, {"time_emb_proj", "emb_layers.1"},
            {"norm2", "out_layers.0"}, {"conv2", "out_layers.3"}, {"conv_shortcut", "skip_connection"}};

    private static String res(String rest) {
        for (String[] r : RESNET) if (rest.startsWith(r[0] + ".")) return r[1] + rest.substring(r[0].length());
        throw new IllegalArgumentException("resnet part " + rest);
    }

    public static String unet(String k) {
        Matcher m;
        if (k.startsWith("time_embedding.linear_1.")) return "time_embed.0." + k.substring(24);
        if (k.startsWith("time_embedding.linear_2.")) return "time_embed.2." + k.substring(24);
        if (k.startsWith("conv_in.")) return "input_blocks.0.0." + k.substring(8);
        if (k.startsWith("conv_norm_out.")) return "out.0." + k.substring(14);
        if (k.startsWith("conv_out.")) return "out.2." + k.substring(9);
        if ((m = Pattern.compile("down_blocks\\.(\\d)\\.resnets\\.(\\d)\\.(.*)").matcher(k)).matches())
            return "input_blocks." + (3 * i(m, 1) + i(m, 2) + 1) + ".0." + res(m.group(3));
        if ((m = Pattern.compile("down_blocks\\.(\\d)\\.attentions\\.(\\d)\\.(.*)").matcher(k)).matches())
            return "input_blocks." + (3 * i(m, 1) + i(m, 2) + 1) + ".1." + m.group(3);
        if ((m = Pattern.compile("down_blocks\\.(\\d)\\.downsamplers\\.0\\.conv\\.(.*)").matcher(k)).matches())
            return "input_blocks." + (3 * i(m, 1) + 3) + ".0.op." + m.group(2);
        if ((m = Pattern.compile("mid_block\\.resnets\\.(\\d)\\.(.*)").matcher(k)).matches())
            return "middle_block." + (i(m, 1) == 0 ? 0 : 2) + "." + res(m.group(2));
        if ((m = Pattern.compile("mid_block\\.attentions\\.0\\.(.*)").matcher(k)).matches())
            return "middle_block.1." + m.group(1);
        if ((m = Pattern.compile("up_blocks\\.(\\d)\\.resnets\\.(\\d)\\.(.*)").matcher(k)).matches())
            return "output_blocks." + (3 * i(m, 1) + i(m, 2)) + ".0." + res(m.group(3));
        if ((m = Pattern.compile("up_blocks\\.(\\d)\\.attentions\\.(\\d)\\.(.*)").matcher(k)).matches())
            return "output_blocks." + (3 * i(m, 1) + i(m, 2)) + ".1." + m.group(3);
        if ((m = Pattern.compile("up_blocks\\.(\\d)\\.upsamplers\\.0\\.conv\\.(.*)").matcher(k)).matches()) {
            // the table: output_blocks.{2.1, 5.2, 8.2}.conv <-> up_blocks.{0,1,2}.upsamplers.0.conv
            String[] at = {"2.1", "5.2", "8.2"};
            return "output_blocks." + at[i(m, 1)] + ".conv." + m.group(2);
        }
        throw new IllegalArgumentException("unet key " + k);
    }

    public static String vae(String k) {
        Matcher m;
        String[][] attn = {{"group_norm", "norm"}, {"to_q", "q"}, {"to_k", "k"}, {"to_v", "v"}, {"to_out.0", "proj_out"}};
        if ((m = Pattern.compile("(encoder|decoder)\\.mid_block\\.attentions\\.0\\.(.*)").matcher(k)).matches()) {
            for (String[] a : attn) if (m.group(2).startsWith(a[0] + ".")) return m.group(1) + ".mid.attn_1." + a[1] + m.group(2).substring(a[0].length());
        }
        if ((m = Pattern.compile("(encoder|decoder)\\.mid_block\\.resnets\\.(\\d)\\.(.*)").matcher(k)).matches())
            return m.group(1) + ".mid.block_" + (i(m, 2) + 1) + "." + vres(m.group(3));
        if ((m = Pattern.compile("encoder\\.down_blocks\\.(\\d)\\.resnets\\.(\\d)\\.(.*)").matcher(k)).matches())
            return "encoder.down." + m.group(1) + ".block." + m.group(2) + "." + vres(m.group(3));
        if ((m = Pattern.compile("encoder\\.down_blocks\\.(\\d)\\.downsamplers\\.0\\.(.*)").matcher(k)).matches())
            return "encoder.down." + m.group(1) + ".downsample." + m.group(2);
        if ((m = Pattern.compile("decoder\\.up_blocks\\.(\\d)\\.resnets\\.(\\d)\\.(.*)").matcher(k)).matches())
            return "decoder.up." + (3 - i(m, 1)) + ".block." + m.group(2) + "." + vres(m.group(3));
        if ((m = Pattern.compile("decoder\\.up_blocks\\.(\\d)\\.upsamplers\\.0\\.(.*)").matcher(k)).matches())
            return "decoder.up." + (3 - i(m, 1)) + ".upsample." + m.group(2);
        if ((m = Pattern.compile("(encoder|decoder)\\.conv_norm_out\\.(.*)").matcher(k)).matches())
            return m.group(1) + ".norm_out." + m.group(2);
        if (k.matches("(encoder|decoder)\\.conv_(in|out)\\..*|(post_)?quant_conv\\..*")) return k;
        throw new IllegalArgumentException("vae key " + k);
    }

    private static String vres(String rest) {
        return rest.startsWith("conv_shortcut.") ? "nin_shortcut." + rest.substring(14) : rest;
    }

    private static int i(Matcher m, int g) { return Integer.parseInt(m.group(g)); }

    /** An LDM single-file state dict from the three diffusers-named weight maps (VAE attention as 1x1 convs). */
    public static Map<String, Tensor> ldm(Map<String, Tensor> unet, Map<String, Tensor> vae, Map<String, Tensor> clip) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : unet.entrySet()) out.put("model.diffusion_model." + unet(e.getKey()), e.getValue());
        for (var e : vae.entrySet()) {
            Tensor t = e.getValue();
            String k = vae(e.getKey());
            if (k.matches(".*mid\\.attn_1\\.(q|k|v|proj_out)\\.weight")) t = t.reshape(t.dim(0), t.dim(1), 1, 1);
            out.put("first_stage_model." + k, t);
        }
        for (var e : clip.entrySet()) out.put("cond_stage_model.transformer." + e.getKey(), e.getValue());
        return out;
    }
}
