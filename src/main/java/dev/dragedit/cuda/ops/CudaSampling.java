package dev.dragedit.cuda.ops;

import dev.dragedit.cuda.Dim3;
import dev.dragedit.cuda.KernelArgs;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

import static dev.dragedit.cuda.ops.CudaOpSupport.floatDevice;
import static dev.dragedit.cuda.ops.CudaOpSupport.output;
import static dev.dragedit.cuda.ops.CudaOpSupport.sameDeviceAndDtype;
import static dev.dragedit.cuda.ops.CudaOpSupport.suffix;

/**
 * Resampling ops on a {@link KernelDevice} through the kernels of kernels/sampling.cu: nearest 2× upsample, bilinear
 * resize (torch interpolate, align_corners=False) and bilinear grid sampling (torch grid_sample, zeros padding), with
 * backwards; same signatures and semantics as {@link dev.dragedit.ops.Ops} and the CPU implementation
 * (dev.dragedit.ops.cpu.CpuSampling, ResizeBilinear, GridSampleKernels).
 * <p>
 * The float scale factors of the source-coordinate arithmetic are computed here exactly as the CPU op computes them
 * and passed to the kernels, so both sides pick the same taps. Elementwise kernels run 1-D grid-stride loops of
 * {@link #BLOCK} threads; grid sampling gives a thread one output location and up to {@link #GRID_CHANNELS_PER_THREAD}
 * channels (the backward: all channels, since dgrid sums over them in-thread). The nearest and resize backwards
 * gather per input pixel and are deterministic; gridSampleBackward's dx is scattered with float atomics, so its
 * rounding may vary from run to run (dgrid does not).
 * <p>
 * Storage types: F32, F16 or BF16 (kernels {@code *_<f32|f16|bf16>}); the inputs of one op share a dtype, which the
 * results keep. Taps, weights and sums are F32 and each result element is rounded once. gridSampleBackward's dx is
 * scattered into an F32 buffer (float atomics, never 16-bit ones) and, for 16-bit storage, converted once at the end
 * (CudaElementwise.cast).
 * <p>
 * With {@code -Ddragedit.cuda.poison=true} (or CudaOpSupport.poisonOutputs(true)) outputs are filled with NaN (bytes 0xFF)
 * before the kernels run, so an element a kernel forgets to write shows up in a test.
 */
public final class CudaSampling {
    private CudaSampling() {}

    /** Threads per block of the 1-D launches. */
    private static final int BLOCK = 256;
    /** Upper bound on the blocks of a grid-stride launch; the loop covers the rest. */
    private static final int MAX_BLOCKS = 1 << 20;
    /** Channels a grid-sample forward thread handles with one set of taps. */
    static final int GRID_CHANNELS_PER_THREAD = 8;

    // ---------------------------------------------------------------- nearest 2×

    public static Tensor upsampleNearest2x(Tensor x) {
        String op = "upsampleNearest2x";
        KernelDevice dev = floatDevice(op, "x", x);
        DType dt = x.dtype();
        int[] s = planeShape(op, "x", x, "[..., H, W]");
        int r = s.length, w = s[r - 1];
        int[] os = s.clone();
        os[r - 2] *= 2;
        os[r - 1] *= 2;
        Tensor y = output(dev, dt, os);   // [..., 2H, 2W]
        long rows = w == 0 ? 0 : x.numel() / w;
        if (y.numel() == 0) return y;
        dev.launch("upsample_nearest2x_fwd_" + suffix(dt), grid(y.numel()), Dim3.of(BLOCK), 0,
                KernelArgs.create().ptr(x.devicePtr()).ptr(y.devicePtr()).i64(rows).i32(w));
        return y;
    }

    public static Tensor upsampleNearest2xBackward(Tensor gy) {
        String op = "upsampleNearest2xBackward";
        KernelDevice dev = floatDevice(op, "gy", gy);
        DType dt = gy.dtype();
        int[] s = planeShape(op, "gy", gy, "[..., 2H, 2W]");
        int r = s.length;
        if (s[r - 2] % 2 != 0 || s[r - 1] % 2 != 0)
            throw new IllegalArgumentException(op + ": gy has shape " + Arrays.toString(s)
                    + ", expected even sizes in the last two dims [..., 2H, 2W]");
        int[] xs = s.clone();
        xs[r - 2] /= 2;
        xs[r - 1] /= 2;
        Tensor dx = output(dev, dt, xs);   // [..., H, W]
        int w = xs[r - 1];
        if (dx.numel() == 0) return dx;
        dev.launch("upsample_nearest2x_bwd_" + suffix(dt), grid(dx.numel()), Dim3.of(BLOCK), 0,
                KernelArgs.create().ptr(gy.devicePtr()).ptr(dx.devicePtr()).i64(dx.numel() / w).i32(w));
        return dx;
    }

