package dev.dragedit.cli;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.engine.Engine;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.ModelResolver;
import dev.dragedit.models.clip.ClipTextConfig;
import dev.dragedit.models.clip.ClipTextModel;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.AutoencoderKL;
import dev.dragedit.models.sd.Posterior;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.models.sd.UNetConfig;
import dev.dragedit.models.sd.UNetOutput;
import dev.dragedit.models.sd.VaeConfig;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dragedit forward MODEL}: one forward pass of a Stable Diffusion model on tensors read from a safetensors
 * file, the outputs written to another, under the names of the reference fixtures (../shared/fixtures README:
 * unet-tiny, vae-tiny, clip-text-tiny) — the inspection tool of people porting models, and of our own checks.
 * <ul>
 * <li>{@code unet}: sample, timestep, encoder_hidden_states → out, up_block_0_out … (diffusers
 *     UNet2DConditionModel.forward with DragDiffusion's override_forward features);</li>
 * <li>{@code vae-encode}: x → posterior_mean, posterior_logvar (AutoencoderKL.encode(x).latent_dist);</li>
 * <li>{@code vae-decode}: z → decoded (AutoencoderKL.decode(z).sample, no scaling factor applied);</li>
 * <li>{@code text-encoder}: input_ids → last_hidden_state, pooled_output (transformers CLIPTextModel).</li>
 * </ul>
 * The model is {@code --model} (a component folder, a diffusers pipeline folder, or — through the weights
 * converter — a single-file checkpoint, with {@code --lora} files merged) or {@code --random-weights}. It runs on the
 * run's engine ({@code --device}, {@code --validate}), without recording gradients. Outputs are F32, written
 * atomically; a missing input tensor or a wrong shape is one error line (exit 1) and no output file.
 */
@Command(name = "forward", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        synopsisSubcommandLabel = "MODEL",
        description = {"Run one forward pass of a Stable Diffusion model on tensors from a safetensors file.",
                "Inputs and outputs use the reference fixtures' tensor names; outputs are F32."},
        commandListHeading = "%nModels:%n",
        subcommands = {ForwardCommand.Unet.class, ForwardCommand.VaeEncode.class, ForwardCommand.VaeDecode.class,
                ForwardCommand.TextEncoder.class})
public final class ForwardCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("dragedit: forward: missing model (unet, vae-encode, vae-decode or text-encoder)");
        spec.commandLine().usage(err);
        return Main.EXIT_USAGE;
    }

    /** Where the model comes from: exactly one of --model and --random-weights. */
    static final class Source {
        @Option(names = "--model", paramLabel = "DIR|FILE",
                description = "A diffusers folder: the component folder itself (unet/, vae/ or text_encoder/) or a Stable Diffusion "
                        + "folder with those sub-folders; a single-file checkpoint when the weights converter is installed.")
        Path model;

        @Option(names = "--random-weights", paramLabel = "sd15|CONFIG",
                description = "Random weights instead of a checkpoint: sd15 (the Stable Diffusion 1.5 sizes), or a config.json, "
                        + "a folder holding one, or a Stable Diffusion folder whose component folders hold one.")
        String random;
    }

    /** What every forward command shares: the model source, the files, the weight storage type. */
    abstract static class Base implements Callable<Integer> {
        @Spec CommandSpec spec;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Source source;

        @Option(names = "--in", required = true, paramLabel = "IN.safetensors", description = "The input tensors.")
        Path in;

        @Option(names = "--out", required = true, paramLabel = "OUT.safetensors", description = "Where the outputs go (F32; replaced atomically).")
        Path out;

        @Option(names = "--lora", paramLabel = "FILE[:SCALE]",
                description = "A LoRA file merged into --model (repeatable; needs the weights converter).")
        List<String> loras = new ArrayList<>();

        @Option(names = "--variant", paramLabel = "NAME", description = "Weights file variant, e.g. fp16 (diffusion_pytorch_model.fp16.safetensors).")
        String variant;

        @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "Seed of --random-weights (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--dtype", defaultValue = "f32", paramLabel = "f32|f16|bf16",
                description = "How the weights are stored on a CUDA device (default ${DEFAULT-VALUE}); the CPU computes in F32.")
        String dtype;

        /** The command's name under forward, for messages. */
        abstract String name();

        /** Reads the inputs from {@code in}, runs the model, returns the outputs in file order. */
        abstract Map<String, Tensor> run(Inputs in, Placement placement, Functional f, Path modelDir) throws IOException;

        /** The VAE of --model, or random weights of --random-weights. */
        AutoencoderKL vae(Path modelDir, Placement placement) {
            return modelDir != null ? SdModels.loadVae(modelDir, placement, variant) : SdModels.randomVae(source.random, seed, placement);
        }

        @Override
        public Integer call() throws IOException {
            if (source.model == null && !loras.isEmpty())
                throw new ParameterException(spec.commandLine(), "--lora needs --model (random weights have nothing to merge into)");
            DType storage = switch (dtype.toLowerCase(Locale.ROOT)) {
                case "f32", "float32" -> DType.F32;
                case "f16", "float16", "fp16" -> DType.F16;
                case "bf16", "bfloat16" -> DType.BF16;
                default -> throw new ParameterException(spec.commandLine(), "--dtype: expected f32, f16 or bf16, found '" + dtype + "'");
            };
            Engine engine = Main.engine(spec);
            if (storage != DType.F32 && engine.onCpu())
                throw new ParameterException(spec.commandLine(), "--dtype " + dtype + " needs a CUDA device (--device cuda or emulated): "
                        + "the CPU op set computes in F32");
            Placement placement = engine.onCpu() ? Placement.cpu() : Placement.on(engine.device().orElseThrow(), storage);
            Functional f = new Functional(engine.ops());
            Path modelDir = source.model == null ? null : ModelResolver.resolveModel(source.model, loras);

            long t0 = System.nanoTime();
            Map<String, Tensor> outputs;
            try (SafeTensors file = openInput(in); Tape.Scope noGrad = Tape.noGrad()) {
                outputs = run(new Inputs(file, "forward " + name()), placement, f, modelDir);
            }
            Map<String, Tensor> cpu = new LinkedHashMap<>();
            for (var e : outputs.entrySet()) cpu.put(e.getKey(), e.getValue().toCpu().to(DType.F32));
            double seconds = (System.nanoTime() - t0) / 1e9;

            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("command", "dragedit forward " + name());
            meta.put("model", source.model != null ? source.model.toString() + (loras.isEmpty() ? "" : " + lora " + loras)
                    : "random weights " + source.random + " (seed " + seed + ")");
            if (variant != null) meta.put("variant", variant);
            meta.put("engine", engine.description());
            meta.put("weights_dtype", storage.name());
            meta.put("input", in.toString());
            if (out.toAbsolutePath().getParent() != null) Files.createDirectories(out.toAbsolutePath().getParent());
            SafeTensors.write(out, cpu, meta);

            PrintWriter o = spec.commandLine().getOut();
            StringBuilder sb = new StringBuilder();
            for (var e : cpu.entrySet()) sb.append(sb.length() == 0 ? "" : ", ").append(e.getKey()).append(' ').append(Arrays.toString(e.getValue().shape()));
            o.printf(Locale.ROOT, "forward %s: wrote %s (%s) in %.2f s on %s%n", name(), out, sb, seconds, engine.description());
            return Main.EXIT_OK;
        }

        private SafeTensors openInput(Path file) throws IOException {
            if (!Files.isRegularFile(file)) throw new IOException("forward " + name() + ": input " + file + " does not exist");
            return SafeTensors.open(file);
        }
    }

    /** The input file with lookups that fail in one line naming the file, the tensor and what was expected. */
    static final class Inputs {
        final SafeTensors file;
        final String command;

        Inputs(SafeTensors file, String command) {
            this.file = file;
            this.command = command;
        }

        /** The tensor {@code name} as a CPU F32 tensor; {@code expected} describes it for the error messages. */
        Tensor floats(String name, String expected) throws IOException {
            Tensor t = raw(name, expected);
            if (t.dtype() == DType.I64 || t.dtype() == DType.I32 || t.dtype() == DType.U8)
                throw bad(name + " is " + t.dtype() + ", expected a floating tensor (F32, F16, BF16 or F64) " + expected);
            Tensor f = t.to(DType.F32);
            return f == t ? Tensor.of(t.data().clone(), t.shape()) : f; // a copy: the file is closed after the run
        }

        Tensor raw(String name, String expected) throws IOException {
            if (!file.contains(name))
                throw bad("has no tensor \"" + name + "\" (expected " + name + " " + expected + "; the file holds "
                        + (file.names().isEmpty() ? "no tensors" : String.join(", ", file.names())) + ")");
            return file.get(name);
        }

        IllegalArgumentException bad(String what) {
            return new IllegalArgumentException(command + ": " + file.path() + " " + what);
        }

        IllegalArgumentException badShape(String name, Tensor t, String expected) {
            return bad(name + " has shape " + Arrays.toString(t.shape()) + ", expected " + expected);
        }
    }

    // ---------------------------------------------------------------------------------------------- unet

    @Command(name = "unet", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
            description = {"UNet2DConditionModel: sample [B, C, H, W], timestep [1] (or [B], all equal), encoder_hidden_states [B, L, D]",
                    "→ out [B, C, H, W] and up_block_0_out … up_block_N_out (the DragDiffusion features)."})
    static final class Unet extends Base {
        @Override String name() { return "unet"; }

        @Override
        Map<String, Tensor> run(Inputs in, Placement placement, Functional f, Path modelDir) throws IOException {
            UNetConfig cfg = modelDir != null
                    ? UNetConfig.from(ModelConfig.read(SdModels.componentDir(modelDir, SdModels.UNET).resolve("config.json")))
                    : SdModels.unetConfig(source.random);
            int factor = 1 << (cfg.numBlocks() - 1);
            String sampleShape = "[batch, " + cfg.inChannels + ", height, width] (height and width multiples of " + factor + ")";
            Tensor sample = in.floats("sample", sampleShape);
            int[] s = sample.shape();
            if (s.length != 4 || s[0] < 1 || s[1] != cfg.inChannels || s[2] < 1 || s[3] < 1 || s[2] % factor != 0 || s[3] % factor != 0)
                throw in.badShape("sample", sample, sampleShape);
            String ctxShape = "[" + s[0] + ", tokens, " + cfg.crossAttentionDim + "] (the sample's batch, cross_attention_dim)";
            Tensor ctx = in.floats("encoder_hidden_states", ctxShape);
            int[] c = ctx.shape();
            if (c.length != 3 || c[0] != s[0] || c[1] < 1 || c[2] != cfg.crossAttentionDim) throw in.badShape("encoder_hidden_states", ctx, ctxShape);
            String tShape = "[1] or [" + s[0] + "] holding one timestep";
            Tensor ts = in.raw("timestep", tShape); // diffusers passes timesteps as int64 tensors: any numeric dtype is accepted
            float[] tv = new float[ts.numel()];
            for (int i = 0; i < tv.length; i++) tv[i] = (float) ts.getDouble(i);
            if (tv.length != 1 && !(ts.rank() == 1 && tv.length == s[0])) throw in.badShape("timestep", ts, tShape);
            for (float v : tv) {
                if (!Float.isFinite(v)) throw in.bad("timestep holds " + v + ", expected a finite number");
                if (v != tv[0]) throw in.bad("timestep holds different values " + Arrays.toString(tv) + "; the UNet takes one timestep for the whole batch");
            }

            UNet2DConditionModel unet = modelDir != null ? SdModels.loadUnet(modelDir, placement, variant)
                    : SdModels.randomUnet(source.random, seed, placement);
            UNetOutput r = unet.forward(f, placement.input(sample), tv[0], placement.input(ctx));
            Map<String, Tensor> outs = new LinkedHashMap<>();
            outs.put("out", r.out());
            for (int i = 0; i < r.upBlockOutputs().size(); i++) outs.put("up_block_" + i + "_out", r.upBlockOutputs().get(i));
            return outs;
        }
    }

    // ---------------------------------------------------------------------------------------------- vae

    /** The input tensor name, which must be [batch ≥ 1, channels, height ≥ 1, width ≥ 1]. */
    private static Tensor nchw(Inputs in, String name, int channels) throws IOException {
        String shape = "[batch, " + channels + ", height, width]";
        Tensor t = in.floats(name, shape);
        int[] s = t.shape();
        if (s.length != 4 || s[0] < 1 || s[1] != channels || s[2] < 1 || s[3] < 1) throw in.badShape(name, t, shape);
        return t;
    }

    private static VaeConfig vaeConfig(Path modelDir, String random) {
        return modelDir != null ? VaeConfig.from(ModelConfig.read(SdModels.componentDir(modelDir, SdModels.VAE).resolve("config.json")))
                : SdModels.vaeConfig(random);
    }

    @Command(name = "vae-encode", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
            description = "AutoencoderKL.encode: x [B, 3, H, W] in [-1, 1] → posterior_mean, posterior_logvar [B, 4, H/8, W/8] (SD1.5 sizes).")
    static final class VaeEncode extends Base {
        @Override String name() { return "vae-encode"; }

        @Override
        Map<String, Tensor> run(Inputs in, Placement placement, Functional f, Path modelDir) throws IOException {
            Tensor x = nchw(in, "x", vaeConfig(modelDir, source.random).inChannels());
            Posterior p = vae(modelDir, placement).encode(f, placement.input(x));
            Map<String, Tensor> outs = new LinkedHashMap<>();
            outs.put("posterior_mean", p.mean());
            outs.put("posterior_logvar", p.logvar());
            return outs;
        }
    }

    @Command(name = "vae-decode", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
            description = "AutoencoderKL.decode: z [B, 4, h, w] (unscaled: latent / scaling_factor) → decoded [B, 3, 8h, 8w] (SD1.5 sizes).")
    static final class VaeDecode extends Base {
        @Override String name() { return "vae-decode"; }

        @Override
        Map<String, Tensor> run(Inputs in, Placement placement, Functional f, Path modelDir) throws IOException {
            Tensor z = nchw(in, "z", vaeConfig(modelDir, source.random).latentChannels());
            Map<String, Tensor> outs = new LinkedHashMap<>();
            outs.put("decoded", vae(modelDir, placement).decode(f, placement.input(z)));
            return outs;
        }
    }

    // ---------------------------------------------------------------------------------------------- text encoder

    @Command(name = "text-encoder", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
            description = {"CLIPTextModel: input_ids [B, 77] (I64, or floats holding integers) → last_hidden_state [B, 77, hidden]",
                    "(after final_layer_norm) and pooled_output [B, hidden] (the state at the first end-of-text id, argmax of the ids)."})
    static final class TextEncoder extends Base {
        @Override String name() { return "text-encoder"; }

        @Override
        Map<String, Tensor> run(Inputs in, Placement placement, Functional f, Path modelDir) throws IOException {
            ClipTextConfig cfg = modelDir != null
                    ? ClipTextConfig.from(ModelConfig.read(SdModels.componentDir(modelDir, SdModels.TEXT_ENCODER).resolve("config.json")))
                    : SdModels.textEncoderConfig(source.random);
            int vocab = cfg.vocabSize(), ctx = cfg.maxPositions();
            String shape = "[batch, tokens ≤ " + ctx + "] of token ids in 0.." + (vocab - 1) + " (Stable Diffusion: 77 tokens)";
            Tensor t = in.raw("input_ids", shape);
            if (t.rank() != 2 || t.dim(0) < 1 || t.dim(1) < 1 || t.dim(1) > ctx) throw in.badShape("input_ids", t, shape);
            if (t.dtype() != DType.I64 && t.dtype() != DType.I32 && t.dtype() != DType.F32 && t.dtype() != DType.F64 && t.dtype() != DType.F16 && t.dtype() != DType.BF16)
                throw in.bad("input_ids is " + t.dtype() + ", expected I64 (or floats holding integers)");
            int b = t.dim(0), l = t.dim(1);
            long[][] ids = new long[b][l];
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < l; j++) {
                    double v = t.getDouble(i * l + j);
                    if (v != Math.rint(v) || v < 0 || v >= vocab)
                        throw in.bad("input_ids[" + i + "][" + j + "] is " + v + ", expected a token id in 0.." + (vocab - 1));
                    ids[i][j] = (long) v;
                }
            }
            ClipTextModel model = modelDir != null ? SdModels.loadTextEncoder(modelDir, placement, variant)
                    : SdModels.randomTextEncoder(source.random, seed, placement);
            Tensor hidden = model.forward(f, ids);
            Map<String, Tensor> outs = new LinkedHashMap<>();
            outs.put("last_hidden_state", hidden);
            outs.put("pooled_output", model.pooled(f, hidden, ids));
            return outs;
        }
    }
}
