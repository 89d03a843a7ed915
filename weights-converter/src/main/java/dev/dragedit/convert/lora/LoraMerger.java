// Merges LoRA files into Stable Diffusion 1.x weights: W += m * (alpha / r) * up @ down, the merge of kohya's
// networks/lora.py (LoRAModule.merge_to) and of diffusers' fuse_lora (loaders/lora_base.py, PEFT's
// tuners/lora/layer.py get_delta_weight with scaling = lora_alpha / r), in the formats sd15.md section 4 lists:
//  - kohya: lora_unet_<module path, '.' -> '_'>.{lora_down.weight, lora_up.weight, alpha} and lora_te_... for the
//    text encoder, module paths in diffusers names or (some trainers) LDM names (input_blocks_4_1_...), linear or
//    conv (down [r,in,k,k], up [out,r,1,1]);
//  - PEFT / diffusers: unet.<path>.lora_A.weight [r,in] + lora_B.weight [out,r] (text_encoder.<path> likewise),
//    lora_alpha from the safetensors metadata "lora_adapter_metadata" (scale 1 without it); and the legacy
//    attention-processor spelling <path>.processor.to_q_lora.{down,up}.weight.
// Module names are resolved against the model's own keys, so an underscore path is never guessed: a LoRA module
// that matches nothing, or a LoRA variant we do not merge (LoHa, LoKr, DoRA, Tucker mid), is an error naming it.
package dev.dragedit.convert.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.convert.ConvertException;
import dev.dragedit.convert.WeightFiles;
import dev.dragedit.convert.ldm.LdmConverter;
import dev.dragedit.convert.ldm.LdmKeys;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.ops.cpu.CpuOps;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Applies LoRA files to converted or loaded weights. */
public final class LoraMerger {
    private LoraMerger() {}

    /** A LoRA file and its multiplier m. */
    public record Lora(Path file, double scale) {
        /** Parses {@code FILE[:scale]} (the last colon followed by a number is the scale). */
        public static Lora parse(String spec) {
            int c = spec.lastIndexOf(':');
            if (c > 0 && c < spec.length() - 1) {
                try {
                    return new Lora(Path.of(spec.substring(0, c)), Double.parseDouble(spec.substring(c + 1)));
                } catch (NumberFormatException e) {
                    // not a scale: a colon in the path
                }
            }
            return new Lora(Path.of(spec), 1.0);
        }
    }

    /** One low-rank pair for one target weight. */
    private static final class Pair {
        Tensor down, up, alpha;
        String downKey, upKey;
        Map<String, Tensor> target;
        String targetKey;
        double formatScale = Double.NaN; // PEFT: lora_alpha from metadata (NaN = none given)
    }

    /** Merges {@code lora} into the weights of {@code c} (unet and text encoder maps, modified in place). */
    public static int merge(Lora lora, LdmConverter.Components c) throws IOException {
        WeightFiles f = WeightFiles.read(lora.file());
        return merge(f.file(), f.tensors(), f.metadata(), lora.scale(), c.unet(), c.textEncoder());
    }