    // ---------------------------------------------------------------- bilinear resize

    public static Tensor resizeBilinear(Tensor x, int outH, int outW) {
        String op = "resizeBilinear";
        KernelDevice dev = floatDevice(op, "x", x);
        DType dt = x.dtype();
        int[] s = planeShape(op, "x", x, "[..., H, W]");
        int r = s.length, inH = s[r - 2], inW = s[r - 1];
        nonEmptyPlane(op, "x", s, "input");
        if (outH < 1 || outW < 1)
            throw new IllegalArgumentException(op + ": output size (" + outH + ", " + outW + ") must be positive");
        int[] os = s.clone();
        os[r - 2] = outH;
        os[r - 1] = outW;
        Tensor y = output(dev, dt, os);   // [..., outH, outW]
        if (y.numel() == 0) return y;
        long planes = x.numel() / ((long) inH * inW);
        dev.launch("resize_bilinear_fwd_" + suffix(dt), grid(y.numel()), Dim3.of(BLOCK), 0, KernelArgs.create()
                .ptr(x.devicePtr()).ptr(y.devicePtr()).i64(planes).i32(inH).i32(inW).i32(outH).i32(outW)
                .f32((float) inH / outH).f32((float) inW / outW));
        return y;
    }

    public static Tensor resizeBilinearBackward(Tensor gy, int inH, int inW) {
        String op = "resizeBilinearBackward";
        KernelDevice dev = floatDevice(op, "gy", gy);
        DType dt = gy.dtype();
        int[] s = planeShape(op, "gy", gy, "[..., outH, outW]");
        int r = s.length, outH = s[r - 2], outW = s[r - 1];
        nonEmptyPlane(op, "gy", s, "output");
        if (inH < 1 || inW < 1)
            throw new IllegalArgumentException(op + ": input size (" + inH + ", " + inW + ") must be positive");
        int[] xs = s.clone();
        xs[r - 2] = inH;
        xs[r - 1] = inW;
        Tensor dx = output(dev, dt, xs);   // [..., inH, inW]
        if (dx.numel() == 0) return dx;
        long planes = gy.numel() / ((long) outH * outW);
        dev.launch("resize_bilinear_bwd_" + suffix(dt), grid(dx.numel()), Dim3.of(BLOCK), 0, KernelArgs.create()
                .ptr(gy.devicePtr()).ptr(dx.devicePtr()).i64(planes).i32(inH).i32(inW).i32(outH).i32(outW)
                .f32((float) inH / outH).f32((float) inW / outW));
        return dx;
    }

    // ---------------------------------------------------------------- grid sample

    public static Tensor gridSample(Tensor x, Tensor grid, boolean alignCorners) {
        String op = "gridSample";
        KernelDevice dev = checkGridSample(op, x, grid);
        int[] xs = x.shape(), gs = grid.shape();
        int n = xs[0], c = xs[1], h = xs[2], w = xs[3], locs = gs[1] * gs[2];
        DType dt = x.dtype();
        Tensor y = output(dev, dt, n, c, gs[1], gs[2]);   // [N, C, Ho, Wo]
        if (y.numel() == 0) return y;
        int cpt = Math.min(c, GRID_CHANNELS_PER_THREAD);
        dev.launch("grid_sample_fwd_" + suffix(dt), gridSampleGrid(locs, n, (c + cpt - 1) / cpt), Dim3.of(locBlock(locs)), 0,
                KernelArgs.create().ptr(x.devicePtr()).ptr(grid.devicePtr()).ptr(y.devicePtr())
                        .i32(c).i32(h).i32(w).i32(locs).i32(cpt)
                        .f32(scale(w, alignCorners)).f32(scale(h, alignCorners)).f32(alignCorners ? 0f : 0.5f));
        return y;
    }

