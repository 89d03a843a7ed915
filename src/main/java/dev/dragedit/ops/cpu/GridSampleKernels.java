package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

/**
 * torch.nn.functional.grid_sample(mode='bilinear', padding_mode='zeros') and its backward: x [N, C, H, W],
 * grid [N, Ho, Wo, 2] holding (x, y) in [−1, 1] → [N, C, Ho, Wo]. DragDiffusion and DragGAN use it to read feature
 * maps at fractional handle points and patches, so points on pixel centres, on the border and outside the image
 * all follow torch exactly.
 * <p>
 * The arithmetic is that of torch's CPU kernel (GridSamplerKernel.cpp), in float: ix = (gx + 1)·sx with
 * sx = (W − 1)/2 when alignCorners, ix = (gx + 1)·sx − ½ with sx = W/2 otherwise (the same unnormalisation as
 * (gx + 1)/2·(W − 1) and ((gx + 1)·W − 1)/2); x_w = floor(ix), w = ix − x_w, e = x_w + 1 − ix (and n, s for y);
 * weights nw = s·e, ne = s·w, sw = n·e, se = n·w; taps outside the image read as 0 (so a NaN coordinate gives NaN,
 * as in torch). With v_nw … v_se the tap values (0 outside), dgrid = (Σ_c ((v_ne − v_nw)·s + (v_se − v_sw)·n)·gy,
 * Σ_c ((v_sw − v_nw)·e + (v_se − v_ne)·w)·gy) · (sx, sy).
 * <p>
 * The tap offsets (−1 when outside) and weights are computed once per output location into a table shared by all
 * channels; the kernels then loop over channels, each pass reading one (H, W) plane of x (which stays in cache
 * while the pass gathers from it at random positions) and a slice of at most {@value #BLOCK} table entries. The
 * forward is parallel over (plane, block of locations); dx is scattered plane by plane, parallel over N·C, each
 * thread owning its planes of dx, so there are no races; dgrid sums over channels into one partial buffer per
 * channel group and adds the groups in a fixed order, so the result does not depend on the thread count.
 * The loops are scalar: they are gathers at data-dependent offsets, and vector gathers measured slower (see
 * {@link SamplingSimd}).
 */
final class GridSampleKernels {
    private GridSampleKernels() {}

    /** Output locations per work unit: its slice of the tap table stays in L2 while the unit loops over channels. */
    static final int BLOCK = 2048;
    /** Channels per dgrid partial sum. */
    static final int GROUP = 32;

    /**
     * Per output location q = n·Ho·Wo + p: the offsets of the nw/ne/sw/se taps in an (H, W) plane (−1 when the tap
     * is outside the image), their bilinear weights, and (only for dgrid) the distances e, w, n, s.
     */
    static final class Taps {
        final int[] inw, ine, isw, ise;
        final float[] wnw, wne, wsw, wse;
        final float[] de, dw, dn, ds;

        Taps(int count, boolean distances) {
            inw = new int[count]; ine = new int[count]; isw = new int[count]; ise = new int[count];
            wnw = new float[count]; wne = new float[count]; wsw = new float[count]; wse = new float[count];
            de = distances ? new float[count] : null;
            dw = distances ? new float[count] : null;
            dn = distances ? new float[count] : null;
            ds = distances ? new float[count] : null;
        }
    }

    /** The unnormalisation factor: d(ix)/d(gx). */
    static float scale(int size, boolean alignCorners) {
        return alignCorners ? (size - 1) / 2f : size / 2f;
    }

    static Taps taps(float[] grid, int count, int h, int w, boolean alignCorners, boolean distances) {
        Taps t = new Taps(count, distances);
        float sx = scale(w, alignCorners), sy = scale(h, alignCorners);
        float shift = alignCorners ? 0f : 0.5f;
        Parallel.forRange(count, CpuSampling.GRAIN_ELEMS / 4, (q0, q1) -> {
            for (int q = q0; q < q1; q++) {
                float ix = (grid[2 * q] + 1f) * sx - shift;
                float iy = (grid[2 * q + 1] + 1f) * sy - shift;
                float xw = (float) Math.floor(ix), yn = (float) Math.floor(iy);
                float dw = ix - xw, de = (xw + 1f) - ix;
                float dn = iy - yn, ds = (yn + 1f) - iy;
                t.wnw[q] = ds * de;
                t.wne[q] = ds * dw;
                t.wsw[q] = dn * de;
                t.wse[q] = dn * dw;
                if (distances) {
                    t.de[q] = de; t.dw[q] = dw; t.dn[q] = dn; t.ds[q] = ds;
                }
                // Float comparisons, so huge and NaN coordinates never reach the int conversion.
                boolean west = xw >= 0 && xw < w, east = xw >= -1 && xw < w - 1;
                boolean north = yn >= 0 && yn < h, south = yn >= -1 && yn < h - 1;
                int x0 = west || east ? (int) xw : 0, y0 = north || south ? (int) yn : 0;
                t.inw[q] = north && west ? y0 * w + x0 : -1;
                t.ine[q] = north && east ? y0 * w + x0 + 1 : -1;
                t.isw[q] = south && west ? (y0 + 1) * w + x0 : -1;
                t.ise[q] = south && east ? (y0 + 1) * w + x0 + 1 : -1;
            }
        });
        return t;
    }

