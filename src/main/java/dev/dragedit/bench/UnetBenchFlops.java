package dev.dragedit.bench;

import dev.dragedit.models.sd.UNetConfig;

import java.util.ArrayDeque;

/**
 * The arithmetic of one UNet forward, counted from its configuration the way ../shared/spec/sd15.md §7 counts it:
 * conv = 2·Ci·Co·k²·Ho·Wo, linear = 2·in·out·tokens, attention = 4·N·M·C (QKᵀ and PV; N queries, M keys, C the
 * total width over the heads). Norms, activations, softmax and the elementwise ops are not counted. The layer list
 * walked here is diffusers v0.24.0's UNet2DConditionModel (models/unet_2d_condition.py, unet_2d_blocks.py,
 * transformer_2d.py, attention.py) for SD1.x-shaped configs — the same structure {@code UNet2DConditionModel} of
 * this project builds — so it reproduces §7's SD1.5 table (803.3 GFLOP at 64², batch 1), and
 * {@code UnetBenchFlopsTest} checks it against the FLOPs the ops of a real forward perform.
 */
public final class UnetBenchFlops {
    /** FLOPs by kind; conv3 and conv1 split the convolutions by kernel size (3×3 versus 1×1) as §7 does. */
    public record Count(double conv3, double conv1, double linear, double attention) {
        public double conv() { return conv3 + conv1; }
        public double total() { return conv3 + conv1 + linear + attention; }
    }

    private double conv3, conv1, linear, attention;

    private UnetBenchFlops() {}

    /**
     * One forward of {@code cfg} on a [batch, in_channels, h, w] latent with a [batch, contextLength,
     * cross_attention_dim] text context (77 tokens for CLIP); h and w are multiples of 2^(blocks−1).
     */
    public static Count of(UNetConfig cfg, int batch, int h, int w, int contextLength) {
        UnetBenchFlops c = new UnetBenchFlops();
        c.walk(cfg, h, w, contextLength);
        return new Count(batch * c.conv3, batch * c.conv1, batch * c.linear, batch * c.attention);
    }

    private void walk(UNetConfig cfg, int h, int w, int m) {
        int[] boc = cfg.blockOutChannels;
        int n = boc.length;
        int t = cfg.timeEmbedDim;
        // time_embedding: linear_1 (c0 → T), linear_2 (T → T), one token per sample
        linear += 2.0 * boc[0] * t + 2.0 * t * t;
        conv(cfg.inChannels, boc[0], 3, h, w);                                  // conv_in

        // Down blocks: layers_per_block resnets (+ transformers), then a stride-2 conv except in the last block.
        ArrayDeque<Integer> skips = new ArrayDeque<>();                        // widths of the skip connections
        skips.push(boc[0]);
        int ch = boc[0];
        for (int i = 0; i < n; i++) {
            int out = boc[i];
            for (int l = 0; l < cfg.layersPerBlock[i]; l++) {
                resnet(l == 0 ? ch : out, out, t, h, w);
                if (cfg.downCrossAttn[i]) transformer(out, cfg.transformerLayers[i], cfg.crossAttentionDim, h, w, m);
                skips.push(out);
            }
            ch = out;
            if (i < n - 1) {
                h /= 2;
                w /= 2;
                conv(out, out, 3, h, w);                                        // Downsample2D conv, stride 2
                skips.push(out);
            }
        }

        // Mid block: resnet, transformer, resnet at the last width.
        int c = boc[n - 1];
        resnet(c, c, t, h, w);
        transformer(c, cfg.transformerLayers[n - 1], cfg.crossAttentionDim, h, w, m);
        resnet(c, c, t, h, w);

        // Up blocks: layers+1 resnets on [h, skip] (skips last-in first-out), then nearest 2× and a 3×3 conv.
        ch = c;
        for (int i = 0; i < n; i++) {
            int mirror = n - 1 - i;
            int out = boc[mirror];
            for (int l = 0; l < cfg.layersPerBlock[mirror] + 1; l++) {
                int skip = skips.pop();
                resnet(ch + skip, out, t, h, w);
                ch = out;
                if (cfg.upCrossAttn[i]) transformer(out, cfg.transformerLayers[mirror], cfg.crossAttentionDim, h, w, m);
            }
            if (i < n - 1) {
                h *= 2;
                w *= 2;
                conv(out, out, 3, h, w);                                        // Upsample2D conv after the upsampling
            }
        }
        conv(boc[0], cfg.outChannels, 3, h, w);                                 // conv_out
    }

    /** ResnetBlock2D: conv1, time_emb_proj (T → out, one token), conv2, and a 1×1 shortcut when the width changes. */
    private void resnet(int in, int out, int t, int h, int w) {
        conv(in, out, 3, h, w);
        linear += 2.0 * t * out;
        conv(out, out, 3, h, w);
        if (in != out) conv(in, out, 1, h, w);
    }

    /**
     * Transformer2DModel without linear projection: proj_in and proj_out are 1×1 convs; each BasicTransformerBlock
     * has self-attention (q, k, v, out: C → C over N tokens), cross-attention (q, out: C → C over N; k, v: D → C
     * over the M context tokens) and the GEGLU feed-forward (C → 2·4C, then 4C → C).
     */
    private void transformer(int ch, int layers, int ctxDim, int h, int w, int m) {
        double tokens = (double) h * w;
        conv(ch, ch, 1, h, w);
        for (int l = 0; l < layers; l++) {
            linear += 4 * 2.0 * ch * ch * tokens;                 // attn1 to_q, to_k, to_v, to_out.0
            attention += 4.0 * tokens * tokens * ch;
            linear += 2 * 2.0 * ch * ch * tokens;                 // attn2 to_q, to_out.0
            linear += 2 * 2.0 * ctxDim * ch * m;                  // attn2 to_k, to_v on the context
            attention += 4.0 * tokens * m * ch;
            linear += 2.0 * ch * (8.0 * ch) * tokens;             // ff.net.0.proj (GEGLU: value and gate)
            linear += 2.0 * (4.0 * ch) * ch * tokens;             // ff.net.2
        }
        conv(ch, ch, 1, h, w);
    }

    private void conv(int in, int out, int k, int ho, int wo) {
        double f = 2.0 * in * out * k * k * ho * wo;
        if (k == 1) conv1 += f; else conv3 += f;
    }
}
