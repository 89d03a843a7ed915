package dev.dragedit.ops.cpu;

import dev.dragedit.util.Parallel;

/**
 * The packed GEMM of {@link Gemm}, structured as in GotoBLAS/BLIS (Van Zee &amp; van de Geijn, "BLIS: A Framework
 * for Rapidly Instantiating BLAS Functionality", 2015):
 * <pre>
 *   for jc in N step NC                      B block kc×nc shared by all threads (sized for L3)
 *     for pc in K step KC                    one pass of the pool per (jc, pc) block
 *       for ic in M step mc                  one task per (ic, column group)
 *         pack alpha·op(A)[ic:ic+mc, pc:pc+kc] into MR-row micro-panels   (per-thread buffer, sized for L2)
 *         for jr in panels:                  B panel packed by the first task to need it
 *           for ir in micro-panels: micro-kernel MR×NR                     (B micro-panel stays in L1/L2)
 * </pre>
 * Packing ({@link GemmPack}) makes every transpose combination the same kernel call: the kernel only sees
 * contiguous micro-panels, zero-padded at the edges so it always runs full width; partial tiles go through a small
 * per-thread tile and are merged into C. alpha is folded into packed A; the first k block overwrites C (beta = 0)
 * or accumulates onto it (beta = 1, or any other beta applied to C beforehand), later k blocks accumulate.
 * Narrow products (N ≤ {@link #DIRECT_A_MAX_N}) with a row-major A and alpha = 1 read A in place instead.
 * The Vector API kernels ({@link GemmSimdKernel}, 6×16 on AVX2) run when SIMD is on, a 4×4 scalar kernel otherwise.
 * Packing buffers are per thread and reused across calls; a buffer already in use on this thread (a re-entrant
 * call) is never shared: a fresh one is made instead.
 */
final class GemmBlocked {
    private GemmBlocked() {}

    /**
     * k block. BLIS takes 256 so that a B micro-panel (kc×16) stays in L1; here 512 measured 5–10% faster on Zen 3
     * (the micro-panel streams from L2 well enough, and C is read and written half as often).
     */
    static final int KC = 512;
    /** m block upper bound: a 144×512 packed A block (288 KB) stays in a 512 KB L2. */
    static final int MC = 144;
    /** n block: a 512×2048 packed B block (4 MB) sits in L3 and is shared by the threads. */
    static final int NC = 2048;
    /**
     * Up to this many columns, a row-major A is read in place rather than packed: packing costs about as much per
     * element as multiplying it by 25 columns, and the six rows of a micro-panel stay in L1 across the few B
     * panels. Measured on Zen 3 (2048×N×2048, one thread): N = 64 went from 58 to 69 GFLOP/s, N = 256 lost.
     */
    static final int DIRECT_A_MAX_N = 128;
    /** Below this many multiply-adds one thread is faster than waking the pool. */
    static final long PARALLEL_MIN = 1L << 20;

    static final int SCALAR_MR = 4, SCALAR_NR = 4;

    private static final class Buf {
        float[] data = new float[0];
        float[] tile = new float[0];
        boolean busy;
    }

    private static final ThreadLocal<Buf> A_BUF = ThreadLocal.withInitial(Buf::new);
    private static final ThreadLocal<Buf> B_BUF = ThreadLocal.withInitial(Buf::new);

    private static Buf acquire(ThreadLocal<Buf> local, int size, int tileSize) {
        Buf buf = local.get();
        if (buf.busy) buf = new Buf();
        if (buf.data.length < size) buf.data = new float[size];
        if (buf.tile.length < tileSize) buf.tile = new float[tileSize];
        buf.busy = true;
        return buf;
    }

