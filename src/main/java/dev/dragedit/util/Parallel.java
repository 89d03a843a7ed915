package dev.dragedit.util;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * Multithreading for the CPU ops: splits [0, n) into chunks on a pool with one worker per core.
 * {@code DRAGEDIT_THREADS} (or -Ddragedit.threads) overrides the core count.
 */
public final class Parallel {
    private Parallel() {}

    public interface RangeBody { void run(int start, int end); }

    public static final int THREADS = threads();
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS);

    private static int threads() {
        String s = System.getProperty("dragedit.threads", System.getenv("DRAGEDIT_THREADS"));
        if (s != null && !s.isBlank()) {
            try {
                int t = Integer.parseInt(s.trim());
                if (t >= 1) return t;
            } catch (NumberFormatException ignored) { }
            throw new IllegalArgumentException("DRAGEDIT_THREADS / dragedit.threads: expected a positive integer, found '" + s + "'");
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Runs body over [0, n) in chunks of at least {@code grain} items (work units), in parallel when it pays.
     * Runs inline when already on a pool worker, so nested calls do not oversubscribe.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        grain = Math.max(1, grain);
        int chunks = Math.min(n / grain, THREADS * 4);
        if (chunks <= 1 || THREADS == 1 || inPool()) {
            body.run(0, n);
            return;
        }
        POOL.invoke(new Chunk(body, 0, n, (n + chunks - 1) / chunks));
    }

    private static boolean inPool() {
        return Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL;
    }

    private static final class Chunk extends RecursiveAction {
        final RangeBody body; final int lo, hi, step;
        Chunk(RangeBody body, int lo, int hi, int step) { this.body = body; this.lo = lo; this.hi = hi; this.step = step; }
        @Override protected void compute() {
            if (hi - lo <= step) { body.run(lo, hi); return; }
            int mid = lo + ((hi - lo) / step / 2) * step;
            if (mid <= lo) mid = lo + step;
            invokeAll(new Chunk(body, lo, mid, step), new Chunk(body, mid, hi, step));
        }
    }
}
