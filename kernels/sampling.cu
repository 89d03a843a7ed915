// Resampling kernels of the CUDA backend: nearest 2x upsample, bilinear resize (torch interpolate, mode='bilinear',
// align_corners=False, antialias=False) and bilinear grid sampling (torch grid_sample, mode='bilinear',
// padding_mode='zeros', align_corners both), with backwards. They match dev.dragedit.ops.cpu.CpuSampling,
// ResizeBilinear and GridSampleKernels; the coordinate arithmetic uses __fmul_rn/__fadd_rn/__fsub_rn so nvcc cannot
// contract it into an FMA (a tap index that flips at a pixel boundary would not be a rounding difference). The
// scale factors are computed by the Java side in float exactly as the CPU op does and passed in.
//
// Layouts (row-major, contiguous): nearest and resize work on "planes" = the last two dims of [..., H, W]; all
// planes are stacked, so a plane index never needs to be decoded. grid_sample: x [N, C, H, W], grid [N, Ho, Wo, 2]
// holding (x, y) in [-1, 1], y/gy [N, C, Ho, Wo], dgrid [N, Ho, Wo, 2].
//
// Geometry (chosen by dev.dragedit.cuda.ops.CudaSampling): every kernel is a 1-D grid-stride loop of 256-thread
// blocks over its outputs, except grid sampling, which runs grid (ceil(Ho*Wo/256), N, ceil(C/CPT)), block (256):
// a thread owns one output location and CPT consecutive channels, computing the taps once and reusing them.
// Every entry point exists for the storage types f32, f16 and bf16 (suffix _<t>) of x, grid, gy and the results;
// taps, weights and sums are fp32 and each stored value is rounded once. grid_sample_bwd's dx is an fp32 buffer in
// every case (its atomics accumulate in fp32); for 16-bit storage CudaSampling converts it afterwards.
//   upsample_nearest2x_fwd_<t>  one thread per output element (consecutive threads write consecutive elements)
//   upsample_nearest2x_bwd_<t>  one thread per input element: sum of its 2x2 block, in the CPU op's order
//   resize_bilinear_fwd_<t>     one thread per output element, taps recomputed in-thread (cheaper than a table)
//   resize_bilinear_bwd_<t>     gather, one thread per input pixel: the output rows/columns whose taps can touch
//                               it form a short contiguous range (src = scale*(d + 1/2) - 1/2 is monotone in d,
//                               a tap i0 or i1 = i0 + 1 equals i only for src in [i - 1, i + 1)); the range is
//                               bounded generously and each candidate is checked by recomputing its taps
//                               exactly, so the result is deterministic and race-free
//   grid_sample_fwd_<t>         see above
//   grid_sample_bwd_<t>         same geometry with CPT = C: dgrid sums over all channels in-thread (channel order);
//                               dx is scattered with atomicAdd into a zeroed dx, since grid points map to arbitrary
//                               pixels. Float atomics make dx's rounding depend on the order threads arrive in:
//                               dx is NOT bit-for-bit reproducible from run to run (dgrid is).
// Reads of x in grid_sample are data-dependent gathers (cached through L1/L2); writes are coalesced along Wo.
//
// Kernels compute in fp32 and are templated on the storage type T (de_to_float / de_from_float). References: PyTorch aten/src/ATen/native/UpSample.h (area_pixel_compute_
// source_index), GridSampler.h (grid_sampler_compute_source_index), GridSamplerKernel.cpp.
#include "common.cuh"

namespace {

// ------------------------------------------------------------------ nearest 2x

template <class T>
__device__ void upsample_nearest2x_fwd(const T* x, T* y, long long rows, int w) {
    long long total = rows * 4LL * w;   // every input row becomes two output rows of 2w
    for (long long o = blockIdx.x * (long long)blockDim.x + threadIdx.x; o < total; o += (long long)gridDim.x * blockDim.x) {
        long long orow = o / (2 * w);
        int col = (int)(o - orow * 2 * w);
        y[o] = x[(orow >> 1) * w + (col >> 1)];
    }
}

template <class T>
__device__ void upsample_nearest2x_bwd(const T* gy, T* dx, long long rows, int w) {
    long long total = rows * w;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        long long row = i / w;
        int j = (int)(i - row * w);
        const T* g0 = gy + row * 4LL * w + 2 * j;   // gy rows 2*row and 2*row + 1, columns 2j and 2j + 1
        const T* g1 = g0 + 2 * w;
        float a = __fadd_rn(de_to_float(g0[0]), de_to_float(g1[0]));
        float b = __fadd_rn(de_to_float(g0[1]), de_to_float(g1[1]));
        dx[i] = de_from_float<T>(__fadd_rn(a, b));
    }
}