    static void sgemm(boolean simd, boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int offA, int lda, float[] b, int offB, int ldb,
                      float beta, float[] c, int offC, int ldc) {
        int mr = simd ? GemmSimdKernel.MR : SCALAR_MR;
        int nr = simd ? GemmSimdKernel.NR : SCALAR_NR;
        int threads = (long) m * n * k >= PARALLEL_MIN ? Parallel.THREADS : 1;
        if (beta != 0f && beta != 1f) {
            // The kernels only overwrite or accumulate, so a general beta is applied to C once up front.
            Parallel.RangeBody scale = (i0, i1) -> {
                for (int i = i0; i < i1; i++) GemmSmall.scale(c, offC + i * ldc, n, beta);
            };
            if (threads > 1) Parallel.forRange(m, Math.max(1, 65536 / n), scale);
            else scale.run(0, m);
        }
        // Equal k blocks (513 = 257 + 256, not 512 + 1): a sliver of a block would cost a whole pass over C.
        int kBlocks = (k + KC - 1) / KC;
        int kcMax = (k + kBlocks - 1) / kBlocks;
        int ncMax = Math.min(roundUp(n, nr), NC);
        // Tasks for the pool: m blocks of at most MC rows, their count a multiple of the threads so that they
        // share out evenly, and about four per thread so that a thread slowed by other processes is made up for.
        // Too few rows for that, and the columns are split into groups as well.
        int wanted = threads > 1 ? 4 * threads : 1;
        int blocks = roundUp(Math.max((m + MC - 1) / MC, Math.min(wanted, (m + mr - 1) / mr)), threads);
        int mc = roundUp((m + blocks - 1) / blocks, mr);
        int mBlocks = (m + mc - 1) / mc;
        boolean direct = simd && !transA && alpha == 1f && n <= DIRECT_A_MAX_N;
        Buf bBuf = acquire(B_BUF, kcMax * ncMax, 0);
        try {
            for (int jc = 0; jc < n; jc += NC) {
                int nc = Math.min(NC, n - jc);
                int panels = (nc + nr - 1) / nr;
                int groups = Math.min(panels, Math.max(1, (wanted + mBlocks - 1) / mBlocks));
                for (int pc = 0; pc < k; pc += kcMax) {
                    int kc = Math.min(kcMax, k - pc), pc0 = pc;
                    boolean add = pc > 0 || beta != 0f;         // accumulate onto C (already scaled by beta)
                    GemmPack.PanelsB bp = new GemmPack.PanelsB(simd, transB, b, offB, ldb, pc, kc, jc, nc, nr, bBuf.data);
                    Parallel.RangeBody tasks = (t0, t1) -> {
                        Buf aBuf = acquire(A_BUF, roundUp(mc, mr) * kc, mr * nr);
                        try {
                            int packed = -1;
                            for (int t = t0; t < t1; t++) {
                                int ib = t / groups, g = t % groups;
                                int i0 = ib * mc, mcur = Math.min(mc, m - i0);
                                int jp0 = (int) ((long) g * panels / groups), jp1 = (int) ((long) (g + 1) * panels / groups);
                                // Tasks start on different panels, so the first B panels are packed side by side.
                                int first = (int) ((long) ib * (jp1 - jp0) / mBlocks);
                                if (direct) {
                                    macroRowsA(kc, mcur, a, offA + i0 * lda + pc0, lda, bp, jp0, jp1, first,
                                            c, offC + i0 * ldc, ldc, add, aBuf);
                                    continue;
                                }
                                if (ib != packed) {
                                    GemmPack.packA(transA, alpha, a, offA, lda, i0, mcur, pc0, kc, mr, aBuf.data);
                                    packed = ib;
                                }
                                macro(simd, kc, mcur, mr, aBuf.data, bp, jp0, jp1, first, c, offC + i0 * ldc, ldc, add, aBuf.tile);
                            }
                        } finally {
                            aBuf.busy = false;
                        }
                    };
                    if (threads > 1) Parallel.forRange(mBlocks * groups, 1, tasks);
                    else tasks.run(0, mBlocks * groups);
                }
            }
        } finally {
            bBuf.busy = false;
        }
    }

    /**
     * The micro-tiles of B panels [jp0, jp1) (starting at jp0 + first, wrapping) against one packed A block of mcur
     * rows; c/ci address its first row. C = tile, or C += tile when {@code add}.
     */
    private static void macro(boolean simd, int kc, int mcur, int mr, float[] ap, GemmPack.PanelsB bp, int jp0, int jp1,
                              int first, float[] c, int ci, int ldc, boolean add, float[] tile) {
        int nr = bp.nr, span = jp1 - jp0;
        float[] bd = bp.data();
        for (int s = 0; s < span; s++) {
            int jp = jp0 + (first + s) % span;
            bp.ensure(jp);
            int j = jp * nr;                                   // column within the jc block
            int cols = Math.min(nr, bp.nc - j);
            int bi = jp * nr * kc;
            for (int ir = 0; ir < mcur; ir += mr) {
                int rows = Math.min(mr, mcur - ir);
                int ai = ir * kc;
                int cij = ci + ir * ldc + bp.jc + j;
                if (rows == mr && cols == nr) {
                    if (simd) GemmSimdKernel.kernel(kc, ap, ai, bd, bi, c, cij, ldc, add);
                    else scalarKernel(kc, ap, ai, bd, bi, c, cij, ldc, add);
                } else {
                    // Edge tile: compute the zero-padded full tile aside, then merge only the valid part.
                    if (simd) GemmSimdKernel.kernel(kc, ap, ai, bd, bi, tile, 0, nr, false);
                    else scalarKernel(kc, ap, ai, bd, bi, tile, 0, nr, false);
                    mergeEdge(tile, nr, rows, cols, c, cij, ldc, add);
                }
            }
        }
    }

