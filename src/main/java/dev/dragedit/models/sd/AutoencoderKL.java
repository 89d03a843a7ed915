package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Conv2d;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.Weights;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Stable Diffusion's VAE: diffusers v0.24.0 {@code AutoencoderKL} (models/autoencoders/autoencoder_kl.py), without
 * tiling or slicing:
 * <pre>encode(x) = Posterior(moments[:, :L], clamp(moments[:, L:], −30, 20)), moments = quant_conv(encoder(x))
 * decode(z) = decoder(post_quant_conv(z))</pre>
 * quant_conv (2L → 2L) and post_quant_conv (L → L) are 1×1 convs. Neither encode nor decode applies
 * {@link #scalingFactor()}: as in diffusers, the caller multiplies the posterior mean by it to get the diffusion latent
 * and divides by it before decoding (DragDiffusion's image2latent / latent2image).
 * Parameters are declared with the diffusers keys (encoder.*, decoder.*, quant_conv, post_quant_conv); checkpoints
 * with the older attention names load through {@link VaeKeys}.
 */
public final class AutoencoderKL {
    public final VaeConfig config;
    public final VaeEncoder encoder;
    public final VaeDecoder decoder;
    final Conv2d quantConv, postQuantConv;
    private final Placement placement;

    public AutoencoderKL(VaeConfig config, ParamSource p) {
        this.config = config;
        this.placement = p.placement();
        int l = config.latentChannels();
        encoder = new VaeEncoder(config, p.sub("encoder"));
        decoder = new VaeDecoder(config, p.sub("decoder"));
        quantConv = config.useQuantConv() ? new Conv2d(p.sub("quant_conv"), 2 * l, 2 * l, 1, 1, 0) : null;
        postQuantConv = config.usePostQuantConv() ? new Conv2d(p.sub("post_quant_conv"), l, l, 1, 1, 0) : null;
    }

    /** The file name diffusers gives the VAE weights of a variant (null: the default F32 file). */
    public static String weightsFileName(String variant) {
        if (variant == null || variant.isEmpty()) return "diffusion_pytorch_model.safetensors";
        if (!variant.matches("[A-Za-z0-9_-]+"))
            throw new IllegalArgumentException("weights variant \"" + variant + "\": expected a name such as fp16");
        return "diffusion_pytorch_model." + variant + ".safetensors";
    }

    /**
     * A diffusers vae/ folder: config.json and diffusion_pytorch_model[.variant].safetensors, loaded strictly (every
     * tensor must exist with the shape the config implies, and every tensor of the file must be used).
     */
    public static AutoencoderKL load(Path dir, Placement placement, String variant) {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) {
            String hint = Files.isRegularFile(dir.resolve("vae").resolve("config.json"))
                    ? " (this looks like a pipeline folder: the VAE is in " + dir.resolve("vae") + ")" : "";
            throw new WeightsException("VAE: " + cfgFile + " not found; a diffusers VAE folder holds config.json and "
                    + weightsFileName(variant) + hint);
        }
        VaeConfig cfg = VaeConfig.from(ModelConfig.read(cfgFile));
        Path file = dir.resolve(weightsFileName(variant));
        if (!Files.isRegularFile(file)) {
            StringBuilder msg = new StringBuilder("VAE: weights file " + file + " not found");
            Path plain = dir.resolve(weightsFileName(null)), fp16 = dir.resolve(weightsFileName("fp16"));
            if (variant != null && Files.isRegularFile(plain)) msg.append("; the folder has the default variant ").append(plain.getFileName());
            else if (variant == null && Files.isRegularFile(fp16)) msg.append("; the folder has only the fp16 variant (").append(fp16.getFileName()).append(")");
            else if (Files.isRegularFile(dir.resolve("diffusion_pytorch_model" + (variant == null ? "" : "." + variant) + ".bin")))
                msg.append("; the folder holds PyTorch .bin weights, which are not read directly: convert them to safetensors");
            throw new WeightsException(msg.toString());
        }
        Weights w = Weights.open(placement, VaeKeys::canonical, file);
        AutoencoderKL vae = new AutoencoderKL(cfg, w);
        w.finish();
        return vae;
    }

    /** Where the weights live; inputs go there with {@code placement().input(t)}. */
    public Placement placement() { return placement; }

    /** A Functional over this model's op set. */
    public Functional functional() { return new Functional(placement.ops()); }

    /** The factor between the posterior mean and the diffusion latent (config scaling_factor, 0.18215 for SD1.x). */
    public float scalingFactor() { return config.scalingFactor(); }

    /** x [B, in_channels, H, W] in [−1, 1] → the posterior over the latent [B, latent_channels, H/8, W/8] (SD1.5). */
    public Posterior encode(Functional f, Tensor x) {
        return posterior(f, moments(f, encoder.forward(f, x)));
    }

    /** quant_conv(encoder output): [B, 2L, h, w] (the identity when the config disables quant_conv). */
    public Tensor moments(Functional f, Tensor encoderOut) {
        return quantConv == null ? encoderOut : quantConv.forward(f, encoderOut);
    }

    /** mean = moments[:, :L], logvar = clamp(moments[:, L:], −30, 20) (DiagonalGaussianDistribution). */
    public Posterior posterior(Functional f, Tensor moments) {
        int l = config.latentChannels();
        if (moments.rank() != 4 || moments.dim(1) != 2 * l)
            throw new IllegalArgumentException("VAE posterior: moments have shape " + Arrays.toString(moments.shape())
                    + ", expected [batch, " + 2 * l + ", height, width]");
        Tensor mean = f.slice(moments, 1, 0, l);
        Tensor logvar = f.clamp(f.slice(moments, 1, l, 2 * l), -30f, 20f);
        return new Posterior(mean, logvar);
    }

    /** post_quant_conv(z), the first operation of decode (the identity when the config disables it). */
    public Tensor postQuantConv(Functional f, Tensor z) {
        if (z.rank() != 4 || z.dim(1) != config.latentChannels())
            throw new IllegalArgumentException("VAE decode: latent has shape " + Arrays.toString(z.shape())
                    + ", expected [batch, " + config.latentChannels() + ", height, width]");
        return postQuantConv == null ? z : postQuantConv.forward(f, z);
    }

    /** z [B, latent_channels, h, w] (unscaled: latent / scalingFactor) → image [B, out_channels, 8h, 8w] in about [−1, 1]. */
    public Tensor decode(Functional f, Tensor z) {
        return decoder.forward(f, postQuantConv(f, z));
    }

    /**
     * The mid block of encoder and decoder: diffusers v0.24.0 UNetMidBlock2D (models/unets/unet_2d_blocks.py) with one
     * layer, no time embedding: resnets.0 → attentions.0 → resnets.1 (the attention is skipped when the config sets
     * mid_block_add_attention = false, a key of later diffusers versions).
     */
    static final class MidBlock {
        final ResnetBlock2D r0, r1;
        final VaeAttention attn;

        MidBlock(ParamSource p, int channels, int groups, float eps, boolean addAttention) {
            r0 = new ResnetBlock2D(p.sub("resnets.0"), channels, channels, 0, groups, eps);
            attn = addAttention ? new VaeAttention(p.sub("attentions.0"), channels, groups, eps) : null;
            r1 = new ResnetBlock2D(p.sub("resnets.1"), channels, channels, 0, groups, eps);
        }

        Tensor forward(Functional f, Tensor x) {
            Tensor h = r0.forward(f, x, null);
            if (attn != null) h = attn.forward(f, h);
            return r1.forward(f, h, null);
        }
    }
}
