package dev.dragedit.bench;

import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.ops.cpu.Gemm;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code dragedit bench cpu}: the CPU kernels every model spends its time in — sgemm and the 3×3 convolution,
 * forward and backward — timed against the machine's measured FMA peak and, in the same run, against
 * numpy/OpenBLAS on the same arithmetic. Each result is checked at sampled positions against float64 loops
 * ({@link Reference}) before it is reported. An op that is not written yet, or fails, gets a row saying so
 * instead of stopping the run, so the plumbing works while the kernels are being written.
 */
public final class CpuBench {
    private CpuBench() {}

    public record Options(int warmup, int repeats, boolean numpy, boolean quick) {}

    /** sgemm n³; convolution 3×3, channels → channels, size × size, batch 1, padding 1. */
    public record Shapes(int n, int channels, int size) {
        static Shapes of(boolean quick) { return quick ? new Shapes(192, 16, 16) : new Shapes(1024, 64, 64); }
        int k() { return 3; }
        double convFlops() { return 2.0 * channels * channels * k() * k() * size * size; }
        String convLabel() { return "conv2d 3×3 " + channels + "→" + channels + " " + size + "×" + size; }
    }

    public enum Status { OK, MISSING, FAILED, WRONG }

    /** One measured kernel; timing is null unless it ran. */
    public record Row(String key, String label, String shape, double flops, Status status, Timing timing,
                      String check, String error) {
        public double gflops() { return timing == null ? Double.NaN : Timing.gflops(flops, timing.medianMs()); }
    }

    public record Report(Options options, Shapes shapes, MachineInfo machine, int threads, PeakFlops.Peak peak,
                         List<Row> rows, NumpyBaseline.Result numpy) {
        public boolean failed() {
            return rows.stream().anyMatch(r -> r.status() == Status.FAILED || r.status() == Status.WRONG);
        }
    }

    public static Report run(Options o, PrintWriter progress) {
        Shapes s = Shapes.of(o.quick());
        MachineInfo machine = MachineInfo.read();
        int threads = Parallel.THREADS;

        progress.print("bench: peak FMA throughput, " + threads + " threads ");
        progress.flush();
        PeakFlops.Peak peak = PeakFlops.measure(threads, o.quick(), progress);
        progress.printf(" %.1f GFLOP/s%n", peak.gflops());

        List<Row> rows = new ArrayList<>();
        rows.add(sgemm(o, s, progress));
        Conv conv = new Conv(s);
        rows.add(conv.forward(o, progress));
        rows.add(conv.backward(o, progress));

        NumpyBaseline.Result numpy;
        if (!o.numpy()) {
            numpy = NumpyBaseline.Result.absent("skipped (--no-numpy)");
        } else {
            progress.print("bench: numpy/OpenBLAS baseline (python3) on the same shapes…");
            progress.flush();
            numpy = NumpyBaseline.run(o.warmup(), o.repeats(), s.n(), s.channels(), s.channels() * s.k() * s.k(),
                    s.size() * s.size(), 600);
            progress.println(numpy.available() ? " done" : " not available: " + numpy.reason());
        }
        return new Report(o, s, machine, threads, peak, rows, numpy);
    }

    private static Row sgemm(Options o, Shapes s, PrintWriter progress) {
        int n = s.n();
        String label = "sgemm " + n + "³";
        SplittableRandom rnd = new SplittableRandom(1);
        float[] a = uniform(rnd, n * n), b = uniform(rnd, n * n), c = new float[n * n];
        return measure("sgemm", label, n + "x" + n + "x" + n, 2.0 * n * n * n, o, progress,
                () -> Gemm.sgemm(false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n),
                check -> {
                    SplittableRandom pick = new SplittableRandom(2);
                    for (int t = 0; t < 48; t++) {
                        int i = t < 2 ? t * (n - 1) : pick.nextInt(n), j = t < 2 ? t * (n - 1) : pick.nextInt(n);
                        double[] ref = Reference.gemmEntry(a, b, n, n, i, j);
                        check.compare("C[" + i + ", " + j + "]", c[i * n + j], ref[0], ref[1], n);
                    }
                });
    }

    /** The convolution rows share their random inputs; results of the last timed run are kept for the check. */
    private static final class Conv {
        final Shapes s;
        final int c, h, k, pad = 1;
        final Tensor x, w, bias, gy;
        final Conv2dParams p = Conv2dParams.of(1, 1);
        Tensor y;
        Tensor[] grads;

        Conv(Shapes s) {
            this.s = s;
            c = s.channels();
            h = s.size();
            k = s.k();
            SplittableRandom rnd = new SplittableRandom(3);
            x = Tensor.of(uniform(rnd, c * h * h), 1, c, h, h);                               // [1, C, H, W]
            w = Tensor.of(scaled(uniform(rnd, c * c * k * k), (float) (1 / Math.sqrt(c * k * k))), c, c, k, k);
            bias = Tensor.of(uniform(rnd, c), c);
            gy = Tensor.of(uniform(rnd, c * h * h), 1, c, h, h);                              // [1, Cout, Ho, Wo]
        }

        String shape() { return "x[1," + c + "," + h + "," + h + "] w[" + c + "," + c + "," + k + "," + k + "] pad 1"; }

