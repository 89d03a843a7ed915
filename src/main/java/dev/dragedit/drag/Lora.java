package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.Attention;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Low-rank adapters on every UNet attention's to_q, to_k, to_v and to_out.0, as DragDiffusion's utils/lora_utils.py
 * (train_lora) sets them up through diffusers 0.24's LoRAAttnProcessor2_0: each projection W gets a
 * LoRALinearLayer, y = W·x (+ b) + s·up(down(x)) with down [r, in] ~ N(0, (1/r)²) and up [out, r] = 0 (so a fresh
 * adapter changes nothing), s = network_alpha / r when an alpha is given and 1 otherwise (DragDiffusion passes none).
 * The adapters hang on the loaded model through {@link Attention.ProjectionDelta} hooks ({@link #attach} /
 * {@link #detach}); the UNet's own weights are never copied or changed.
 */
public final class Lora {
    /** One adapter: the site it sits on, its two matrices and its scale. */
    public static final class Layer implements Attention.ProjectionDelta {
        public final String site;
        public final Attention attention;
        public final Attention.Projection projection;
        public final Tensor down, up;
        public final float scale;

        Layer(String site, Attention attention, Attention.Projection projection, Tensor down, Tensor up, float scale) {
            this.site = site;
            this.attention = attention;
            this.projection = projection;
            this.down = down;
            this.up = up;
            this.scale = scale;
        }

        /** LoRALinearLayer.forward: up(down(x)), times network_alpha / rank when an alpha was given. */
        @Override
        public Tensor apply(Functional f, Tensor x) {
            Tensor y = f.linear(f.linear(x, down, null), up, null);
            return scale == 1f ? y : f.scale(y, scale);
        }

        /** The processor attribute diffusers' LoRAAttnProcessor gives this projection's layer (to_q_lora, …, to_out_lora). */
        public String processorName() {
            return switch (projection) {
                case Q -> "to_q_lora";
                case K -> "to_k_lora";
                case V -> "to_v_lora";
                case OUT -> "to_out_lora";
            };
        }
    }

    private final UNet2DConditionModel unet;
    private final List<Layer> layers;
    public final int rank;
    /** network_alpha, or null for none (scale 1, DragDiffusion's setting). */
    public final Float alpha;

    private Lora(UNet2DConditionModel unet, List<Layer> layers, int rank, Float alpha) {
        this.unet = unet;
        this.layers = Collections.unmodifiableList(layers);
        this.rank = rank;
        this.alpha = alpha;
    }

    /**
     * Fresh adapters of the given rank on the four projections of every attention of the UNet (self and cross), with
     * LoRALinearLayer's initialisation drawn from a generator seeded with {@code seed} (Java's, not torch's stream:
     * the seed makes a run reproducible, it does not reproduce torch's numbers). Placed where the UNet computes.
     */
    public static Lora create(UNet2DConditionModel unet, int rank, Float alpha, long seed) {
        if (rank < 1) throw new IllegalArgumentException("LoRA: rank " + rank + " must be at least 1");
        if (alpha != null && !(alpha > 0f)) throw new IllegalArgumentException("LoRA: alpha " + alpha + " must be positive");
        Placement pl = unet.placement();
        SplittableRandom rng = new SplittableRandom(seed);
        float std = 1f / rank;   // nn.init.normal_(down.weight, std=1/rank)
        float scale = alpha == null ? 1f : alpha / rank;
        List<Layer> layers = new ArrayList<>();
        for (Attention.Site s : Attention.sites(unet)) {
            for (Attention.Projection p : Attention.Projection.values()) {
                int in = s.attention().inFeatures(p), out = s.attention().outFeatures(p);
                if (rank > Math.min(in, out))
                    throw new IllegalArgumentException("LoRA: rank " + rank + " exceeds min(in, out) = " + Math.min(in, out)
                            + " of " + s.name() + "." + p.key);
                float[] d = new float[rank * in];
                for (int i = 0; i < d.length; i++) d[i] = (float) (rng.nextGaussian() * std);
                Tensor down = pl.place(Tensor.of(d, rank, in));
                Tensor up = pl.place(Tensor.zeros(out, rank));   // nn.init.zeros_(up.weight)
                layers.add(new Layer(s.name(), s.attention(), p, down, up, scale));
            }
        }
        return new Lora(unet, layers, rank, alpha);
    }

    /** The UNet the adapters belong to. */
    public UNet2DConditionModel unet() { return unet; }

    /** Every adapter, in the UNet's forward order (site order, then q, k, v, out). */
    public List<Layer> layers() { return layers; }

    /** The trainable tensors: each layer's down then up. */
    public List<Tensor> parameters() {
        List<Tensor> out = new ArrayList<>();
        for (Layer l : layers) {
            out.add(l.down);
            out.add(l.up);
        }
        return out;
    }

    /** Hooks every adapter onto its projection (replacing whatever delta was there). */
    public void attach() {
        for (Layer l : layers) l.attention.setDelta(l.projection, l);
    }

    /** Removes the hooks this LoRA attached (leaves others' hooks alone). */
    public void detach() {
        for (Layer l : layers) if (l.attention.delta(l.projection) == l) l.attention.setDelta(l.projection, null);
    }

    public boolean attached() {
        for (Layer l : layers) if (l.attention.delta(l.projection) != l) return false;
        return true;
    }

    /**
     * The adapters under the names DragDiffusion's save_lora_weights writes (LoraLoaderMixin with AttnProcsLayers):
     * {@code unet.<site>.processor.<to_q_lora|to_k_lora|to_v_lora|to_out_lora>.<down|up>.weight}, as CPU tensors
     * (for {@link dev.dragedit.io.SafeTensors#write}).
     */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Layer l : layers) {
            String p = "unet." + l.site + ".processor." + l.processorName() + ".";
            m.put(p + "down.weight", l.down.onDevice() ? l.down.toCpu() : l.down.copy());
            m.put(p + "up.weight", l.up.onDevice() ? l.up.toCpu() : l.up.copy());
        }
        return m;
    }
}