// ------------------------------------------------------------------ bilinear resize

// The two taps of output index d along one axis and the weight of the second, as ResizeBilinear.axis computes them.
struct Tap { int i0, i1; float l1; };

__device__ __forceinline__ Tap resize_tap(int d, int in, float scale) {
    float src = __fsub_rn(__fmul_rn(scale, __fadd_rn((float)d, 0.5f)), 0.5f);
    if (src < 0.f) src = 0.f;
    int i = min((int)floorf(src), in - 1);
    float lambda = fminf(fmaxf(__fsub_rn(src, (float)i), 0.f), 1.f);
    Tap t;
    t.i0 = i;
    t.i1 = i < in - 1 ? i + 1 : i;
    t.l1 = lambda;
    return t;
}

template <class T>
__device__ void resize_bilinear_fwd(const T* x, T* y, long long planes, int inH, int inW, int outH, int outW,
                                    float scaleH, float scaleW) {
    long long total = planes * outH * outW;
    for (long long o = blockIdx.x * (long long)blockDim.x + threadIdx.x; o < total; o += (long long)gridDim.x * blockDim.x) {
        long long p = o / ((long long)outH * outW);
        int r = (int)(o - p * outH * outW), oy = r / outW, ox = r - oy * outW;
        Tap ty = resize_tap(oy, inH, scaleH), tx = resize_tap(ox, inW, scaleW);
        const T* xp = x + p * inH * inW;
        float x0 = 1.f - tx.l1, y0 = 1.f - ty.l1;
        // Horizontal first, then vertical: the CPU op's order.
        float a = x0 * de_to_float(xp[ty.i0 * inW + tx.i0]) + tx.l1 * de_to_float(xp[ty.i0 * inW + tx.i1]);
        float b = x0 * de_to_float(xp[ty.i1 * inW + tx.i0]) + tx.l1 * de_to_float(xp[ty.i1 * inW + tx.i1]);
        y[o] = de_from_float<T>(y0 * a + ty.l1 * b);
    }
}

// Output indices whose taps may touch input index i: src in [i - 1, i + 1) means d in
// [(i - 1/2)·out/in − 1/2, (i + 3/2)·out/in − 1/2); widened by 2 on each side against rounding. Sources below
// 0 are clamped to 0, whose taps are 0 and 1, so inputs 0 and 1 start at d = 0 (checked exhaustively for all
// in, out <= 300 against the brute-force set of touching d).
__device__ __forceinline__ void resize_range(int i, int in, int out, int* lo, int* hi) {
    float r = (float)out / (float)in;
    *lo = i <= 1 ? 0 : max(0, (int)floorf((i - 0.5f) * r - 0.5f) - 2);
    *hi = min(out - 1, (int)ceilf((i + 1.5f) * r - 0.5f) + 2);
}

// The weight with which output index d's taps touch input index i (both taps may be i at the upper edge).
__device__ __forceinline__ bool resize_touch(int d, int i, int in, float scale, float* wgt) {
    Tap t = resize_tap(d, in, scale);
    if (t.i0 != i && t.i1 != i) return false;
    *wgt = (t.i0 == i ? 1.f - t.l1 : 0.f) + (t.i1 == i ? t.l1 : 0.f);
    return true;
}

