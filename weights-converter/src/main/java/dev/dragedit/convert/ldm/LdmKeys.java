// The key map between a single-file LDM (CompVis latent-diffusion / stable-diffusion) checkpoint and the diffusers
// layout, for the UNet, the VAE and the CLIP text encoder: diffusers' loaders/single_file_utils.py
// (convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint) and stable-diffusion.cpp's
// name_conversion.cpp, as tabulated in sd15.md section 4. Both directions are here: LDM -> diffusers for converting
// checkpoints, diffusers -> LDM for resolving LoRA files that use LDM module names. The block arithmetic is written
// for any number of levels and resnets per level (SD1.x has 4 levels of 2 down / 3 up resnets), so the fixtures'
// tiny models map by the same code.
package dev.dragedit.convert.ldm;

import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** LDM <-> diffusers key names. Methods return null for a key that has no counterpart. */
public final class LdmKeys {
    private LdmKeys() {}

    public static final String UNET_PREFIX = "model.diffusion_model.";
    public static final String VAE_PREFIX = "first_stage_model.";
    public static final String CLIP_PREFIX = "cond_stage_model.transformer.";

    /** Top-level buffers of the LDM DDPM wrapper (ldm/models/diffusion/ddpm.py register_schedule): not weights. */
    public static final Set<String> IGNORED_TOP = Set.of("betas", "alphas_cumprod", "alphas_cumprod_prev",
            "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod",
            "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
            "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar", "lvlb_weights");

    /** True for keys the conversion drops on purpose: DDPM buffers, the EMA copy, CLIP's position_ids buffer. */
    public static boolean ignored(String key) {
        return IGNORED_TOP.contains(key) || key.startsWith("model_ema.")
                || (key.startsWith(CLIP_PREFIX) && key.endsWith("embeddings.position_ids"));
    }

    // ------------------------------------------------------------------ UNet

    private static final Map<String, String> RESNET_LDM_TO_DIFF = Map.of(
            "in_layers.0", "norm1", "in_layers.2", "conv1", "emb_layers.1", "time_emb_proj",
            "out_layers.0", "norm2", "out_layers.3", "conv2", "skip_connection", "conv_shortcut");
    private static final Map<String, String> RESNET_DIFF_TO_LDM = invert(RESNET_LDM_TO_DIFF);

    private static final Pattern INPUT = Pattern.compile("input_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");
    private static final Pattern MIDDLE = Pattern.compile("middle_block\\.(\\d+)\\.(.+)");
    private static final Pattern OUTPUT = Pattern.compile("output_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");

    /**
     * The diffusers UNet key of an LDM UNet key (without {@link #UNET_PREFIX}); {@code lpb} is layers_per_block
     * (resnets per down level; up levels have lpb + 1). Null when the key fits no rule.
     */
    public static String unetToDiffusers(String k, int lpb) {
        String r;
        if ((r = swapPrefix(k, "time_embed.0.", "time_embedding.linear_1.")) != null) return r;
        if ((r = swapPrefix(k, "time_embed.2.", "time_embedding.linear_2.")) != null) return r;
        if ((r = swapPrefix(k, "out.0.", "conv_norm_out.")) != null) return r;
        if ((r = swapPrefix(k, "out.2.", "conv_out.")) != null) return r;
        if ((r = swapPrefix(k, "input_blocks.0.0.", "conv_in.")) != null) return r;
        Matcher m;
        if ((m = INPUT.matcher(k)).matches()) {
            int n = Integer.parseInt(m.group(1)), s = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            if (n == 0) return null;
            int i = (n - 1) / (lpb + 1), j = (n - 1) % (lpb + 1);
            String p = "down_blocks." + i + ".";
            if (j < lpb) {
                if (s == 0) return resnet(p + "resnets." + j + ".", rest);
                if (s == 1) return p + "attentions." + j + "." + rest;
                return null;
            }
            if (s == 0 && rest.startsWith("op.")) return p + "downsamplers.0.conv." + rest.substring(3);
            return null;
        }
        if ((m = MIDDLE.matcher(k)).matches()) {
            String rest = m.group(2);
            return switch (m.group(1)) {
                case "0" -> resnet("mid_block.resnets.0.", rest);
                case "1" -> "mid_block.attentions.0." + rest;
                case "2" -> resnet("mid_block.resnets.1.", rest);
                default -> null;
            };
        }
        if ((m = OUTPUT.matcher(k)).matches()) {
            int n = Integer.parseInt(m.group(1)), s = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            int i = n / (lpb + 1), j = n % (lpb + 1);
            String p = "up_blocks." + i + ".";
            if (s == 0) return resnet(p + "resnets." + j + ".", rest);
            // The upsampler is the last sub-module of the level's last output block: ".1.conv" in a level without
            // attention (up_blocks.0), ".2.conv" after the attention otherwise. A transformer has no "conv" child.
            if (rest.startsWith("conv.") && j == lpb) return p + "upsamplers.0.conv." + rest.substring(5);
            if (s == 1) return p + "attentions." + j + "." + rest;
            return null;
        }
        return null;
    }

