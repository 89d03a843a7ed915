// Converts a single-file LDM Stable Diffusion 1.x checkpoint (.safetensors or .ckpt, e.g. v1-5-pruned-emaonly)
// into a diffusers folder - unet/, vae/, text_encoder/ (safetensors with diffusers / transformers keys and their
// config.json), scheduler/, model_index.json, and tokenizer/ when one is given - as diffusers'
// loaders/single_file_utils.py (download_from_original_stable_diffusion_ckpt) lays it out. Every key must be
// accounted for: mapped, or one of the known non-weights (DDPM buffers, the EMA copy, position_ids); anything else
// is an error naming it, so a checkpoint of another architecture is not half-converted. The folder is written
// under a temporary name beside the destination and renamed into place, so a failed run leaves nothing behind and
// the input is only ever read.
package dev.dragedit.convert.ldm;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.convert.ConvertException;
import dev.dragedit.convert.WeightFiles;
import dev.dragedit.convert.lora.LoraMerger;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import dev.dragedit.models.clip.ClipTokenizer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** LDM single file (or a diffusers folder) + LoRAs -> diffusers folder. */
public final class LdmConverter {
    private LdmConverter() {}

    /**
     * What to do besides the plain conversion: a tokenizer folder to copy, a folder of config files to take the
     * non-inferable settings from, LoRAs to merge, and an output dtype (null keeps each tensor's stored type).
     */
    public record Options(Path tokenizer, Path configFrom, List<LoraMerger.Lora> loras, DType dtype) {
        public Options {
            loras = loras == null ? List.of() : List.copyOf(loras);
        }
        public static Options defaults() { return new Options(null, null, List.of(), null); }
    }

    /** The three models with diffusers / transformers keys. */
    public record Components(Map<String, Tensor> unet, Map<String, Tensor> vae, Map<String, Tensor> textEncoder) {}

    /** Splits and renames the tensors of an LDM checkpoint; unknown keys are an error naming them. */
    public static Components map(Path source, Map<String, Tensor> in) throws ConvertException {
        Map<String, Tensor> unet = new LinkedHashMap<>(), vae = new LinkedHashMap<>(), te = new LinkedHashMap<>();
        List<String> unknown = new ArrayList<>();
        for (String k : in.keySet()) {
            if (k.startsWith("conditioner.") || k.startsWith("model.diffusion_model.label_emb."))
                throw new ConvertException(source + ": has " + k + ": an SDXL checkpoint; only Stable Diffusion 1.x is supported");
            if (k.startsWith("cond_stage_model.model."))
                throw new ConvertException(source + ": has " + k + ": an OpenCLIP text encoder (Stable Diffusion 2.x); only 1.x is supported");
        }
        if (!in.isEmpty() && in.keySet().stream().allMatch(k -> k.startsWith("lora_") || k.contains("lora_A") || k.contains("lora_B")
                || k.contains(".lora.") || k.contains("_lora.")))
            throw new ConvertException(source + ": is a LoRA file, not a model; give a base model as input and this file with --lora");
        int lpb = layersPerBlock(in);
        int vaeLevels = vaeLevels(in);
        for (Map.Entry<String, Tensor> e : in.entrySet()) {
            String k = e.getKey();
            Tensor t = e.getValue();
            if (LdmKeys.ignored(k)) continue;
            String d;
            Map<String, Tensor> target;
            if (k.startsWith(LdmKeys.UNET_PREFIX)) {
                d = LdmKeys.unetToDiffusers(k.substring(LdmKeys.UNET_PREFIX.length()), lpb);
                target = unet;
            } else if (k.startsWith(LdmKeys.VAE_PREFIX)) {
                String v = k.substring(LdmKeys.VAE_PREFIX.length());
                d = LdmKeys.vaeToDiffusers(v, vaeLevels);
                if (d != null && LdmKeys.vaeAttentionProjection(v)) {
                    int[] s = t.shape();
                    if (s.length == 4 && s[2] == 1 && s[3] == 1) t = t.reshape(s[0], s[1]); // 1x1 conv -> linear
                }
                target = vae;
            } else if (k.startsWith(LdmKeys.CLIP_PREFIX)) {
                d = LdmKeys.clipToDiffusers(k.substring(LdmKeys.CLIP_PREFIX.length()));
                target = te;
            } else {
                d = null;
                target = null;
            }
            if (d == null) { unknown.add(k); continue; }
            if (target.put(d, t) != null) throw new ConvertException(source + ": two keys map to " + d + " (the second is " + k + ")");
        }
        if (!unknown.isEmpty()) {
            throw new ConvertException(source + ": " + unknown.size() + " key(s) match no Stable Diffusion 1.x weight: "
                    + String.join(", ", unknown.subList(0, Math.min(10, unknown.size()))) + (unknown.size() > 10 ? ", ..." : ""));
        }
        if (unet.isEmpty()) throw new ConvertException(source + ": no " + LdmKeys.UNET_PREFIX + "* tensors (not an LDM Stable Diffusion checkpoint?)");
        if (vae.isEmpty()) throw new ConvertException(source + ": no " + LdmKeys.VAE_PREFIX + "* (VAE) tensors; a complete single-file model is required");
        if (te.isEmpty()) throw new ConvertException(source + ": no " + LdmKeys.CLIP_PREFIX + "* (text encoder) tensors; a complete single-file model is required");
        return new Components(unet, vae, te);
    }