template <class T>
__device__ void resize_bilinear_bwd(const T* gy, T* dx, long long planes, int inH, int inW, int outH, int outW,
                                    float scaleH, float scaleW) {
    long long total = planes * inH * inW;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        long long p = i / ((long long)inH * inW);
        int r = (int)(i - p * inH * inW), iy = r / inW, ix = r - iy * inW;
        int ylo, yhi, xlo, xhi;
        resize_range(iy, inH, outH, &ylo, &yhi);
        resize_range(ix, inW, outW, &xlo, &xhi);
        const T* gp = gy + p * outH * outW;
        float acc = 0.f;
        for (int oy = ylo; oy <= yhi; oy++) {
            float wy;
            if (!resize_touch(oy, iy, inH, scaleH, &wy)) continue;
            float row = 0.f;
            for (int ox = xlo; ox <= xhi; ox++) {
                float wx;
                if (resize_touch(ox, ix, inW, scaleW, &wx)) row += wx * de_to_float(gp[oy * outW + ox]);
            }
            acc += wy * row;
        }
        dx[i] = de_from_float<T>(acc);
    }
}

// ------------------------------------------------------------------ grid sample

// Offsets of the nw/ne/sw/se taps in an (H, W) plane (-1 outside the image), their weights and the distances
// e, w, n, s, as GridSampleKernels.taps computes them.
struct GridTaps {
    int inw, ine, isw, ise;
    float wnw, wne, wsw, wse;
    float de, dw, dn, ds;
};

__device__ __forceinline__ GridTaps grid_taps(float gx, float gy, int h, int w, float sx, float sy, float shift) {
    float ix = __fsub_rn(__fmul_rn(__fadd_rn(gx, 1.f), sx), shift);
    float iy = __fsub_rn(__fmul_rn(__fadd_rn(gy, 1.f), sy), shift);
    float xw = floorf(ix), yn = floorf(iy);
    GridTaps t;
    t.dw = __fsub_rn(ix, xw);
    t.de = __fsub_rn(__fadd_rn(xw, 1.f), ix);
    t.dn = __fsub_rn(iy, yn);
    t.ds = __fsub_rn(__fadd_rn(yn, 1.f), iy);
    t.wnw = __fmul_rn(t.ds, t.de);
    t.wne = __fmul_rn(t.ds, t.dw);
    t.wsw = __fmul_rn(t.dn, t.de);
    t.wse = __fmul_rn(t.dn, t.dw);
    // Float comparisons, so huge and NaN coordinates never reach the int conversion.
    bool west = xw >= 0.f && xw < (float)w, east = xw >= -1.f && xw < (float)(w - 1);
    bool north = yn >= 0.f && yn < (float)h, south = yn >= -1.f && yn < (float)(h - 1);
    int x0 = west || east ? (int)xw : 0, y0 = north || south ? (int)yn : 0;
    t.inw = north && west ? y0 * w + x0 : -1;
    t.ine = north && east ? y0 * w + x0 + 1 : -1;
    t.isw = south && west ? (y0 + 1) * w + x0 : -1;
    t.ise = south && east ? (y0 + 1) * w + x0 + 1 : -1;
    return t;
}

template <class T>
__device__ __forceinline__ float grid_tap(const T* plane, int off) {
    return off >= 0 ? de_to_float(plane[off]) : 0.f;
}

template <class T>
__device__ void grid_sample_fwd(const T* x, const T* grid, T* y, int c, int h, int w, int locs, int cpt,
                                float sx, float sy, float shift) {
    int p = blockIdx.x * blockDim.x + threadIdx.x, n = blockIdx.y;
    if (p >= locs) return;
    long long q = (long long)n * locs + p;
    GridTaps t = grid_taps(de_to_float(grid[2 * q]), de_to_float(grid[2 * q + 1]), h, w, sx, sy, shift);
    int c0 = blockIdx.z * cpt, c1 = min(c, c0 + cpt);
    for (int ch = c0; ch < c1; ch++) {
        long long pl = (long long)n * c + ch;
        const T* xp = x + pl * h * w;
        float v = grid_tap(xp, t.inw) * t.wnw + grid_tap(xp, t.ine) * t.wne
                + grid_tap(xp, t.isw) * t.wsw + grid_tap(xp, t.ise) * t.wse;
        y[pl * locs + p] = de_from_float<T>(v);
    }
}

