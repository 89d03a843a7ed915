package dev.dragedit.models.sd;

import com.fasterxml.jackson.databind.JsonNode;
import dev.dragedit.models.clip.ClipTextConfig;
import dev.dragedit.models.clip.ClipTextModel;
import dev.dragedit.models.clip.ClipTokenizer;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.RandomWeights;
import dev.dragedit.models.nn.Weights;
import dev.dragedit.models.nn.WeightsException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where the Stable Diffusion models of a command come from: the component folders of a diffusers pipeline folder
 * (diffusers' {@code DiffusionPipeline.from_pretrained} layout: unet/, vae/, text_encoder/, tokenizer/, scheduler/),
 * a component folder given directly, or random weights ({@code --random-weights sd15|CONFIG}) built with
 * {@link RandomWeights} from the SD1.5 configurations (sd15.md §1–3) or from the config.json files of a folder.
 * <p>
 * A spec for random weights is either {@code sd15} or a path: a config.json file, a component folder holding
 * config.json (e.g. ../shared/bench/unet-mid), or a pipeline folder whose unet/, vae/ and text_encoder/ hold them.
 */
public final class SdModels {
    private SdModels() {}

    /** The --random-weights name of the built-in Stable Diffusion 1.5 configurations. */
    public static final String SD15 = "sd15";

    /** Component sub-folders of a diffusers Stable Diffusion folder, in model_index.json's names. */
    public static final String UNET = "unet", VAE = "vae", TEXT_ENCODER = "text_encoder", TOKENIZER = "tokenizer", SCHEDULER = "scheduler";

    // ------------------------------------------------------------------ folders

    /** Whether dir is a pipeline folder: it has model_index.json or one of the model sub-folders. */
    public static boolean isPipelineFolder(Path dir) {
        if (Files.isRegularFile(dir.resolve("model_index.json"))) return true;
        for (String c : new String[]{UNET, VAE, TEXT_ENCODER})
            if (Files.isDirectory(dir.resolve(c))) return true;
        return false;
    }

    /**
     * The folder of {@code component} for a --model argument: dir/component when dir is a pipeline folder, else dir
     * itself (a component folder given directly). A pipeline folder without that component is an error naming it.
     */
    public static Path componentDir(Path dir, String component) {
        if (!Files.isDirectory(dir)) throw new WeightsException(dir + ": not a folder (expected a diffusers model folder)");
        Path sub = dir.resolve(component);
        if (Files.isDirectory(sub)) return sub;
        if (isPipelineFolder(dir))
            throw new WeightsException(dir + " is a Stable Diffusion folder without a " + component + "/ sub-folder (it needs "
                    + UNET + "/, " + VAE + "/, " + TEXT_ENCODER + "/, " + TOKENIZER + "/ and " + SCHEDULER + "/)");
        return dir;
    }

    public static UNet2DConditionModel loadUnet(Path dir, Placement placement, String variant) {
        return UNet2DConditionModel.load(componentDir(dir, UNET), placement, variant);
    }

    public static AutoencoderKL loadVae(Path dir, Placement placement, String variant) {
        return AutoencoderKL.load(componentDir(dir, VAE), placement, variant);
    }

    /**
     * The CLIP text encoder of dir (a text_encoder/ folder or a pipeline folder). Variant null reads model.safetensors
     * ({@link ClipTextModel#load}); variant v reads model.v.safetensors (diffusers' variant naming for
     * transformers models), equally strictly.
     */
    public static ClipTextModel loadTextEncoder(Path dir, Placement placement, String variant) {
        Path d = componentDir(dir, TEXT_ENCODER);
        if (variant == null || variant.isEmpty()) return ClipTextModel.load(d, placement);
        if (!variant.matches("[A-Za-z0-9_-]+"))
            throw new IllegalArgumentException("weights variant \"" + variant + "\": expected a name such as fp16");
        Path file = d.resolve("model." + variant + ".safetensors");
        if (!Files.isRegularFile(file)) throw new WeightsException("text encoder: " + file + " does not exist");
        ClipTextConfig cfg = ClipTextConfig.from(ModelConfig.read(d.resolve("config.json")));
        Weights w = Weights.open(placement, file);
        ClipTextModel m = new ClipTextModel(cfg, w);
        w.ignore("text_model.embeddings.position_ids"); // a buffer, not a weight (sd15.md §4)
        w.finish();
        return m;
    }

    public static ClipTokenizer loadTokenizer(Path dir) {
        return ClipTokenizer.load(componentDir(dir, TOKENIZER));
    }

    // ------------------------------------------------------------------ configurations for random weights

    /** The UNet configuration a random-weights spec names (see the class comment). */
    public static UNetConfig unetConfig(String spec) {
        return isSd15(spec) ? UNetConfig.sd15() : UNetConfig.from(componentConfig(spec, UNET, "UNet2DConditionModel"));
    }

    public static VaeConfig vaeConfig(String spec) {
        return isSd15(spec) ? VaeConfig.sd15() : VaeConfig.from(componentConfig(spec, VAE, "AutoencoderKL"));
    }

    /** The text encoder configuration a random-weights spec names (sd15: CLIP ViT-L/14's text tower). */
    public static ClipTextConfig textEncoderConfig(String spec) {
        return isSd15(spec) ? ClipTextConfig.sd15() : ClipTextConfig.from(componentConfig(spec, TEXT_ENCODER, "CLIPTextModel"));
    }

    public static UNet2DConditionModel randomUnet(String spec, long seed, Placement placement) {
        return new UNet2DConditionModel(unetConfig(spec), new RandomWeights(seed, placement));
    }

    public static AutoencoderKL randomVae(String spec, long seed, Placement placement) {
        return new AutoencoderKL(vaeConfig(spec), new RandomWeights(seed, placement));
    }

    public static ClipTextModel randomTextEncoder(String spec, long seed, Placement placement) {
        return new ClipTextModel(textEncoderConfig(spec), new RandomWeights(seed, placement));
    }

    /**
     * A whole Stable Diffusion with random UNet, VAE and text encoder (each from its own seed derived from
     * {@code seed}, so that changing one model's config does not change the others' weights). The tokenizer is
     * loaded when the spec is a pipeline folder with a tokenizer/ (random weights cannot stand in for a vocabulary),
     * else null; the scheduler is the folder's, else DragDiffusion's SD1.5 DDIM.
     */
    public static StableDiffusion random(String spec, long seed, Placement placement) {
        UNet2DConditionModel unet = randomUnet(spec, seed, placement);
        AutoencoderKL vae = randomVae(spec, seed + 1, placement);
        ClipTextModel text = randomTextEncoder(spec, seed + 2, placement);
        ClipTokenizer tok = null;
        DdimScheduler sched = DdimScheduler.sd15();
        if (!isSd15(spec)) {
            Path p = Path.of(spec);
            if (Files.isDirectory(p.resolve(TOKENIZER))) tok = ClipTokenizer.load(p.resolve(TOKENIZER));
            Path sc = p.resolve(SCHEDULER).resolve("scheduler_config.json");
            if (Files.isRegularFile(sc)) sched = DdimScheduler.fromConfig(sc);
        }
        return new StableDiffusion(unet, vae, text, tok, sched, placement, "random weights " + spec + " (seed " + seed + ")");
    }

    static boolean isSd15(String spec) {
        return spec != null && spec.trim().toLowerCase(Locale.ROOT).equals(SD15);
    }

    /**
     * The config.json a spec names for one component: the file itself, dir/component/config.json, or
     * dir/config.json; its class (diffusers _class_name, transformers architectures) must be {@code cls} when it
     * says one.
     */
    static ModelConfig componentConfig(String spec, String component, String cls) {
        if (spec == null || spec.isBlank())
            throw new WeightsException("random weights: empty spec; expected " + SD15 + " or a config folder");
        Path p = Path.of(spec);
        Path file;
        if (Files.isRegularFile(p)) file = p;
        else if (Files.isRegularFile(p.resolve(component).resolve("config.json"))) file = p.resolve(component).resolve("config.json");
        else if (Files.isRegularFile(p.resolve("config.json"))) file = p.resolve("config.json");
        else if (Files.isDirectory(p))
            throw new WeightsException("random weights: " + p + " has neither " + component + "/config.json nor config.json");
        else
            throw new WeightsException("random weights: \"" + spec + "\" is neither " + SD15 + " nor an existing config file or folder");
        ModelConfig c = ModelConfig.read(file);
        String found = declaredClass(c);
        // A whole CLIPModel config carries the text tower's settings in text_config, which ClipTextConfig reads.
        if (found != null && !found.equals(cls) && !(cls.equals("CLIPTextModel") && found.equals("CLIPModel")))
            throw new WeightsException("random weights: " + file + " configures a " + found + ", not the " + cls + " asked for");
        return c;
    }

    /** The model class a config declares: diffusers' _class_name, or the first of transformers' architectures. */
    private static String declaredClass(ModelConfig c) {
        if (c.has("_class_name")) return c.getString("_class_name", null);
        JsonNode a = c.json().get("architectures");
        if (a != null && a.isArray() && a.size() > 0 && a.get(0).isTextual()) return a.get(0).textValue();
        return null;
    }
}
