// Reductions and mean losses of the CUDA backend (CPU specification: dev.dragedit.ops.cpu.CpuReduce).
//
// Every sum/mean/sumTo is a chain of "reduce the middle axis of a 3-D view": x viewed as [outer, R, inner] (row-major,
// contiguous) → y [outer, splits, inner], y[o, s, i] = scale · Σ_{r in part s of R} x[o, r, i]. CudaReduce.java
// coalesces the reduced dimensions into runs and reduces one run per pass; a long R with few outputs is cut into
// `splits` parts (one block each, so the grid fills the GPU) and the parts are summed by a second pass with R = splits.
//   reduce_rows_fwd_<t>  inner == 1: one block per (row, part), blockDim.x a multiple of 32 (256); each thread sums a
//                        strided stretch (coalesced), then a warp shuffle tree and the warps' sums through __shared__.
//                        Blocks loop over rows (grid-stride) so any outer fits a 1-D grid.
//   reduce_rows_warp_fwd_<t>  inner == 1 and short rows (R ≤ 1024): one warp per (row, part), 8 warps per block of
//                        256, grid-stride over the warps; lanes read consecutive elements, then a warp shuffle sum.
//   reduce_mid_fwd_<t>   inner > 1: block (32, 8); threadIdx.x walks 32 consecutive inner columns (coalesced), the
//                        8 rows of threads split R, and a [8][33] __shared__ tile sums the 8 partial columns.
//                        grid (ceil(inner/32), min(outer, 65535), splits), looping over outer in y.
//   l1loss_fwd_<t> / mseloss_fwd_<t>   partial[b] = Σ |a−b| (or (a−b)²) over block b's grid-stride share; the
//                        partials are then reduced by reduce_rows_fwd_f32 with scale 1/n.
//   l1loss_bwd_<t> / mseloss_bwd_<t>   dx = c·gy[0]·sign(a−b) or c·gy[0]·(a−b), c = 1/n or 2/n; grid-stride.
// Sums are carried in float (the CPU carries double): the tests bound the difference by the summation-length-aware
// float error.
//
// Storage types: every entry point exists for inputs in f32, f16 and bf16 (suffix _<t> = the type of x, a, b, gy);
// the reductions and loss partials always WRITE fp32, so a multi-pass reduction keeps fp32 between passes (the
// passes after the first read fp32 through the _f32 entry points) and a 16-bit result is rounded once, by a final
// conversion on the host side (CudaReduce.java). The loss gradients read and write the storage type.
#include "common.cuh"

namespace reduce_detail {

constexpr int kMidX = 32, kMidY = 8;

// Block-wide sum for a 1-D block (blockDim.x a multiple of 32, at most 1024); the result is valid in thread 0.
__device__ __forceinline__ float block_sum(float v, float* warp_sums) {
    v = de_warp_sum(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x >> 5) ? warp_sums[lane] : 0.0f;
        v = de_warp_sum(v);
    }
    __syncthreads();  // warp_sums is reused by the block's next row
    return v;
}

template <class T>
__device__ void reduce_rows(const T* __restrict__ x, float* __restrict__ y, int outer, int R, int splits, float scale) {
    __shared__ float warp_sums[32];
    long long units = (long long)outer * splits;
    for (long long u = blockIdx.x; u < units; u += gridDim.x) {
        int row = (int)(u / splits), part = (int)(u % splits);
        long long from = (long long)R * part / splits, to = (long long)R * (part + 1) / splits;
        const T* xr = x + (size_t)row * R;
        float v = 0.0f;
        for (long long r = from + threadIdx.x; r < to; r += blockDim.x) v += de_to_float(xr[r]);
        v = block_sum(v, warp_sums);
        if (threadIdx.x == 0) y[u] = v * scale;
    }
}

// One warp per (row, part): for short rows, where a whole block per row would leave most threads idle.
template <class T>
__device__ void reduce_rows_warp(const T* __restrict__ x, float* __restrict__ y, int outer, int R, int splits, float scale) {
    int lane = threadIdx.x & 31;
    long long units = (long long)outer * splits;
    long long warps = ((long long)blockDim.x >> 5) * gridDim.x;
    for (long long u = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; u < units; u += warps) {
        int row = (int)(u / splits), part = (int)(u % splits);
        long long from = (long long)R * part / splits, to = (long long)R * (part + 1) / splits;
        const T* xr = x + (size_t)row * R;
        float v = 0.0f;
        for (long long r = from + lane; r < to; r += 32) v += de_to_float(xr[r]);
        v = de_warp_sum(v);  // every lane of the warp runs the same number of iterations of u, so the mask is full
        if (lane == 0) y[u] = v * scale;
    }
}

