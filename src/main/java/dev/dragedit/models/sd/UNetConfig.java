package dev.dragedit.models.sd;

import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.WeightsException;

import java.util.Arrays;

/**
 * The configuration of a Stable Diffusion 1.x-shaped UNet, read from the config.json that diffusers'
 * {@code UNet2DConditionModel.save_config} writes (diffusers v0.24.0, models/unet_2d_condition.py): a missing key takes
 * the default of {@code UNet2DConditionModel.__init__}, and every option this implementation does not compute (other
 * block types, linear projections, class or addition embeddings, …) is refused with a message naming the file and the
 * key, so a model that would silently compute something else cannot be built.
 * <p>
 * Per-block lists are expanded as diffusers does: {@code attention_head_dim} — which SD1.x uses as the <em>number of
 * heads</em> (diffusers' "naming issue": {@code num_attention_heads = num_attention_heads or attention_head_dim}) —,
 * {@code layers_per_block} and {@code transformer_layers_per_block} may be a number or one value per down block; the
 * up blocks use them reversed, the mid block the last one.
 */
public final class UNetConfig {
    public final int inChannels, outChannels;
    public final int[] blockOutChannels;
    /** Resnets per down block (up blocks have one more). */
    public final int[] layersPerBlock;
    /** Attention heads per down block (index i also serves up block n−1−i; the mid block uses the last). */
    public final int[] heads;
    /** Transformer blocks per Transformer2DModel, per down block. */
    public final int[] transformerLayers;
    public final int crossAttentionDim;
    public final int normNumGroups;
    public final float normEps;
    public final boolean flipSinToCos;
    public final float freqShift;
    public final int downsamplePadding;
    /** Width of the time embedding (time_embedding_dim, default 4·block_out_channels[0]). */
    public final int timeEmbedDim;
    /** true: CrossAttnDownBlock2D, false: DownBlock2D. */
    public final boolean[] downCrossAttn;
    /** true: CrossAttnUpBlock2D, false: UpBlock2D. */
    public final boolean[] upCrossAttn;
    /** Where the config came from, for messages. */
    public final String source;

    public UNetConfig(int inChannels, int outChannels, int[] blockOutChannels, int[] layersPerBlock, int[] heads,
                      int[] transformerLayers, int crossAttentionDim, int normNumGroups, float normEps,
                      boolean flipSinToCos, float freqShift, int downsamplePadding, int timeEmbedDim,
                      boolean[] downCrossAttn, boolean[] upCrossAttn, String source) {
        this.source = source;
        int n = blockOutChannels.length;
        if (n < 1) throw bad("block_out_channels is empty");
        if (downCrossAttn.length != n || upCrossAttn.length != n)
            throw bad("down_block_types has " + downCrossAttn.length + " and up_block_types " + upCrossAttn.length
                    + " entries, expected one per block_out_channels entry (" + n + ")");
        if (layersPerBlock.length != n || heads.length != n || transformerLayers.length != n)
            throw bad("layers_per_block, attention_head_dim and transformer_layers_per_block need 1 or " + n
                    + " values, got " + layersPerBlock.length + ", " + heads.length + ", " + transformerLayers.length);
        if (inChannels < 1 || outChannels < 1) throw bad("in_channels/out_channels must be positive");
        if (crossAttentionDim < 1) throw bad("cross_attention_dim must be positive, got " + crossAttentionDim);
        if (normNumGroups < 1) throw bad("norm_num_groups must be positive, got " + normNumGroups);
        if (!(normEps > 0)) throw bad("norm_eps must be positive, got " + normEps);
        if (downsamplePadding < 0) throw bad("downsample_padding must be ≥ 0, got " + downsamplePadding);
        if (timeEmbedDim < 1) throw bad("time_embedding_dim must be positive, got " + timeEmbedDim);
        for (int i = 0; i < n; i++) {
            int c = blockOutChannels[i];
            if (c < 1 || c % normNumGroups != 0)
                throw bad("block_out_channels[" + i + "] = " + c + " is not a positive multiple of norm_num_groups = " + normNumGroups);
            if (layersPerBlock[i] < 1) throw bad("layers_per_block[" + i + "] must be ≥ 1, got " + layersPerBlock[i]);
            if (transformerLayers[i] < 1) throw bad("transformer_layers_per_block[" + i + "] must be ≥ 1, got " + transformerLayers[i]);
            if (heads[i] < 1 || heads[i] > c) throw bad("attention_head_dim[" + i + "] = " + heads[i] + " heads do not fit " + c + " channels");
        }
        if (blockOutChannels[0] < 2) throw bad("block_out_channels[0] must be ≥ 2 (sinusoidal embedding width)");
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.blockOutChannels = blockOutChannels.clone();
        this.layersPerBlock = layersPerBlock.clone();
        this.heads = heads.clone();
        this.transformerLayers = transformerLayers.clone();
        this.crossAttentionDim = crossAttentionDim;
        this.normNumGroups = normNumGroups;
        this.normEps = normEps;
        this.flipSinToCos = flipSinToCos;
        this.freqShift = freqShift;
        this.downsamplePadding = downsamplePadding;
        this.timeEmbedDim = timeEmbedDim;
        this.downCrossAttn = downCrossAttn.clone();
        this.upCrossAttn = upCrossAttn.clone();
    }

