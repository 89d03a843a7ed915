// The text tower's hyper-parameters as transformers' CLIPTextConfig writes them to config.json
// (transformers/models/clip/configuration_clip.py), with its defaults for absent keys; sd15() is Stable Diffusion 1.5's
// text_encoder/config.json (OpenAI CLIP ViT-L/14's text tower).
package dev.dragedit.models.clip;

import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.WeightsException;

public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                             int maxPositions, String hiddenAct, float layerNormEps) {
    public ClipTextConfig {
        if (vocabSize <= 0 || hiddenSize <= 0 || intermediateSize <= 0 || numLayers <= 0 || numHeads <= 0 || maxPositions <= 0)
            throw new IllegalArgumentException("CLIP text config: sizes must be positive: " + this);
        if (hiddenSize % numHeads != 0)
            throw new IllegalArgumentException("CLIP text config: hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numHeads);
        if (!hiddenAct.equals("quick_gelu") && !hiddenAct.equals("gelu"))
            throw new IllegalArgumentException("CLIP text config: hidden_act \"" + hiddenAct + "\" is not supported (quick_gelu or gelu)");
    }

    public int headDim() { return hiddenSize / numHeads; }

    /** A transformers config.json of a CLIPTextModel (or the "text_config" of a whole CLIPModel's config). */
    public static ClipTextConfig from(ModelConfig c) {
        if (c.json().path("text_config").isObject())
            c = ModelConfig.parse(c.json().get("text_config").toString(), c.source() + " [text_config]");
        String type = c.getString("model_type", "clip_text_model");
        if (!type.equals("clip_text_model") && !type.equals("clip"))
            throw new WeightsException("config: " + c.source() + " has model_type \"" + type + "\", expected clip_text_model");
        try {
            return new ClipTextConfig(c.getInt("vocab_size", 49408), c.getInt("hidden_size", 512),
                    c.getInt("intermediate_size", 2048), c.getInt("num_hidden_layers", 12), c.getInt("num_attention_heads", 8),
                    c.getInt("max_position_embeddings", 77), c.getString("hidden_act", "quick_gelu"),
                    (float) c.getDouble("layer_norm_eps", 1e-5));
        } catch (IllegalArgumentException e) {
            throw new WeightsException("config: " + c.source() + ": " + e.getMessage(), e);
        }
    }

    /** Stable Diffusion 1.5's text encoder (CLIP ViT-L/14 text tower). */
    public static ClipTextConfig sd15() {
        return new ClipTextConfig(49408, 768, 3072, 12, 12, 77, "quick_gelu", 1e-5f);
    }
}