    static Tensor forward(Tensor x, Tensor grid, boolean alignCorners) {
        int[] xs = x.shape(), gs = grid.shape();
        int n = xs[0], c = xs[1], h = xs[2], w = xs[3], ho = gs[1], wo = gs[2];
        int locs = ho * wo, plane = h * w;
        Tensor out = Tensor.zeros(n, c, ho, wo); // [N, C, Ho, Wo]
        if (n == 0 || c == 0 || locs == 0) return out;
        float[] xd = x.data(), od = out.data();
        Taps t = taps(grid.data(), n * locs, h, w, alignCorners, false);
        int blocks = (locs + BLOCK - 1) / BLOCK;
        Parallel.forRange(n * c * blocks, Math.max(1, CpuSampling.GRAIN_ELEMS / Math.min(locs, BLOCK)), (u0, u1) -> {
            for (int u = u0; u < u1; u++) {
                int pl = u / blocks, p0 = (u % blocks) * BLOCK, len = Math.min(BLOCK, locs - p0);
                int q0 = (pl / c) * locs + p0, xb = pl * plane, ob = pl * locs + p0;
                for (int i = 0; i < len; i++) {
                    int q = q0 + i;
                    od[ob + i] = tap(xd, xb, t.inw[q]) * t.wnw[q] + tap(xd, xb, t.ine[q]) * t.wne[q]
                            + tap(xd, xb, t.isw[q]) * t.wsw[q] + tap(xd, xb, t.ise[q]) * t.wse[q];
                }
            }
        });
        return out;
    }

    private static float tap(float[] x, int base, int offset) {
        return offset >= 0 ? x[base + offset] : 0f;
    }

    static Tensor[] backward(Tensor gy, Tensor x, Tensor grid, boolean alignCorners, boolean needX, boolean needGrid) {
        int[] xs = x.shape(), gs = grid.shape();
        int n = xs[0], c = xs[1], h = xs[2], w = xs[3], ho = gs[1], wo = gs[2];
        int locs = ho * wo, plane = h * w;
        Tensor dx = needX ? Tensor.zeros(xs) : null;          // [N, C, H, W]
        Tensor dgrid = needGrid ? Tensor.zeros(gs) : null;    // [N, Ho, Wo, 2]
        if ((!needX && !needGrid) || n == 0 || locs == 0) return new Tensor[]{dx, dgrid};
        float[] gd = gy.data(), gridd = grid.data();
        Taps t = taps(gridd, n * locs, h, w, alignCorners, needGrid);
        if (needX && c > 0) scatterDx(gd, t, dx.data(), n, c, plane, locs);
        if (needGrid) gradGrid(gd, x.data(), t, dgrid.data(), n, c, plane, locs, scale(w, alignCorners), scale(h, alignCorners));
        return new Tensor[]{dx, dgrid};
    }

    /** dx[n, c, tap] += weight·gy[n, c, p] over all locations p; one plane per task, so no two threads share a plane. */
    private static void scatterDx(float[] gd, Taps t, float[] dd, int n, int c, int plane, int locs) {
        Parallel.forRange(n * c, Math.max(1, CpuSampling.GRAIN_ELEMS / locs), (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                int b = i / c, db = i * plane, gb = i * locs, q0 = b * locs;
                for (int p = 0; p < locs; p++) {
                    int q = q0 + p;
                    float g = gd[gb + p];
                    if (t.inw[q] >= 0) dd[db + t.inw[q]] += t.wnw[q] * g;
                    if (t.ine[q] >= 0) dd[db + t.ine[q]] += t.wne[q] * g;
                    if (t.isw[q] >= 0) dd[db + t.isw[q]] += t.wsw[q] * g;
                    if (t.ise[q] >= 0) dd[db + t.ise[q]] += t.wse[q] * g;
                }
            }
        });
    }

    /**
     * dgrid per location. Channel groups of {@value #GROUP} accumulate partial sums in channel order into their own
     * buffers (so the work spreads over the cores even when there are few locations, without races), which are then
     * added in group order and scaled by the unnormalisation factors.
     */
    private static void gradGrid(float[] gd, float[] xd, Taps t, float[] dg, int n, int c, int plane, int locs, float sx, float sy) {
        int groups = (c + GROUP - 1) / GROUP, blocks = (locs + BLOCK - 1) / BLOCK;
        float[][] px = new float[groups][n * locs], py = new float[groups][n * locs];
        Parallel.forRange(n * groups * blocks, Math.max(1, CpuSampling.GRAIN_ELEMS / (GROUP * Math.min(locs, BLOCK))), (u0, u1) -> {
            for (int u = u0; u < u1; u++) {
                int blk = u % blocks, bg = u / blocks, g = bg % groups, b = bg / groups;
                int p0 = blk * BLOCK, len = Math.min(BLOCK, locs - p0), q0 = b * locs + p0;
                float[] ax = px[g], ay = py[g];
                for (int ch = g * GROUP; ch < Math.min(c, (g + 1) * GROUP); ch++) {
                    int xb = (b * c + ch) * plane, gb = (b * c + ch) * locs + p0;
                    for (int i = 0; i < len; i++) {
                        int q = q0 + i;
                        float gv = gd[gb + i];
                        float vnw = tap(xd, xb, t.inw[q]), vne = tap(xd, xb, t.ine[q]);
                        float vsw = tap(xd, xb, t.isw[q]), vse = tap(xd, xb, t.ise[q]);
                        ax[q] += ((vne - vnw) * t.ds[q] + (vse - vsw) * t.dn[q]) * gv;
                        ay[q] += ((vsw - vnw) * t.de[q] + (vse - vne) * t.dw[q]) * gv;
                    }
                }
            }
        });
        Parallel.forRange(n * locs, CpuSampling.GRAIN_ELEMS / Math.max(1, groups), (q0, q1) -> {
            for (int q = q0; q < q1; q++) {
                float ax = 0f, ay = 0f;
                for (int g = 0; g < groups; g++) {
                    ax += px[g][q];
                    ay += py[g][q];
                }
                dg[2 * q] = ax * sx;
                dg[2 * q + 1] = ay * sy;
            }
        });
    }
}