    private static String resnet(String prefix, String rest) {
        for (Map.Entry<String, String> e : RESNET_LDM_TO_DIFF.entrySet())
            if (rest.startsWith(e.getKey() + ".")) return prefix + e.getValue() + rest.substring(e.getKey().length());
        return null;
    }

    private static final Pattern D_DOWN = Pattern.compile("down_blocks\\.(\\d+)\\.(resnets|attentions|downsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern D_UP = Pattern.compile("up_blocks\\.(\\d+)\\.(resnets|attentions|upsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern D_MID = Pattern.compile("mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.+)");

    /**
     * The LDM UNet key (without prefix) of a diffusers UNet key; {@code hasAttention[i]} says whether up_blocks[i]
     * has transformers (the upsampler's sub-index depends on it). Null when the key fits no rule.
     */
    public static String unetToLdm(String k, int lpb, boolean[] upHasAttention) {
        String r;
        if ((r = swapPrefix(k, "time_embedding.linear_1.", "time_embed.0.")) != null) return r;
        if ((r = swapPrefix(k, "time_embedding.linear_2.", "time_embed.2.")) != null) return r;
        if ((r = swapPrefix(k, "conv_norm_out.", "out.0.")) != null) return r;
        if ((r = swapPrefix(k, "conv_out.", "out.2.")) != null) return r;
        if ((r = swapPrefix(k, "conv_in.", "input_blocks.0.0.")) != null) return r;
        Matcher m;
        if ((m = D_DOWN.matcher(k)).matches()) {
            int i = Integer.parseInt(m.group(1)), j = Integer.parseInt(m.group(3));
            String rest = m.group(4);
            return switch (m.group(2)) {
                case "resnets" -> resnetToLdm("input_blocks." + (i * (lpb + 1) + j + 1) + ".0.", rest);
                case "attentions" -> "input_blocks." + (i * (lpb + 1) + j + 1) + ".1." + rest;
                default -> rest.startsWith("conv.") && j == 0 ? "input_blocks." + (i + 1) * (lpb + 1) + ".0.op." + rest.substring(5) : null;
            };
        }
        if ((m = D_UP.matcher(k)).matches()) {
            int i = Integer.parseInt(m.group(1)), j = Integer.parseInt(m.group(3));
            String rest = m.group(4);
            boolean attn = i < upHasAttention.length && upHasAttention[i];
            return switch (m.group(2)) {
                case "resnets" -> resnetToLdm("output_blocks." + (i * (lpb + 1) + j) + ".0.", rest);
                case "attentions" -> "output_blocks." + (i * (lpb + 1) + j) + ".1." + rest;
                default -> j == 0 ? "output_blocks." + (i * (lpb + 1) + lpb) + "." + (attn ? 2 : 1) + "." + rest : null;
            };
        }
        if ((m = D_MID.matcher(k)).matches()) {
            int j = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            if (m.group(1).equals("attentions")) return j == 0 ? "middle_block.1." + rest : null;
            return j <= 1 ? resnetToLdm("middle_block." + (j == 0 ? 0 : 2) + ".", rest) : null;
        }
        return null;
    }

    private static String resnetToLdm(String prefix, String rest) {
        for (Map.Entry<String, String> e : RESNET_DIFF_TO_LDM.entrySet())
            if (rest.startsWith(e.getKey() + ".")) return prefix + e.getValue() + rest.substring(e.getKey().length());
        return null;
    }

    // ------------------------------------------------------------------ VAE

    private static final Pattern V_DOWN = Pattern.compile("encoder\\.down\\.(\\d+)\\.(block\\.(\\d+)|downsample)\\.(.+)");
    private static final Pattern V_UP = Pattern.compile("decoder\\.up\\.(\\d+)\\.(block\\.(\\d+)|upsample)\\.(.+)");
    private static final Pattern V_MID = Pattern.compile("(encoder|decoder)\\.mid\\.(block_1|block_2|attn_1)\\.(.+)");
    private static final Map<String, String> VAE_ATTN = Map.of("norm", "group_norm", "q", "to_q", "k", "to_k", "v", "to_v", "proj_out", "to_out.0");

    /** The diffusers VAE key of an LDM VAE key (without {@link #VAE_PREFIX}); {@code levels} = number of up levels. */
    public static String vaeToDiffusers(String k, int levels) {
        for (String top : new String[]{"quant_conv.", "post_quant_conv.", "encoder.conv_in.", "encoder.conv_out.",
                "decoder.conv_in.", "decoder.conv_out."})
            if (k.startsWith(top)) return k;
        String r;
        if ((r = swapPrefix(k, "encoder.norm_out.", "encoder.conv_norm_out.")) != null) return r;
        if ((r = swapPrefix(k, "decoder.norm_out.", "decoder.conv_norm_out.")) != null) return r;
        Matcher m;
        if ((m = V_DOWN.matcher(k)).matches()) {
            String p = "encoder.down_blocks." + m.group(1) + ".";
            if (m.group(3) != null) return vaeResnet(p + "resnets." + m.group(3) + ".", m.group(4));
            return m.group(4).startsWith("conv.") ? p + "downsamplers.0." + m.group(4) : null;
        }
        if ((m = V_UP.matcher(k)).matches()) {
            int i = levels - 1 - Integer.parseInt(m.group(1));
            if (i < 0) return null;
            String p = "decoder.up_blocks." + i + ".";
            if (m.group(3) != null) return vaeResnet(p + "resnets." + m.group(3) + ".", m.group(4));
            return m.group(4).startsWith("conv.") ? p + "upsamplers.0." + m.group(4) : null;
        }
        if ((m = V_MID.matcher(k)).matches()) {
            String p = m.group(1) + ".mid_block.";
            String rest = m.group(3);
            return switch (m.group(2)) {
                case "block_1" -> vaeResnet(p + "resnets.0.", rest);
                case "block_2" -> vaeResnet(p + "resnets.1.", rest);
                default -> {
                    int dot = rest.indexOf('.');
                    String to = dot < 0 ? null : VAE_ATTN.get(rest.substring(0, dot));
                    yield to == null ? null : p + "attentions.0." + to + rest.substring(dot);
                }
            };
        }
        return null;
    }

    /** True for the LDM VAE attention projections stored as 1x1 convs that diffusers holds as linears. */
    public static boolean vaeAttentionProjection(String ldmKey) {
        return ldmKey.matches("(encoder|decoder)\\.mid\\.attn_1\\.(q|k|v|proj_out)\\.weight");
    }

    private static String vaeResnet(String prefix, String rest) {
        if (rest.startsWith("nin_shortcut.")) return prefix + "conv_shortcut." + rest.substring("nin_shortcut.".length());
        for (String n : new String[]{"norm1.", "conv1.", "norm2.", "conv2."}) if (rest.startsWith(n)) return prefix + rest;
        return null;
    }

    // ------------------------------------------------------------------ CLIP

    /** The transformers CLIPTextModel key of an LDM text-encoder key (without {@link #CLIP_PREFIX}). */
    public static String clipToDiffusers(String k) {
        String full = k.startsWith("text_model.") ? k : "text_model." + k; // transformers < 4.x had no text_model level
        if (full.startsWith("text_model.embeddings.") || full.startsWith("text_model.encoder.layers.")
                || full.startsWith("text_model.final_layer_norm.")) return full;
        return null;
    }

    // ------------------------------------------------------------------ helpers

    private static String swapPrefix(String k, String from, String to) {
        return k.startsWith(from) ? to + k.substring(from.length()) : null;
    }

    private static Map<String, String> invert(Map<String, String> m) {
        Map<String, String> r = new java.util.HashMap<>();
        m.forEach((a, b) -> r.put(b, a));
        return Map.copyOf(r);
    }
}
