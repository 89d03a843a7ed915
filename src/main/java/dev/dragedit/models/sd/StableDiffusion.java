package dev.dragedit.models.sd;

import com.fasterxml.jackson.databind.JsonNode;
import dev.dragedit.autograd.Functional;
import dev.dragedit.models.clip.ClipTextModel;
import dev.dragedit.models.clip.ClipTokenizer;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A Stable Diffusion 1.x model as a whole, the parts diffusers' {@code StableDiffusionPipeline.from_pretrained}
 * (pipelines/stable_diffusion/pipeline_stable_diffusion.py, pipelines/pipeline_utils.py) loads from a diffusers
 * folder and DragDiffusion's DragPipeline uses: the UNet, the VAE, the CLIP text encoder with its tokenizer, and the
 * DDIM scheduler (from scheduler/scheduler_config.json, read as DragDiffusion reads SD1.5's PNDM config: see
 * {@link DdimConfig}). The safety checker and feature extractor of such folders are not loaded.
 * <p>
 * Loading is strict, as every model's load is: a missing sub-folder or file, a key the config does not explain, or
 * parts that do not fit together (the UNet's cross_attention_dim against the text encoder's hidden_size, the UNet's
 * in_channels against the VAE's latent_channels) are errors naming the folder and what was expected.
 */
public final class StableDiffusion {
    public final UNet2DConditionModel unet;
    public final AutoencoderKL vae;
    public final ClipTextModel textEncoder;
    /** Null only for random weights without a tokenizer folder ({@link SdModels#random}). */
    public final ClipTokenizer tokenizer;
    public final DdimScheduler scheduler;
    private final Placement placement;
    private final String source;

    /** The model_index.json entries this class loads, with the class each must name when the file names one. */
    private static final Map<String, String> COMPONENT_CLASSES = Map.of(
            SdModels.UNET, "UNet2DConditionModel",
            SdModels.VAE, "AutoencoderKL",
            SdModels.TEXT_ENCODER, "CLIPTextModel");
    private static final List<String> COMPONENTS = List.of(SdModels.UNET, SdModels.VAE, SdModels.TEXT_ENCODER,
            SdModels.TOKENIZER, SdModels.SCHEDULER);

    public StableDiffusion(UNet2DConditionModel unet, AutoencoderKL vae, ClipTextModel textEncoder, ClipTokenizer tokenizer,
                           DdimScheduler scheduler, Placement placement, String source) {
        if (unet == null || vae == null || textEncoder == null || scheduler == null || placement == null)
            throw new IllegalArgumentException("StableDiffusion: unet, vae, text encoder, scheduler and placement are required");
        this.unet = unet;
        this.vae = vae;
        this.textEncoder = textEncoder;
        this.tokenizer = tokenizer;
        this.scheduler = scheduler;
        this.placement = placement;
        this.source = source;
        int latent = vae.config.latentChannels();
        if (unet.config.inChannels != latent || unet.config.outChannels != latent)
            throw new WeightsException(source + ": the UNet has in/out_channels " + unet.config.inChannels + "/"
                    + unet.config.outChannels + " but the VAE has latent_channels " + latent);
    }

    /** The default-variant (F32 files) folder. */
    public static StableDiffusion load(Path dir, Placement placement) {
        return load(dir, placement, null);
    }

    /**
     * A diffusers Stable Diffusion folder: unet/, vae/ (diffusion_pytorch_model[.variant].safetensors), text_encoder/
     * (model[.variant].safetensors), tokenizer/ (vocab.json, merges.txt) and scheduler/ (scheduler_config.json).
     */
    public static StableDiffusion load(Path dir, Placement placement, String variant) {
        if (!Files.isDirectory(dir)) throw new WeightsException(dir + ": not a folder (expected a diffusers Stable Diffusion folder)");
        checkModelIndex(dir);
        for (String c : COMPONENTS)
            if (!Files.isDirectory(dir.resolve(c)))
                throw new WeightsException(dir + ": no " + c + "/ sub-folder; a diffusers Stable Diffusion folder holds "
                        + String.join("/, ", COMPONENTS) + "/");
        Path sc = dir.resolve(SdModels.SCHEDULER).resolve("scheduler_config.json");
        if (!Files.isRegularFile(sc)) throw new WeightsException(dir.resolve(SdModels.SCHEDULER) + ": no scheduler_config.json");

        // Cheap parts first, so that a broken tokenizer or config fails before gigabytes are placed.
        ClipTokenizer tokenizer = ClipTokenizer.load(dir.resolve(SdModels.TOKENIZER));
        DdimScheduler scheduler = DdimScheduler.fromConfig(sc);
        checkCrossAttention(dir);
        ClipTextModel text = SdModels.loadTextEncoder(dir.resolve(SdModels.TEXT_ENCODER), placement, variant);
        AutoencoderKL vae = AutoencoderKL.load(dir.resolve(SdModels.VAE), placement, variant);
        UNet2DConditionModel unet = UNet2DConditionModel.load(dir.resolve(SdModels.UNET), placement, variant);
        return new StableDiffusion(unet, vae, text, tokenizer, scheduler, placement, dir.toString());
    }

    /** Where the weights live; inputs go there with {@code placement().input(t)}. */
    public Placement placement() { return placement; }

    /** The folder loaded, or a description of the random weights. */
    public String source() { return source; }

    /** A Functional over the models' op set. */
    public Functional functional() { return new Functional(placement.ops()); }

    /**
     * The text embedding of prompts [B, 77, hidden]: the tokenizer's 77 input ids, then the text encoder's
     * last_hidden_state (what StableDiffusionPipeline._encode_prompt feeds the UNet, clip_skip off).
     */
    public Tensor encodePrompts(Functional f, List<String> prompts) {
        if (tokenizer == null) throw new IllegalStateException(source + ": no tokenizer loaded, so prompts cannot be encoded");
        return textEncoder.forward(f, tokenizer.inputIds(prompts));
    }

    /** model_index.json, when present, must not name other model classes or leave a component out. */
    private static void checkModelIndex(Path dir) {
        Path f = dir.resolve("model_index.json");
        if (!Files.isRegularFile(f)) return;
        ModelConfig idx = ModelConfig.read(f);
        for (String c : COMPONENTS) {
            if (!idx.json().has(c)) continue; // older folders list fewer entries; the sub-folder check decides
            JsonNode e = idx.json().get(c);
            if (e.isNull() || (e.isArray() && e.size() == 2 && e.get(1).isNull()))
                throw new WeightsException(f + " says the pipeline has no " + c + " (entry " + e + ")");
            String want = COMPONENT_CLASSES.get(c);
            if (want != null && e.isArray() && e.size() == 2 && e.get(1).isTextual() && !e.get(1).textValue().equals(want))
                throw new WeightsException(f + ": " + c + " is a " + e.get(1).textValue() + ", expected " + want
                        + " (a Stable Diffusion 1.x pipeline)");
        }
    }

    /** unet cross_attention_dim must equal the text encoder's hidden_size (768 for SD1.x). */
    private static void checkCrossAttention(Path dir) {
        Path uc = dir.resolve(SdModels.UNET).resolve("config.json"), tc = dir.resolve(SdModels.TEXT_ENCODER).resolve("config.json");
        if (!Files.isRegularFile(uc) || !Files.isRegularFile(tc)) return; // the models' own loads name the missing file
        int cross = UNetConfig.from(ModelConfig.read(uc)).crossAttentionDim;
        ModelConfig t = ModelConfig.read(tc);
        if (t.has("hidden_size") && t.getInt("hidden_size") != cross)
            throw new WeightsException(dir + ": the UNet's cross_attention_dim is " + cross + " (" + uc + ") but the text encoder's "
                    + "hidden_size is " + t.getInt("hidden_size") + " (" + tc + ")");
    }
}