template <class T>
__device__ void reduce_mid(const T* __restrict__ x, float* __restrict__ y, int outer, int R, int inner, int splits,
                           float scale) {
    __shared__ float tile[kMidY][kMidX + 1];
    int col = blockIdx.x * kMidX + threadIdx.x, part = blockIdx.z;
    long long from = (long long)R * part / splits, to = (long long)R * (part + 1) / splits;
    for (int o = blockIdx.y; o < outer; o += gridDim.y) {
        float v = 0.0f;
        if (col < inner) {
            const T* xo = x + (size_t)o * R * inner + col;
            for (long long r = from + threadIdx.y; r < to; r += kMidY) v += de_to_float(xo[(size_t)r * inner]);
        }
        tile[threadIdx.y][threadIdx.x] = v;
        __syncthreads();
        if (threadIdx.y == 0 && col < inner) {
            float s = 0.0f;
            for (int k = 0; k < kMidY; k++) s += tile[k][threadIdx.x];
            y[((size_t)o * splits + part) * inner + col] = s * scale;
        }
        __syncthreads();  // the tile is rewritten for the next o
    }
}

template <class T, bool Squared>
__device__ void loss_partial(const T* __restrict__ a, const T* __restrict__ b, float* __restrict__ partial, int n) {
    __shared__ float warp_sums[32];
    float v = 0.0f;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        float d = de_to_float(a[i]) - de_to_float(b[i]);
        v += Squared ? d * d : fabsf(d);
    }
    v = block_sum(v, warp_sums);
    if (threadIdx.x == 0) partial[blockIdx.x] = v;
}

template <class T, bool L1>
__device__ void loss_grad(const T* __restrict__ gy, const T* __restrict__ a, const T* __restrict__ b,
                          T* __restrict__ dx, int n, float c) {
    float k = c * de_to_float(gy[0]);
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        float d = de_to_float(a[i]) - de_to_float(b[i]);
        float g = L1 ? (d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f)) : d;  // torch.sign: 0 for 0 and NaN
        dx[i] = de_from_float<T>(k * g);
    }
}

}  // namespace reduce_detail

// One set of entry points per storage type T with suffix S: inputs in T, sums and partials written as fp32.
#define DE_REDUCE_ENTRY_POINTS(T, S)                                                                                  \
    extern "C" __global__ void reduce_rows_fwd_##S(const T* __restrict__ x, float* __restrict__ y, int outer, int R,  \
                                                   int splits, float scale) {                                         \
        reduce_detail::reduce_rows<T>(x, y, outer, R, splits, scale);                                                \
    }                                                                                                                 \
    extern "C" __global__ void reduce_rows_warp_fwd_##S(const T* __restrict__ x, float* __restrict__ y, int outer,    \
                                                        int R, int splits, float scale) {                             \
        reduce_detail::reduce_rows_warp<T>(x, y, outer, R, splits, scale);                                           \
    }                                                                                                                 \
    extern "C" __global__ void reduce_mid_fwd_##S(const T* __restrict__ x, float* __restrict__ y, int outer, int R,   \
                                                  int inner, int splits, float scale) {                               \
        reduce_detail::reduce_mid<T>(x, y, outer, R, inner, splits, scale);                                          \
    }                                                                                                                 \
    extern "C" __global__ void l1loss_fwd_##S(const T* __restrict__ a, const T* __restrict__ b,                       \
                                              float* __restrict__ partial, int n) {                                   \
        reduce_detail::loss_partial<T, false>(a, b, partial, n);                                                     \
    }                                                                                                                 \
    extern "C" __global__ void mseloss_fwd_##S(const T* __restrict__ a, const T* __restrict__ b,                      \
                                               float* __restrict__ partial, int n) {                                  \
        reduce_detail::loss_partial<T, true>(a, b, partial, n);                                                      \
    }                                                                                                                 \
    extern "C" __global__ void l1loss_bwd_##S(const T* __restrict__ gy, const T* __restrict__ a,                     \
                                              const T* __restrict__ b, T* __restrict__ dx, int n, float c) {          \
        reduce_detail::loss_grad<T, true>(gy, a, b, dx, n, c);                                                       \
    }                                                                                                                 \
    extern "C" __global__ void mseloss_bwd_##S(const T* __restrict__ gy, const T* __restrict__ a,                    \
                                               const T* __restrict__ b, T* __restrict__ dx, int n, float c) {         \
        reduce_detail::loss_grad<T, false>(gy, a, b, dx, n, c);                                                      \
    }

DE_REDUCE_ENTRY_POINTS(float, f32)
DE_REDUCE_ENTRY_POINTS(__half, f16)
DE_REDUCE_ENTRY_POINTS(__nv_bfloat16, bf16)
