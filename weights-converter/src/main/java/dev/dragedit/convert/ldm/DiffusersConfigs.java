// The config.json files of a diffusers Stable Diffusion 1.x folder, made for converted single-file checkpoints: the
// SD1.5 files as diffusers v0.24.0 / transformers write them (runwayml/stable-diffusion-v1-5: unet/, vae/,
// text_encoder/, scheduler/, model_index.json), with every size that the weights determine - channels per level,
// resnets per level, block types, context width, text width, layers, vocabulary - read from the tensors' shapes, so
// the same code serves SD1.5 and the fixtures' tiny models. What the weights cannot tell (attention heads, group
// count, sample size) comes from the template: the SD1.5 values, or a user's config folder (--config-from).
package dev.dragedit.convert.ldm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.convert.ConvertException;
import dev.dragedit.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Builds the diffusers config files for converted weights. */
public final class DiffusersConfigs {
    private DiffusersConfigs() {}

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static final String UNET_SD15 = """
            {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.24.0", "act_fn": "silu",
             "addition_embed_type": null, "addition_embed_type_num_heads": 64, "addition_time_embed_dim": null,
             "attention_head_dim": 8, "attention_type": "default", "block_out_channels": [320, 640, 1280, 1280],
             "center_input_sample": false, "class_embed_type": null, "class_embeddings_concat": false,
             "conv_in_kernel": 3, "conv_out_kernel": 3, "cross_attention_dim": 768, "cross_attention_norm": null,
             "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
             "downsample_padding": 1, "dropout": 0.0, "dual_cross_attention": false, "encoder_hid_dim": null,
             "encoder_hid_dim_type": null, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4,
             "layers_per_block": 2, "mid_block_only_cross_attention": null, "mid_block_scale_factor": 1,
             "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-05, "norm_num_groups": 32,
             "num_attention_heads": null, "num_class_embeds": null, "only_cross_attention": false, "out_channels": 4,
             "projection_class_embeddings_input_dim": null, "resnet_out_scale_factor": 1.0,
             "resnet_skip_time_act": false, "resnet_time_scale_shift": "default",
             "reverse_transformer_layers_per_block": null, "sample_size": 64, "time_cond_proj_dim": null,
             "time_embedding_act_fn": null, "time_embedding_dim": null, "time_embedding_type": "positional",
             "timestep_post_act": null, "transformer_layers_per_block": 1,
             "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
             "upcast_attention": false, "use_linear_projection": false}""";

    public static final String VAE_SD15 = """
            {"_class_name": "AutoencoderKL", "_diffusers_version": "0.24.0", "act_fn": "silu",
             "block_out_channels": [128, 256, 512, 512],
             "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
             "force_upcast": true, "in_channels": 3, "latent_channels": 4, "layers_per_block": 2,
             "norm_num_groups": 32, "out_channels": 3, "sample_size": 512, "scaling_factor": 0.18215,
             "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]}""";

    public static final String CLIP_SD15 = """
            {"architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0,
             "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": 768, "initializer_factor": 1.0,
             "initializer_range": 0.02, "intermediate_size": 3072, "layer_norm_eps": 1e-05,
             "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": 12,
             "num_hidden_layers": 12, "pad_token_id": 1, "projection_dim": 768, "torch_dtype": "float32",
             "transformers_version": "4.37.2", "vocab_size": 49408}""";

    /** SD1.5's scheduler/scheduler_config.json (a PNDM config; DDIM reads the same beta schedule from it). */
    static final String SCHEDULER_SD15 = """
            {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000,
             "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null}""";

    static final String MODEL_INDEX = """
            {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.24.0",
             "feature_extractor": [null, null], "requires_safety_checker": false, "safety_checker": [null, null],
             "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
             "vae": ["diffusers", "AutoencoderKL"]}""";

    /** The template of {@code component}: {@code configFrom/<component>/config.json} when given, else SD1.5's. */
    static ObjectNode template(Path configFrom, String component, String builtin) throws IOException {
        if (configFrom != null) {
            Path f = configFrom.resolve(component).resolve(component.equals("scheduler") ? "scheduler_config.json" : "config.json");
            if (Files.isRegularFile(f)) {
                try {
                    JsonNode n = JSON.readTree(f.toFile());
                    if (n instanceof ObjectNode o) return o;
                    throw new ConvertException(f + ": expected a JSON object");
                } catch (com.fasterxml.jackson.core.JacksonException e) {
                    throw new ConvertException(f + ": not valid JSON: " + e.getOriginalMessage());
                }
            }
        }
        return (ObjectNode) JSON.readTree(builtin);
    }