// dx (zeroed by the caller, may be null) and dgrid (may be null).
template <class T>
__device__ void grid_sample_bwd(const T* gy, const T* x, const T* grid, float* dx, T* dgrid, int c, int h, int w,
                                int locs, float sx, float sy, float shift) {
    int p = blockIdx.x * blockDim.x + threadIdx.x, n = blockIdx.y;
    if (p >= locs) return;
    long long q = (long long)n * locs + p;
    GridTaps t = grid_taps(de_to_float(grid[2 * q]), de_to_float(grid[2 * q + 1]), h, w, sx, sy, shift);
    float ax = 0.f, ay = 0.f;
    for (int ch = 0; ch < c; ch++) {
        long long pl = (long long)n * c + ch;
        float g = de_to_float(gy[pl * locs + p]);
        if (dx != nullptr) {
            float* dp = dx + pl * h * w;
            if (t.inw >= 0) atomicAdd(dp + t.inw, t.wnw * g);
            if (t.ine >= 0) atomicAdd(dp + t.ine, t.wne * g);
            if (t.isw >= 0) atomicAdd(dp + t.isw, t.wsw * g);
            if (t.ise >= 0) atomicAdd(dp + t.ise, t.wse * g);
        }
        if (dgrid != nullptr) {
            const T* xp = x + pl * h * w;
            float vnw = grid_tap(xp, t.inw), vne = grid_tap(xp, t.ine);
            float vsw = grid_tap(xp, t.isw), vse = grid_tap(xp, t.ise);
            ax += ((vne - vnw) * t.ds + (vse - vsw) * t.dn) * g;
            ay += ((vsw - vnw) * t.de + (vse - vne) * t.dw) * g;
        }
    }
    if (dgrid != nullptr) {
        dgrid[2 * q] = de_from_float<T>(ax * sx);
        dgrid[2 * q + 1] = de_from_float<T>(ay * sy);
    }
}

}  // namespace

// One set of entry points per storage type T with suffix S (x, grid, gy, y, dgrid in T; grid_sample_bwd's dx is
// always an fp32 accumulator).
#define DE_SAMPLING_ENTRY_POINTS(T, S)                                                                                \
    extern "C" __global__ void upsample_nearest2x_fwd_##S(const T* x, T* y, long long rows, int w) {                 \
        upsample_nearest2x_fwd<T>(x, y, rows, w);                                                                     \
    }                                                                                                                 \
    extern "C" __global__ void upsample_nearest2x_bwd_##S(const T* gy, T* dx, long long rows, int w) {               \
        upsample_nearest2x_bwd<T>(gy, dx, rows, w);                                                                   \
    }                                                                                                                 \
    extern "C" __global__ void resize_bilinear_fwd_##S(const T* x, T* y, long long planes, int inH, int inW,         \
                                                       int outH, int outW, float scaleH, float scaleW) {              \
        resize_bilinear_fwd<T>(x, y, planes, inH, inW, outH, outW, scaleH, scaleW);                                  \
    }                                                                                                                 \
    extern "C" __global__ void resize_bilinear_bwd_##S(const T* gy, T* dx, long long planes, int inH, int inW,       \
                                                       int outH, int outW, float scaleH, float scaleW) {              \
        resize_bilinear_bwd<T>(gy, dx, planes, inH, inW, outH, outW, scaleH, scaleW);                                \
    }                                                                                                                 \
    extern "C" __global__ void grid_sample_fwd_##S(const T* x, const T* grid, T* y, int c, int h, int w, int locs,   \
                                                   int cpt, float sx, float sy, float shift) {                        \
        grid_sample_fwd<T>(x, grid, y, c, h, w, locs, cpt, sx, sy, shift);                                            \
    }                                                                                                                 \
    extern "C" __global__ void grid_sample_bwd_##S(const T* gy, const T* x, const T* grid, float* dx, T* dgrid,      \
                                                   int c, int h, int w, int locs, float sx, float sy, float shift) {  \
        grid_sample_bwd<T>(gy, x, grid, dx, dgrid, c, h, w, locs, sx, sy, shift);                                     \
    }

DE_SAMPLING_ENTRY_POINTS(float, f32)
DE_SAMPLING_ENTRY_POINTS(__half, f16)
DE_SAMPLING_ENTRY_POINTS(__nv_bfloat16, bf16)