    public int numBlocks() { return blockOutChannels.length; }

    /** The Stable Diffusion 1.5 UNet (runwayml/stable-diffusion-v1-5 unet/config.json; spec sd15.md §1). */
    public static UNetConfig sd15() {
        return new UNetConfig(4, 4, new int[]{320, 640, 1280, 1280}, new int[]{2, 2, 2, 2}, new int[]{8, 8, 8, 8},
                new int[]{1, 1, 1, 1}, 768, 32, 1e-5f, true, 0f, 1, 1280,
                new boolean[]{true, true, true, false}, new boolean[]{false, true, true, true}, "sd15");
    }

    /** From a diffusers config.json (UNet2DConditionModel), with diffusers v0.24.0's defaults for missing keys. */
    public static UNetConfig from(ModelConfig c) {
        String src = c.source();
        String cls = c.getString("_class_name", "UNet2DConditionModel");
        if (!cls.equals("UNet2DConditionModel"))
            throw new WeightsException("config: " + src + ": _class_name is \"" + cls + "\", expected \"UNet2DConditionModel\"");

        int[] boc = c.has("block_out_channels") ? c.getInts("block_out_channels") : new int[]{320, 640, 1280, 1280};
        int n = boc.length;
        String[] down = c.has("down_block_types") ? c.getStrings("down_block_types")
                : new String[]{"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"};
        String[] up = c.has("up_block_types") ? c.getStrings("up_block_types")
                : new String[]{"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"};
        boolean[] downX = new boolean[down.length], upX = new boolean[up.length];
        for (int i = 0; i < down.length; i++) {
            String t = strip(down[i]);
            if (t.equals("CrossAttnDownBlock2D")) downX[i] = true;
            else if (!t.equals("DownBlock2D"))
                throw new WeightsException("config: " + src + ": down_block_types[" + i + "] = \"" + down[i]
                        + "\" is not supported (Stable Diffusion 1.x UNets use CrossAttnDownBlock2D and DownBlock2D)");
        }
        for (int i = 0; i < up.length; i++) {
            String t = strip(up[i]);
            if (t.equals("CrossAttnUpBlock2D")) upX[i] = true;
            else if (!t.equals("UpBlock2D"))
                throw new WeightsException("config: " + src + ": up_block_types[" + i + "] = \"" + up[i]
                        + "\" is not supported (Stable Diffusion 1.x UNets use UpBlock2D and CrossAttnUpBlock2D)");
        }
        String mid = c.getString("mid_block_type", "UNetMidBlock2DCrossAttn");
        if (!mid.equals("UNetMidBlock2DCrossAttn"))
            throw new WeightsException("config: " + src + ": mid_block_type = \"" + mid + "\" is not supported (expected UNetMidBlock2DCrossAttn)");

        // Options that would change what is computed: only the Stable Diffusion 1.x values are accepted.
        requireFalse(c, "only_cross_attention");
        requireFalse(c, "use_linear_projection");
        requireFalse(c, "upcast_attention");
        requireFalse(c, "center_input_sample");
        requireFalse(c, "dual_cross_attention");
        requireFalse(c, "resnet_skip_time_act");
        requireFalse(c, "class_embeddings_concat");
        requireFalse(c, "mid_block_only_cross_attention");
        for (String k : new String[]{"num_attention_heads", "class_embed_type", "num_class_embeds", "addition_embed_type",
                "addition_time_embed_dim", "encoder_hid_dim", "encoder_hid_dim_type", "time_cond_proj_dim",
                "timestep_post_act", "time_embedding_act_fn", "projection_class_embeddings_input_dim",
                "cross_attention_norm", "reverse_transformer_layers_per_block"})
            if (c.has(k))
                throw new WeightsException("config: " + src + ": \"" + k + "\" = " + c.json().get(k)
                        + " is not supported by this Stable Diffusion 1.x UNet (expected null)");
        requireString(c, "act_fn", "silu");
        requireString(c, "time_embedding_type", "positional");
        requireString(c, "resnet_time_scale_shift", "default");
        requireString(c, "attention_type", "default");
        if (c.getDouble("mid_block_scale_factor", 1) != 1)
            throw new WeightsException("config: " + src + ": mid_block_scale_factor = " + c.getDouble("mid_block_scale_factor") + " is not supported (expected 1)");
        if (c.getDouble("resnet_out_scale_factor", 1) != 1)
            throw new WeightsException("config: " + src + ": resnet_out_scale_factor = " + c.getDouble("resnet_out_scale_factor") + " is not supported (expected 1)");
        if (c.getInt("conv_in_kernel", 3) != 3 || c.getInt("conv_out_kernel", 3) != 3)
            throw new WeightsException("config: " + src + ": conv_in_kernel/conv_out_kernel must be 3");
        if (c.has("cross_attention_dim") && c.json().get("cross_attention_dim").isArray())
            throw new WeightsException("config: " + src + ": a per-block cross_attention_dim list is not supported (expected one integer)");
        if (!c.has("norm_num_groups") && c.json().has("norm_num_groups"))
            throw new WeightsException("config: " + src + ": norm_num_groups = null (no output GroupNorm) is not supported");
        // dropout only acts in training mode; the UNet here always computes in evaluation mode (as DragDiffusion does).

        int[] lpb = perBlock(c, "layers_per_block", 2, n);
        int[] heads = perBlock(c, "attention_head_dim", 8, n);
        int[] tl = perBlock(c, "transformer_layers_per_block", 1, n);
        int ted = c.has("time_embedding_dim") ? c.getInt("time_embedding_dim") : 4 * boc[0];
        return new UNetConfig(c.getInt("in_channels", 4), c.getInt("out_channels", 4), boc, lpb, heads, tl,
                c.getInt("cross_attention_dim", 1280), c.getInt("norm_num_groups", 32),
                (float) c.getDouble("norm_eps", 1e-5), c.getBool("flip_sin_to_cos", true),
                (float) c.getDouble("freq_shift", 0), c.getInt("downsample_padding", 1), ted, downX, upX, src);
    }

