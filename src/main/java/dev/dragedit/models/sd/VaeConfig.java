package dev.dragedit.models.sd;

import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.WeightsException;

import java.util.Arrays;

/**
 * The configuration of a Stable-Diffusion-1.x-shaped diffusers {@code AutoencoderKL} (diffusers v0.24.0,
 * models/autoencoders/autoencoder_kl.py, and the Encoder/Decoder of models/autoencoders/vae.py), read from the
 * vae/config.json that diffusers' save_config writes. Missing keys take the defaults of AutoencoderKL.__init__ (so a
 * config without {@code scaling_factor} gets 0.18215). Only the block types SD1.x uses are accepted
 * (DownEncoderBlock2D / UpDecoderBlock2D, SiLU, as many up blocks as down blocks), because the graph built from any
 * other would silently differ from the reference.
 * <p>
 * {@code use_quant_conv}, {@code use_post_quant_conv} and {@code mid_block_add_attention} do not exist in v0.24.0
 * (always true there); later diffusers versions write them, so they are read with that default.
 * {@code force_upcast} (default true) is not part of the computation: it tells a pipeline that this VAE must run in
 * float32 even when the UNet runs in float16 (SD1.x's VAE overflows in float16 at large sizes), so it is kept for
 * whoever places the model.
 */
public record VaeConfig(int inChannels, int outChannels, int[] blockOutChannels, int layersPerBlock, int latentChannels,
                        int normNumGroups, int sampleSize, float scalingFactor, boolean useQuantConv,
                        boolean usePostQuantConv, boolean midBlockAddAttention, boolean forceUpcast, String source) {

    /** GroupNorm epsilon of every VAE norm (diffusers passes resnet_eps = 1e-6 and builds conv_norm_out with 1e-6). */
    public static final float NORM_EPS = 1e-6f;

    public VaeConfig {
        blockOutChannels = blockOutChannels.clone();
        String where = "VAE config " + (source == null ? "" : source + " ");
        if (blockOutChannels.length == 0) throw new WeightsException(where + "has no block_out_channels");
        if (inChannels < 1 || outChannels < 1 || latentChannels < 1 || layersPerBlock < 1 || normNumGroups < 1)
            throw new WeightsException(where + "needs positive in_channels, out_channels, latent_channels, layers_per_block"
                    + " and norm_num_groups; found " + inChannels + ", " + outChannels + ", " + latentChannels + ", "
                    + layersPerBlock + ", " + normNumGroups);
        for (int c : blockOutChannels)
            if (c < 1 || c % normNumGroups != 0)
                throw new WeightsException(where + "block_out_channels " + Arrays.toString(blockOutChannels)
                        + ": every entry must be a positive multiple of norm_num_groups = " + normNumGroups);
    }

    @Override public int[] blockOutChannels() { return blockOutChannels.clone(); }

    /** Channels of down block i (= of up block n−1−i). */
    public int channels(int i) { return blockOutChannels[i]; }

    public int levels() { return blockOutChannels.length; }

    /** Image pixels per latent pixel along a side: 2^(levels − 1) (8 for SD1.5). */
    public int downscale() { return 1 << (blockOutChannels.length - 1); }

    /** Stable Diffusion 1.5's VAE (runwayml/stable-diffusion-v1-5 vae/config.json). */
    public static VaeConfig sd15() {
        return new VaeConfig(3, 3, new int[]{128, 256, 512, 512}, 2, 4, 32, 512, 0.18215f, true, true, true, true, "sd15");
    }

    /** From a diffusers vae/config.json; an unsupported architecture is an error naming the file and the key. */
    public static VaeConfig from(ModelConfig c) {
        String src = c.source();
        String cls = c.getString("_class_name", "AutoencoderKL");
        if (!cls.equals("AutoencoderKL"))
            throw new WeightsException("VAE config " + src + ": _class_name is \"" + cls + "\", expected \"AutoencoderKL\"");
        int[] channels = c.has("block_out_channels") ? c.getInts("block_out_channels") : new int[]{64};
        String[] down = c.has("down_block_types") ? c.getStrings("down_block_types") : new String[]{"DownEncoderBlock2D"};
        String[] up = c.has("up_block_types") ? c.getStrings("up_block_types") : new String[]{"UpDecoderBlock2D"};
        checkTypes(src, "down_block_types", down, "DownEncoderBlock2D", channels.length);
        checkTypes(src, "up_block_types", up, "UpDecoderBlock2D", channels.length);
        String act = c.getString("act_fn", "silu");
        if (!act.equals("silu"))
            throw new WeightsException("VAE config " + src + ": act_fn \"" + act + "\" is not supported (Stable Diffusion's VAE uses \"silu\")");
        // Keys that select something SD1.x's VAE does not do: refuse them rather than compute another graph.
        if (c.has("norm_type") && !c.getString("norm_type", "group").equals("group"))
            throw new WeightsException("VAE config " + src + ": norm_type \"" + c.getString("norm_type", "") + "\" is not supported, expected \"group\"");
        return new VaeConfig(
                c.getInt("in_channels", 3),
                c.getInt("out_channels", 3),
                channels,
                c.getInt("layers_per_block", 1),
                c.getInt("latent_channels", 4),
                c.getInt("norm_num_groups", 32),
                c.getInt("sample_size", 32),
                (float) c.getDouble("scaling_factor", 0.18215),
                c.getBool("use_quant_conv", true),
                c.getBool("use_post_quant_conv", true),
                c.getBool("mid_block_add_attention", true),
                c.getBool("force_upcast", true),
                src);
    }

    private static void checkTypes(String src, String key, String[] types, String expected, int n) {
        if (types.length != n)
            throw new WeightsException("VAE config " + src + ": " + key + " has " + types.length
                    + " entries but block_out_channels has " + n + "; they must match");
        for (String t : types)
            if (!t.equals(expected))
                throw new WeightsException("VAE config " + src + ": " + key + " contains \"" + t + "\"; only \""
                        + expected + "\" (the Stable Diffusion 1.x VAE block) is supported");
    }

    @Override public boolean equals(Object o) {
        return o instanceof VaeConfig v && inChannels == v.inChannels && outChannels == v.outChannels
                && Arrays.equals(blockOutChannels, v.blockOutChannels) && layersPerBlock == v.layersPerBlock
                && latentChannels == v.latentChannels && normNumGroups == v.normNumGroups && sampleSize == v.sampleSize
                && Float.compare(scalingFactor, v.scalingFactor) == 0 && useQuantConv == v.useQuantConv
                && usePostQuantConv == v.usePostQuantConv && midBlockAddAttention == v.midBlockAddAttention
                && forceUpcast == v.forceUpcast;
    }

    @Override public int hashCode() {
        return Arrays.hashCode(blockOutChannels) * 31 + inChannels * 7 + latentChannels * 13 + layersPerBlock;
    }

    @Override public String toString() {
        return "VaeConfig[in=" + inChannels + ", out=" + outChannels + ", channels=" + Arrays.toString(blockOutChannels)
                + ", layers_per_block=" + layersPerBlock + ", latent=" + latentChannels + ", groups=" + normNumGroups
                + ", scaling_factor=" + scalingFactor + "]";
    }
}
