// The configurations of the tiny Stable-Diffusion-structured models `dragedit train-tiny` trains, as the config.json
// texts diffusers / transformers write (so the same text is parsed by our loaders' VaeConfig.from, UNetConfig.from
// and ClipTextConfig.from for training, and saved into the output folder): an AutoencoderKL with 3 levels
// (block_out_channels [32, 64, 64]: 4× down, latent 4 channels, layers_per_block 1, 16 norm groups), a
// UNet2DConditionModel (block_out_channels [32, 64, 64, 64], layers_per_block 1, 8 heads (diffusers'
// attention_head_dim naming), cross_attention_dim 64, 16 norm groups) and a CLIPTextModel (hidden 64, 2 layers, 4
// heads, intermediate 256, 77 positions, the SD1.x vocabulary of 49408 tokens), plus SD1.5's DDIM scheduler config.
package dev.dragedit.train;

import dev.dragedit.models.clip.ClipTextConfig;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.sd.UNetConfig;
import dev.dragedit.models.sd.VaeConfig;

import java.util.Locale;

final class TinyModels {
    private TinyModels() {}

    /** Image pixels per latent pixel (2 downsamplers). */
    static final int VAE_DOWNSCALE = 4;
    /** The UNet halves the latent 3 times. */
    static final int UNET_DOWNSCALE = 8;

    static String vaeJson(int imageSize, float scalingFactor) {
        return String.format(Locale.ROOT, """
                {
                  "_class_name": "AutoencoderKL",
                  "_diffusers_version": "0.24.0",
                  "act_fn": "silu",
                  "block_out_channels": [32, 64, 64],
                  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
                  "force_upcast": true,
                  "in_channels": 3,
                  "latent_channels": 4,
                  "layers_per_block": 1,
                  "norm_num_groups": 16,
                  "out_channels": 3,
                  "sample_size": %d,
                  "scaling_factor": %s,
                  "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
                }
                """, imageSize, Float.toString(scalingFactor));
    }

    static String unetJson(int latentSize) {
        return String.format(Locale.ROOT, """
                {
                  "_class_name": "UNet2DConditionModel",
                  "_diffusers_version": "0.24.0",
                  "act_fn": "silu",
                  "attention_head_dim": 8,
                  "block_out_channels": [32, 64, 64, 64],
                  "center_input_sample": false,
                  "cross_attention_dim": 64,
                  "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                  "downsample_padding": 1,
                  "flip_sin_to_cos": true,
                  "freq_shift": 0,
                  "in_channels": 4,
                  "layers_per_block": 1,
                  "mid_block_scale_factor": 1,
                  "norm_eps": 1e-05,
                  "norm_num_groups": 16,
                  "out_channels": 4,
                  "sample_size": %d,
                  "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
                }
                """, latentSize);
    }

    static String textJson() {
        return """
                {
                  "architectures": ["CLIPTextModel"],
                  "attention_dropout": 0.0,
                  "bos_token_id": 0,
                  "dropout": 0.0,
                  "eos_token_id": 2,
                  "hidden_act": "quick_gelu",
                  "hidden_size": 64,
                  "initializer_factor": 1.0,
                  "initializer_range": 0.02,
                  "intermediate_size": 256,
                  "layer_norm_eps": 1e-05,
                  "max_position_embeddings": 77,
                  "model_type": "clip_text_model",
                  "num_attention_heads": 4,
                  "num_hidden_layers": 2,
                  "pad_token_id": 1,
                  "projection_dim": 64,
                  "torch_dtype": "float32",
                  "vocab_size": 49408
                }
                """;
    }

    /** DDIMScheduler with SD1.5's betas (scaled_linear 0.00085–0.012 over 1000 steps), as DragDiffusion configures it. */
    static String schedulerJson() {
        return """
                {
                  "_class_name": "DDIMScheduler",
                  "_diffusers_version": "0.24.0",
                  "beta_end": 0.012,
                  "beta_schedule": "scaled_linear",
                  "beta_start": 0.00085,
                  "clip_sample": false,
                  "clip_sample_range": 1.0,
                  "num_train_timesteps": 1000,
                  "prediction_type": "epsilon",
                  "rescale_betas_zero_snr": false,
                  "set_alpha_to_one": false,
                  "steps_offset": 1,
                  "thresholding": false,
                  "timestep_spacing": "leading",
                  "trained_betas": null
                }
                """;
    }

    static String modelIndexJson() {
        return """
                {
                  "_class_name": "StableDiffusionPipeline",
                  "_diffusers_version": "0.24.0",
                  "feature_extractor": [null, null],
                  "requires_safety_checker": false,
                  "safety_checker": [null, null],
                  "scheduler": ["diffusers", "DDIMScheduler"],
                  "text_encoder": ["transformers", "CLIPTextModel"],
                  "tokenizer": ["transformers", "CLIPTokenizer"],
                  "unet": ["diffusers", "UNet2DConditionModel"],
                  "vae": ["diffusers", "AutoencoderKL"]
                }
                """;
    }

    static VaeConfig vae(int imageSize, float scalingFactor) {
        return VaeConfig.from(ModelConfig.parse(vaeJson(imageSize, scalingFactor), "train-tiny vae config"));
    }

    static UNetConfig unet(int latentSize) {
        return UNetConfig.from(ModelConfig.parse(unetJson(latentSize), "train-tiny unet config"));
    }

    static ClipTextConfig text() {
        return ClipTextConfig.from(ModelConfig.parse(textJson(), "train-tiny text encoder config"));
    }
}