    public static Tensor[] gridSampleBackward(Tensor gy, Tensor x, Tensor grid, boolean alignCorners, boolean needX, boolean needGrid) {
        String op = "gridSampleBackward";
        KernelDevice dev = checkGridSample(op, x, grid);
        DType dt = x.dtype();
        sameDeviceAndDtype(op, "gy", gy, dev, dt);
        int[] xs = x.shape(), gs = grid.shape();
        int n = xs[0], c = xs[1], h = xs[2], w = xs[3], locs = gs[1] * gs[2];
        int[] expected = {n, c, gs[1], gs[2]};
        if (!Arrays.equals(gy.shape(), expected))
            throw new IllegalArgumentException(op + ": gy has shape " + Arrays.toString(gy.shape())
                    + ", expected [N, C, Ho, Wo] = " + Arrays.toString(expected));
        // dx [N, C, H, W] is accumulated by F32 atomics, so it starts at zero (and stays zero where no grid point
        // reaches); for 16-bit storage in an F32 buffer converted at the end.
        Tensor dx = needX ? Tensor.emptyOn(dev, DType.F32, xs) : null;
        Tensor dgrid = needGrid ? output(dev, dt, gs) : null;         // [N, Ho, Wo, 2]
        if (dx != null && dx.numel() > 0) dev.memset(dx.devicePtr(), 0, dx.sizeBytes());
        if ((!needX && !needGrid) || n == 0 || locs == 0) return new Tensor[]{toDtype(dx, dt), dgrid};
        dev.launch("grid_sample_bwd_" + suffix(dt), gridSampleGrid(locs, n, 1), Dim3.of(locBlock(locs)), 0, KernelArgs.create()
                .ptr(gy.devicePtr()).ptr(x.devicePtr()).ptr(grid.devicePtr())
                .ptr(dx == null || c == 0 ? 0 : dx.devicePtr()).ptr(dgrid == null ? 0 : dgrid.devicePtr())
                .i32(c).i32(h).i32(w).i32(locs)
                .f32(scale(w, alignCorners)).f32(scale(h, alignCorners)).f32(alignCorners ? 0f : 0.5f));
        return new Tensor[]{toDtype(dx, dt), dgrid};
    }

    /** The F32 accumulator t converted to dtype dt (t itself for F32, null stays null); t is released. */
    private static Tensor toDtype(Tensor t, DType dt) {
        if (t == null || dt == DType.F32) return t;
        Tensor out = CudaElementwise.cast(t, dt);
        t.release();
        return out;
    }

    /** The unnormalisation factor d(ix)/d(gx), in float as the CPU op computes it. */
    private static float scale(int size, boolean alignCorners) {
        return alignCorners ? (size - 1) / 2f : size / 2f;
    }

    private static KernelDevice checkGridSample(String op, Tensor x, Tensor grid) {
        KernelDevice dev = floatDevice(op, "x", x);
        sameDeviceAndDtype(op, "grid", grid, dev, x.dtype());
        int[] xs = x.shape(), gs = grid.shape();
        if (xs.length != 4)
            throw new IllegalArgumentException(op + ": x has shape " + Arrays.toString(xs) + ", expected [N, C, H, W]");
        if (gs.length != 4 || gs[3] != 2 || gs[0] != xs[0])
            throw new IllegalArgumentException(op + ": grid has shape " + Arrays.toString(gs) + ", expected [N=" + xs[0] + ", Ho, Wo, 2]");
        nonEmptyPlane(op, "x", xs, "spatial");
        if (xs[0] > 65535)
            throw new IllegalArgumentException(op + ": x has shape " + Arrays.toString(xs) + ", batch N above 65535 is not supported (grid y)");
        return dev;
    }

    /** Threads per block over output locations: a multiple of 32, at most {@link #BLOCK}. */
    private static int locBlock(int locs) {
        return Math.min(BLOCK, (locs + 31) / 32 * 32);
    }

    private static Dim3 gridSampleGrid(int locs, int n, int channelChunks) {
        int b = locBlock(locs);
        return Dim3.of((locs + b - 1) / b, n, channelChunks);
    }

    // ---------------------------------------------------------------- launches and checks

    /** Blocks of a grid-stride launch over {@code total} items. */
    private static Dim3 grid(long total) {
        return Dim3.of((int) Math.min(MAX_BLOCKS, (total + BLOCK - 1) / BLOCK));
    }

    private static int[] planeShape(String op, String arg, Tensor t, String layout) {
        int[] s = t.shape();
        if (s.length < 2)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(s) + ", expected " + layout);
        return s;
    }

    private static void nonEmptyPlane(String op, String arg, int[] s, String which) {
        if (s[s.length - 2] < 1 || s[s.length - 1] < 1)
            throw new IllegalArgumentException(op + ": " + arg + " has shape " + Arrays.toString(s)
                    + ", expected a non-empty " + which + " size in the last two dims");
    }

}