    /** Older configs spell block types with a "UNetRes" prefix (diffusers' get_down_block strips it). */
    private static String strip(String t) { return t.startsWith("UNetRes") ? t.substring(7) : t; }

    private static int[] perBlock(ModelConfig c, String key, int def, int n) {
        if (!c.has(key)) return filled(def, n);
        int[] v = c.getInts(key);
        if (!c.json().get(key).isArray()) return filled(v[0], n);
        if (v.length != n)
            throw new WeightsException("config: " + c.source() + ": \"" + key + "\" has " + v.length
                    + " values, expected one per block (" + n + ")");
        return v;
    }

    private static int[] filled(int v, int n) {
        int[] r = new int[n];
        Arrays.fill(r, v);
        return r;
    }

    private static void requireFalse(ModelConfig c, String key) {
        if (!c.has(key)) return;
        var v = c.json().get(key);
        boolean any = v.isBoolean() ? v.booleanValue() : true;
        if (v.isArray()) { any = false; for (var e : v) any |= !e.isBoolean() || e.booleanValue(); }
        if (any)
            throw new WeightsException("config: " + c.source() + ": \"" + key + "\" = " + v
                    + " is not supported by this Stable Diffusion 1.x UNet (expected false)");
    }

    private static void requireString(ModelConfig c, String key, String expected) {
        String v = c.getString(key, expected);
        if (!v.equals(expected))
            throw new WeightsException("config: " + c.source() + ": \"" + key + "\" = \"" + v
                    + "\" is not supported (expected \"" + expected + "\")");
    }

    private WeightsException bad(String what) { return new WeightsException("config: " + source + ": " + what); }

    @Override public String toString() {
        return "UNetConfig[" + source + ": block_out_channels " + Arrays.toString(blockOutChannels) + ", layers "
                + Arrays.toString(layersPerBlock) + ", heads " + Arrays.toString(heads) + ", cross_attention_dim "
                + crossAttentionDim + "]";
    }
}
