package dev.dragedit.cli;

import dev.dragedit.bench.Reference;
import dev.dragedit.bench.Timing;
import dev.dragedit.engine.Engine;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The engine self-check behind {@code dragedit demo}: the start of a UNet resnet block on a small random
 * tensor — sgemm, conv2d 3×3, groupNorm, SiLU — through the run's op set ({@link Engine#ops()}: the CPU ops, the
 * CUDA ops on a GPU or on the emulation, validated or not), each timed and each compared with float64 loops written
 * here (every output of groupNorm and SiLU, sampled outputs of the GEMM and convolution). Inputs are made on the CPU
 * and placed on the engine's device; outputs come back with toCpu() for the comparison. It proves the jar runs the
 * real kernels and that they compute the right thing on this machine.
 *
 * <p>Timing: 2 warm-ups and the median of 5 runs, each waiting for the device; on the CUDA emulation a single run,
 * since its times say nothing about a GPU and every run costs seconds of fibers.
 */
final class SelfCheck {
    private SelfCheck() {}

    /** One op: what ran, its median time, and "ok" or what was wrong / missing. */
    record Step(String op, String shape, double ms, boolean ok, String verdict) {}

    static final int N = 1, C = 32, H = 24, W = 24, K = 3, GROUPS = 8;
    static final float EPS = 1e-5f;

    static List<Step> run(Engine engine) {
        List<Step> steps = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(42);
        Ops ops = engine.ops();
        boolean emulated = engine.device().map(d -> d.emulated()).orElse(false);
        Timer timer = body -> Timing.measure(emulated ? 0 : 2, 0, emulated ? 1 : 5, () -> {
            body.run();
            engine.device().ifPresent(d -> d.synchronize());
        }, null);
        steps.add(sgemm(rnd, engine, timer));

        Tensor x = Tensor.of(uniform(rnd, N * C * H * W, 1), N, C, H, W);                   // [1, 32, 24, 24]
        Tensor w = Tensor.of(uniform(rnd, C * C * K * K, (float) (1 / Math.sqrt(C * K * K))), C, C, K, K);
        Tensor b = Tensor.of(uniform(rnd, C, 0.1f), C);
        Conv2dParams p = Conv2dParams.of(1, 1);
        Tensor xd = engine.place(x), wd = engine.place(w), bd = engine.place(b);
        Tensor[] y = new Tensor[1];
        Step conv = step(timer, "conv2d", "[1, 32, 24, 24] * [32, 32, 3, 3], pad 1", () -> y[0] = ops.conv2d(xd, wd, bd, p), () -> {
            y[0] = y[0].toCpu();
            Reference.Check check = new Reference.Check();
            if (!Arrays.equals(y[0].shape(), new int[] {N, C, H, W})) return "WRONG: shape " + Arrays.toString(y[0].shape());
            SplittableRandom pick = new SplittableRandom(7);
            for (int t = 0; t < 64; t++) {
                int co = pick.nextInt(C), oy = pick.nextInt(H), ox = pick.nextInt(W);
                double[] ref = Reference.convOut(x.data(), w.data(), b.data(), C, H, W, K, 1, co, oy, ox);
                check.compare("y[0, " + co + ", " + oy + ", " + ox + "]", y[0].data()[(co * H + oy) * W + ox], ref[0], ref[1], C * K * K + 1);
            }
            return check.summary();
        });
        steps.add(conv);
        if (!conv.ok()) return steps;

        Tensor gamma = Tensor.of(uniform(rnd, C, 1), C), beta = Tensor.of(uniform(rnd, C, 1), C);
        Tensor yd = engine.place(y[0]), gammad = engine.place(gamma), betad = engine.place(beta);
        Tensor[] n = new Tensor[1];
        Step norm = step(timer, "groupNorm", GROUPS + " groups, affine", () -> n[0] = ops.groupNorm(yd, GROUPS, gammad, betad, EPS),
                () -> compareAll(n[0] = n[0].toCpu(), groupNormRef(y[0].data(), gamma.data(), beta.data()), y[0].shape()));
        steps.add(norm);
        if (!norm.ok()) return steps;

        Tensor nd = engine.place(n[0]);
        Tensor[] s = new Tensor[1];
        steps.add(step(timer, "silu", "[1, 32, 24, 24]", () -> s[0] = ops.unary(Unary.SILU, nd), () -> {
            float[] in = n[0].data();
            double[] ref = new double[in.length];
            for (int i = 0; i < in.length; i++) ref[i] = in[i] / (1 + Math.exp(-in[i]));
            return compareAll(s[0].toCpu(), ref, n[0].shape());
        }));
        return steps;
    }

