package dev.dragedit.cli;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.drag.Images;
import dev.dragedit.drag.Inversion;
import dev.dragedit.engine.Engine;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.ModelResolver;
import dev.dragedit.models.clip.ClipTextModel;
import dev.dragedit.models.clip.ClipTokenizer;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.AutoencoderKL;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dragedit invert}: DragDiffusion's DDIM inversion of a real image (drag_pipeline.py DragPipeline.image2latent +
 * invert, called as utils/ui_utils.py run_drag calls it: guidance 1, the scheduler DDIMScheduler(0.00085, 0.012,
 * scaled_linear, clip_sample False, set_alpha_to_one False, steps_offset 1) whatever the model folder's scheduler
 * says), writing the trajectory under the names of the drag-loop fixture (../shared/fixtures README
 * "inversion.safetensors"): {@code z0}, {@code inversion_timesteps}, {@code inversion_latents} [n_actual+1, 4, h, w]
 * (entry k = the latent before step k, the last = invert_code) and {@code invert_code}.
 * <p>
 * Inputs: {@code --in} a safetensors file with {@code image} [1, 3, H, W] in [−1, 1] (or
 * {@code source_image_hwc_uint8_values} [H, W, 3], preprocessed as preprocess_image does) and {@code text_embeddings}
 * [1, 77, D]; or {@code --image} a PNG/JPEG with {@code --prompt}, encoded by the model folder's tokenizer and text
 * encoder (get_text_embeddings). Models: {@code --model} a Stable Diffusion folder, or {@code --unet} and {@code --vae}
 * component folders (each overrides --model's). Runs on the run's engine ({@code --device}) without recording
 * gradients; the output is F32, written atomically; bad input is one error line and no output file.
 */
@Command(name = "invert", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"DDIM-invert a real image to the latent DragDiffusion optimises (t = 681 for 50 steps, strength 0.7).",
                "Writes z0, inversion_timesteps, inversion_latents and invert_code (F32)."})
