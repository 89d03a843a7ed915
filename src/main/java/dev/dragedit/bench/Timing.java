package dev.dragedit.bench;

import java.io.PrintWriter;
import java.util.Arrays;

/**
 * Wall-clock timing of a repeated body: warm-up runs first (JIT compilation, page faults on fresh arrays), then
 * the median of the timed runs, which a shared machine's occasional stalls move less than the mean.
 */
public record Timing(double medianMs, double minMs, int runs) {

    /**
     * Runs {@code body} at least {@code warmup} times and for at least {@code minWarmupMs} untimed (C2 compiles the
     * Vector API micro-kernels only after many calls: three warm-ups left sgemm at 60% of its speed), then
     * {@code repeats} timed runs; prints a mark per run on {@code progress} (may be null).
     */
    public static Timing measure(int warmup, long minWarmupMs, int repeats, Runnable body, PrintWriter progress) {
        if (repeats < 1) throw new IllegalArgumentException("repeats must be ≥ 1, found " + repeats);
        long start = System.nanoTime();
        for (int i = 0; i < warmup || (System.nanoTime() - start) / 1_000_000 < minWarmupMs; i++) {
            body.run();
            if (i < 20) tick(progress, ',');
        }
        double[] ms = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long t0 = System.nanoTime();
            body.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
            tick(progress, '.');
        }
        return new Timing(median(ms), Arrays.stream(ms).min().orElseThrow(), repeats);
    }

    public static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    /** GFLOP/s of {@code flops} done in {@code ms} milliseconds. */
    public static double gflops(double flops, double ms) { return flops / (ms * 1e6); }

    private static void tick(PrintWriter progress, char c) {
        if (progress == null) return;
        progress.print(c);
        progress.flush();
    }
}
