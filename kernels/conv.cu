// Convolution kernels of the CUDA backend (dev.dragedit.cuda.ops.CudaConv): the data-movement halves of an
// im2col convolution. The multiply-adds are the batched GEMM of matmul.cu, which CudaConv launches between these.
// All tensors NCHW, row-major; a convolution geometry is input [n, cin, h, w], weight [cout, cin/groups, kh, kw],
// output [n, cout, ho, wo] with stride (sh, sw), top/left padding (pt, pl) and dilation (dh, dw). ho and wo are
// passed explicitly (a transposed convolution runs this geometry backwards and its output padding changes them).
// Every entry point exists for the storage types f32, f16 and bf16 (suffix _<t>; T below); arithmetic is fp32.
//
//   im2col_fwd_<t>   col[s, (c·kh + i)·kw + j, oy·wo + ox] = x[s, c, oy·sh − pt + i·dh, ox·sw − pl + j·dw]
//                    (0 outside the input) for s < ns samples: col is [ns, cin·kh·kw, ho·wo] of T (a copy, exact),
//                    so group g's rows are one contiguous [cin/groups·kh·kw, ho·wo] matrix, the B operand of
//                    y_g = w_g · col_g. One thread per col element, consecutive threads along ox: writes coalesced,
//                    reads strided by sw. Grid-stride over a 1-D launch.
//   col2im_fwd_<t>   dx[s, c, y, x] = bias[c] + Σ_{i,j} col[s, (c·kh + i)·kw + j, oy·wo + ox] over the (i, j) whose
//                    tap lands on (y, x): oy = (y + pt − i·dh)/sh when that divides exactly and 0 ≤ oy < ho (same
//                    for x); bias may be null (then 0). col is fp32 for every T: it holds GEMM results that this
//                    kernel sums, so a 16-bit dx is rounded once, after the sum and the bias. The adjoint of im2col
//                    written as a gather (one thread per input pixel, each summing its own ≤ kh·kw taps in a fixed
//                    order), so there are no atomics and the result is deterministic; every element of dx is
//                    written. Grid-stride over a 1-D launch.
//   conv_bias_fwd_<t>  y[s, c, p] = bias[c] over [n, c, plane]: presets an output that the GEMM then adds onto
//                    (beta = 1), so bias and products are summed in fp32 and rounded once. Grid-stride, 1-D.
//   conv_bias_bwd_<t>  db[c] = Σ_{s, p} gy[s, c, p]: one block per channel (grid.x = channels, 256 threads),
//                    each thread a strided partial over the contiguous planes (coalesced), then warp shuffles and
//                    one shared-memory round, all in fp32; db rounded once. Fixed order, deterministic.
//
// Reference: Chellapilla, Puri, Simard, "High Performance Convolutional Neural Networks for Document Processing"
// (2006) for im2col; Caffe's im2col/col2im (whose col2im is also a per-pixel gather).
#include "common.cuh"

