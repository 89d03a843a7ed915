package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Conv2d;
import dev.dragedit.models.nn.GroupNorm;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.Weights;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Stable Diffusion 1.x denoising UNet: diffusers v0.24.0 UNet2DConditionModel (models/unet_2d_condition.py)
 * restricted to what SD1.x configs use, with DragDiffusion's override_forward (drag_pipeline.py) extension of
 * returning the up-block outputs and stopping after the last one needed.
 * <p>
 * forward: t_emb = sinusoid(t) (float32 recipe, {@link TimestepEmbedding#sinusoid}); emb = time_embedding(t_emb);
 * h = conv_in(sample), the first skip; each down block appends its layers' outputs (and its downsampler's) to the
 * skips; mid block; each up block concatenates [h, skip] (h first) before each resnet, taking the skips last-in
 * first-out; out = conv_out(SiLU(conv_norm_out(h))). Parameters carry the diffusers checkpoint keys (time_embedding,
 * conv_in, down_blocks.i, mid_block, up_blocks.i, conv_norm_out, conv_out).
 * <p>
 * Everything runs through {@link Functional}, so the same code computes on the CPU or a kernel device and records
 * the backward when {@code sample} requires a gradient (DragDiffusion optimises the latent through up-block features).
 */
public final class UNet2DConditionModel {
    /** Receives named intermediate results during a forward (the reference fixtures' names: t_emb, emb, conv_in_out, down_block_i_out, mid_block_out, up_block_i_out, out). */
    @FunctionalInterface
    public interface Probe {
        void accept(String name, Tensor value);
    }

    public final UNetConfig config;
    private final Placement placement;
    final TimestepEmbedding timeEmbedding;
    final Conv2d convIn, convOut;
    final GroupNorm convNormOut;
    final List<DownBlock2D> downBlocks = new ArrayList<>();
    final UNetMidBlock2DCrossAttn midBlock;
    final List<UpBlock2D> upBlocks = new ArrayList<>();

    public UNet2DConditionModel(UNetConfig cfg, ParamSource p) {
        this.config = cfg;
        this.placement = p.placement();
        int[] boc = cfg.blockOutChannels;
        int n = boc.length;
        timeEmbedding = new TimestepEmbedding(p.sub("time_embedding"), boc[0], cfg.timeEmbedDim);
        convIn = new Conv2d(p.sub("conv_in"), cfg.inChannels, boc[0], 3, 1, 1);

        int outCh = boc[0];
        for (int i = 0; i < n; i++) {
            int inCh = outCh;
            outCh = boc[i];
            downBlocks.add(new DownBlock2D(p.sub("down_blocks").sub(Integer.toString(i)), cfg, i, inCh, outCh,
                    cfg.downCrossAttn[i], i < n - 1));
        }
        midBlock = new UNetMidBlock2DCrossAttn(p.sub("mid_block"), cfg, boc[n - 1]);

        // Up block i mirrors down block n−1−i (diffusers' reversed lists); its resnets' skip widths follow from that.
        outCh = boc[n - 1];
        for (int i = 0; i < n; i++) {
            int mirror = n - 1 - i;
            int prevOut = outCh;
            outCh = boc[mirror];
            int inCh = boc[Math.max(mirror - 1, 0)];
            upBlocks.add(new UpBlock2D(p.sub("up_blocks").sub(Integer.toString(i)), cfg, cfg.layersPerBlock[mirror] + 1,
                    cfg.heads[mirror], cfg.transformerLayers[mirror], inCh, prevOut, outCh, cfg.upCrossAttn[i], i < n - 1));
        }
        convNormOut = new GroupNorm(p.sub("conv_norm_out"), cfg.normNumGroups, boc[0], cfg.normEps);
        convOut = new Conv2d(p.sub("conv_out"), boc[0], cfg.outChannels, 3, 1, 1);
    }

    /** Where the weights live (inputs must be placed there too: {@link Placement#input}). */
    public Placement placement() { return placement; }

    /**
     * A diffusers {@code unet/} folder: config.json plus diffusion_pytorch_model.safetensors, or
     * diffusion_pytorch_model.fp16.safetensors for variant "fp16" (any other variant name v selects
     * diffusion_pytorch_model.v.safetensors). Strict: every tensor must be used with its declared shape.
     */
    public static UNet2DConditionModel load(Path dir, Placement placement, String variant) {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile))
            throw new WeightsException("UNet: " + dir + " has no config.json (expected a diffusers unet/ folder)");
        UNetConfig cfg = UNetConfig.from(ModelConfig.read(cfgFile));
        String name = "diffusion_pytorch_model" + (variant == null || variant.isEmpty() ? "" : "." + variant) + ".safetensors";
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file)) {
            String hint = "";
            if (Files.isRegularFile(dir.resolve(name.replace(".safetensors", ".bin"))))
                hint = " (only a PyTorch .bin is there; convert it to safetensors first)";
            else if (variant == null && Files.isRegularFile(dir.resolve("diffusion_pytorch_model.fp16.safetensors")))
                hint = " (there is a diffusion_pytorch_model.fp16.safetensors: ask for the fp16 variant)";
            throw new WeightsException("UNet: " + file + " does not exist" + hint);
        }
        Weights w = Weights.open(placement, file);
        UNet2DConditionModel m = new UNet2DConditionModel(cfg, w);
        w.finish();
        return m;
    }

    /** The full forward: ε prediction [B, out_channels, H, W] plus every up block's output. */
    public UNetOutput forward(Functional f, Tensor sample, float timestep, Tensor encoderHiddenStates) {
        return forward(f, sample, timestep, encoderHiddenStates, -1, null);
    }

    /**
     * sample [B, in_channels, H, W] (H and W multiples of 2^(blocks−1)), one timestep for the whole batch,
     * encoderHiddenStates [B, M, cross_attention_dim]. lastUpBlock = −1 runs everything; k ≥ 0 stops after
     * up_blocks[k] and returns out = null (DragDiffusion needs only the features up to its deepest chosen block).
     */
    public UNetOutput forward(Functional f, Tensor sample, float timestep, Tensor encoderHiddenStates, int lastUpBlock) {
        return forward(f, sample, timestep, encoderHiddenStates, lastUpBlock, null);
    }

    /** As {@link #forward(Functional, Tensor, float, Tensor, int)}, reporting intermediate results to probe (may be null). */
    public UNetOutput forward(Functional f, Tensor sample, float timestep, Tensor encoderHiddenStates, int lastUpBlock, Probe probe) {
        checkInputs(sample, encoderHiddenStates, lastUpBlock);
        int batch = sample.dim(0);
        int c0 = config.blockOutChannels[0];

        Tensor tEmb = placement.input(Tensor.of(TimestepEmbedding.sinusoid(timestep, c0, config.flipSinToCos,
                config.freqShift, batch), batch, c0));
        report(probe, "t_emb", tEmb);
        Tensor emb = timeEmbedding.forward(f, tEmb);
        report(probe, "emb", emb);

        Tensor h = convIn.forward(f, sample);
        report(probe, "conv_in_out", h);
        List<Tensor> skips = new ArrayList<>();
        skips.add(h);
        for (int i = 0; i < downBlocks.size(); i++) {
            h = downBlocks.get(i).forward(f, h, emb, encoderHiddenStates, skips);
            report(probe, "down_block_" + i + "_out", h);
        }
        h = midBlock.forward(f, h, emb, encoderHiddenStates);
        report(probe, "mid_block_out", h);

        int stop = lastUpBlock < 0 ? upBlocks.size() - 1 : lastUpBlock;
        List<Tensor> ups = new ArrayList<>();
        for (int i = 0; i <= stop; i++) {
            h = upBlocks.get(i).forward(f, h, emb, encoderHiddenStates, skips);
            report(probe, "up_block_" + i + "_out", h);
            ups.add(h);
        }
        if (lastUpBlock >= 0) return new UNetOutput(null, ups);

        Tensor out = convOut.forward(f, f.silu(convNormOut.forward(f, h)));
        report(probe, "out", out);
        return new UNetOutput(out, ups);
    }

    private static void report(Probe probe, String name, Tensor t) {
        if (probe != null) probe.accept(name, t);
    }

    private void checkInputs(Tensor sample, Tensor ctx, int lastUpBlock) {
        int[] s = sample.shape();
        int factor = 1 << (config.numBlocks() - 1);
        if (s.length != 4 || s[1] != config.inChannels)
            throw new IllegalArgumentException("UNet: sample has shape " + Arrays.toString(s) + ", expected [B, "
                    + config.inChannels + ", H, W]");
        if (s[2] % factor != 0 || s[3] % factor != 0 || s[2] == 0 || s[3] == 0)
            throw new IllegalArgumentException("UNet: sample is " + s[2] + "×" + s[3] + "; height and width must be positive multiples of "
                    + factor + " (the UNet halves them " + (config.numBlocks() - 1) + " times)");
        int[] c = ctx.shape();
        if (c.length != 3 || c[0] != s[0] || c[2] != config.crossAttentionDim)
            throw new IllegalArgumentException("UNet: encoder_hidden_states has shape " + Arrays.toString(c) + ", expected ["
                    + s[0] + ", tokens, " + config.crossAttentionDim + "] (batch of the sample, cross_attention_dim)");
        if (lastUpBlock < -1 || lastUpBlock >= upBlocks.size())
            throw new IllegalArgumentException("UNet: lastUpBlock " + lastUpBlock + " is not −1 or an up block index 0.." + (upBlocks.size() - 1));
        if (sample.onDevice() != placement.onDevice() || ctx.onDevice() != placement.onDevice())
            throw new IllegalArgumentException("UNet: the weights are on " + placement + " but sample/encoder_hidden_states are "
                    + (sample.onDevice() ? "on a device" : "on the CPU") + "/" + (ctx.onDevice() ? "on a device" : "on the CPU")
                    + "; place inputs with placement().input(t)");
    }
}
