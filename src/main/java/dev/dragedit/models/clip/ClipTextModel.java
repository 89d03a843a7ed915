// The CLIP text encoder as Stable Diffusion 1.x uses it: transformers' CLIPTextModel (transformers/models/clip/
// modeling_clip.py, CLIPTextTransformer) = OpenAI CLIP's encode_text up to ln_final (clip/model.py), i.e.
// last_hidden_state. x = token_embedding[ids] + position_embedding[0..L); per layer (pre-norm)
// x += out_proj(causal multi-head attention(layer_norm1 x)), x += fc2(act(fc1(layer_norm2 x))) with act = quick_gelu
// (x·sigmoid(1.702x)); then final_layer_norm. No padding mask: SD runs the padding tokens like any other.
// Parameters carry the transformers checkpoint keys (text_model.…). The token table (49408 × 768 for SD) stays on the
// CPU where it is stored: only the gathered rows go to the device.
package dev.dragedit.models.clip;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.LayerNorm;
import dev.dragedit.models.nn.Linear;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.Weights;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

public final class ClipTextModel {
    private static final String PREFIX = "text_model.";

    /** One pre-norm transformer layer (CLIPEncoderLayer). */
    static final class Layer {
        final LayerNorm ln1, ln2;
        final Linear q, k, v, out, fc1, fc2;

        Layer(ParamSource p, ClipTextConfig c) {
            int d = c.hiddenSize();
            ln1 = new LayerNorm(p.sub("layer_norm1"), d, c.layerNormEps());
            ParamSource a = p.sub("self_attn");
            q = new Linear(a.sub("q_proj"), d, d, true);
            k = new Linear(a.sub("k_proj"), d, d, true);
            v = new Linear(a.sub("v_proj"), d, d, true);
            out = new Linear(a.sub("out_proj"), d, d, true);
            ln2 = new LayerNorm(p.sub("layer_norm2"), d, c.layerNormEps());
            fc1 = new Linear(p.sub("mlp").sub("fc1"), d, c.intermediateSize(), true);
            fc2 = new Linear(p.sub("mlp").sub("fc2"), c.intermediateSize(), d, true);
        }
    }

    public final ClipTextConfig config;
    private final Placement placement;
    /** CPU tensors as stored (F32/F16/BF16, possibly memory-mapped): the rows are gathered here. */
    private final Tensor tokenTable, positionTable;
    private final List<Layer> layers = new ArrayList<>();
    private final LayerNorm finalNorm;

    /** Built from a source whose keys are the checkpoint's (text_model.embeddings.…, text_model.encoder.layers.N.…). */
    public ClipTextModel(ClipTextConfig config, ParamSource p) {
        this.config = config;
        this.placement = p.placement();
        int d = config.hiddenSize();
        tokenTable = cpuTable(p, PREFIX + "embeddings.token_embedding.weight", config.vocabSize(), d);
        positionTable = cpuTable(p, PREFIX + "embeddings.position_embedding.weight", config.maxPositions(), d);
        ParamSource enc = p.sub(PREFIX + "encoder").sub("layers");
        for (int i = 0; i < config.numLayers(); i++) layers.add(new Layer(enc.sub(Integer.toString(i)), config));
        finalNorm = new LayerNorm(p.sub(PREFIX + "final_layer_norm"), d, config.layerNormEps());
    }

    /** An embedding table on the CPU: straight from the checkpoint file when there is one, else copied back once. */
    private static Tensor cpuTable(ParamSource p, String key, int rows, int d) {
        if (p instanceof Weights w) {
            Tensor t = w.raw(key, rows, d);
            if (t.dtype() != DType.F32 && t.dtype() != DType.F16 && t.dtype() != DType.BF16)
                throw new WeightsException("weights: " + key + " is " + t.dtype() + ", expected a floating tensor (F32, F16 or BF16)");
            return t;
        }
        Tensor t = p.param(key, rows, d);
        return t.onDevice() ? t.toCpu() : t;
    }

    /**
     * A transformers text-encoder folder: config.json and model.safetensors (strict; the position_ids buffer of
     * SD 1.x checkpoints is ignored).
     */
    public static ClipTextModel load(Path dir, Placement placement) { return load(dir, placement, null); }

