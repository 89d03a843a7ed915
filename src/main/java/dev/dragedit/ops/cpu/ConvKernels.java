package dev.dragedit.ops.cpu;

import dev.dragedit.util.Parallel;

import java.lang.ref.SoftReference;

/**
 * The three products of a convolution, all on {@link Gemm#sgemm}, per (sample n, group g, band of output rows):
 * <pre>
 *   forward      y[n, g]  = W_g [coutg, k] · cols [k, band]                     (im2col, then GEMM)
 *   input grad   dx[n, g] += col2im(W_gᵀ [k, coutg] · gy[n, g] [coutg, band])   (GEMM, then col2im)
 *   weight grad  dW_g    += gy[n, g] [coutg, band] · colsᵀ [band, k]            (im2col, then GEMM)
 * </pre>
 * with k = cin/groups · kh · kw. A 1×1, stride-1, unpadded convolution skips im2col/col2im: the input plane is
 * the matrix. Transposed convolution is the adjoint and reuses these three unchanged (see {@link CpuConv}).
 * <p>
 * Threading: when there are at least as many (n, g, band) tasks as threads, the tasks are shared out and each GEMM
 * runs inline on its thread, with a cache-sized im2col buffer per thread (the GEMM then reads its B operand from
 * L2). With fewer tasks, they run one after another and the parallelism is inside: im2col/col2im over rows or
 * channels, the GEMM over its own blocks. Overlapping writes are kept apart: col2im bands run in two phases
 * (even bands, then odd bands, made tall enough that bands two apart touch disjoint input rows), and the weight
 * gradient is accumulated into one partial sum per thread, added up at the end.
 */
final class ConvKernels {
    private ConvKernels() {}

    /** Largest total size of the extra per-thread weight-gradient partial sums (floats); beyond it, run serially. */
    private static final long PARTIAL_LIMIT = 4L * 1024 * 1024;

    private static final ThreadLocal<SoftReference<float[]>> SCRATCH = new ThreadLocal<>();

    /** This thread's im2col buffer, grown on demand and kept between calls (softly, so the GC can take it back). */
    private static float[] scratch(int size) {
        SoftReference<float[]> ref = SCRATCH.get();
        float[] b = ref == null ? null : ref.get();
        if (b == null || b.length < size) {
            b = new float[size];
            SCRATCH.set(new SoftReference<>(b));
        }
        return b;
    }

    private static boolean empty(ConvGeometry g) {
        return g.n() == 0 || g.cout() == 0 || g.outPlane() == 0 || g.cin() == 0;
    }

    // ---------------------------------------------------------------- forward

    /** y [n, cout, ho, wo] = conv(x [n, cin, h, w], w) + bias; every element of y is written. */
    static void forward(float[] x, float[] w, float[] bias, float[] y, ConvGeometry g) {
        if (empty(g)) {
            // Nothing to multiply (no sample, channel or pixel): the output is the bias alone.
            java.util.Arrays.fill(y, 0f);
            if (bias != null) addBias(y, bias, g.n(), g.cout(), g.outPlane());
            return;
        }
        boolean parallelTasks = g.manyTasks();
        int rows = g.bandRows(parallelTasks), bands = ConvGeometry.ceilDiv(g.ho(), rows);
        int tasks = g.blocks() * bands;
        if (parallelTasks) {
            Parallel.forRange(tasks, 1, (t0, t1) -> {
                for (int t = t0; t < t1; t++) forwardBand(x, w, bias, y, g, t / bands, (t % bands) * rows, rows, false);
            });
        } else {
            for (int t = 0; t < tasks; t++) forwardBand(x, w, bias, y, g, t / bands, (t % bands) * rows, rows, true);
        }
    }

    private static void forwardBand(float[] x, float[] w, float[] bias, float[] y, ConvGeometry g,
                                    int block, int oh0, int rows, boolean parallelInside) {
        int n = block / g.groups(), gi = block % g.groups();
        int oh1 = Math.min(g.ho(), oh0 + rows), bandCols = (oh1 - oh0) * g.wo(), k = g.k(), p = g.outPlane();
        int xOff = (n * g.cin() + gi * g.cg()) * g.inPlane();
        int yOff = (n * g.cout() + gi * g.coutg()) * p + oh0 * g.wo();
        float[] b;
        int bOff, ldb;
        if (g.pointwise()) {
            b = x;
            bOff = xOff + oh0 * g.wo();
            ldb = g.inPlane();
        } else {
            b = fillCols(x, xOff, g, oh0, oh1, parallelInside);   // [k, bandCols]
            bOff = 0;
            ldb = bandCols;
        }
        Gemm.sgemm(false, false, g.coutg(), bandCols, k, 1f, w, gi * g.coutg() * k, k, b, bOff, ldb,
                0f, y, yOff, p);                                   // y[n, g-th channels, band] [coutg, bandCols]
        if (bias != null)
            for (int co = 0; co < g.coutg(); co++) ConvVec.addScalar(y, yOff + co * p, bandCols, bias[gi * g.coutg() + co]);
    }

