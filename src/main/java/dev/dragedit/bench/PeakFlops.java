package dev.dragedit.bench;

import dev.dragedit.ops.cpu.Simd;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.IntToDoubleFunction;

/**
 * The machine's measured single-precision peak: every worker thread runs independent FMA chains
 * ({@link VectorFma}, or {@link ScalarFma} on a JVM without the Vector API) and the best of a few trials counts.
 * Measured rather than looked up, because the useful peak is what Java on this machine (clock, core count,
 * vector width the JIT picks, neighbours on a shared host) can reach, and every kernel's "% of peak" is relative
 * to it. The Vector API loop is used whenever the API is present, even with DRAGEDIT_SIMD=0: the peak belongs to
 * the machine, the switch only to our ops.
 */
public final class PeakFlops {
    private PeakFlops() {}

    /** GFLOP/s (an FMA counts 2), how it was measured, and a warning when the JIT never settled. */
    public record Peak(double gflops, String method, int threads, String warning) {}

    private static volatile float sink;

    public static Peak measure(int threads, boolean quick, PrintWriter progress) {
        boolean vector = Simd.available();
        int perRound = vector ? VectorFma.ACCUMULATORS * VectorFma.lanes() : ScalarFma.ACCUMULATORS;
        IntToDoubleFunction burst = vector ? VectorFma::burst : ScalarFma::burst;
        String method = (vector ? "Vector API FMA, " + VectorFma.ACCUMULATORS + " chains × " + VectorFma.lanes() + " lanes"
                : "scalar Math.fma (no Vector API), " + ScalarFma.ACCUMULATORS + " chains") + ", " + threads + " threads";

        // The scalar loop compiles within milliseconds; compiled vector code must beat it by far, which tells
        // "the JIT is done" apart from "the machine is slow" (interpreted Vector API code is ~1000× slower).
        double scalarRate = vector ? settle(ScalarFma::burst, ScalarFma.ACCUMULATORS, 0, quick) : 0;
        double rate = settle(burst, perRound, vector ? 2 * scalarRate : 0, quick);
        String warning = vector && rate < 2 * scalarRate
                ? String.format(java.util.Locale.ROOT, "the JIT did not finish compiling the vector loop (%.2f vs scalar %.2f FLOP/ns): the peak is underestimated",
                        2 * rate, 2 * scalarRate)
                : null;

        // Rounds per thread so that one trial lasts about the target time.
        double targetMs = quick ? 60 : 300;
        long rounds = Math.max(10_000, (long) (targetMs * 1e6 * rate / perRound));
        double best = 0;
        int trials = quick ? 1 : 3;
        for (int t = 0; t < trials; t++) {
            double ms = trial(threads, rounds, burst);
            best = Math.max(best, 2.0 * perRound * rounds * threads / (ms * 1e6));
            if (progress != null) { progress.print('.'); progress.flush(); }
        }
        return new Peak(best, method, threads, warning);
    }

    /**
     * Runs short bursts on this thread until the JIT's final code is in place, and returns the best rate seen in
     * FMAs per nanosecond: done once the rate has reached {@code atLeast} and not grown by 5% for a while, or at
     * a time cap for a machine too loaded to settle.
     */
    private static double settle(IntToDoubleFunction burst, int perRound, double atLeast, boolean quick) {
        long start = System.nanoTime();
        long minNs = (quick ? 100 : 300) * 1_000_000L, settleNs = (quick ? 100 : 250) * 1_000_000L;
        long capNs = 20_000 * 1_000_000L;
        double best = 0;
        long lastGain = start;
        float s = 0;
        while (true) {
            long t0 = System.nanoTime();
            long calls = 0;
            do {
                s += (float) burst.applyAsDouble(256);
                calls++;
            } while (System.nanoTime() - t0 < 5_000_000L);
            long now = System.nanoTime();
            double rate = calls * 256.0 * perRound / (now - t0);
            if (rate > best * 1.05) lastGain = now;
            best = Math.max(best, rate);
            boolean settled = best >= atLeast && now - start > minNs && now - lastGain > settleNs;
            if (settled || now - start > capNs) {
                sink = s;
                return best;
            }
        }
    }

    /** Wall time of all threads running {@code rounds} rounds each, from a common start. */
    private static double trial(int threads, long rounds, IntToDoubleFunction burst) {
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread w = new Thread(() -> {
                ready.countDown();
                try { go.await(); } catch (InterruptedException e) { Thread.currentThread().interrupt(); return; }
                float acc = 0;
                for (long left = rounds; left > 0; ) {
                    int n = (int) Math.min(left, 1_000_000);
                    acc += (float) burst.applyAsDouble(n);
                    left -= n;
                }
                sink = acc;
            }, "dragedit-peak-" + i);
            w.setDaemon(true);
            workers.add(w);
            w.start();
        }
        try {
            ready.await();
            long t0 = System.nanoTime();
            go.countDown();
            for (Thread w : workers) w.join();
            return (System.nanoTime() - t0) / 1e6;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("peak measurement interrupted", e);
        }
    }
}