namespace {

template <class T>
__device__ __forceinline__ void im2col(const T* __restrict__ x, T* __restrict__ col, int ns, int cin, int h, int w,
                                       int ho, int wo, int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw) {
    const long long plane = (long long) ho * wo;
    const long long total = (long long) ns * cin * kh * kw * plane;
    for (long long idx = (long long) blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (long long) gridDim.x * blockDim.x) {
        const int ox = (int) (idx % wo);
        long long t = idx / wo;
        const int oy = (int) (t % ho);
        t /= ho;
        const int j = (int) (t % kw);
        t /= kw;
        const int i = (int) (t % kh);
        t /= kh;                                   // t = s·cin + c
        const int iy = oy * sh - pt + i * dh, ix = ox * sw - pl + j * dw;
        float v = 0.f;
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = de_to_float(x[(t * h + iy) * w + ix]);
        col[idx] = de_from_float<T>(v);
    }
}

template <class T>
__device__ __forceinline__ void col2im(const float* __restrict__ col, T* __restrict__ dx, const T* __restrict__ bias,
                                       int ns, int cin, int h, int w, int ho, int wo, int kh, int kw, int sh, int sw,
                                       int pt, int pl, int dh, int dw) {
    const long long plane = (long long) ho * wo;
    const long long total = (long long) ns * cin * h * w;
    for (long long idx = (long long) blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (long long) gridDim.x * blockDim.x) {
        const int x = (int) (idx % w);
        long long t = idx / w;
        const int y = (int) (t % h);
        t /= h;                                    // t = s·cin + c
        const float* base = col + t * kh * kw * plane;
        float acc = bias != nullptr ? de_to_float(bias[t % cin]) : 0.f;
        for (int i = 0; i < kh; i++) {
            const int ty = y + pt - i * dh;
            if (ty < 0 || ty % sh != 0) continue;
            const int oy = ty / sh;
            if (oy >= ho) continue;
            for (int j = 0; j < kw; j++) {
                const int tx = x + pl - j * dw;
                if (tx < 0 || tx % sw != 0) continue;
                const int ox = tx / sw;
                if (ox >= wo) continue;
                acc += base[(long long) (i * kw + j) * plane + (long long) oy * wo + ox];
            }
        }
        dx[idx] = de_from_float<T>(acc);
    }
}

template <class T>
__device__ __forceinline__ void bias_fill(T* __restrict__ y, const T* __restrict__ bias, int n, int c, long long plane) {
    const long long total = (long long) n * c * plane;
    for (long long idx = (long long) blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (long long) gridDim.x * blockDim.x) {
        const int ch = (int) ((idx / plane) % c);
        y[idx] = bias[ch];
    }
}

constexpr int BIAS_THREADS = 256;

template <class T>
__device__ __forceinline__ void bias_grad(const T* __restrict__ gy, T* __restrict__ db, int n, int c, long long plane) {
    __shared__ float warpSums[BIAS_THREADS / 32];
    const int ch = blockIdx.x;
    float acc = 0.f;
    for (int s = 0; s < n; s++) {
        const T* p = gy + ((long long) s * c + ch) * plane;
        for (long long k = threadIdx.x; k < plane; k += BIAS_THREADS) acc += de_to_float(p[k]);
    }
    acc = de_warp_sum(acc);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warpSums[warp] = acc;
    __syncthreads();
    if (warp == 0) {
        float v = lane < BIAS_THREADS / 32 ? warpSums[lane] : 0.f;
        v = de_warp_sum(v);
        if (lane == 0) db[ch] = de_from_float<T>(v);
    }
}

}  // namespace

#define DE_CONV_ENTRIES(SUF, T)                                                                                   \
    extern "C" __global__ void im2col_fwd_##SUF(const T* __restrict__ x, T* __restrict__ col, int ns, int cin, int h, \
                                                int w, int ho, int wo, int kh, int kw, int sh, int sw, int pt,        \
                                                int pl, int dh, int dw) {                                             \
        im2col<T>(x, col, ns, cin, h, w, ho, wo, kh, kw, sh, sw, pt, pl, dh, dw);                                     \
    }                                                                                                                 \
    extern "C" __global__ void col2im_fwd_##SUF(const float* __restrict__ col, T* __restrict__ dx,                    \
                                                const T* __restrict__ bias, int ns, int cin, int h, int w, int ho,    \
                                                int wo, int kh, int kw, int sh, int sw, int pt, int pl, int dh,       \
                                                int dw) {                                                             \
        col2im<T>(col, dx, bias, ns, cin, h, w, ho, wo, kh, kw, sh, sw, pt, pl, dh, dw);                              \
    }                                                                                                                 \
    extern "C" __global__ void conv_bias_fwd_##SUF(T* __restrict__ y, const T* __restrict__ bias, int n, int c,       \
                                                   long long plane) {                                                 \
        bias_fill<T>(y, bias, n, c, plane);                                                                           \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(256)                                                                 \
    conv_bias_bwd_##SUF(const T* __restrict__ gy, T* __restrict__ db, int n, int c, long long plane) {                \
        bias_grad<T>(gy, db, n, c, plane);                                                                            \
    }

DE_CONV_ENTRIES(f32, float)
DE_CONV_ENTRIES(f16, __half)
DE_CONV_ENTRIES(bf16, __nv_bfloat16)