    /**
     * {@link #macro} with a row-major A read in place (alpha = 1): ai addresses row 0, column pc of the block. A
     * bottom panel of fewer than MR rows is packed, zero-padded, so the kernel never reads past A. (A transposed
     * A is always packed: read in place, every step of k would land on a new row of A, and measured 40% slower.)
     */
    private static void macroRowsA(int kc, int mcur, float[] a, int ai, int lda, GemmPack.PanelsB bp, int jp0, int jp1,
                                   int first, float[] c, int ci, int ldc, boolean add, Buf buf) {
        int mr = GemmSimdKernel.MR, nr = bp.nr, span = jp1 - jp0;
        float[] bd = bp.data();
        int full = mcur / mr * mr;
        for (int ir = 0; ir < full; ir += mr) {
            for (int s = 0; s < span; s++) {
                int jp = jp0 + (first + s) % span;
                bp.ensure(jp);
                int j = jp * nr;
                int cij = ci + ir * ldc + bp.jc + j;
                if (bp.nc - j >= nr) {
                    GemmSimdKernel.kernelRowsA(kc, a, ai + ir * lda, lda, bd, jp * nr * kc, c, cij, ldc, add);
                } else {
                    GemmSimdKernel.kernelRowsA(kc, a, ai + ir * lda, lda, bd, jp * nr * kc, buf.tile, 0, nr, false);
                    mergeEdge(buf.tile, nr, mr, bp.nc - j, c, cij, ldc, add);
                }
            }
        }
        if (full < mcur) {
            GemmPack.packA(false, 1f, a, ai + full * lda, lda, 0, mcur - full, 0, kc, mr, buf.data);
            macro(true, kc, mcur - full, mr, buf.data, bp, jp0, jp1, first, c, ci + full * ldc, ldc, add, buf.tile);
        }
    }

    /** C[0:rows, 0:cols] (from ci) = tile, or C + tile when {@code add}; the tile's rows are nr apart. */
    private static void mergeEdge(float[] tile, int nr, int rows, int cols, float[] c, int ci, int ldc, boolean add) {
        for (int r = 0; r < rows; r++) {
            int row = ci + r * ldc;
            for (int q = 0; q < cols; q++) c[row + q] = add ? c[row + q] + tile[r * nr + q] : tile[r * nr + q];
        }
    }

    /** The 4×4 scalar counterpart of {@link GemmSimdKernel#kernel}: C tile = acc, or C + acc when {@code add}. */
    static void scalarKernel(int kc, float[] ap, int ai, float[] bp, int bi, float[] c, int ci, int ldc, boolean add) {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int a = ai, b = bi, end = bi + kc * SCALAR_NR; b < end; a += SCALAR_MR, b += SCALAR_NR) {
            float b0 = bp[b], b1 = bp[b + 1], b2 = bp[b + 2], b3 = bp[b + 3];
            float x = ap[a];
            c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
            x = ap[a + 1];
            c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
            x = ap[a + 2];
            c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
            x = ap[a + 3];
            c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
        }
        storeRow(c00, c01, c02, c03, c, ci, add);
        storeRow(c10, c11, c12, c13, c, ci + ldc, add);
        storeRow(c20, c21, c22, c23, c, ci + 2 * ldc, add);
        storeRow(c30, c31, c32, c33, c, ci + 3 * ldc, add);
    }

    private static void storeRow(float v0, float v1, float v2, float v3, float[] c, int ci, boolean add) {
        if (add) {
            c[ci] += v0; c[ci + 1] += v1; c[ci + 2] += v2; c[ci + 3] += v3;
        } else {
            c[ci] = v0; c[ci + 1] = v1; c[ci + 2] = v2; c[ci + 3] = v3;
        }
    }

    static int roundUp(int x, int to) {
        return (x + to - 1) / to * to;
    }
}