    /** Sets {@code key}; when the template came from the user and says otherwise, that is an error naming both. */
    private static void put(ObjectNode cfg, String component, String key, JsonNode value) throws ConvertException {
        JsonNode old = cfg.get(key);
        if (old != null && !old.isNull() && cfg.has("__user__") && !sameValue(old, value))
            throw new ConvertException(component + "/config.json from --config-from says " + key + " = " + old
                    + ", but the checkpoint's weights have " + value);
        cfg.set(key, value);
    }

    private static boolean sameValue(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) return a.doubleValue() == b.doubleValue();
        return a.equals(b);
    }

    static ObjectNode mark(ObjectNode cfg, boolean user) {
        if (user) cfg.put("__user__", true);
        return cfg;
    }

    static ObjectNode finish(ObjectNode cfg) {
        cfg.remove("__user__");
        return cfg;
    }

    private static int[] shape(Map<String, Tensor> w, String key, String component) throws ConvertException {
        Tensor t = w.get(key);
        if (t == null) throw new ConvertException(component + ": the checkpoint has no " + key + " (needed to infer the configuration)");
        return t.shape();
    }

    private static int countIndices(Map<String, Tensor> w, Pattern p) {
        TreeSet<Integer> s = new TreeSet<>();
        for (String k : w.keySet()) {
            Matcher m = p.matcher(k);
            if (m.lookingAt()) s.add(Integer.parseInt(m.group(1)));
        }
        return s.isEmpty() ? 0 : s.last() + 1;
    }

    private static boolean anyPrefix(Map<String, Tensor> w, String prefix) {
        for (String k : w.keySet()) if (k.startsWith(prefix)) return true;
        return false;
    }

    /** UNet config.json for diffusers-named UNet weights. */
    public static ObjectNode unet(Map<String, Tensor> u, Path configFrom) throws IOException {
        boolean user = configFrom != null && Files.isRegularFile(configFrom.resolve("unet/config.json"));
        ObjectNode c = mark(template(configFrom, "unet", UNET_SD15), user);
        int levels = countIndices(u, Pattern.compile("down_blocks\\.(\\d+)\\."));
        if (levels == 0) throw new ConvertException("unet: no down_blocks in the checkpoint");
        ArrayNode ch = JSON.createArrayNode(), down = JSON.createArrayNode(), up = JSON.createArrayNode();
        for (int i = 0; i < levels; i++) {
            ch.add(shape(u, "down_blocks." + i + ".resnets.0.conv1.weight", "unet")[0]);
            down.add(anyPrefix(u, "down_blocks." + i + ".attentions.") ? "CrossAttnDownBlock2D" : "DownBlock2D");
            up.add(anyPrefix(u, "up_blocks." + i + ".attentions.") ? "CrossAttnUpBlock2D" : "UpBlock2D");
        }
        int[] convIn = shape(u, "conv_in.weight", "unet"), convOut = shape(u, "conv_out.weight", "unet");
        put(c, "unet", "block_out_channels", ch);
        put(c, "unet", "down_block_types", down);
        put(c, "unet", "up_block_types", up);
        put(c, "unet", "in_channels", JSON.getNodeFactory().numberNode(convIn[1]));
        put(c, "unet", "out_channels", JSON.getNodeFactory().numberNode(convOut[0]));
        put(c, "unet", "conv_in_kernel", JSON.getNodeFactory().numberNode(convIn[2]));
        put(c, "unet", "conv_out_kernel", JSON.getNodeFactory().numberNode(convOut[2]));
        put(c, "unet", "layers_per_block", JSON.getNodeFactory().numberNode(countIndices(u, Pattern.compile("down_blocks\\.0\\.resnets\\.(\\d+)\\."))));
        for (String k : u.keySet()) {
            if (k.endsWith("attn2.to_k.weight")) {
                put(c, "unet", "cross_attention_dim", JSON.getNodeFactory().numberNode(u.get(k).shape()[1]));
                break;
            }
        }
        for (String k : u.keySet()) {
            if (k.endsWith(".proj_in.weight")) {
                put(c, "unet", "use_linear_projection", JSON.getNodeFactory().booleanNode(u.get(k).rank() == 2));
                break;
            }
        }
        int tl = countIndices(u, Pattern.compile("down_blocks\\.0\\.attentions\\.0\\.transformer_blocks\\.(\\d+)\\."));
        if (tl > 0) put(c, "unet", "transformer_layers_per_block", JSON.getNodeFactory().numberNode(tl));
        c.put("mid_block_type", anyPrefix(u, "mid_block.attentions.") ? "UNetMidBlock2DCrossAttn" : "UNetMidBlock2D");
        // attention_head_dim (in SD1.x: the number of heads) cannot be read from the weights; check it divides.
        JsonNode heads = c.get("attention_head_dim");
        for (int i = 0; i < levels && heads != null && heads.isInt(); i++) {
            if (ch.get(i).asInt() % heads.asInt() != 0)
                throw new ConvertException("unet: " + heads.asInt() + " attention heads do not divide the " + ch.get(i).asInt()
                        + " channels of level " + i + "; pass --config-from with the model's unet/config.json");
        }
        return finish(c);
    }

    /** VAE config.json for diffusers-named VAE weights. */
    public static ObjectNode vae(Map<String, Tensor> v, Path configFrom) throws IOException {
        boolean user = configFrom != null && Files.isRegularFile(configFrom.resolve("vae/config.json"));
        ObjectNode c = mark(template(configFrom, "vae", VAE_SD15), user);
        int levels = countIndices(v, Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\."));
        if (levels == 0) throw new ConvertException("vae: no encoder down blocks in the checkpoint");
        ArrayNode ch = JSON.createArrayNode(), down = JSON.createArrayNode(), up = JSON.createArrayNode();
        for (int i = 0; i < levels; i++) {
            ch.add(shape(v, "encoder.down_blocks." + i + ".resnets.0.conv1.weight", "vae")[0]);
            down.add("DownEncoderBlock2D");
            up.add("UpDecoderBlock2D");
        }
        put(c, "vae", "block_out_channels", ch);
        put(c, "vae", "down_block_types", down);
        put(c, "vae", "up_block_types", up);
        put(c, "vae", "in_channels", JSON.getNodeFactory().numberNode(shape(v, "encoder.conv_in.weight", "vae")[1]));
        put(c, "vae", "out_channels", JSON.getNodeFactory().numberNode(shape(v, "decoder.conv_out.weight", "vae")[0]));
        put(c, "vae", "latent_channels", JSON.getNodeFactory().numberNode(shape(v, "post_quant_conv.weight", "vae")[0]));
        put(c, "vae", "layers_per_block", JSON.getNodeFactory().numberNode(countIndices(v, Pattern.compile("encoder\\.down_blocks\\.0\\.resnets\\.(\\d+)\\."))));
        return finish(c);
    }

    /** text_encoder/config.json for transformers-named CLIP text weights. */
    public static ObjectNode textEncoder(Map<String, Tensor> t, Path configFrom) throws IOException {
        boolean user = configFrom != null && Files.isRegularFile(configFrom.resolve("text_encoder/config.json"));
        ObjectNode c = mark(template(configFrom, "text_encoder", CLIP_SD15), user);
        int[] tok = shape(t, "text_model.embeddings.token_embedding.weight", "text_encoder");
        int hidden = tok[1];
        put(c, "text_encoder", "vocab_size", JSON.getNodeFactory().numberNode(tok[0]));
        put(c, "text_encoder", "hidden_size", JSON.getNodeFactory().numberNode(hidden));
        put(c, "text_encoder", "max_position_embeddings", JSON.getNodeFactory().numberNode(shape(t, "text_model.embeddings.position_embedding.weight", "text_encoder")[0]));
        put(c, "text_encoder", "intermediate_size", JSON.getNodeFactory().numberNode(shape(t, "text_model.encoder.layers.0.mlp.fc1.weight", "text_encoder")[0]));
        put(c, "text_encoder", "num_hidden_layers", JSON.getNodeFactory().numberNode(countIndices(t, Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\."))));
        if (!user) {
            // CLIP text towers use 64-wide heads (OpenAI CLIP: heads = width // 64); the projection width follows.
            if (hidden % 64 != 0)
                throw new ConvertException("text_encoder: cannot infer the number of attention heads for hidden size " + hidden
                        + " (CLIP uses 64-wide heads); pass --config-from with the model's text_encoder/config.json");
            c.put("num_attention_heads", hidden / 64);
            c.put("projection_dim", hidden);
        } else if (hidden % c.path("num_attention_heads").asInt(1) != 0) {
            throw new ConvertException("text_encoder/config.json from --config-from: num_attention_heads "
                    + c.get("num_attention_heads") + " does not divide hidden size " + hidden);
        }
        return finish(c);
    }

    static ObjectNode scheduler(Path configFrom) throws IOException {
        return template(configFrom, "scheduler", SCHEDULER_SD15);
    }

    static ObjectNode modelIndex(boolean tokenizer, ObjectNode scheduler) throws IOException {
        ObjectNode m = (ObjectNode) JSON.readTree(MODEL_INDEX);
        if (!tokenizer) m.set("tokenizer", JSON.createArrayNode().addNull().addNull());
        String cls = scheduler.path("_class_name").asText("PNDMScheduler");
        m.set("scheduler", JSON.createArrayNode().add("diffusers").add(cls));
        return m;
    }
}
