package dev.dragedit.ops.cpu;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Packing for {@link GemmBlocked}: copies blocks of op(A) and op(B) into the contiguous micro-panel layouts the
 * micro-kernels stream through, whatever the transposes and leading dimensions, zero-padding partial panels.
 * <pre>
 *   A block mc×kc → MR-row micro-panels: element (p, r) of panel q at q·MR·kc + p·MR + r   (alpha folded in)
 *   B block kc×nc → NR-column micro-panels: element (p, j) of panel q at q·NR·kc + p·NR + j
 * </pre>
 * B panels are packed on demand by whichever thread first needs them ({@link PanelsB}), so packing B is spread
 * over the threads without a separate parallel phase: in this VM waking the pool costs 0.2–0.5 ms, as much as
 * packing a 512×1024 block.
 */
final class GemmPack {
    private GemmPack() {}

    /** alpha·op(A)[i0:i0+mc, pc:pc+kc] into dst. */
    static void packA(boolean transA, float alpha, float[] a, int offA, int lda, int i0, int mc, int pc, int kc,
                      int mr, float[] dst) {
        for (int ir = 0; ir < mc; ir += mr) {
            int rows = Math.min(mr, mc - ir);
            int base = ir * kc;
            if (mr == 6 && rows == 6) {
                // The SIMD kernel's full panels, unrolled (35–40% faster to pack than the generic loop).
                if (!transA) {
                    int s0 = offA + (i0 + ir) * lda + pc, s1 = s0 + lda, s2 = s1 + lda, s3 = s2 + lda, s4 = s3 + lda, s5 = s4 + lda;
                    for (int p = 0, d = base; p < kc; p++, d += 6) {
                        dst[d] = alpha * a[s0 + p]; dst[d + 1] = alpha * a[s1 + p]; dst[d + 2] = alpha * a[s2 + p];
                        dst[d + 3] = alpha * a[s3 + p]; dst[d + 4] = alpha * a[s4 + p]; dst[d + 5] = alpha * a[s5 + p];
                    }
                } else {
                    // op(A)[i, p] = A[p, i]: the panel's six rows are six contiguous floats of each row of A.
                    for (int p = 0, d = base, s = offA + pc * lda + i0 + ir; p < kc; p++, d += 6, s += lda) {
                        dst[d] = alpha * a[s]; dst[d + 1] = alpha * a[s + 1]; dst[d + 2] = alpha * a[s + 2];
                        dst[d + 3] = alpha * a[s + 3]; dst[d + 4] = alpha * a[s + 4]; dst[d + 5] = alpha * a[s + 5];
                    }
                }
                continue;
            }
            for (int p = 0; p < kc; p++) {
                int d = base + p * mr;
                for (int r = 0; r < rows; r++)
                    dst[d + r] = alpha * (transA ? a[offA + (pc + p) * lda + i0 + ir + r] : a[offA + (i0 + ir + r) * lda + pc + p]);
                for (int r = rows; r < mr; r++) dst[d + r] = 0f;
            }
        }
    }

    /** op(B)[pc:pc+kc, jc + jp·NR …] of panel jp (of a block nc wide) into dst. */
    static void packPanelB(boolean simd, boolean transB, float[] b, int offB, int ldb, int pc, int kc, int jc, int nc,
                           int nr, int jp, float[] dst) {
        int j0 = jc + jp * nr;
        int cols = Math.min(nr, jc + nc - j0);
        int base = jp * nr * kc;
        if (!transB) {
            int src = offB + pc * ldb + j0;
            if (simd && cols == nr) {
                GemmSimdKernel.copyPanel(b, src, ldb, kc, dst, base);           // 2.5× the scalar copy
                return;
            }
            for (int p = 0; p < kc; p++, src += ldb) {
                int d = base + p * nr;
                System.arraycopy(b, src, dst, d, cols);
                if (cols < nr) Arrays.fill(dst, d + cols, d + nr, 0f);
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

    /**
     * The B panels of one (jc, pc) block, packed on first use. {@link #ensure} returns once panel jp is in the
     * buffer: it packs it if no thread has claimed it, or waits (a few microseconds) for the thread that has.
     * The volatile state of each panel orders its packing before every read of it.
     */
    static final class PanelsB {
        private static final int EMPTY = 0, PACKING = 1, READY = 2;
        private final boolean simd, transB;
        private final float[] b, dst;
        private final int offB, ldb, pc, kc;
        final int jc, nc, nr;                            // the block's first column, its width, the panel width
        private final AtomicIntegerArray state;

        PanelsB(boolean simd, boolean transB, float[] b, int offB, int ldb, int pc, int kc, int jc, int nc, int nr, float[] dst) {
            this.simd = simd; this.transB = transB; this.b = b; this.offB = offB; this.ldb = ldb;
            this.pc = pc; this.kc = kc; this.jc = jc; this.nc = nc; this.nr = nr; this.dst = dst;
            this.state = new AtomicIntegerArray((nc + nr - 1) / nr);
        }

        float[] data() { return dst; }

        void ensure(int jp) {
            int s = state.get(jp);
            if (s == READY) return;
            if (s == EMPTY && state.compareAndSet(jp, EMPTY, PACKING)) {
                try {
                    packPanelB(simd, transB, b, offB, ldb, pc, kc, jc, nc, nr, jp, dst);
                } finally {
                    state.set(jp, READY);
                }
                return;
            }
            while (state.get(jp) != READY) Thread.onSpinWait();
        }
    }
}