    private static Step sgemm(SplittableRandom rnd, Engine engine, Timer timer) {
        int m = 192, k = 160, nn = 224;
        float[] a = uniform(rnd, m * k, 1), bm = uniform(rnd, k * nn, 1);
        Tensor ad = engine.place(Tensor.of(a, m, k)), bd = engine.place(Tensor.of(bm, k, nn));
        Tensor[] out = new Tensor[1];
        return step(timer, "sgemm", m + "×" + k + " · " + k + "×" + nn, () -> out[0] = engine.ops().matmul(ad, bd, false, false), () -> {
            Tensor got = out[0].toCpu();
            if (!Arrays.equals(got.shape(), new int[] {m, nn})) return "WRONG: shape " + Arrays.toString(got.shape());
            float[] c = got.data();
            Reference.Check check = new Reference.Check();
            SplittableRandom pick = new SplittableRandom(8);
            for (int t = 0; t < 64; t++) {
                int i = pick.nextInt(m), j = pick.nextInt(nn);
                double[] ref = Reference.gemmEntry(a, bm, nn, k, i, j);
                check.compare("C[" + i + ", " + j + "]", c[i * nn + j], ref[0], ref[1], k);
            }
            return check.summary();
        });
    }

    private interface Verdict { String get(); }

    /** Runs body the way the engine's device is timed (see the class comment). */
    private interface Timer { Timing time(Runnable body); }

    /** Times body, then checks the last result; an unwritten op becomes a failed step. */
    private static Step step(Timer timer, String op, String shape, Runnable body, Verdict verdict) {
        Timing t;
        try {
            t = timer.time(body);
        } catch (UnsupportedOperationException e) {
            return new Step(op, shape, Double.NaN, false, "not written yet (" + e.getMessage() + ")");
        } catch (RuntimeException | LinkageError e) {
            return new Step(op, shape, Double.NaN, false, "failed: " + Main.oneLine(e));
        }
        String v = verdict.get();
        return new Step(op, shape, t.medianMs(), v.equals("ok"), v);
    }

    /** Every element against a float64 reference, with the usual float32 tolerance of a short computation. */
    private static String compareAll(Tensor got, double[] ref, int[] shape) {
        if (!Arrays.equals(got.shape(), shape)) return "WRONG: shape " + Arrays.toString(got.shape()) + ", expected " + Arrays.toString(shape);
        float[] g = got.data();
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < g.length; i++) {
            double tol = 1e-5 + 1e-4 * Math.abs(ref[i]);
            double excess = Double.isNaN(g[i]) ? Double.POSITIVE_INFINITY : Math.abs(g[i] - ref[i]) / tol;
            if (excess > worstExcess) { worstExcess = excess; worst = i; }
        }
        if (worstExcess <= 1) return "ok";
        return String.format(Locale.ROOT, "WRONG: element %d = %.6g, expected %.6g", worst, g[worst], ref[worst]);
    }

    /** torch.nn.GroupNorm: per (sample, group) mean and biased variance over C/G channels × H × W. */
    private static double[] groupNormRef(float[] x, float[] gamma, float[] beta) {
        double[] out = new double[x.length];
        int cg = C / GROUPS, span = cg * H * W;
        for (int nIdx = 0; nIdx < N; nIdx++) {
            for (int g = 0; g < GROUPS; g++) {
                int base = (nIdx * C + g * cg) * H * W;
                double mean = 0, var = 0;
                for (int i = 0; i < span; i++) mean += x[base + i];
                mean /= span;
                for (int i = 0; i < span; i++) var += (x[base + i] - mean) * (x[base + i] - mean);
                var /= span;
                double inv = 1 / Math.sqrt(var + EPS);
                for (int i = 0; i < span; i++) {
                    int ch = g * cg + i / (H * W);
                    out[base + i] = (x[base + i] - mean) * inv * gamma[ch] + beta[ch];
                }
            }
        }
        return out;
    }

    private static float[] uniform(SplittableRandom rnd, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        return a;
    }
}
