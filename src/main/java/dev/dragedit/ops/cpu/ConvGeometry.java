package dev.dragedit.ops.cpu;

import dev.dragedit.ops.shape.ConvShapes;
import dev.dragedit.util.Parallel;

/**
 * The shape of one convolution as the im2col kernels see it: input [n, cin, h, w], weight [cout, cin/groups, kh, kw],
 * output [n, cout, ho, wo], with stride, the top/left padding (bottom/right padding only decides ho and wo) and
 * dilation. The output size is explicit rather than derived, because a transposed convolution runs this geometry
 * backwards with its own input size as ho × wo (which can be one row short of what conv2d's formula gives when
 * output padding ≥ stride).
 * <p>
 * It also plans the tiling: the GEMM of every (sample, group) is split into bands of output rows so that one band's
 * im2col buffer stays near the core's L2 cache while the band is wide enough for the GEMM to run at speed, and so
 * that no buffer exceeds {@link #MAX_TILE_FLOATS}.
 */
record ConvGeometry(int n, int cin, int h, int w, int cout, int kh, int kw, int ho, int wo,
                    int sh, int sw, int pt, int pl, int dh, int dw, int groups) {

    /** Im2col floats per band that should stay in a core's L2 (512 KiB here) while the GEMM reads them. */
    static final long CACHE_TILE_FLOATS = 96 * 1024;
    /** Bands at least this many output pixels wide, so the GEMM's N dimension amortises its packing of W. */
    static final int MIN_TILE_COLS = 256;
    /** The bound on one im2col buffer (64 MB) whatever the shape. */
    static final long MAX_TILE_FLOATS = 16L * 1024 * 1024;
    /** A band size for work done by one thread at a time on a GEMM that parallelises itself. */
    static final long SERIAL_TILE_FLOATS = 1024 * 1024;

    /** The validated geometry from {@link ConvShapes}, with this backend's tiling plan on top. */
    static ConvGeometry of(ConvShapes.Geometry g) {
        return new ConvGeometry(g.n(), g.cin(), g.h(), g.w(), g.cout(), g.kh(), g.kw(), g.ho(), g.wo(),
                g.sh(), g.sw(), g.pt(), g.pl(), g.dh(), g.dw(), g.groups());
    }

    int cg() { return cin / groups; }
    int coutg() { return cout / groups; }
    /** Rows of the im2col matrix = columns of one group's weight: cin/groups · kh · kw. */
    int k() { return cg() * kh * kw; }
    int inPlane() { return h * w; }
    int outPlane() { return ho * wo; }

    /** 1×1, stride 1, no padding: the input plane already is the im2col matrix. */
    boolean pointwise() {
        return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && ho == h && wo == w;
    }

    /** Independent GEMMs before any tiling: one per sample and group. */
    int blocks() { return n * groups; }

    /**
     * Output rows per band (all of them for a pointwise convolution). With {@code parallelBands} the bands are
     * shared out among threads (each GEMM runs on one core), so they are sized for that core's cache; otherwise one
     * GEMM at a time uses every core and a larger band feeds it better.
     */
    int bandRows(boolean parallelBands) {
        // Without an im2col buffer there is nothing to keep in cache, and one wide GEMM beats several narrow ones.
        if (pointwise()) return Math.max(1, ho);
        long rowFloats = Math.max(1L, (long) k() * wo);                 // one output row of im2col
        long budget = parallelBands ? CACHE_TILE_FLOATS : SERIAL_TILE_FLOATS;
        long byCache = Math.max(1, budget / rowFloats);
        long byGemm = (MIN_TILE_COLS + wo - 1) / wo;
        long byMem = Math.max(1, MAX_TILE_FLOATS / rowFloats);
        int rows = (int) Math.min(Math.min(byMem, Math.max(byCache, byGemm)), Math.max(1, ho));
        if (parallelBands) rows = balance(rows);
        return rows;
    }

    /**
     * When there are only a few bands per thread, evens them out so no thread finishes a round early (but keeps
     * bands wide enough for the GEMM; a lone narrow band is better left to a GEMM that parallelises itself).
     */
    private int balance(int rows) {
        int threads = Parallel.THREADS;
        int bands = ceilDiv(ho, rows);
        long tasks = (long) blocks() * bands;
        if (tasks >= 8L * threads || tasks % threads == 0) return rows;
        for (int b = bands + 1; b <= Math.min(ho, 2 * bands + threads); b++) {
            int r = ceilDiv(ho, b);
            if ((long) r * wo < MIN_TILE_COLS / 2) break;                // too narrow for the GEMM to pay
            if ((long) blocks() * ceilDiv(ho, r) % threads == 0) return r;
        }
        return rows;
    }

    /**
     * True when the work splits into enough independent (sample, group, band) tasks to keep every thread busy
     * (always with one thread: then cache-sized bands are simply run in turn).
     */
    boolean manyTasks() {
        return (long) blocks() * ceilDiv(ho, bandRows(true)) >= Parallel.THREADS;
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
