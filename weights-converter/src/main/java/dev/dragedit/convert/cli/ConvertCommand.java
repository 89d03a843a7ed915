// `dragedit convert IN OUT [--lora FILE[:scale]]...`: a single-file LDM Stable Diffusion 1.x checkpoint
// (.safetensors or .ckpt), or a diffusers folder, into a diffusers folder with the LoRAs merged (LdmConverter).
package dev.dragedit.convert.cli;

import dev.dragedit.convert.ldm.LdmConverter;
import dev.dragedit.convert.lora.LoraMerger;
import dev.dragedit.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** The convert command. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert a single-file Stable Diffusion 1.x checkpoint (LDM keys; .safetensors or .ckpt) into a "
                + "diffusers folder (unet/, vae/, text_encoder/, scheduler/, model_index.json), merging LoRA files. "
                + "IN may also be a diffusers folder, to write a copy with LoRAs merged.",
                ".ckpt files are read by a restricted unpickler: only tensors and plain containers are rebuilt, nothing is executed."})
public final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN", description = "LDM checkpoint (.safetensors / .ckpt) or diffusers folder")
    Path input;

    @Parameters(index = "1", paramLabel = "OUT", description = "output folder (must not exist)")
    Path output;

    @Option(names = "--lora", paramLabel = "FILE[:SCALE]",
            description = "LoRA file to merge (kohya or PEFT/diffusers), with multiplier SCALE (default 1); repeatable")
    List<String> loras = new ArrayList<>();

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "tokenizer folder (vocab.json, merges.txt) to copy into OUT/tokenizer")
    Path tokenizer;

    @Option(names = "--config-from", paramLabel = "DIR",
            description = "diffusers folder whose unet/vae/text_encoder/scheduler configs supply what the weights do not tell (heads, sample size)")
    Path configFrom;

    @Option(names = "--dtype", paramLabel = "keep|f32|f16|bf16", defaultValue = "keep",
            description = "storage type of the written weights (default: keep each tensor's type)")
    String dtype;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        DType dt = switch (dtype.toLowerCase()) {
            case "keep" -> null;
            case "f32", "fp32", "float32" -> DType.F32;
            case "f16", "fp16", "float16" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--dtype: expected keep, f32, f16 or bf16, found " + dtype);
        };
        List<LoraMerger.Lora> ls = new ArrayList<>();
        for (String s : loras) ls.add(LoraMerger.Lora.parse(s));
        long t0 = System.nanoTime();
        LdmConverter.convert(input, output, new LdmConverter.Options(tokenizer, configFrom, ls, dt));
        spec.commandLine().getOut().printf("converted %s -> %s (%d LoRA%s merged) in %.1f s%n", input, output, ls.size(),
                ls.size() == 1 ? "" : "s", (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
