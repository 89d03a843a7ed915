package dev.dragedit.ops.cpu;

import dev.dragedit.util.Parallel;

import java.util.Arrays;

/**
 * The packed GEMM of {@link Gemm}, structured as in GotoBLAS/BLIS (Van Zee &amp; van de Geijn, "BLIS: A Framework
 * for Rapidly Instantiating BLAS Functionality", 2015):
 * <pre>
 *   for jc in N step NC                      B block kc×nc shared by all threads (sized for L3)
 *     for pc in K step KC
 *       pack op(B)[pc:pc+kc, jc:jc+nc] into NR-wide micro-panels           (parallel over panels)
 *       for ic in M step MC                  one task per (ic, column group), run on the pool
 *         pack alpha·op(A)[ic:ic+mc, pc:pc+kc] into MR-tall micro-panels  (per-thread buffer, sized for L2)
 *         for jr in panels: for ir in micro-panels: micro-kernel MR×NR    (B micro-panel stays in L1)
 * </pre>
 * Packing makes every transpose combination the same kernel call: the kernel only ever sees contiguous
 * micro-panels, zero-padded at the edges so it can always run full width; partial tiles go through a small
 * per-thread tile and are merged into C. alpha is folded into packed A; the first k block overwrites C (beta = 0)
 * or accumulates onto it (beta = 1, or any other beta applied to C beforehand), later k blocks accumulate.
 * The Vector API kernel ({@link GemmSimdKernel}, 6×16 on AVX2) runs when SIMD is on, a 4×4 scalar kernel otherwise.
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
        // Equal k blocks (513 = 257 + 256, not 512 + 1): a sliver of a block would cost a whole pass over C.
        int kBlocks = (k + KC - 1) / KC;
        int kcMax = (k + kBlocks - 1) / kBlocks;
        int ncMax = Math.min(roundUp(n, nr), NC);
        if (beta != 0f && beta != 1f) {
            // The kernels only overwrite or accumulate, so a general beta is applied to C once up front.
            Parallel.RangeBody scale = (i0, i1) -> {
                for (int i = i0; i < i1; i++) GemmSmall.scale(c, offC + i * ldc, n, beta);
            };
            if (threads > 1) Parallel.forRange(m, Math.max(1, 65536 / n), scale);
            else scale.run(0, m);
        }
        // Tasks for the pool: m blocks of at most MC rows, their count a multiple of the threads so that they
        // share out evenly, and about four per thread so that a thread slowed by other processes is made up for.
        // Too few rows for that, and the columns are split into groups as well.
        int wanted = threads > 1 ? 4 * threads : 1;
        int mBlocks = Math.max((m + MC - 1) / MC, Math.min(wanted, (m + mr - 1) / mr));
        mBlocks = roundUp(mBlocks, threads);
        int mc = roundUp((m + mBlocks - 1) / mBlocks, mr);
        mBlocks = (m + mc - 1) / mc;
        Buf bBuf = acquire(B_BUF, kcMax * ncMax, 0);
        try {
            float[] bp = bBuf.data;
            for (int jc = 0; jc < n; jc += NC) {
                int nc = Math.min(NC, n - jc);
                int panels = (nc + nr - 1) / nr;
                for (int pc = 0; pc < k; pc += kcMax) {
                    int kc = Math.min(kcMax, k - pc);
                    int jc0 = jc, pc0 = pc;
                    Parallel.RangeBody packB = (p0, p1) -> packB(transB, b, offB, ldb, pc0, kc, jc0, nc, nr, p0, p1, bp);
                    if (threads > 1) Parallel.forRange(panels, Math.max(1, 32768 / (kc * nr)), packB);
                    else packB.run(0, panels);

                    boolean add = pc > 0 || beta != 0f;         // accumulate onto C (already scaled by beta)
                    int groups = Math.min(panels, Math.max(1, (wanted + mBlocks - 1) / mBlocks));
                    int mTasks = mBlocks * groups;
                    Parallel.RangeBody tasks = (t0, t1) -> {
                        Buf aBuf = acquire(A_BUF, roundUp(mc, mr) * kc, mr * nr);
                        try {
                            int packed = -1;
                            for (int t = t0; t < t1; t++) {
                                int ib = t / groups, g = t % groups;
                                int i0 = ib * mc, mcur = Math.min(mc, m - i0);
                                if (ib != packed) {
                                    packA(transA, alpha, a, offA, lda, i0, mcur, pc0, kc, mr, aBuf.data);
                                    packed = ib;
                                }
                                int jp0 = (int) ((long) g * panels / groups), jp1 = (int) ((long) (g + 1) * panels / groups);
                                macro(simd, kc, mcur, mr, nr, aBuf.data, bp, jp0, jp1, jc0, nc,
                                        c, offC + i0 * ldc, ldc, add, aBuf.tile);
                            }
                        } finally {
                            aBuf.busy = false;
                        }
                    };
                    if (threads > 1) Parallel.forRange(mTasks, 1, tasks);
                    else tasks.run(0, mTasks);
                }
            }
        } finally {
            bBuf.busy = false;
        }
    }

    /**
     * The micro-tiles of B panels [jp0, jp1) against one packed A block of mcur rows; c/ci address its first row.
     * C = tile, or C += tile when {@code add}.
     */
    private static void macro(boolean simd, int kc, int mcur, int mr, int nr, float[] ap, float[] bp, int jp0, int jp1,
                              int jc, int nc, float[] c, int ci, int ldc, boolean add, float[] tile) {
        for (int jp = jp0; jp < jp1; jp++) {
            int j = jp * nr;                                   // column within the jc block
            int cols = Math.min(nr, nc - j);
            int bi = jp * nr * kc;
            for (int ir = 0; ir < mcur; ir += mr) {
                int rows = Math.min(mr, mcur - ir);
                int ai = ir * kc;
                int cij = ci + ir * ldc + jc + j;
                if (rows == mr && cols == nr) {
                    if (simd) GemmSimdKernel.kernel(kc, ap, ai, bp, bi, c, cij, ldc, add);
                    else scalarKernel(kc, ap, ai, bp, bi, c, cij, ldc, add);
                } else {
                    // Edge tile: compute the zero-padded full tile aside, then merge only the valid part.
                    if (simd) GemmSimdKernel.kernel(kc, ap, ai, bp, bi, tile, 0, nr, false);
                    else scalarKernel(kc, ap, ai, bp, bi, tile, 0, nr, false);
                    for (int r = 0; r < rows; r++) {
                        int row = cij + r * ldc;
                        for (int q = 0; q < cols; q++) c[row + q] = add ? c[row + q] + tile[r * nr + q] : tile[r * nr + q];
                    }
                }
            }
        }
    }

    /** alpha·op(A)[i0:i0+mc, pc:pc+kc] → MR-row micro-panels, element (p, r) of panel q at q·MR·kc + p·MR + r. */
    static void packA(boolean transA, float alpha, float[] a, int offA, int lda, int i0, int mc, int pc, int kc,
                      int mr, float[] dst) {
        for (int ir = 0; ir < mc; ir += mr) {
            int rows = Math.min(mr, mc - ir);
            int base = ir * kc;
            if (!transA && mr == 6 && rows == 6) {
                // The SIMD kernel's full panel: six row streams read side by side, one contiguous write stream.
                int s0 = offA + (i0 + ir) * lda + pc, s1 = s0 + lda, s2 = s1 + lda, s3 = s2 + lda, s4 = s3 + lda, s5 = s4 + lda;
                for (int p = 0, d = base; p < kc; p++, d += 6) {
                    dst[d] = alpha * a[s0 + p]; dst[d + 1] = alpha * a[s1 + p]; dst[d + 2] = alpha * a[s2 + p];
                    dst[d + 3] = alpha * a[s3 + p]; dst[d + 4] = alpha * a[s4 + p]; dst[d + 5] = alpha * a[s5 + p];
                }
            } else if (!transA) {
                // op(A) row i is contiguous in p: read rows, write with stride MR.
                for (int r = 0; r < rows; r++) {
                    int src = offA + (i0 + ir + r) * lda + pc;
                    for (int p = 0; p < kc; p++) dst[base + p * mr + r] = alpha * a[src + p];
                }
            } else {
                // op(A)[i, p] = A[p, i]: MR consecutive rows of op(A) are MR contiguous floats of A.
                for (int p = 0; p < kc; p++) {
                    int src = offA + (pc + p) * lda + i0 + ir;
                    int d = base + p * mr;
                    for (int r = 0; r < rows; r++) dst[d + r] = alpha * a[src + r];
                }
            }
            if (rows < mr)
                for (int p = 0; p < kc; p++) Arrays.fill(dst, base + p * mr + rows, base + p * mr + mr, 0f);
        }
    }

    /** op(B)[pc:pc+kc, jc+jp·NR ...] for panels [jp0, jp1) → element (p, q) of panel jp at jp·NR·kc + p·NR + q. */
    static void packB(boolean transB, float[] b, int offB, int ldb, int pc, int kc, int jc, int nc, int nr,
                      int jp0, int jp1, float[] dst) {
        for (int jp = jp0; jp < jp1; jp++) {
            int j0 = jc + jp * nr;
            int cols = Math.min(nr, jc + nc - j0);
            int base = jp * nr * kc;
            if (!transB) {
                for (int p = 0; p < kc; p++) {
                    int src = offB + (pc + p) * ldb + j0, d = base + p * nr;
                    if (cols == nr) {
                        for (int q = 0; q < nr; q++) dst[d + q] = b[src + q];
                    } else {
                        System.arraycopy(b, src, dst, d, cols);
                        Arrays.fill(dst, d + cols, d + nr, 0f);
                    }
                }
            } else {
                // op(B)[p, j] = B[j, p]: each column of the panel is a contiguous row of B.
                for (int q = 0; q < cols; q++) {
                    int src = offB + (j0 + q) * ldb + pc;
                    for (int p = 0; p < kc; p++) dst[base + p * nr + q] = b[src + p];
                }
                if (cols < nr)
                    for (int p = 0; p < kc; p++) Arrays.fill(dst, base + p * nr + cols, base + p * nr + nr, 0f);
            }
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