    private static float[] fillCols(float[] x, int xOff, ConvGeometry g, int oh0, int oh1, boolean parallel) {
        int k = g.k(), bandCols = (oh1 - oh0) * g.wo();
        float[] cols = scratch(k * bandCols);
        if (parallel) Parallel.forRange(k, Math.max(1, 32768 / bandCols), (r0, r1) -> Im2col.im2col(x, xOff, g, oh0, oh1, cols, r0, r1));
        else Im2col.im2col(x, xOff, g, oh0, oh1, cols, 0, k);
        return cols;
    }

    // ---------------------------------------------------------------- input gradient

    /** dx [n, cin, h, w] (zeros on entry) receives the input gradient of gy [n, cout, ho, wo]. */
    static void backwardData(float[] gy, float[] w, float[] dx, ConvGeometry g) {
        if (empty(g)) return;
        boolean parallelTasks = g.manyTasks();
        if (g.pointwise()) {
            // Bands write disjoint columns of dx: every task is independent.
            int rows = g.bandRows(parallelTasks), bands = ConvGeometry.ceilDiv(g.ho(), rows), tasks = g.blocks() * bands;
            if (parallelTasks) {
                Parallel.forRange(tasks, 1, (t0, t1) -> {
                    for (int t = t0; t < t1; t++) pointwiseDataBand(gy, w, dx, g, t / bands, (t % bands) * rows, rows);
                });
            } else {
                for (int t = 0; t < tasks; t++) pointwiseDataBand(gy, w, dx, g, t / bands, (t % bands) * rows, rows);
            }
            return;
        }
        int rows = g.bandRows(parallelTasks);
        if (parallelTasks) {
            // Bands two apart must not touch the same input rows: (kh − 1)·dh < (rows + 1)·sh.
            int minRows = Math.max(1, (g.kh() - 1) * g.dh() / g.sh());
            if ((long) minRows * g.k() * g.wo() > ConvGeometry.MAX_TILE_FLOATS) parallelTasks = false;
            else rows = Math.max(rows, Math.min(minRows, g.ho()));
        }
        if (!parallelTasks) {
            int serialRows = g.bandRows(false), bands = ConvGeometry.ceilDiv(g.ho(), serialRows);
            for (int t = 0; t < g.blocks() * bands; t++)
                dataBand(gy, w, dx, g, t / bands, (t % bands) * serialRows, serialRows, true);
            return;
        }
        int bandRows = rows, bands = ConvGeometry.ceilDiv(g.ho(), rows);
        for (int phase = 0; phase < Math.min(2, bands); phase++) {
            int perBlock = ConvGeometry.ceilDiv(bands - phase, 2), ph = phase;
            Parallel.forRange(g.blocks() * perBlock, 1, (t0, t1) -> {
                for (int t = t0; t < t1; t++)
                    dataBand(gy, w, dx, g, t / perBlock, (2 * (t % perBlock) + ph) * bandRows, bandRows, false);
            });
        }
    }

    private static void dataBand(float[] gy, float[] w, float[] dx, ConvGeometry g, int block, int oh0, int rows,
                                 boolean parallelInside) {
        int n = block / g.groups(), gi = block % g.groups();
        int oh1 = Math.min(g.ho(), oh0 + rows), bandCols = (oh1 - oh0) * g.wo(), k = g.k(), p = g.outPlane();
        int gyOff = (n * g.cout() + gi * g.coutg()) * p + oh0 * g.wo();
        int dxOff = (n * g.cin() + gi * g.cg()) * g.inPlane();
        float[] dcols = scratch(k * bandCols);
        Gemm.sgemm(true, false, k, bandCols, g.coutg(), 1f, w, gi * g.coutg() * k, k, gy, gyOff, p,
                0f, dcols, 0, bandCols);                           // dcols [k, bandCols]
        if (parallelInside) {
            int grain = Math.max(1, 32768 / Math.max(1, g.kh() * g.kw() * bandCols));
            Parallel.forRange(g.cg(), grain, (c0, c1) -> Im2col.col2im(dcols, g, oh0, oh1, dx, dxOff, c0, c1));
        } else {
            Im2col.col2im(dcols, g, oh0, oh1, dx, dxOff, 0, g.cg());
        }
    }

