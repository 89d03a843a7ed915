package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.cuda.ops.CudaOps;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * DDIM sampling and inversion: diffusers v0.24.0 {@code DDIMScheduler} (schedulers/scheduling_ddim.py: __init__,
 * set_timesteps, step) and the two steps DragDiffusion (commit ebe659a, drag_pipeline.py) writes itself,
 * {@code DragPipeline.step} ({@link #dragStep}) and {@code DragPipeline.inv_step} ({@link #invStep}).
 * <p>
 * Everything is computed the way the reference computes it in float32, so that results agree to the last bit where
 * the reference is deterministic:
 * <ul>
 * <li>betas: {@code torch.linspace(..., dtype=float32)} reproduced operation by operation as PyTorch 1.13's CPU kernel
 *     evaluates it (see {@link #torchLinspace}), then squared in float32 for "scaled_linear";</li>
 * <li>alphas_cumprod: {@code torch.cumprod} of the float32 alphas, which accumulates in double on the CPU
 *     ({@code acc_type<float>}) and rounds each prefix product to float32;</li>
 * <li>step coefficients: 0-dim float32 tensors in the reference ({@code (1 - a_t) ** 0.5} is a float32 subtraction and a
 *     correctly rounded float32 square root), and tensor·scalar / tensor÷scalar element-wise in float32. Here the
 *     products are {@link Functional#scale} (one float32 rounding, like torch's scalar multiply) and the division is a
 *     true division by a one-element tensor, not a multiplication by the reciprocal.</li>
 * </ul>
 * The tensor arithmetic goes through {@link Functional}, so the steps run on whichever op set the latents live on
 * (CPU or a kernel device) and are differentiable: DragDiffusion back-propagates its mask loss through
 * {@code DragPipeline.step}.
 */
public final class DdimScheduler {
    private final DdimConfig config;
    private final float[] betas;
    private final float[] alphasCumprod;
    private final float finalAlphaCumprod;
    private int numInferenceSteps;
    private int[] timesteps;

    public DdimScheduler(DdimConfig config) {
        this.config = config;
        float[] b = computeBetas(config);
        if (config.rescaleBetasZeroSnr()) b = rescaleZeroTerminalSnr(b);
        this.betas = b;
        this.alphasCumprod = cumprodOfOneMinus(b);
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : alphasCumprod[0];
        // diffusers' __init__ sets the training schedule (all timesteps, descending) until set_timesteps is called.
        this.numInferenceSteps = 0;
        this.timesteps = new int[config.numTrainTimesteps()];
        for (int i = 0; i < timesteps.length; i++) timesteps[i] = timesteps.length - 1 - i;
    }

    /** From a scheduler_config.json (a DDIMScheduler one, or an SD1.x repo's PNDMScheduler one: see {@link DdimConfig}). */
    public static DdimScheduler fromConfig(Path schedulerConfigJson) {
        return new DdimScheduler(DdimConfig.read(schedulerConfigJson));
    }

    /** DragDiffusion's scheduler for Stable Diffusion 1.5 ({@link DdimConfig#sd15()}). */
    public static DdimScheduler sd15() { return new DdimScheduler(DdimConfig.sd15()); }

    public DdimConfig config() { return config; }

    /** betas[0..T−1] as diffusers holds them (float32). */
    public float[] betas() { return betas.clone(); }

    /** alphas_cumprod[0..T−1] as diffusers holds them (float32). */
    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    /** ᾱ used for a step that lands before timestep 0: 1 with set_alpha_to_one, else alphas_cumprod[0]. */
    public float finalAlphaCumprod() { return finalAlphaCumprod; }

    /** alphas_cumprod[t], with a clear error for a timestep outside the training range. */
    public float alphaCumprod(int t) {
        if (t < 0 || t >= alphasCumprod.length)
            throw new IllegalArgumentException("DDIM: timestep " + t + " is outside 0.." + (alphasCumprod.length - 1)
                    + " (num_train_timesteps " + alphasCumprod.length + ")");
        return alphasCumprod[t];
    }

    // ------------------------------------------------------------------ timesteps

    /**
     * diffusers {@code set_timesteps(n)}: the n inference timesteps in sampling order (descending), spaced per
     * timestep_spacing; "leading" (SD1.5): {@code (arange(n) * (T // n))[::-1] + steps_offset}, i.e. 981, 961, …, 1
     * for n = 50.
     */
    public void setTimesteps(int n) {
        int T = config.numTrainTimesteps();
        if (n < 1 || n > T)
            throw new IllegalArgumentException("DDIM: num_inference_steps " + n + " must be between 1 and num_train_timesteps = " + T);
        int[] ts = new int[n];
        switch (config.timestepSpacing()) {
            case "linspace": {
                // np.linspace(0, T - 1, n).round()[::-1]: numpy computes i·step + start in double, the last value exactly stop.
                double step = n > 1 ? (T - 1.0) / (n - 1) : 0;
                for (int i = 0; i < n; i++) {
                    double v = i == n - 1 && n > 1 ? T - 1.0 : i * step;
                    ts[n - 1 - i] = (int) Math.rint(v);
                }
                break;
            }
            case "trailing": {
                // np.round(np.arange(T, 0, -T / n)).astype(int64) - 1; arange's length is ceil(T / (T / n)).
                double step = -(double) T / n;
                int len = (int) Math.ceil((0 - T) / step);
                if (len != n)
                    throw new IllegalStateException("DDIM: trailing spacing gives " + len + " timesteps for num_inference_steps " + n);
                for (int i = 0; i < n; i++) ts[i] = (int) Math.rint(T + i * step) - 1;
                break;
            }
            default: { // "leading"
                int ratio = T / n;
                for (int i = 0; i < n; i++) ts[n - 1 - i] = i * ratio + config.stepsOffset();
            }
        }
        this.numInferenceSteps = n;
        this.timesteps = ts;
    }

    /** The inference timesteps in sampling order (after {@link #setTimesteps}). */
    public int[] timesteps() { return timesteps.clone(); }

    public int numInferenceSteps() { return numInferenceSteps; }

    /** T // n: how far one step moves (diffusers and DragDiffusion both use this, whatever the spacing). */
    public int stepRatio() {
        if (numInferenceSteps == 0) throw new IllegalStateException("DDIM: call setTimesteps(n) before stepping");
        return config.numTrainTimesteps() / numInferenceSteps;
    }

    // ------------------------------------------------------------------ steps

    /** {@link #step(Functional, Tensor, int, Tensor)} on the op set where x lives. */
    public StepResult step(Tensor eps, int t, Tensor x) { return step(functionalFor(x), eps, t, x); }

    /** diffusers {@code DDIMScheduler.step(model_output, t, sample, eta=0)}: the deterministic DDIM step. */
    public StepResult step(Functional f, Tensor eps, int t, Tensor x) { return step(f, eps, t, x, 0f, null); }

    /**
     * diffusers {@code DDIMScheduler.step(model_output, t, sample, eta, generator)} (use_clipped_model_output false):
     * with a = ᾱ_t, ap = ᾱ_{t−T//n} (or the final ᾱ before 0), x̂0 from the model output per prediction_type (clamped
     * with clip_sample), σ = eta·√((1−ap)/(1−a)·(1−a/ap)), prev = √ap·x̂0 + √(1−ap−σ²)·ε̂ + σ·z. For eta > 0, z is
     * N(0, 1) noise drawn from {@code rng} (a seeded generator gives a reproducible run; its numbers are not torch's).
     */
    public StepResult step(Functional f, Tensor eps, int t, Tensor x, float eta, RandomGenerator rng) {
        checkPair("DDIM step", eps, x);
        if (!(eta >= 0f)) throw new IllegalArgumentException("DDIM step: eta " + eta + " must be >= 0");
        if (eta > 0f && rng == null) throw new IllegalArgumentException("DDIM step: eta " + eta + " > 0 needs a random generator for the noise");
        int prevT = t - stepRatio();
        float aT = alphaCumprod(t);
        float aPrev = prevT >= 0 ? alphasCumprod[prevT] : finalAlphaCumprod;
        float betaT = 1f - aT;
        float sqrtA = sqrtF(aT), sqrtB = sqrtF(betaT);

        Tensor x0, epsHat;
        switch (config.predictionType()) {
            case "sample":
                x0 = eps;
                epsHat = f.div(f.sub(x, f.scale(x0, sqrtA)), scalarLike(sqrtB, x));
                break;
            case "v_prediction":
                x0 = f.sub(f.scale(x, sqrtA), f.scale(eps, sqrtB));
                epsHat = f.add(f.scale(eps, sqrtA), f.scale(x, sqrtB));
                break;
            default: // "epsilon"
                x0 = f.div(f.sub(x, f.scale(eps, sqrtB)), scalarLike(sqrtA, x));
                epsHat = eps;
        }
        if (config.clipSample()) {
            float r = (float) config.clipSampleRange();
            x0 = f.clamp(x0, -r, r);
        }
        // _get_variance: (beta_prev / beta_t) * (1 - a_t / a_prev), every operation a float32 0-dim tensor op.
        float betaPrev = 1f - aPrev;
        float variance = (betaPrev / betaT) * (1f - aT / aPrev);
        float std = eta * sqrtF(variance);
        Tensor dir = f.scale(epsHat, sqrtF(1f - aPrev - std * std));
        Tensor prev = f.add(f.scale(x0, sqrtF(aPrev)), dir);
        if (eta > 0f) prev = f.add(prev, f.scale(gaussianLike(x, rng), std));
        return new StepResult(prev, x0);
    }

    /** {@link #dragStep(Functional, Tensor, int, Tensor)} on the op set where x lives. */
    public StepResult dragStep(Tensor eps, int t, Tensor x) { return dragStep(functionalFor(x), eps, t, x); }

    /**
     * DragDiffusion {@code DragPipeline.step(model_output, timestep, x)}: the eta-0 DDIM step with an epsilon model,
     * except that ᾱ_prev is the final ᾱ when prev_t ≤ 0 (the scheduler uses it only for prev_t < 0). Used inside the
     * drag loop, differentiable w.r.t. eps and x.
     */
    public StepResult dragStep(Functional f, Tensor eps, int t, Tensor x) {
        checkPair("DragPipeline.step", eps, x);
        requireEpsilon("DragPipeline.step");
        int prevT = t - stepRatio();
        float aT = alphaCumprod(t);
        float aPrev = prevT > 0 ? alphaCumprod(prevT) : finalAlphaCumprod;
        return ddimEps(f, eps, x, aT, aPrev);
    }

    /** {@link #invStep(Functional, Tensor, int, Tensor)} on the op set where x lives. */
    public StepResult invStep(Tensor eps, int t, Tensor x) { return invStep(functionalFor(x), eps, t, x); }

    /**
     * DragDiffusion {@code DragPipeline.inv_step(model_output, timestep, x)}: one DDIM inversion step from noise level
     * s = min(t − T//n, T − 1) up to t (DragDiffusion writes 999 for T − 1): x̂0 = (x − √(1−ᾱ_s)·ε)/√ᾱ_s with ᾱ_s the
     * final ᾱ when s &lt; 0, then x_next = √ᾱ_t·x̂0 + √(1−ᾱ_t)·ε.
     */
    public StepResult invStep(Functional f, Tensor eps, int t, Tensor x) {
        checkPair("DragPipeline.inv_step", eps, x);
        requireEpsilon("DragPipeline.inv_step");
        int s = Math.min(t - stepRatio(), config.numTrainTimesteps() - 1);
        float aS = s >= 0 ? alphaCumprod(s) : finalAlphaCumprod;
        float aNext = alphaCumprod(t);
        return ddimEps(f, eps, x, aS, aNext);
    }

    /** x̂0 = (x − √(1−a)·ε)/√a; out = √b·x̂0 + √(1−b)·ε, as DragPipeline.step / inv_step write it. */
    private static StepResult ddimEps(Functional f, Tensor eps, Tensor x, float a, float b) {
        Tensor x0 = f.div(f.sub(x, f.scale(eps, sqrtF(1f - a))), scalarLike(sqrtF(a), x));
        Tensor out = f.add(f.scale(x0, sqrtF(b)), f.scale(eps, sqrtF(1f - b)));
        return new StepResult(out, x0);
    }

    private void requireEpsilon(String what) {
        if (!config.predictionType().equals("epsilon"))
            throw new IllegalStateException(what + " assumes an epsilon-predicting model; the scheduler config "
                    + config.source() + " has prediction_type \"" + config.predictionType() + "\"");
    }

    private static void checkPair(String what, Tensor eps, Tensor x) {
        if (eps == null || x == null) throw new IllegalArgumentException(what + ": model output and sample must not be null");
        if (!Arrays.equals(eps.shape(), x.shape()))
            throw new IllegalArgumentException(what + ": model output " + Arrays.toString(eps.shape()) + " and sample "
                    + Arrays.toString(x.shape()) + " differ in shape");
        if (!floating(eps) || !floating(x) || eps.dtype() != x.dtype())
            throw new IllegalArgumentException(what + ": model output (" + eps.dtype() + ") and sample (" + x.dtype()
                    + ") must be floating tensors of one dtype");
    }

    /** The op set of the device x is on: CpuOps for CPU tensors, CudaOps for kernel-device tensors. */
    private static Functional functionalFor(Tensor x) {
        return new Functional(x.onDevice() ? CudaOps.INSTANCE : CpuOps.INSTANCE);
    }

    /** A one-element tensor holding v, on x's device and in x's dtype, for broadcasting against x. */
    private static Tensor scalarLike(float v, Tensor x) {
        Tensor s = Tensor.of(new float[]{v}, 1);
        return x.onDevice() ? s.to(x.dtype()).toDevice(x.kernelDevice()) : s;
    }

    private static Tensor gaussianLike(Tensor x, RandomGenerator rng) {
        float[] z = new float[x.numel()];
        for (int i = 0; i < z.length; i++) z[i] = (float) rng.nextGaussian();
        Tensor n = Tensor.of(z, x.shape());
        return x.onDevice() ? n.to(x.dtype()).toDevice(x.kernelDevice()) : n;
    }

    /** torch's float32 {@code x ** 0.5}: the correctly rounded square root (the double root rounds correctly to float). */
    static float sqrtF(float x) { return (float) Math.sqrt(x); }

    // ------------------------------------------------------------------ schedule

    private static float[] computeBetas(DdimConfig c) {
        int n = c.numTrainTimesteps();
        if (c.trainedBetas() != null) return c.trainedBetas();
        switch (c.betaSchedule()) {
            case "linear":
                return torchLinspace(c.betaStart(), c.betaEnd(), n);
            case "scaled_linear": {
                // torch.linspace(beta_start ** 0.5, beta_end ** 0.5, n, dtype=float32) ** 2 (the roots in Python double).
                float[] b = torchLinspace(Math.sqrt(c.betaStart()), Math.sqrt(c.betaEnd()), n);
                for (int i = 0; i < n; i++) b[i] = b[i] * b[i];
                return b;
            }
            default: { // "squaredcos_cap_v2": betas_for_alpha_bar, in Python double, then float32
                float[] b = new float[n];
                for (int i = 0; i < n; i++) {
                    double t1 = (double) i / n, t2 = (double) (i + 1) / n;
                    b[i] = (float) Math.min(1 - alphaBarCosine(t2) / alphaBarCosine(t1), 0.999);
                }
                return b;
            }
        }
    }

    private static double alphaBarCosine(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /**
     * {@code torch.linspace(start, end, steps, dtype=torch.float32)} as PyTorch 1.13's CPU kernel computes it
     * (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp, AVX2 build): start, end and step = (end − start)/(steps − 1)
     * in float32; the first half counts up from start, the second half down from end. The contiguous output is filled
     * two 8-lane vectors at a time: each vector's base is start + step·idx (or end − step·(steps − idx − 1)), computed
     * with one rounding (the compiler contracts it to an FMA), and lane k holds base + k·step; the tail (fewer than 16
     * elements) uses the scalar formula. This reproduces diffusers' betas bit for bit (checked against the ddim
     * fixture, which a plain start + i·step, or a double linspace, misses by an ulp in hundreds of places). Ranges over
     * 32768 steps would be split across threads by PyTorch; they are computed as one range here.
     */
    static float[] torchLinspace(double startD, double endD, int steps) {
        float start = (float) startD, end = (float) endD;
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (steps - 1);
        int half = steps / 2;
        final int lanes = 8;
        int i = 0;
        for (; i <= steps - 2 * lanes; i += 2 * lanes) { // vectorized_loop: two vectors per iteration
            for (int v = i; v < i + 2 * lanes; v += lanes) {
                float base = v < half ? Math.fma(step, (float) v, start) : Math.fma(-step, (float) (steps - v - 1), end);
                out[v] = base;
                out[v + 1] = base + step;
                for (int k = 2; k < lanes; k++) out[v + k] = Math.fma((float) k, step, base);
            }
        }
        for (; i < steps; i++)
            out[i] = i < half ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
        return out;
    }

    /** alphas = 1 − betas (float32), then torch.cumprod: a double running product rounded to float32 at each index. */
    private static float[] cumprodOfOneMinus(float[] betas) {
        float[] out = new float[betas.length];
        double p = 1.0;
        for (int i = 0; i < betas.length; i++) {
            float alpha = 1f - betas[i];
            p *= alpha;
            out[i] = (float) p;
        }
        return out;
    }

    /**
     * diffusers {@code rescale_zero_terminal_snr(betas)} (arXiv 2305.08891, Algorithm 1), in float32 tensor arithmetic:
     * shift and scale √ᾱ so the last step has zero SNR, then recover betas from the rescaled ᾱ.
     */
    private static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] ac = cumprodOfOneMinus(betas);
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = sqrtF(ac[i]);
        float s0 = s[0], sT = s[n - 1];
        float scale = s0 / (s0 - sT);
        float[] bar = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (s[i] - sT) * scale;
            bar[i] = v * v;
        }
        float[] out = new float[n];
        out[0] = 1f - bar[0];
        for (int i = 1; i < n; i++) out[i] = 1f - bar[i] / bar[i - 1];
        return out;
    }

    /** DDIM latents are floating tensors (F32, or F16/BF16 on a kernel device). */
    private static boolean floating(Tensor t) {
        DType d = t.dtype();
        return d == DType.F32 || d == DType.F16 || d == DType.BF16;
    }
}