    /** As {@link #load(Path, Placement)}, reading model.{variant}.safetensors (diffusers' "fp16" files) when variant is set. */
    public static ClipTextModel load(Path dir, Placement placement, String variant) {
        ClipTextConfig cfg = ClipTextConfig.from(ModelConfig.read(dir.resolve("config.json")));
        String name = variant == null || variant.isEmpty() ? "model.safetensors" : "model." + variant + ".safetensors";
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file))
            throw new WeightsException("weights: " + file + " does not exist (a CLIP text encoder folder holds config.json and " + name + ")");
        Weights w = Weights.open(placement, file);
        ClipTextModel m = new ClipTextModel(cfg, w);
        w.ignore(PREFIX + "embeddings.position_ids");
        w.finish();
        return m;
    }

    public Placement placement() { return placement; }

    /** last_hidden_state [B, L, d] of ids [B][L] (L ≤ max_position_embeddings, SD: 77). */
    public Tensor forward(Functional f, long[][] inputIds) { return forward(f, inputIds, 0); }

    /**
     * With clipSkip = k > 0 the output of layer numLayers − k (hidden_states[−(k+1)] in transformers) goes through the
     * final LayerNorm instead of the last layer's, as diffusers' clip_skip does.
     */
    public Tensor forward(Functional f, long[][] inputIds, int clipSkip) {
        if (clipSkip < 0 || clipSkip >= config.numLayers())
            throw new IllegalArgumentException("clip_skip " + clipSkip + " must be in [0, " + config.numLayers() + ")");
        Tensor x = placement.input(embed(inputIds));
        int b = inputIds.length, l = inputIds[0].length, h = config.numHeads(), dh = config.headDim(), d = config.hiddenSize();
        float scale = (float) (1.0 / Math.sqrt(dh));
        for (int i = 0; i < config.numLayers() - clipSkip; i++) {
            Layer layer = layers.get(i);
            Tensor n = layer.ln1.forward(f, x);
            Tensor q = heads(f, layer.q.forward(f, n), b, l, h, dh);
            Tensor k = heads(f, layer.k.forward(f, n), b, l, h, dh);
            Tensor v = heads(f, layer.v.forward(f, n), b, l, h, dh);
            Tensor a = f.attention(q, k, v, scale, true);                          // [B, H, L, dh], causal
            a = f.reshape(f.permute(a, 0, 2, 1, 3), b, l, d);
            x = f.add(x, layer.out.forward(f, a));
            Tensor m = layer.fc1.forward(f, layer.ln2.forward(f, x));
            m = config.hiddenAct().equals("quick_gelu") ? f.quickGelu(m) : f.gelu(m);
            x = f.add(x, layer.fc2.forward(f, m));
        }
        return finalNorm.forward(f, x);
    }

    /** [B, L, d] → [B, H, L, dh]. */
    private static Tensor heads(Functional f, Tensor t, int b, int l, int h, int dh) {
        return f.permute(f.reshape(t, b, l, h, dh), 0, 2, 1, 3);
    }

    /** token_embedding[ids] + position_embedding[0..L), F32 on the CPU. */
    Tensor embed(long[][] ids) {
        if (ids.length == 0) throw new IllegalArgumentException("input ids: empty batch");
        int b = ids.length, l = ids[0].length, d = config.hiddenSize();
        if (l == 0 || l > config.maxPositions())
            throw new IllegalArgumentException("input ids: " + l + " tokens per row, expected 1.." + config.maxPositions());
        float[] out = new float[b * l * d];
        for (int i = 0; i < b; i++) {
            if (ids[i].length != l) throw new IllegalArgumentException("input ids: row " + i + " has " + ids[i].length + " tokens, row 0 has " + l);
            for (int j = 0; j < l; j++) {
                long id = ids[i][j];
                if (id < 0 || id >= config.vocabSize())
                    throw new IllegalArgumentException("input ids: row " + i + " position " + j + " is " + id + ", outside the vocabulary [0, " + config.vocabSize() + ")");
                int o = (i * l + j) * d, t = (int) id * d, p = j * d;
                for (int c = 0; c < d; c++) out[o + c] = tokenTable.getFloat(t + c) + positionTable.getFloat(p + c);
            }
        }
        return Tensor.of(out, b, l, d);
    }

    /**
     * pooled_output [B, d]: each row's state at its end token, found as transformers does for SD's legacy config
     * (the first position of the largest id, i.e. the first <|endoftext|>).
     */
    public Tensor pooled(Functional f, Tensor lastHiddenState, long[][] inputIds) {
        Tensor[] rows = new Tensor[inputIds.length];
        for (int i = 0; i < rows.length; i++) {
            int arg = 0;
            for (int j = 1; j < inputIds[i].length; j++) if (inputIds[i][j] > inputIds[i][arg]) arg = j;
            Tensor row = f.slice(f.slice(lastHiddenState, 0, i, i + 1), 1, arg, arg + 1); // [1, 1, d]
            rows[i] = f.reshape(row, 1, config.hiddenSize());
        }
        return rows.length == 1 ? rows[0] : f.concat(0, rows);
    }
}