public final class InvertCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR|FILE",
            description = "A Stable Diffusion folder (unet/, vae/, and for --prompt text_encoder/ and tokenizer/); a single-file "
                    + "checkpoint when the weights converter is installed.")
    Path model;

    @Option(names = "--unet", paramLabel = "DIR", description = "A diffusers unet/ folder (instead of --model's).")
    Path unetDir;

    @Option(names = "--vae", paramLabel = "DIR", description = "A diffusers vae/ folder (instead of --model's).")
    Path vaeDir;

    @Option(names = "--in", paramLabel = "IN.safetensors",
            description = "image [1, 3, H, W] in [-1, 1] (or source_image_hwc_uint8_values [H, W, 3]) and text_embeddings [1, 77, D].")
    Path in;

    @Option(names = "--image", paramLabel = "IMAGE.png", description = "A PNG or JPEG to invert (instead of --in; needs --prompt).")
    Path image;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt of --image, encoded with --model's text encoder.")
    String prompt;

    @Option(names = "--out", required = true, paramLabel = "OUT.safetensors", description = "Where the outputs go (replaced atomically).")
    Path out;

    @Option(names = "--steps", defaultValue = "50", paramLabel = "N", description = "DDIM steps n (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--strength", defaultValue = "0.7", paramLabel = "S",
            description = "Inversion strength: round(S·n) steps are inverted (default ${DEFAULT-VALUE}).")
    double strength;

    @Option(names = "--variant", paramLabel = "NAME", description = "Weights file variant, e.g. fp16.")
    String variant;

    @Override
    public Integer call() throws IOException {
        // Arguments first, all of them, so that a usage error costs no model loading.
        if ((in == null) == (image == null)) throw usage("give exactly one of --in IN.safetensors and --image IMAGE.png");
        if (image != null && prompt == null) throw usage("--image needs --prompt TEXT (the text embedding is computed from it)");
        if (in != null && prompt != null) throw usage("--prompt goes with --image; with --in the text_embeddings tensor is used");
        int actual;
        try {
            actual = Inversion.actualSteps(steps, strength);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage().replace("inversion: ", "--steps/--strength: "));
        }
        if (steps > 1000) throw usage("--steps " + steps + ": at most 1000 (the scheduler's training timesteps)");
        Path modelDir = model == null ? null : ModelResolver.resolveModel(model, List.of());
        if (modelDir != null && !SdModels.isPipelineFolder(modelDir) && (unetDir == null || vaeDir == null))
            throw usage("--model " + model + " is not a Stable Diffusion folder (no unet/, vae/ ...); give --unet DIR and --vae DIR for component folders");
        if (modelDir == null && (unetDir == null || vaeDir == null))
            throw usage("the models: give --model SD_DIR, or --unet DIR and --vae DIR");
        if (image != null && modelDir == null)
            throw usage("--image/--prompt needs --model SD_DIR with text_encoder/ and tokenizer/ to encode the prompt");
        Path uDir = unetDir != null ? unetDir : SdModels.componentDir(modelDir, SdModels.UNET);
        Path vDir = vaeDir != null ? vaeDir : SdModels.componentDir(modelDir, SdModels.VAE);

        Engine engine = Main.engine(spec);
        Placement placement = engine.onCpu() ? Placement.cpu() : Placement.on(engine.device().orElseThrow(), DType.F32);
        Functional f = new Functional(engine.ops());
        PrintWriter o = spec.commandLine().getOut();

        long t0 = System.nanoTime();
        Map<String, Tensor> outputs = new LinkedHashMap<>();
        try (Tape.Scope noGrad = Tape.noGrad()) {
            Tensor img, ctx;
            String inputName;
            if (in != null) {
                if (!Files.isRegularFile(in)) throw new IOException("invert: input " + in + " does not exist");
                try (SafeTensors file = SafeTensors.open(in)) {
                    ForwardCommand.Inputs inputs = new ForwardCommand.Inputs(file, "invert");
                    img = readImage(inputs, file);
                    ctx = inputs.floats("text_embeddings", "[1, tokens, cross_attention_dim]");
                }
                inputName = in.toString();
            } else {
                img = Images.toTensor(Images.read(image));
                ctx = null;
                inputName = image + " + prompt";
            }
            int h = img.dim(2), w = img.dim(3);

            UNet2DConditionModel unet = UNet2DConditionModel.load(uDir, placement, variant);
            AutoencoderKL vae = AutoencoderKL.load(vDir, placement, variant);
            int factor = (1 << (vae.config.blockOutChannels().length - 1)) * (1 << (unet.config.numBlocks() - 1));
            if (h % factor != 0 || w % factor != 0)
                throw new IllegalArgumentException("invert: the image is " + w + "×" + h + "; width and height must be multiples of "
                        + factor + " (the VAE and the UNet halve them " + Integer.numberOfTrailingZeros(factor) + " times)");
            if (ctx == null) ctx = encodePrompt(f, modelDir, placement);
            int[] cs = ctx.shape();
            if (cs.length != 3 || cs[0] != 1 || cs[2] != unet.config.crossAttentionDim)
                throw new IllegalArgumentException("invert: text_embeddings has shape " + Arrays.toString(cs) + ", expected [1, tokens, "
                        + unet.config.crossAttentionDim + "] (the UNet's cross_attention_dim)");

            Tensor z0 = Inversion.image2latent(f, vae, img);
            o.printf(Locale.ROOT, "invert: %s, %d×%d → latent %s; %d of %d DDIM steps on %s%n", inputName, w, h,
                    Arrays.toString(z0.shape()), actual, steps, engine.description());
            long ti = System.nanoTime();
            Inversion.Result r = Inversion.invert(f, unet, DdimScheduler.sd15(), z0, placement.input(ctx), steps, actual, true,
                    (k, t, z) -> {
                        if ((k + 1) % 5 == 0 || k + 1 == actual)
                            o.printf(Locale.ROOT, "invert: step %d/%d (t = %d), %.2f s%n", k + 1, actual, t, (System.nanoTime() - ti) / 1e9);
                    });
            outputs.put("z0", z0.toCpu().to(DType.F32));
            float[] ts = new float[actual];
            for (int k = 0; k < actual; k++) ts[k] = r.timesteps()[k];
            outputs.put("inversion_timesteps", Tensor.of(ts, actual));
            int[] ls = z0.shape();
            Tensor[] traj = r.latents().stream().map(t -> t.toCpu().to(DType.F32)).toArray(Tensor[]::new);
            outputs.put("inversion_latents", new Functional(CpuOps.INSTANCE).concat(0, traj)
                    .reshape(actual + 1, ls[1], ls[2], ls[3]));
            outputs.put("invert_code", r.invertCode().toCpu().to(DType.F32));

            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("command", "dragedit invert");
            meta.put("unet", uDir.toString());
            meta.put("vae", vDir.toString());
            meta.put("input", inputName);
            if (prompt != null) meta.put("prompt", prompt);
            meta.put("n_inference_step", Integer.toString(steps));
            meta.put("inversion_strength", Double.toString(strength));
            meta.put("n_actual_inference_step", Integer.toString(actual));
            meta.put("t", Integer.toString(r.t()));
            meta.put("guidance_scale", "1.0");
            meta.put("engine", engine.description());
            if (out.toAbsolutePath().getParent() != null) Files.createDirectories(out.toAbsolutePath().getParent());
            SafeTensors.write(out, outputs, meta);
            o.printf(Locale.ROOT, "invert: wrote %s (invert_code at t = %d) in %.2f s%n", out, r.t(), (System.nanoTime() - t0) / 1e9);
        }
        return Main.EXIT_OK;
    }

    /** image [1, 3, H, W], else source_image_hwc_uint8_values [H, W, 3] through preprocess_image. */
    private static Tensor readImage(ForwardCommand.Inputs inputs, SafeTensors file) throws IOException {
        String shape = "[1, 3, height, width] in [-1, 1]";
        if (!file.contains("image") && file.contains("source_image_hwc_uint8_values")) {
            Tensor hwc = inputs.floats("source_image_hwc_uint8_values", "[height, width, 3]");
            try {
                return Images.hwcToTensor(hwc);
            } catch (IllegalArgumentException e) {
                throw inputs.bad("source_image_hwc_uint8_values: " + e.getMessage());
            }
        }
        Tensor img = inputs.floats("image", shape);
        int[] s = img.shape();
        if (s.length != 4 || s[0] != 1 || s[1] != 3 || s[2] < 1 || s[3] < 1) throw inputs.badShape("image", img, shape);
        return img;
    }

    /** DragPipeline.get_text_embeddings: the prompt padded to 77 tokens, the text encoder's last hidden state. */
    private Tensor encodePrompt(Functional f, Path modelDir, Placement placement) {
        ClipTokenizer tok = ClipTokenizer.load(SdModels.componentDir(modelDir, SdModels.TOKENIZER));
        ClipTextModel text = SdModels.loadTextEncoder(modelDir, placement, variant);
        return text.forward(f, tok.inputIds(List.of(prompt)));
    }

    private ParameterException usage(String msg) { return new ParameterException(spec.commandLine(), msg); }
}
