package dev.dragedit.models.nn;

import dev.dragedit.io.SafeTensors;
import dev.dragedit.io.TensorInfo;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * A checkpoint as a strict {@link ParamSource}: the tensors of one or more safetensors files (memory-mapped, decoded
 * or copied to the device only when the model asks for them), looked up by key. Strict in both directions, because a
 * silently ignored or half-used checkpoint produces plausible garbage: asking for a key the files lack, or with
 * another shape, is an error naming the file, the key, the expected and the found shape; and {@link #finish()},
 * called once the model is built, fails if any tensor of the files was never asked for. Integer tensors (e.g.
 * CLIP's {@code position_ids} buffer) can be declared as known-unused with {@link #ignore}.
 * <p>
 * Keys may be rewritten when the files are opened ({@code canonical}), so a model asks for one spelling while the
 * files use another (e.g. the VAE attention's old {@code query}/{@code key}/{@code value}/{@code proj_attn} names).
 */
public final class Weights implements ParamSource {
    private record Entry(SafeTensors file, String fileKey) {}

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Set<String> used = new HashSet<>();
    private final Placement placement;
    private final List<Path> files = new ArrayList<>();

    private Weights(Placement placement) { this.placement = placement; }

    /** The tensors of {@code files}, keys used as they are. */
    public static Weights open(Placement placement, Path... files) {
        return open(placement, UnaryOperator.identity(), files);
    }

    /**
     * The tensors of {@code files} with every key passed through {@code canonical} (two file keys that become the
     * same key, or one key in two files, is an error).
     */
    public static Weights open(Placement placement, UnaryOperator<String> canonical, Path... files) {
        Weights w = new Weights(placement);
        for (Path f : files) {
            SafeTensors st;
            try {
                st = SafeTensors.open(f);
            } catch (IOException e) {
                throw new WeightsException("cannot read weights " + f + ": " + e.getMessage(), e);
            }
            w.files.add(f);
            for (String k : st.names()) {
                String key = canonical.apply(k);
                Entry prev = w.entries.putIfAbsent(key, new Entry(st, k));
                if (prev != null)
                    throw new WeightsException("weights: " + describe(prev) + " and " + f + " [" + k
                            + "] are both the parameter " + key + "; a checkpoint must hold each parameter once");
            }
        }
        return w;
    }

    private static String describe(Entry e) { return e.file.path() + " [" + e.fileKey + "]"; }

    @Override public Placement placement() { return placement; }

    @Override public boolean has(String key) { return entries.containsKey(key); }

    /** Every key of the files (canonical spelling), in file order. */
    public List<String> keys() { return new ArrayList<>(entries.keySet()); }

    @Override
    public Tensor param(String key, int... shape) {
        Tensor t = raw(key, shape);
        if (t.dtype() != DType.F32 && t.dtype() != DType.F16 && t.dtype() != DType.BF16)
            throw new WeightsException("weights: " + where(key) + " is " + t.dtype() + ", expected a floating tensor (F32, F16 or BF16)");
        return placement.place(t);
    }

    /** The tensor {@code key} as stored (CPU, file dtype), checked against shape; marks it used. */
    public Tensor raw(String key, int... shape) {
        Entry e = entries.get(key);
        if (e == null)
            throw new WeightsException("weights: missing tensor " + key + " " + Arrays.toString(shape) + " in "
                    + (files.size() == 1 ? files.get(0) : files) + nearMiss(key));
        TensorInfo info = e.file.info(e.fileKey);
        if (!Arrays.equals(info.shape(), shape))
            throw new WeightsException("weights: " + where(key) + " has shape " + Arrays.toString(info.shape())
                    + ", expected " + Arrays.toString(shape) + " (does the config match the checkpoint?)");
        used.add(key);
        try {
            return e.file.get(e.fileKey);
        } catch (IOException ex) {
            throw new WeightsException("weights: cannot read " + where(key) + ": " + ex.getMessage(), ex);
        }
    }

    /** Marks keys the model knowingly does not use (buffers such as position ids), so {@link #finish} accepts them. */
    public void ignore(String key) {
        if (entries.containsKey(key)) used.add(key);
    }

    /** Fails when the files hold tensors the model never asked for. */
    public void finish() {
        List<String> unused = new ArrayList<>();
        for (String k : entries.keySet()) if (!used.contains(k)) unused.add(k);
        if (unused.isEmpty()) return;
        StringBuilder sb = new StringBuilder("weights: " + unused.size() + " tensor" + (unused.size() == 1 ? "" : "s")
                + " of the checkpoint not used by the model (wrong model type or config?): ");
        for (int i = 0; i < Math.min(8, unused.size()); i++) sb.append(i == 0 ? "" : ", ").append(where(unused.get(i)));
        if (unused.size() > 8) sb.append(", ... (").append(unused.size() - 8).append(" more)");
        throw new WeightsException(sb.toString());
    }

    private String where(String key) {
        Entry e = entries.get(key);
        return e == null ? key : e.file.path() + " [" + (e.fileKey.equals(key) ? key : e.fileKey + " = " + key) + "]";
    }

    /** " (did you mean ...?)" when a key differs only in its last component's neighbourhood, e.g. a prefix typo. */
    private String nearMiss(String key) {
        int dot = key.lastIndexOf('.');
        String tail = dot < 0 ? key : key.substring(dot);
        for (String k : entries.keySet())
            if (!used.contains(k) && k.endsWith(tail) && k.length() > tail.length()
                    && common(k, key) >= key.length() - tail.length() - 12)
                return " (the checkpoint has " + k + ")";
        return "";
    }

    private static int common(String a, String b) {
        int n = Math.min(a.length(), b.length()), i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) i++;
        return i;
    }

    /** The files' tensors, for tools that rewrite a checkpoint (all marked used). */
    public Map<String, Tensor> all() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var en : entries.entrySet()) {
            TensorInfo info = en.getValue().file.info(en.getValue().fileKey);
            m.put(en.getKey(), raw(en.getKey(), info.shape()));
        }
        return m;
    }
}
