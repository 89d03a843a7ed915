package dev.dragedit.ops.cpu;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Device;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.util.Arrays;

/**
 * Resampling ops: nearest 2× upsample (the UNet/VAE Upsample2D blocks), bilinear resize (torch interpolate,
 * align_corners=False; DragDiffusion enlarges UNet features to its supervision resolution) and bilinear grid
 * sampling (torch grid_sample; DragDiffusion/DragGAN read feature maps at fractional handle points).
 * <p>
 * This class validates arguments and holds the nearest-neighbour kernels; the bilinear resize lives in
 * {@link ResizeBilinear}, grid sampling in {@link GridSampleKernels}, and the Vector API loops in
 * {@link SamplingSimd} (loaded only when {@link Simd#enabled()}). Everything works on the last two dims of
 * dense row-major F32 tensors, one (H, W) plane after another. Nearest 2× is memory-bound: it is parallel over
 * input rows of all planes (so a single large plane still spreads over the cores), duplicates columns with a lane
 * shuffle and rows with an array copy; its backward adds row pairs with vectors before summing column pairs.
 */
final class CpuSampling {
    private CpuSampling() {}

    /** Work per parallel chunk, in output elements: below this a chunk is not worth a task. */
    static final int GRAIN_ELEMS = 1 << 15;

    // ------------------------------------------------------------------ nearest 2×