    /**
     * Merges the LoRA tensors {@code lora} (with safetensors {@code metadata}) times {@code scale} into {@code unet}
     * and {@code textEncoder} (diffusers / transformers keys; entries are replaced by merged copies). Returns the
     * number of weights changed. Entries for a component whose map is empty (not loaded) are skipped.
     */
    public static int merge(Path source, Map<String, Tensor> lora, Map<String, String> metadata, double scale,
                            Map<String, Tensor> unet, Map<String, Tensor> textEncoder) throws ConvertException {
        Resolver res = new Resolver(unet, textEncoder);
        Map<String, Double> peftAlpha = peftAlpha(source, metadata);
        Map<String, Pair> pairs = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : lora.entrySet()) {
            String k = e.getKey();
            Tensor t = e.getValue();
            Matcher m;
            if (k.startsWith("lora_unet_") || k.startsWith("lora_te_")) {
                // A component that is not loaded (a UNet folder on its own) has nothing to merge into.
                if ((k.startsWith("lora_unet_") ? unet : textEncoder).isEmpty()) continue;
                int dot = k.indexOf('.');
                if (dot < 0) throw new ConvertException(source + ": LoRA key " + k + " has no '.lora_down/.lora_up/.alpha' suffix");
                String module = k.substring(0, dot), suffix = k.substring(dot + 1);
                Pair p = pairs.computeIfAbsent(module, x -> new Pair());
                switch (suffix) {
                    case "lora_down.weight" -> { p.down = t; p.downKey = k; }
                    case "lora_up.weight" -> { p.up = t; p.upKey = k; }
                    case "alpha" -> p.alpha = t;
                    default -> throw new ConvertException(source + ": LoRA key " + k + " is of a variant that is not merged here ("
                            + variant(suffix) + "); supported: lora_down/lora_up/alpha");
                }
                if (p.target == null) {
                    boolean te = module.startsWith("lora_te_");
                    String name = module.substring(te ? "lora_te_".length() : "lora_unet_".length());
                    String target = te ? res.te.get(name) : res.unetByUnderscore(name);
                    if (target == null)
                        throw new ConvertException(source + ": LoRA module " + module + " matches no " + (te ? "text-encoder" : "UNet")
                                + " weight (from key " + k + ")");
                    if (target.equals(Resolver.AMBIGUOUS))
                        throw new ConvertException(source + ": LoRA module " + module + " matches more than one weight");
                    p.target = te ? textEncoder : unet;
                    p.targetKey = target;
                }
            } else if ((m = PEFT.matcher(k)).matches()) {
                String prefix = m.group(1) == null ? "" : m.group(1);
                if ((prefix.equals("unet.") && unet.isEmpty()) || (prefix.equals("text_encoder.") && textEncoder.isEmpty())) continue;
                String path = m.group(2), which = m.group(3);
                Map<String, Tensor> target;
                String component;
                if (prefix.equals("unet.")) { target = unet; component = "unet"; }
                else if (prefix.equals("text_encoder.")) { target = textEncoder; component = "text_encoder"; }
                else if (unet.containsKey(path + ".weight")) { target = unet; component = "unet"; }
                else { target = textEncoder; component = "text_encoder"; }
                if (!target.containsKey(path + ".weight"))
                    throw new ConvertException(source + ": LoRA key " + k + " targets " + path + ", which is no " + component + " weight");
                Pair p = pairs.computeIfAbsent(component + ":" + path, x -> new Pair());
                p.target = target;
                p.targetKey = path + ".weight";
                Double a = peftAlpha.get(component);
                if (a == null) a = peftAlpha.get("");
                if (a != null) p.formatScale = a;
                if (which.equals("lora_A") || which.equals("lora.down")) { p.down = t; p.downKey = k; }
                else { p.up = t; p.upKey = k; }
            } else if ((m = LEGACY.matcher(k)).matches()) {
                String path = m.group(2) + "." + (m.group(3).equals("out") ? "to_out.0" : "to_" + m.group(3));
                String p0 = m.group(1) == null ? "" : m.group(1);
                Map<String, Tensor> target = p0.equals("text_encoder.") ? textEncoder : unet;
                if (target.isEmpty()) continue;
                if (!target.containsKey(path + ".weight"))
                    throw new ConvertException(source + ": LoRA key " + k + " targets " + path + ", which is no weight of the model");
                Pair p = pairs.computeIfAbsent("legacy:" + p0 + path, x -> new Pair());
                p.target = target;
                p.targetKey = path + ".weight";
                if (m.group(4).equals("down")) { p.down = t; p.downKey = k; } else { p.up = t; p.upKey = k; }
            } else {
                throw new ConvertException(source + ": key " + k + " is not a LoRA key of a known format (kohya lora_unet_/lora_te_, PEFT lora_A/lora_B)");
            }
        }
        int changed = 0;
        for (Map.Entry<String, Pair> e : pairs.entrySet()) {
            Pair p = e.getValue();
            if (p.down == null || p.up == null)
                throw new ConvertException(source + ": LoRA module " + e.getKey() + " has " + (p.down == null ? "no down (lora_down / lora_A)" : "no up (lora_up / lora_B)") + " weight");
            apply(source, p, scale);
            changed++;
        }
        return changed;
    }

    private static final Pattern PEFT = Pattern.compile("(unet\\.|text_encoder\\.|base_model\\.model\\.)?(.+)\\.(lora_A|lora_B|lora\\.down|lora\\.up)\\.weight");
    private static final Pattern LEGACY = Pattern.compile("(unet\\.|text_encoder\\.)?(.+)\\.processor\\.to_(q|k|v|out)_lora\\.(down|up)\\.weight");

    private static String variant(String suffix) {
        if (suffix.startsWith("hada_")) return "LoHa";
        if (suffix.startsWith("lokr_")) return "LoKr";
        if (suffix.startsWith("dora_")) return "DoRA";
        if (suffix.startsWith("lora_mid")) return "LoCon with a Tucker mid weight";
        return "unknown suffix ." + suffix;
    }

    /** lora_alpha per component ("" when not prefixed) from the PEFT metadata JSON, if any. */
    private static Map<String, Double> peftAlpha(Path source, Map<String, String> metadata) throws ConvertException {
        Map<String, Double> r = new HashMap<>();
        if (metadata == null) return r;
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (!e.getKey().endsWith("lora_adapter_metadata")) continue;
            String comp = e.getKey().equals("lora_adapter_metadata") ? "" : e.getKey().substring(0, e.getKey().length() - "lora_adapter_metadata".length()).replaceAll("[._]$", "");
            JsonNode n;
            try {
                n = new ObjectMapper().readTree(e.getValue());
            } catch (IOException ex) {
                throw new ConvertException(source + ": metadata " + e.getKey() + " is not valid JSON");
            }
            // {"lora_alpha": a, ...}, packed per component {"unet.lora_alpha": a, "text_encoder.lora_alpha": b}, or
            // nested {"unet": {"lora_alpha": a}, ...}.
            n.fields().forEachRemaining(f -> {
                String key = f.getKey();
                JsonNode val = f.getValue();
                if (key.equals("lora_alpha") && val.isNumber()) r.put(comp, val.asDouble());
                else if (key.endsWith(".lora_alpha") && val.isNumber()) r.put(key.substring(0, key.length() - ".lora_alpha".length()), val.asDouble());
                else if (val.isObject() && val.path("lora_alpha").isNumber()) r.put(key, val.get("lora_alpha").asDouble());
            });
        }
        return r;
    }

    private static void apply(Path source, Pair p, double m) throws ConvertException {
        Tensor w = p.target.get(p.targetKey);
        int[] ws = w.shape(), ds = p.down.shape(), us = p.up.shape();
        if (ds.length < 2 || us.length < 2)
            throw new ConvertException(source + ": " + p.downKey + " / " + p.upKey + " have shapes " + Arrays.toString(ds) + " / " + Arrays.toString(us) + ", expected matrices or conv kernels");
        int r = ds[0];
        long in = Tensor.numel(ds) / r;
        int out = us[0];
        if (Tensor.numel(us) != (long) out * r)
            throw new ConvertException(source + ": " + p.upKey + " has shape " + Arrays.toString(us) + ", expected [out, " + r + "(,1,1)] to match rank " + r + " of " + p.downKey);
        if (ws[0] != out || Tensor.numel(ws) != out * in)
            throw new ConvertException(source + ": LoRA " + p.downKey + " " + Arrays.toString(ds) + " x " + p.upKey + " " + Arrays.toString(us)
                    + " does not fit " + p.targetKey + " of shape " + Arrays.toString(ws));
        double alphaOverR;
        if (p.alpha != null) alphaOverR = p.alpha.getDouble(0) / r;
        else if (!Double.isNaN(p.formatScale)) alphaOverR = p.formatScale / r;
        else alphaOverR = 1.0; // kohya without alpha: alpha = r; PEFT without metadata: scale 1
        double f = m * alphaOverR;
        // up @ down in F32 by the engine's CPU matmul, as diffusers' fuse_lora computes torch.mm(up, down) in
        // float32; the scaled sum with W is formed in double and rounded once.
        Tensor down2 = p.down.to(DType.F32).reshape(r, (int) in), up2 = p.up.to(DType.F32).reshape(out, r);
        float[] delta = CpuOps.INSTANCE.matmul(up2, down2, false, false).data();
        float[] base = w.to(DType.F32).data();
        float[] merged = new float[base.length];
        for (int i = 0; i < merged.length; i++) merged[i] = (float) (base[i] + f * delta[i]);
        Tensor t = Tensor.of(merged, ws);
        p.target.put(p.targetKey, w.dtype() == DType.F32 ? t : t.to(w.dtype()));
    }

    /** Kohya module names (dots as underscores) of the model's weights, in diffusers and LDM spelling. */
    private static final class Resolver {
        static final String AMBIGUOUS = "\u0000ambiguous";
        final Map<String, String> unet = new HashMap<>(), te = new HashMap<>();

        Resolver(Map<String, Tensor> u, Map<String, Tensor> t) {
            int lpb = count(u, Pattern.compile("down_blocks\\.0\\.resnets\\.(\\d+)\\."));
            int levels = count(u, Pattern.compile("up_blocks\\.(\\d+)\\."));
            boolean[] upAttn = new boolean[levels];
            for (String k : u.keySet()) {
                Matcher m = Pattern.compile("up_blocks\\.(\\d+)\\.attentions\\.").matcher(k);
                if (m.lookingAt()) upAttn[Integer.parseInt(m.group(1))] = true;
            }
            for (String k : u.keySet()) {
                if (!k.endsWith(".weight")) continue;
                String module = k.substring(0, k.length() - ".weight".length());
                add(unet, module.replace('.', '_'), k);
                String ldm = LdmKeys.unetToLdm(k, lpb, upAttn);
                if (ldm != null) add(unet, ldm.substring(0, ldm.length() - ".weight".length()).replace('.', '_'), k);
            }
            for (String k : t.keySet()) {
                if (k.endsWith(".weight")) add(te, k.substring(0, k.length() - ".weight".length()).replace('.', '_'), k);
            }
        }

        String unetByUnderscore(String name) { return unet.get(name); }

        private static void add(Map<String, String> m, String name, String key) {
            String old = m.putIfAbsent(name, key);
            if (old != null && !old.equals(key)) m.put(name, AMBIGUOUS);
        }

        private static int count(Map<String, Tensor> w, Pattern p) {
            TreeSet<Integer> s = new TreeSet<>();
            for (String k : w.keySet()) {
                Matcher m = p.matcher(k);
                if (m.lookingAt()) s.add(Integer.parseInt(m.group(1)));
            }
            return s.isEmpty() ? 0 : s.last() + 1;
        }
    }
}