    private static void pointwiseDataBand(float[] gy, float[] w, float[] dx, ConvGeometry g, int block, int oh0, int rows) {
        int n = block / g.groups(), gi = block % g.groups();
        int oh1 = Math.min(g.ho(), oh0 + rows), bandCols = (oh1 - oh0) * g.wo(), p = g.outPlane();
        int gyOff = (n * g.cout() + gi * g.coutg()) * p + oh0 * g.wo();
        int dxOff = (n * g.cin() + gi * g.cg()) * p + oh0 * g.wo();
        Gemm.sgemm(true, false, g.cg(), bandCols, g.coutg(), 1f, w, gi * g.coutg() * g.cg(), g.cg(), gy, gyOff, p,
                0f, dx, dxOff, p);                                 // dx[n, g-th channels, band] [cg, bandCols]
    }

    // ---------------------------------------------------------------- weight gradient

    /** dw [cout, cin/groups, kh, kw] (zeros on entry) receives the weight gradient, summed over the batch. */
    static void backwardWeight(float[] gy, float[] x, float[] dw, ConvGeometry g) {
        if (empty(g)) return;
        boolean parallelTasks = g.manyTasks();
        int parts = parallelTasks ? Parallel.THREADS : 1;
        if (parts > 1 && (long) dw.length * (parts - 1) > PARTIAL_LIMIT) parts = 1;
        int rows = g.bandRows(parts > 1), bands = ConvGeometry.ceilDiv(g.ho(), rows), tasks = g.blocks() * bands;
        parts = Math.min(parts, tasks);
        if (parts <= 1) {
            for (int t = 0; t < tasks; t++) weightBand(gy, x, dw, g, t / bands, (t % bands) * rows, rows, true);
            return;
        }
        float[][] acc = new float[parts][];
        acc[0] = dw;
        for (int i = 1; i < parts; i++) acc[i] = new float[dw.length];
        int nParts = parts;
        Parallel.forRange(parts, 1, (q0, q1) -> {
            for (int q = q0; q < q1; q++) {
                long lo = (long) tasks * q / nParts, hi = (long) tasks * (q + 1) / nParts;
                for (int t = (int) lo; t < hi; t++) weightBand(gy, x, acc[q], g, t / bands, (t % bands) * rows, rows, false);
            }
        });
        Parallel.forRange(dw.length, 8192, (i0, i1) -> {
            for (int q = 1; q < nParts; q++) ConvVec.addInto(dw, i0, acc[q], i0, i1 - i0);
        });
    }

    private static void weightBand(float[] gy, float[] x, float[] dwAcc, ConvGeometry g, int block, int oh0, int rows,
                                   boolean parallelInside) {
        int n = block / g.groups(), gi = block % g.groups();
        int oh1 = Math.min(g.ho(), oh0 + rows), bandCols = (oh1 - oh0) * g.wo(), k = g.k(), p = g.outPlane();
        int gyOff = (n * g.cout() + gi * g.coutg()) * p + oh0 * g.wo();
        int xOff = (n * g.cin() + gi * g.cg()) * g.inPlane();
        float[] b;
        int bOff, ldb;
        if (g.pointwise()) {
            b = x;
            bOff = xOff + oh0 * g.wo();
            ldb = g.inPlane();
        } else {
            b = fillCols(x, xOff, g, oh0, oh1, parallelInside);   // [k, bandCols]
            bOff = 0;
            ldb = bandCols;
        }
        Gemm.sgemm(false, true, g.coutg(), k, bandCols, 1f, gy, gyOff, p, b, bOff, ldb,
                1f, dwAcc, gi * g.coutg() * k, k);                 // dW_g [coutg, k] += gy band · colsᵀ
    }

    // ---------------------------------------------------------------- bias

    /** y [n, c, plane] += bias[c]. */
    static void addBias(float[] y, float[] bias, int n, int c, int plane) {
        Parallel.forRange(n * c, Math.max(1, 65536 / Math.max(1, plane)), (i0, i1) -> {
            for (int i = i0; i < i1; i++) ConvVec.addScalar(y, i * plane, plane, bias[i % c]);
        });
    }

    /** db [c] = Σ over samples and pixels of gy [n, c, plane]. */
    static void biasGrad(float[] gy, float[] db, int n, int c, int plane) {
        Parallel.forRange(c, Math.max(1, 65536 / Math.max(1, n * plane)), (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double s = 0;
                for (int i = 0; i < n; i++) s += ConvVec.sum(gy, (i * c + ch) * plane, plane);
                db[ch] = (float) s;
            }
        });
    }
}