    public static Tensor upsampleNearest2x(Tensor x) {
        float[] xd = f32("upsampleNearest2x", "x", x);
        int[] s = x.shape();
        requireRank("upsampleNearest2x", "x", s, 2, "[..., H, W]");
        int r = s.length, h = s[r - 2], w = s[r - 1];
        int[] os = s.clone();
        os[r - 2] = 2 * h;
        os[r - 1] = 2 * w;
        long outN = Tensor.numel(os);
        if (outN > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("upsampleNearest2x: output shape " + Arrays.toString(os) + " has " + outN
                    + " elements; a CPU tensor holds at most 2^31");
        Tensor out = Tensor.zeros(os); // [..., 2H, 2W]
        float[] od = out.data();
        int rows = (int) (Tensor.numel(s) / Math.max(1, w)); // input rows over all planes
        if (w == 0 || rows == 0) return out;
        boolean simd = Simd.enabled();
        Parallel.forRange(rows, Math.max(1, GRAIN_ELEMS / (4 * w)), (r0, r1) -> {
            for (int row = r0; row < r1; row++) {
                int xo = row * w, oo = row * 4 * w; // input row `row` becomes output rows 2·row and 2·row+1
                int j = simd ? SamplingSimd.duplicateColumns(xd, xo, od, oo, w) : 0;
                for (; j < w; j++) {
                    float v = xd[xo + j];
                    od[oo + 2 * j] = v;
                    od[oo + 2 * j + 1] = v;
                }
                System.arraycopy(od, oo, od, oo + 2 * w, 2 * w);
            }
        });
        return out;
    }

    public static Tensor upsampleNearest2xBackward(Tensor gy) {
        float[] gd = f32("upsampleNearest2xBackward", "gy", gy);
        int[] s = gy.shape();
        requireRank("upsampleNearest2xBackward", "gy", s, 2, "[..., 2H, 2W]");
        int r = s.length, h2 = s[r - 2], w2 = s[r - 1];
        if (h2 % 2 != 0 || w2 % 2 != 0)
            throw new IllegalArgumentException("upsampleNearest2xBackward: gy has shape " + Arrays.toString(s)
                    + ", expected even sizes in the last two dims [..., 2H, 2W]");
        int w = w2 / 2;
        int[] xs = s.clone();
        xs[r - 2] = h2 / 2;
        xs[r - 1] = w;
        Tensor dx = Tensor.zeros(xs); // [..., H, W]
        float[] dd = dx.data();
        int rows = (int) (Tensor.numel(xs) / Math.max(1, w));
        if (w == 0 || rows == 0) return dx;
        boolean simd = Simd.enabled();
        Parallel.forRange(rows, Math.max(1, GRAIN_ELEMS / (4 * w)), (r0, r1) -> {
            float[] pair = new float[w2]; // gy row 2i + gy row 2i+1
            for (int row = r0; row < r1; row++) {
                int go = row * 2 * w2;
                int k = simd ? SamplingSimd.addRows(gd, go, gd, go + w2, pair, 0, w2) : 0;
                for (; k < w2; k++) pair[k] = gd[go + k] + gd[go + w2 + k];
                int dO = row * w;
                for (int j = 0; j < w; j++) dd[dO + j] = pair[2 * j] + pair[2 * j + 1];
            }
        });
        return dx;
    }

    // ------------------------------------------------------------------ bilinear resize

    public static Tensor resizeBilinear(Tensor x, int outH, int outW) {
        f32("resizeBilinear", "x", x);
        int[] s = x.shape();
        requireRank("resizeBilinear", "x", s, 2, "[..., H, W]");
        int r = s.length;
        requirePositiveSizes("resizeBilinear", "x", s, s[r - 2], s[r - 1], "input");
        if (outH < 1 || outW < 1)
            throw new IllegalArgumentException("resizeBilinear: output size (" + outH + ", " + outW + ") must be positive");
        return ResizeBilinear.forward(x, outH, outW);
    }

    public static Tensor resizeBilinearBackward(Tensor gy, int inH, int inW) {
        f32("resizeBilinearBackward", "gy", gy);
        int[] s = gy.shape();
        requireRank("resizeBilinearBackward", "gy", s, 2, "[..., outH, outW]");
        int r = s.length;
        requirePositiveSizes("resizeBilinearBackward", "gy", s, s[r - 2], s[r - 1], "output");
        if (inH < 1 || inW < 1)
            throw new IllegalArgumentException("resizeBilinearBackward: input size (" + inH + ", " + inW + ") must be positive");
        return ResizeBilinear.backward(gy, inH, inW);
    }

    // ------------------------------------------------------------------ grid sample

    public static Tensor gridSample(Tensor x, Tensor grid, boolean alignCorners) {
        checkGridSample("gridSample", x, grid);
        return GridSampleKernels.forward(x, grid, alignCorners);
    }

    public static Tensor[] gridSampleBackward(Tensor gy, Tensor x, Tensor grid, boolean alignCorners, boolean needX, boolean needGrid) {
        checkGridSample("gridSampleBackward", x, grid);
        f32("gridSampleBackward", "gy", gy);
        int[] xs = x.shape(), gs = grid.shape();
        int[] expected = {xs[0], xs[1], gs[1], gs[2]};
        if (!Arrays.equals(gy.shape(), expected))
            throw new IllegalArgumentException("gridSampleBackward: gy has shape " + Arrays.toString(gy.shape())
                    + ", expected [N, C, Ho, Wo] = " + Arrays.toString(expected));
        return GridSampleKernels.backward(gy, x, grid, alignCorners, needX, needGrid);
    }

    private static void checkGridSample(String op, Tensor x, Tensor grid) {
        f32(op, "x", x);
        f32(op, "grid", grid);
        int[] xs = x.shape(), gs = grid.shape();
        if (xs.length != 4)
            throw new IllegalArgumentException(op + ": x has shape " + Arrays.toString(xs) + ", expected [N, C, H, W]");
        if (gs.length != 4 || gs[3] != 2 || gs[0] != xs[0])
            throw new IllegalArgumentException(op + ": grid has shape " + Arrays.toString(gs) + ", expected [N=" + xs[0] + ", Ho, Wo, 2]");
        requirePositiveSizes(op, "x", xs, xs[2], xs[3], "spatial");
    }

    // ------------------------------------------------------------------ argument checks

    /** The F32 array of a CPU tensor, or an IllegalArgumentException naming the op and the argument. */
    static float[] f32(String op, String arg, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + arg + " is null, expected an F32 CPU tensor");
        if (t.dtype() != DType.F32)
            throw new IllegalArgumentException(op + ": " + arg + " is " + t.dtype() + ", expected F32");
        if (t.device() != Device.CPU)
            throw new IllegalArgumentException(op + ": " + arg + " is on " + t.device().name() + ", expected cpu");
        return t.data();
    }

    private static void requireRank(String op, String arg, int[] s, int min, String layout) {
        if (s.length < min)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(s) + ", expected " + layout);
    }

    private static void requirePositiveSizes(String op, String arg, int[] s, int h, int w, String which) {
        if (h < 1 || w < 1)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(s) + ", expected a non-empty "
                    + which + " size in the last two dims");
    }
}