    /** layers_per_block: the first downsampler sits at input_blocks.(lpb+1).0.op. */
    static int layersPerBlock(Map<String, Tensor> in) {
        Pattern p = Pattern.compile(Pattern.quote(LdmKeys.UNET_PREFIX) + "input_blocks\\.(\\d+)\\.0\\.op\\.");
        int first = Integer.MAX_VALUE;
        for (String k : in.keySet()) {
            Matcher m = p.matcher(k);
            if (m.lookingAt()) first = Math.min(first, Integer.parseInt(m.group(1)));
        }
        return first == Integer.MAX_VALUE ? 2 : first - 1;
    }

    static int vaeLevels(Map<String, Tensor> in) {
        Pattern p = Pattern.compile(Pattern.quote(LdmKeys.VAE_PREFIX) + "decoder\\.up\\.(\\d+)\\.");
        int max = -1;
        for (String k : in.keySet()) {
            Matcher m = p.matcher(k);
            if (m.lookingAt()) max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return max + 1;
    }

    /** Reads the components of a diffusers folder (the non-variant files) for re-writing with LoRAs merged. */
    public static Components readFolder(Path dir) throws IOException {
        return new Components(readOne(dir.resolve("unet"), "diffusion_pytorch_model"), readOne(dir.resolve("vae"), "diffusion_pytorch_model"),
                readOne(dir.resolve("text_encoder"), "model"));
    }

    private static Map<String, Tensor> readOne(Path dir, String stem) throws IOException {
        for (String name : new String[]{stem + ".safetensors", stem + ".fp16.safetensors"}) {
            Path f = dir.resolve(name);
            if (Files.isRegularFile(f)) {
                Map<String, Tensor> m = new LinkedHashMap<>(WeightFiles.read(f).tensors());
                m.remove("text_model.embeddings.position_ids");
                return m;
            }
        }
        throw new ConvertException(dir + ": no " + stem + ".safetensors (expected a diffusers model folder)");
    }

    /** Converts {@code input} (a single file, or a diffusers folder when only LoRAs are to be merged) into {@code out}. */
    public static void convert(Path input, Path out, Options opt) throws IOException {
        if (Files.exists(out)) throw new ConvertException(out + ": already exists; choose a new output folder");
        Path absOut = out.toAbsolutePath();
        Path parent = absOut.getParent();
        if (parent == null) throw new ConvertException(out + ": cannot write a model to the file-system root");
        Files.createDirectories(parent);
        if (Files.isDirectory(input) && !Files.isDirectory(input.resolve("unet")) && Files.isRegularFile(input.resolve("config.json"))) {
            convertComponent(input, absOut, opt);
            return;
        }
        Components c;
        Path configFrom = opt.configFrom();
        if (Files.isDirectory(input)) {
            c = readFolder(input);
            if (configFrom == null) configFrom = input;
        } else {
            c = map(input, WeightFiles.read(input).tensors());
        }
        for (LoraMerger.Lora l : opt.loras()) LoraMerger.merge(l, c);
        if (opt.tokenizer() != null && !Files.isRegularFile(opt.tokenizer().resolve("vocab.json")))
            throw new ConvertException(opt.tokenizer() + ": not a tokenizer folder (no vocab.json; expected vocab.json and merges.txt)");

        ObjectNode unetCfg = DiffusersConfigs.unet(c.unet(), configFrom);
        ObjectNode vaeCfg = DiffusersConfigs.vae(c.vae(), configFrom);
        ObjectNode teCfg = DiffusersConfigs.textEncoder(c.textEncoder(), configFrom);
        ObjectNode schedCfg = DiffusersConfigs.scheduler(configFrom);
        Path tokenizer = opt.tokenizer();
        if (tokenizer == null && configFrom != null && Files.isRegularFile(configFrom.resolve("tokenizer/vocab.json")))
            tokenizer = configFrom.resolve("tokenizer");

        Path tmp = parent.resolve("." + absOut.getFileName() + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            Files.createDirectory(tmp);
            writeComponent(tmp.resolve("unet"), "diffusion_pytorch_model.safetensors", c.unet(), unetCfg, opt.dtype());
            writeComponent(tmp.resolve("vae"), "diffusion_pytorch_model.safetensors", c.vae(), vaeCfg, opt.dtype());
            writeComponent(tmp.resolve("text_encoder"), "model.safetensors", c.textEncoder(), teCfg, opt.dtype());
            Files.createDirectory(tmp.resolve("scheduler"));
            DiffusersConfigs.JSON.writeValue(tmp.resolve("scheduler/scheduler_config.json").toFile(), schedCfg);
            if (tokenizer != null) {
                Files.createDirectory(tmp.resolve("tokenizer"));
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(tokenizer)) {
                    for (Path f : ds) if (Files.isRegularFile(f)) Files.copy(f, tmp.resolve("tokenizer").resolve(f.getFileName()));
                }
            } else {
                // A single file has no tokenizer, and every SD1.x model uses the same one: the bundled copy.
                ClipTokenizer.writeBundled(tmp.resolve("tokenizer"));
            }
            DiffusersConfigs.JSON.writeValue(tmp.resolve("model_index.json").toFile(), DiffusersConfigs.modelIndex(true, schedCfg));
            try {
                Files.move(tmp, absOut, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, absOut);
            }
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    /**
     * A single component folder (unet/, vae/ or text_encoder/ on its own: config.json + weights), rewritten with the
     * LoRAs merged into it; LoRA entries for the other components are not applicable and left out.
     */
    private static void convertComponent(Path input, Path absOut, Options opt) throws IOException {
        String file = null;
        for (String name : new String[]{"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
                "model.safetensors", "model.fp16.safetensors"}) {
            if (Files.isRegularFile(input.resolve(name))) { file = name; break; }
        }
        if (file == null) throw new ConvertException(input + ": a component folder without diffusion_pytorch_model.safetensors or model.safetensors");
        ObjectNode cfg = (ObjectNode) DiffusersConfigs.JSON.readTree(input.resolve("config.json").toFile());
        Map<String, Tensor> w = new LinkedHashMap<>(WeightFiles.read(input.resolve(file)).tensors());
        boolean text = file.startsWith("model.");
        boolean vae = !text && "AutoencoderKL".equals(cfg.path("_class_name").asText());
        Map<String, Tensor> unet = text || vae ? new LinkedHashMap<>() : w;
        Map<String, Tensor> te = text ? w : new LinkedHashMap<>();
        if (vae && !opt.loras().isEmpty()) throw new ConvertException(input + ": a VAE folder; LoRA files apply to the UNet and the text encoder");
        for (LoraMerger.Lora l : opt.loras()) {
            WeightFiles lf = WeightFiles.read(l.file());
            if (LoraMerger.merge(lf.file(), lf.tensors(), lf.metadata(), l.scale(), unet, te) == 0)
                throw new ConvertException(l.file() + ": has nothing for the " + (text ? "text encoder" : "UNet") + " in " + input);
        }
        Path tmp = absOut.resolveSibling("." + absOut.getFileName() + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            writeComponent(tmp, file, w, cfg, opt.dtype());
            try {
                Files.move(tmp, absOut, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, absOut);
            }
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    private static void writeComponent(Path dir, String file, Map<String, Tensor> w, ObjectNode cfg, DType dtype) throws IOException {
        Files.createDirectory(dir);
        Map<String, Tensor> out = w;
        if (dtype != null) {
            out = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : w.entrySet())
                out.put(e.getKey(), e.getValue().dtype().isFloating() ? e.getValue().to(dtype) : e.getValue());
        }
        SafeTensors.write(dir.resolve(file), out, Map.of("format", "pt"));
        DiffusersConfigs.JSON.writeValue(dir.resolve("config.json").toFile(), cfg);
    }

    static void deleteTree(Path p) {
        if (p == null || !Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> {
                try { Files.deleteIfExists(f); } catch (IOException ignored) { /* best effort cleanup */ }
            });
        } catch (IOException ignored) {
            // best effort cleanup of our own temporary folder
        }
    }
}