        Row forward(Options o, PrintWriter progress) {
            return measure("conv2d_fwd", s.convLabel() + " fwd", shape(), s.convFlops(), o, progress,
                    () -> y = CpuOps.INSTANCE.conv2d(x, w, bias, p),
                    check -> {
                        if (!shapeIs(check, "y", y, 1, c, h, h)) return;
                        SplittableRandom pick = new SplittableRandom(4);
                        for (int t = 0; t < 48; t++) {
                            int co = pick.nextInt(c);
                            int oy = t < 4 ? (t / 2) * (h - 1) : pick.nextInt(h), ox = t < 4 ? (t % 2) * (h - 1) : pick.nextInt(h);
                            double[] ref = Reference.convOut(x.data(), w.data(), bias.data(), c, h, h, k, pad, co, oy, ox);
                            check.compare("y[0, " + co + ", " + oy + ", " + ox + "]", y.data()[(co * h + oy) * h + ox], ref[0], ref[1], c * k * k + 1);
                        }
                    });
        }

        Row backward(Options o, PrintWriter progress) {
            return measure("conv2d_bwd", s.convLabel() + " bwd dx+dw+db", shape(), 2 * s.convFlops(), o, progress,
                    () -> grads = CpuOps.INSTANCE.conv2dBackward(gy, x, w, p, true, true, true),
                    check -> {
                        if (grads == null || grads.length < 3) {
                            check.fail("conv2dBackward returned " + (grads == null ? "null" : grads.length + " tensors") + ", expected {dx, dw, dbias}");
                            return;
                        }
                        if (!shapeIs(check, "dx", grads[0], 1, c, h, h) || !shapeIs(check, "dw", grads[1], c, c, k, k)
                                || !shapeIs(check, "dbias", grads[2], c)) return;
                        float[] g = gy.data(), dx = grads[0].data(), dw = grads[1].data(), db = grads[2].data();
                        SplittableRandom pick = new SplittableRandom(5);
                        for (int t = 0; t < 32; t++) {
                            int ci = pick.nextInt(c), iy = t < 2 ? t * (h - 1) : pick.nextInt(h), ix = t < 2 ? t * (h - 1) : pick.nextInt(h);
                            double[] ref = Reference.convDx(g, w.data(), c, c, h, h, k, pad, ci, iy, ix);
                            check.compare("dx[0, " + ci + ", " + iy + ", " + ix + "]", dx[(ci * h + iy) * h + ix], ref[0], ref[1], c * k * k);
                        }
                        for (int t = 0; t < 32; t++) {
                            int co = pick.nextInt(c), ci = pick.nextInt(c), ky = pick.nextInt(k), kx = pick.nextInt(k);
                            double[] ref = Reference.convDw(g, x.data(), h, h, h, h, pad, co, ci, ky, kx);
                            check.compare("dw[" + co + ", " + ci + ", " + ky + ", " + kx + "]", dw[((co * c + ci) * k + ky) * k + kx], ref[0], ref[1], h * h);
                        }
                        for (int co = 0; co < c; co++) {
                            double[] ref = Reference.convDb(g, h * h, co);
                            check.compare("dbias[" + co + "]", db[co], ref[0], ref[1], h * h);
                        }
                    });
        }
    }

    private static boolean shapeIs(Reference.Check check, String name, Tensor t, int... shape) {
        if (t == null) {
            check.fail(name + " is null");
            return false;
        }
        if (!Arrays.equals(t.shape(), shape)) {
            check.fail(name + " has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
            return false;
        }
        return true;
    }

    private interface Verifier { void verify(Reference.Check check); }

    private static Row measure(String key, String label, String shape, double flops, Options o, PrintWriter progress,
                               Runnable body, Verifier verifier) {
        progress.print("bench: " + label + " (≥" + o.warmup() + " warm-ups" + (o.quick() ? "" : ", ≥2 s") + " + " + o.repeats() + " runs) ");
        progress.flush();
        Timing timing;
        try {
            timing = Timing.measure(o.warmup(), o.quick() ? 0 : 2000, o.repeats(), body, progress);
        } catch (UnsupportedOperationException e) {
            progress.println(" not available: " + message(e));
            return new Row(key, label, shape, flops, Status.MISSING, null, null, message(e));
        } catch (RuntimeException | LinkageError e) {
            progress.println(" failed: " + message(e));
            return new Row(key, label, shape, flops, Status.FAILED, null, null, e.getClass().getSimpleName() + ": " + message(e));
        }
        Reference.Check check = new Reference.Check();
        try {
            verifier.verify(check);
        } catch (RuntimeException e) {
            check.fail("the check itself failed: " + e.getClass().getSimpleName() + ": " + message(e));
        }
        progress.printf(" %.2f ms%s%n", timing.medianMs(), check.ok() ? "" : " — " + check.summary());
        return new Row(key, label, shape, flops, check.ok() ? Status.OK : Status.WRONG, timing, check.summary(), null);
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        if (e instanceof NoClassDefFoundError && m != null && m.startsWith("jdk/incubator/vector")) {
            return "the Vector API is missing (" + m + "): start java with --add-modules jdk.incubator.vector";
        }
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.strip().replace('\n', ' ');
    }

    private static float[] uniform(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextDouble() * 2 - 1);
        return a;
    }

    private static float[] scaled(float[] a, float s) {
        for (int i = 0; i < a.length; i++) a[i] *= s;
        return a;
    }
}
