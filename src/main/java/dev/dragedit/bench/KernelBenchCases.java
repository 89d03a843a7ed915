package dev.dragedit.bench;

import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.cuda.ops.CudaMatmul;
import dev.dragedit.cuda.ops.CudaOps;
import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The op invocations {@code dragedit bench kernels} times, through {@link CudaOps}: the layers of Stable Diffusion 1.5
 * at a 512² image (latent 64², batch 1; ../shared/spec/sd15.md §1 UNet, §2 VAE), forward and backward (DragDiffusion
 * backpropagates through the UNet), and for the kernels no SD1.5 layer uses (StyleGAN2 modulated conv, upfirdn2d,
 * bias_act, grid sample, bilinear resize, losses, Adam, pad, permute, cast…) DragGAN-like shapes
 * (../shared/spec/draggan.md: 512 channels at 64², 256 at 128², features [1, 256, 256, 256]). Together they launch
 * every kernel entry point; KernelBenchCommandTest fails when a new kernel is launched by none of them.
 *
 * <p>Work is counted as sd15.md §7 does: conv 2·Ci·Co·k²·Ho·Wo, linear 2·in·out·tokens, attention 4·N·M·C (QKᵀ and
 * PV), matmul 2·M·N·K; a backward that yields both the input and the weight gradient counts twice the forward, the
 * attention backward 2.5 times (the five products PᵀdO, dO·Vᵀ, dS·K, dSᵀ·Q and the recomputed QKᵀ). Cases with no
 * FLOP count (norms, element-wise, shape ops…) are bounded by memory traffic: the bytes of their inputs and outputs,
 * each once (counted by the runner from the tensors). The {@link Shapes#TINY} set keeps every case but shrinks the
 * sizes so the emulation runs the whole list in seconds.
 */
final class KernelBenchCases {
    private KernelBenchCases() {}

    /** Sizes of one shape set; TINY keeps the structure (32 GroupNorm groups, heads, odd context length) at toy size. */
    record Shapes(String name, int lat, int c1, int c2, int c3, int heads, int ctxLen, int ctxDim, int tembIn, int temb,
                  int vaeSmallC, int vaeImg, int vaeBigC, int vaeLat, int sgC, int sgRes, int sgC2, int sgRes2,
                  int featC, int featRes, int gridSide) {
        static final Shapes SD15_512 = new Shapes("sd15-512", 64, 320, 640, 1280, 8, 77, 768, 320, 1280,
                128, 512, 512, 64, 512, 64, 256, 128, 256, 256, 64);
        static final Shapes TINY = new Shapes("tiny", 8, 32, 64, 64, 2, 7, 24, 32, 64,
                32, 16, 64, 8, 32, 8, 32, 16, 16, 16, 8);

        static final List<Shapes> ALL = List.of(SD15_512, TINY);

        static Shapes named(String name) {
            for (Shapes s : ALL) if (s.name.equals(name)) return s;
            return null;
        }

        static List<String> names() { return ALL.stream().map(Shapes::name).toList(); }
    }

    /** The op call timed as one repeat; returns its outputs (a Tensor, Tensor[] or null), released after each run. */
    @FunctionalInterface
    interface Body { Object run(); }

    /** Makes the case's inputs (through {@link Inputs}, which owns them) and returns the body that uses them. */
    @FunctionalInterface
    interface Setup { Body prepare(Inputs in); }

    /** One benchmarked op invocation; {@code flops} 0 means memory-bound (reported in GB/s). */
    record Case(String name, double flops, Setup setup) {}

    /**
     * The inputs of a case on the device, random (fixed seed) and of the run's dtype unless asked for F32; they are
     * released when the case ends. Records their shapes and bytes for the report.
     */
    static final class Inputs implements AutoCloseable {
        final KernelDevice dev;
        final DType dtype;
        private final Random random = new Random(20240521);
        private final List<Tensor> owned = new ArrayList<>();
        private final List<String> shapes = new ArrayList<>();
        private long bytes;

        Inputs(KernelDevice dev, DType dtype) {
            this.dev = dev;
            this.dtype = dtype;
        }

        /** Standard normal values, in the run's dtype. */
        Tensor x(int... shape) { return make(dtype, -1, 1, true, shape); }

        /** Uniform values in [lo, hi), in the run's dtype. */
        Tensor uniform(float lo, float hi, int... shape) { return make(dtype, lo, hi, false, shape); }

        /** Standard normal values in F32 (for ops whose argument is F32 whatever the storage dtype). */
        Tensor f32(int... shape) { return make(DType.F32, -1, 1, true, shape); }

        /** Takes ownership of an input made otherwise (a constant filter). */
        Tensor own(Tensor t) {
            owned.add(t);
            shapes.add(t.dtype().name().toLowerCase(Locale.ROOT) + Arrays.toString(t.shape()).replace(" ", ""));
            bytes += t.sizeBytes();
            return t;
        }

        /** Bytes the op moves beyond its inputs and returned outputs (an in-place update's writes). */
        void written(long b) { bytes += b; }

        long bytes() { return bytes; }

        List<String> shapes() { return List.copyOf(shapes); }

        private Tensor make(DType dt, float lo, float hi, boolean normal, int... shape) {
            float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
            for (int i = 0; i < v.length; i++) v[i] = normal ? (float) random.nextGaussian() : lo + (hi - lo) * random.nextFloat();
            return own(Tensor.of(v, shape).toDevice(dev, dt));
        }

        @Override public void close() {
            for (Tensor t : owned) t.release();
            owned.clear();
        }
    }

    private static final CudaOps OPS = CudaOps.INSTANCE;

    static List<Case> all(Shapes s) {
        List<Case> cs = new ArrayList<>();
        unet(cs, s);
        vae(cs, s);
        elementwise(cs, s);
        dragGan(cs, s);
        return cs;
    }

    // ------------------------------------------------------------------ SD 1.5 UNet

    private static void unet(List<Case> cs, Shapes s) {
        int l = s.lat;
        // 3×3 convs of the resnets at each level, the 1×1 convs (transformer proj_in/out, resnet shortcut), conv_in/out
        conv(cs, "unet.conv3x3.c" + s.c1 + "@" + l, s.c1, s.c1, l, 3, 1);
        conv(cs, "unet.conv3x3.c" + s.c2 + "@" + l / 2, s.c2, s.c2, l / 2, 3, 1);
        conv(cs, "unet.conv3x3.c" + s.c3 + "@" + l / 4, s.c3, s.c3, l / 4, 3, 1);
        conv(cs, "unet.conv3x3.c" + s.c3 + "@" + l / 8, s.c3, s.c3, l / 8, 3, 1);
        conv(cs, "unet.conv1x1.proj.c" + s.c1 + "@" + l, s.c1, s.c1, l, 1, 1);
        conv(cs, "unet.conv1x1.shortcut." + 2 * s.c1 + "to" + s.c1 + "@" + l, 2 * s.c1, s.c1, l, 1, 1);
        conv(cs, "unet.conv_in.4to" + s.c1 + "@" + l, 4, s.c1, l, 3, 1);
        conv(cs, "unet.conv_out." + s.c1 + "to4@" + l, s.c1, 4, l, 3, 1);
        conv(cs, "unet.down.c" + s.c1 + "@" + l + "s2", s.c1, s.c1, l, 3, 2);

        groupNorm(cs, "unet.groupnorm.c" + s.c1 + "@" + l, s.c1, l);
        groupNorm(cs, "unet.groupnorm.c" + s.c2 + "@" + l / 2, s.c2, l / 2);
        groupNorm(cs, "unet.groupnorm.c" + s.c3 + "@" + l / 4, s.c3, l / 4);
        groupNorm(cs, "unet.groupnorm.c" + s.c3 + "@" + l / 8, s.c3, l / 8);

        int tokens = l * l;
        layerNorm(cs, "unet.layernorm." + tokens + "x" + s.c1, tokens, s.c1);
        layerNorm(cs, "unet.layernorm." + tokens / 16 + "x" + s.c3, tokens / 16, s.c3);

        linear(cs, "unet.attn.qkvo." + tokens + "x" + s.c1, tokens, s.c1, s.c1, true);
        linear(cs, "unet.attn2.kv." + s.ctxLen + "x" + s.ctxDim + "to" + s.c1, s.ctxLen, s.ctxDim, s.c1, false);
        linear(cs, "unet.ff.proj." + tokens + "x" + s.c1 + "to" + 8 * s.c1, tokens, s.c1, 8 * s.c1, true);
        linear(cs, "unet.ff.out." + tokens + "x" + 4 * s.c1 + "to" + s.c1, tokens, 4 * s.c1, s.c1, true);
        linear(cs, "unet.temb.l1." + s.tembIn + "to" + s.temb, 1, s.tembIn, s.temb, true);
        linear(cs, "unet.temb.l2." + s.temb + "to" + s.temb, 1, s.temb, s.temb, true);
        linear(cs, "unet.resnet.temb." + s.temb + "to" + s.c1, 1, s.temb, s.c1, true);

        cs.add(new Case("unet.geglu." + tokens + "x" + 8 * s.c1 + ".fwd", 0, in -> {
            Tensor x = in.x(tokens, 8 * s.c1);
            return () -> OPS.geglu(x);
        }));
        cs.add(new Case("unet.geglu." + tokens + "x" + 8 * s.c1 + ".bwd", 0, in -> {
            Tensor gy = in.x(tokens, 4 * s.c1), x = in.x(tokens, 8 * s.c1);
            return () -> OPS.gegluBackward(gy, x);
        }));

        // attention: heads × tokens × d, self at three levels, cross against the 77-token context
        attention(cs, "unet.attn1." + s.heads + "x" + tokens + "xd" + s.c1 / s.heads, s.heads, tokens, tokens, s.c1 / s.heads);
        attention(cs, "unet.attn2." + s.heads + "x" + tokens + "x" + s.ctxLen + "xd" + s.c1 / s.heads, s.heads, tokens, s.ctxLen, s.c1 / s.heads);
        attention(cs, "unet.attn1." + s.heads + "x" + tokens / 4 + "xd" + s.c2 / s.heads, s.heads, tokens / 4, tokens / 4, s.c2 / s.heads);
        attention(cs, "unet.attn1." + s.heads + "x" + tokens / 16 + "xd" + s.c3 / s.heads, s.heads, tokens / 16, tokens / 16, s.c3 / s.heads);

        // upsample 2× ([640, 32²] → 64² in up2), the skip concat of up3 and its backward (a slice)
        cs.add(new Case("unet.upsample2x.c" + s.c2 + "@" + l / 2 + ".fwd", 0, in -> {
            Tensor x = in.x(1, s.c2, l / 2, l / 2);
            return () -> OPS.upsampleNearest2x(x);
        }));
        cs.add(new Case("unet.upsample2x.c" + s.c2 + "@" + l / 2 + ".bwd", 0, in -> {
            Tensor gy = in.x(1, s.c2, l, l);
            return () -> OPS.upsampleNearest2xBackward(gy);
        }));
        cs.add(new Case("unet.concat.skip.2x" + s.c1 + "@" + l + ".fwd", 0, in -> {
            Tensor a = in.x(1, s.c1, l, l), b = in.x(1, s.c1, l, l);
            return () -> OPS.concat(new Tensor[]{a, b}, 1);
        }));
        cs.add(new Case("unet.concat.skip.2x" + s.c1 + "@" + l + ".bwd", 0, in -> {
            Tensor gy = in.x(1, 2 * s.c1, l, l);
            return () -> OPS.slice(gy, 1, s.c1, 2 * s.c1);
        }));
        cs.add(new Case("unet.slice.bwd." + s.c1 + "of" + 2 * s.c1 + "@" + l, 0, in -> {
            Tensor gy = in.x(1, s.c1, l, l);
            return () -> OPS.sliceBackward(gy, new int[]{1, 2 * s.c1, l, l}, 1, 0, s.c1);
        }));
        // NCHW → tokens [1, HW, C] and the head split [1, HW, heads, d] → [1, heads, HW, d]
        cs.add(new Case("unet.permute.nchw-to-tokens.c" + s.c1 + "@" + l, 0, in -> {
            Tensor x = in.x(1, s.c1, l, l);
            return () -> OPS.permute(x, new int[]{0, 2, 3, 1});
        }));
        cs.add(new Case("unet.permute.heads." + tokens + "x" + s.heads + "x" + s.c1 / s.heads, 0, in -> {
            Tensor x = in.x(1, tokens, s.heads, s.c1 / s.heads);
            return () -> OPS.permute(x, new int[]{0, 2, 1, 3});
        }));
        // the temb broadcast of a resnet: its gradient sums gy over H, W
        cs.add(new Case("unet.sumto.temb.c" + s.c1 + "@" + l, 0, in -> {
            Tensor gy = in.x(1, s.c1, l, l);
            return () -> OPS.sumTo(gy, new int[]{1, s.c1, 1, 1});
        }));
        cs.add(new Case("unet.expand.temb.c" + s.c1 + "@" + l, 0, in -> {
            Tensor t = in.x(1, s.c1, 1, 1);
            return () -> OPS.expand(t, new int[]{1, s.c1, l, l});
        }));
        cs.add(new Case("unet.add.temb-broadcast.c" + s.c1 + "@" + l, 0, in -> {
            Tensor h = in.x(1, s.c1, l, l), t = in.x(1, s.c1, 1, 1);
            return () -> OPS.add(h, t);
        }));
        // reductions along the last dim (short rows: one warp each), over everything (long rows), over channels (middle)
        cs.add(new Case("reduce.mean.rows." + tokens + "x" + s.c1, 0, in -> {
            Tensor x = in.x(tokens, s.c1);
            return () -> OPS.mean(x, new int[]{1}, false);
        }));
        cs.add(new Case("reduce.sum.all.c" + s.c1 + "@" + l, 0, in -> {
            Tensor x = in.x(1, s.c1, l, l);
            return () -> OPS.sum(x, new int[]{0, 1, 2, 3}, false);
        }));
        cs.add(new Case("reduce.mean.channels.c" + s.c1 + "@" + l, 0, in -> {
            Tensor x = in.x(1, s.c1, l, l);
            return () -> OPS.mean(x, new int[]{1}, true);
        }));
    }

    // ------------------------------------------------------------------ SD 1.5 VAE

    private static void vae(List<Case> cs, Shapes s) {
        conv(cs, "vae.conv3x3.c" + s.vaeSmallC + "@" + s.vaeImg, s.vaeSmallC, s.vaeSmallC, s.vaeImg, 3, 1);
        conv(cs, "vae.conv3x3.c" + s.vaeBigC + "@" + s.vaeLat, s.vaeBigC, s.vaeBigC, s.vaeLat, 3, 1);
        groupNorm(cs, "vae.groupnorm.c" + s.vaeSmallC + "@" + s.vaeImg, s.vaeSmallC, s.vaeImg);
        groupNorm(cs, "vae.groupnorm.c" + s.vaeBigC + "@" + s.vaeLat, s.vaeBigC, s.vaeLat);
        // the encoder's downsample pads right and bottom by one before its stride-2 conv
        cs.add(new Case("vae.pad.down.c" + s.vaeSmallC + "@" + s.vaeImg + ".fwd", 0, in -> {
            Tensor x = in.x(1, s.vaeSmallC, s.vaeImg, s.vaeImg);
            return () -> OPS.pad(x, new int[]{0, 1, 0, 1}, 0f);
        }));
        cs.add(new Case("vae.pad.down.c" + s.vaeSmallC + "@" + s.vaeImg + ".bwd", 0, in -> {
            Tensor gy = in.x(1, s.vaeSmallC, s.vaeImg + 1, s.vaeImg + 1);
            return () -> OPS.padBackward(gy, new int[]{0, 1, 0, 1});
        }));
        // single-head attention with d = 512 (more than the flash kernels hold): scores, softmax and P·V as matmuls
        int n = s.vaeLat * s.vaeLat, d = s.vaeBigC;
        cs.add(new Case("vae.attn.scores." + n + "x" + n + "xd" + d, 2.0 * n * n * d, in -> {
            Tensor q = in.x(n, d), k = in.x(n, d);
            return () -> OPS.matmul(q, k, false, true);
        }));
        cs.add(new Case("vae.attn.softmax." + n + "x" + n + ".fwd", 0, in -> {
            Tensor x = in.x(n, n);
            return () -> OPS.softmax(x);
        }));
        cs.add(new Case("vae.attn.softmax." + n + "x" + n + ".bwd", 0, in -> {
            Tensor gy = in.x(n, n), y = in.uniform(0f, 2f / n, n, n);
            return () -> OPS.softmaxBackward(gy, y);
        }));
        cs.add(new Case("vae.attn.pv." + n + "x" + n + "xd" + d, 2.0 * n * n * d, in -> {
            Tensor p = in.uniform(0f, 2f / n, n, n), v = in.x(n, d);
            return () -> OPS.matmul(p, v, false, false);
        }));
        // the same attention through the op (head dim > 160: CudaAttention composes it from GEMMs and softmax), and a
        // causal one on that path (the CLIP text encoder's mask at a head dim the fused kernels do not hold)
        attention(cs, "vae.attn.op.1x" + n + "xd" + d, 1, n, n, d);
        attention(cs, "composed.attn.causal.1x77xd192", 1, 77, 77, 192, true);
        // the decoder output: image = clamp(out/2 + 0.5, 0, 1)
        int img = s.vaeImg;
        cs.add(new Case("vae.out.affine.3@" + img, 0, in -> {
            Tensor x = in.x(1, 3, img, img);
            return () -> OPS.affine(x, 0.5f, 0.5f);
        }));
        cs.add(new Case("vae.out.clamp.3@" + img + ".fwd", 0, in -> {
            Tensor x = in.x(1, 3, img, img);
            return () -> OPS.clamp(x, 0f, 1f);
        }));
        cs.add(new Case("vae.out.clamp.3@" + img + ".bwd", 0, in -> {
            Tensor gy = in.x(1, 3, img, img), x = in.x(1, 3, img, img);
            return () -> OPS.clampBackward(gy, x, 0f, 1f);
        }));
    }

    // ------------------------------------------------------------------ element-wise at the UNet's largest activation

    private static void elementwise(List<Case> cs, Shapes s) {
        int c = s.c1, l = s.lat;
        String at = ".c" + c + "@" + l;
        for (Unary f : new Unary[]{Unary.SILU, Unary.GELU}) {
            String name = f.name().toLowerCase(Locale.ROOT);
            cs.add(new Case("unary." + name + at + ".fwd", 0, in -> {
                Tensor x = in.x(1, c, l, l);
                return () -> OPS.unary(f, x);
            }));
            cs.add(new Case("unary." + name + at + ".bwd", 0, in -> {
                Tensor gy = in.x(1, c, l, l), x = in.x(1, c, l, l);
                return () -> OPS.unaryBackward(f, gy, x);
            }));
        }
        cs.add(new Case("binary.add.residual" + at, 0, in -> {
            Tensor a = in.x(1, c, l, l), b = in.x(1, c, l, l);
            return () -> OPS.add(a, b);
        }));
        // DDIM and guidance arithmetic on the latent [1, 4, 64, 64] is too small to time; these use the activation size
        cs.add(new Case("binary.sub" + at, 0, in -> {
            Tensor a = in.x(1, c, l, l), b = in.x(1, c, l, l);
            return () -> OPS.sub(a, b);
        }));
        cs.add(new Case("binary.mul" + at, 0, in -> {
            Tensor a = in.x(1, c, l, l), b = in.x(1, c, l, l);
            return () -> OPS.mul(a, b);
        }));
        cs.add(new Case("binary.div" + at, 0, in -> {
            Tensor a = in.x(1, c, l, l), b = in.uniform(0.5f, 2f, 1, c, l, l);
            return () -> OPS.div(a, b);
        }));
        // device casts between the storage dtypes, from the run's dtype to each other one
        for (DType to : new DType[]{DType.F32, DType.F16, DType.BF16}) {
            String name = to.name().toLowerCase(Locale.ROOT);
            cs.add(new Case("cast.to-" + name + at, 0, in -> {
                if (in.dtype == to) return null;   // no conversion to time
                Tensor x = in.x(1, c, l, l);
                return () -> CudaOps.cast(x, to);
            }));
        }
        // a weight gradient accumulated in F32 over token tiles: dW [c, c] += gyᵀ · x (the 16-bit GEMM with F32 result)
        int tokens = l * l;
        cs.add(new Case("gemm.acc-f32.dW." + tokens + "x" + c + "x" + c, 2.0 * tokens * c * c, in -> {
            Tensor gy = in.x(tokens, c), x = in.x(tokens, c), dw = in.f32(c, c);
            KernelDevice dev = in.dev;
            in.written(dw.sizeBytes());
            return () -> {
                CudaMatmul.gemm(dev, in.dtype, DType.F32, gy.devicePtr(), x.devicePtr(), dw.devicePtr(), 1, c, c, tokens,
                        c, c, c, 0, 0, 0, true, false, 1f, 1f);
                return null;
            };
        }));
    }

    // ------------------------------------------------------------------ DragGAN (StyleGAN2) and the drag losses

    private static void dragGan(List<Case> cs, Shapes s) {
        modConv(cs, "draggan.modconv.c" + s.sgC + "@" + s.sgRes, s.sgC, s.sgRes);
        modConv(cs, "draggan.modconv.c" + s.sgC2 + "@" + s.sgRes2, s.sgC2, s.sgRes2);
        // StyleGAN2's 2× upsampling filter: [1, 3, 3, 1] outer product, up 2, pads (2, 1)
        int c = s.sgC, r = s.sgRes;
        cs.add(new Case("draggan.upfirdn2d.up2.c" + c + "@" + r + ".fwd", 0, in -> {
            Tensor x = in.x(1, c, r, r), f = filter(in);
            return () -> OPS.upfirdn2d(x, f, 2, 2, 1, 1, 2, 1, 2, 1);
        }));
        cs.add(new Case("draggan.upfirdn2d.up2.c" + c + "@" + r + ".bwd", 0, in -> {
            Tensor gy = in.x(1, c, 2 * r, 2 * r), f = filter(in);
            return () -> OPS.upfirdn2dBackward(gy, new int[]{1, c, r, r}, f, 2, 2, 1, 1, 2, 1, 2, 1);
        }));
        float gain = (float) Math.sqrt(2), clamp = 256f;
        cs.add(new Case("draggan.biasact.lrelu.c" + c + "@" + r + ".fwd", 0, in -> {
            Tensor x = in.x(1, c, r, r), b = in.x(c);
            return () -> OPS.biasAct(x, b, 0.2f, gain, clamp);
        }));
        cs.add(new Case("draggan.biasact.lrelu.c" + c + "@" + r + ".bwd", 0, in -> {
            Tensor gy = in.x(1, c, r, r), y = in.x(1, c, r, r);
            return () -> OPS.biasActBackward(gy, y, true, 0.2f, gain, clamp);
        }));
        // feature maps upsampled to the image for point tracking, and sampled at handle neighbourhoods
        int fc = s.featC, fr = s.featRes, side = s.gridSide;
        cs.add(new Case("draggan.resize.bilinear.c" + fc + "@" + fr / 2 + "to" + fr + ".fwd", 0, in -> {
            Tensor x = in.x(1, fc, fr / 2, fr / 2);
            return () -> OPS.resizeBilinear(x, fr, fr);
        }));
        cs.add(new Case("draggan.resize.bilinear.c" + fc + "@" + fr / 2 + "to" + fr + ".bwd", 0, in -> {
            Tensor gy = in.x(1, fc, fr, fr);
            return () -> OPS.resizeBilinearBackward(gy, fr / 2, fr / 2);
        }));
        cs.add(new Case("draggan.gridsample.c" + fc + "@" + fr + ".grid" + side + ".fwd", 0, in -> {
            Tensor x = in.x(1, fc, fr, fr), g = in.uniform(-1f, 1f, 1, side, side, 2);
            return () -> OPS.gridSample(x, g, false);
        }));
        cs.add(new Case("draggan.gridsample.c" + fc + "@" + fr + ".grid" + side + ".bwd", 0, in -> {
            Tensor gy = in.x(1, fc, side, side), x = in.x(1, fc, fr, fr), g = in.uniform(-1f, 1f, 1, side, side, 2);
            return () -> OPS.gridSampleBackward(gy, x, g, false, true, true);
        }));
        // motion supervision: L1 between feature patches (DragGAN), MSE of the noise prediction (LoRA training)
        cs.add(new Case("loss.l1.c" + fc + "@" + fr / 2 + ".fwd", 0, in -> {
            Tensor a = in.x(1, fc, fr / 2, fr / 2), b = in.x(1, fc, fr / 2, fr / 2);
            return () -> OPS.l1Loss(a, b);
        }));
        cs.add(new Case("loss.l1.c" + fc + "@" + fr / 2 + ".bwd", 0, in -> {
            Tensor gy = in.x(1), a = in.x(1, fc, fr / 2, fr / 2), b = in.x(1, fc, fr / 2, fr / 2);
            return () -> OPS.l1LossBackward(gy, a, b);
        }));
        int l = s.lat;
        cs.add(new Case("loss.mse.latent4@" + l + ".fwd", 0, in -> {
            Tensor a = in.x(1, 4, l, l), b = in.x(1, 4, l, l);
            return () -> OPS.mseLoss(a, b);
        }));
        cs.add(new Case("loss.mse.latent4@" + l + ".bwd", 0, in -> {
            Tensor gy = in.x(1), a = in.x(1, 4, l, l), b = in.x(1, 4, l, l);
            return () -> OPS.mseLossBackward(gy, a, b);
        }));
        // the optimised variables: DragGAN's w [1, 16, 512], DragDiffusion's latent [1, 4, 64, 64]
        adam(cs, "adam.draggan-w", 1, 16, s.sgC);
        adam(cs, "adam.latent", 1, 4, l, l);
    }

    // ------------------------------------------------------------------ case builders

    private static void conv(List<Case> cs, String name, int cin, int cout, int size, int k, int stride) {
        Conv2dParams p = Conv2dParams.of(stride, k / 2);
        int out = p.outH(size, k);
        double flops = 2.0 * cin * cout * k * k * out * out;
        cs.add(new Case(name + ".fwd", flops, in -> {
            Tensor x = in.x(1, cin, size, size), w = in.x(cout, cin, k, k), b = in.x(cout);
            return () -> OPS.conv2d(x, w, b, p);
        }));
        cs.add(new Case(name + ".bwd", 2 * flops, in -> {
            Tensor gy = in.x(1, cout, out, out), x = in.x(1, cin, size, size), w = in.x(cout, cin, k, k);
            return () -> OPS.conv2dBackward(gy, x, w, p, true, true, true);
        }));
    }

    private static void groupNorm(List<Case> cs, String name, int c, int size) {
        cs.add(new Case(name + ".fwd", 0, in -> {
            Tensor x = in.x(1, c, size, size), g = in.x(c), b = in.x(c);
            return () -> OPS.groupNorm(x, 32, g, b, 1e-5f);
        }));
        cs.add(new Case(name + ".bwd", 0, in -> {
            Tensor gy = in.x(1, c, size, size), x = in.x(1, c, size, size), g = in.x(c);
            return () -> OPS.groupNormBackward(gy, x, 32, g, 1e-5f, true);
        }));
    }

    private static void layerNorm(List<Case> cs, String name, int rows, int dim) {
        cs.add(new Case(name + ".fwd", 0, in -> {
            Tensor x = in.x(rows, dim), g = in.x(dim), b = in.x(dim);
            return () -> OPS.layerNorm(x, g, b, 1e-5f);
        }));
        cs.add(new Case(name + ".bwd", 0, in -> {
            Tensor gy = in.x(rows, dim), x = in.x(rows, dim), g = in.x(dim);
            return () -> OPS.layerNormBackward(gy, x, g, 1e-5f, true);
        }));
    }

    private static void linear(List<Case> cs, String name, int tokens, int inF, int outF, boolean bias) {
        double flops = 2.0 * inF * outF * tokens;
        cs.add(new Case(name + ".fwd", flops, in -> {
            Tensor x = in.x(tokens, inF), w = in.x(outF, inF), b = bias ? in.x(outF) : null;
            return () -> OPS.linear(x, w, b);
        }));
        cs.add(new Case(name + ".bwd", 2 * flops, in -> {
            Tensor gy = in.x(tokens, outF), x = in.x(tokens, inF), w = in.x(outF, inF);
            return () -> OPS.linearBackward(gy, x, w, true, true, bias);
        }));
    }

    private static void attention(List<Case> cs, String name, int heads, int n, int m, int d) {
        attention(cs, name, heads, n, m, d, false);
    }

    private static void attention(List<Case> cs, String name, int heads, int n, int m, int d, boolean causal) {
        double flops = 4.0 * n * m * d * heads;
        float scale = (float) (1 / Math.sqrt(d));
        cs.add(new Case(name + ".fwd", flops, in -> {
            Tensor q = in.x(1, heads, n, d), k = in.x(1, heads, m, d), v = in.x(1, heads, m, d);
            return () -> OPS.attention(q, k, v, scale, causal);
        }));
        cs.add(new Case(name + ".bwd", 2.5 * flops, in -> {
            Tensor gy = in.x(1, heads, n, d), q = in.x(1, heads, n, d), k = in.x(1, heads, m, d), v = in.x(1, heads, m, d);
            return () -> OPS.attentionBackward(gy, q, k, v, scale, causal);
        }));
    }

    private static void modConv(List<Case> cs, String name, int c, int size) {
        double flops = 2.0 * c * c * 9 * size * size;
        cs.add(new Case(name + ".fwd", flops, in -> {
            Tensor x = in.x(1, c, size, size), w = in.x(c, c, 3, 3), st = in.uniform(0.5f, 1.5f, 1, c);
            return () -> OPS.modulatedConv2d(x, w, st, true, 1);
        }));
        cs.add(new Case(name + ".bwd", 2 * flops, in -> {
            Tensor gy = in.x(1, c, size, size), x = in.x(1, c, size, size), w = in.x(c, c, 3, 3),
                    st = in.uniform(0.5f, 1.5f, 1, c);
            return () -> OPS.modulatedConv2dBackward(gy, x, w, st, true, 1);
        }));
    }

    private static void adam(List<Case> cs, String name, int... shape) {
        cs.add(new Case(name + Arrays.toString(shape).replace(" ", ""), 0, in -> {
            Tensor p = in.x(shape), g = in.x(shape), m = in.x(shape), v = in.uniform(0f, 1f, shape);
            in.written(3 * p.sizeBytes());   // param, m and v are rewritten in place
            int[] step = {0};
            AdamParams hp = AdamParams.adam(1e-3f);
            return () -> {
                OPS.adamStep(p, g, m, v, ++step[0], hp);
                return null;
            };
        }));
    }

    /** StyleGAN2's separable [1, 3, 3, 1] low-pass as a normalised 4×4 filter (F32, as the kernels take it). */
    private static Tensor filter(Inputs in) {
        float[] k = {1, 3, 3, 1};
        float[] f = new float[16];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) f[i * 4 + j] = k[i] * k[j] / 64f * 4f;   // gain up² = 4
        return in.own(Tensor.of(f, 4, 4).toDevice(in.dev));
    }
}
