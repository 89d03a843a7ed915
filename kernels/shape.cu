// Shape ops of the CUDA backend that move data without arithmetic (CPU specification: dev.dragedit.ops.cpu.CpuShape):
// concat, slice, sliceBackward, pad, padBackward and permute.
//
// All but the transpose are one strided box copy: dst[Σ c_k·ds_k] = src[Σ c_k·ss_k] for every coordinate c of a box of
// at most 6 dimensions (CudaShape.java coalesces the box first, innermost dimension k = 0, and offsets both pointers
// to the box's corner). Dimension sizes and strides travel as scalar parameters (the launch ABI has no arrays by
// value). Threads walk the box in row-major order, so neighbouring threads touch neighbouring elements whenever
// the innermost dimension is contiguous on both sides.
// Every entry point exists for the storage types f32, f16 and bf16 (suffix _<t>). The copies are bit copies of
// the element type, exact for 16-bit data (f16 and bf16 share the 2-byte code but keep the project's dtype naming);
// only the fill value, a float parameter, is rounded once to the storage type (round to nearest even).
//   shape_copy_fwd_<t>       grid-stride over the box's elements; block 256, grid ≤ 4096 blocks
//   shape_fill_fwd_<t>       y[i] = value (pad's border), grid-stride
//   shape_transpose_fwd_<t>  x [B, M, N] → y [B, N, M] (a permute that swaps the last two coalesced dimensions):
//                            32×32 tiles through a [32][33] __shared__ tile (the pad column keeps the column reads
//                            on 32 different banks), block (32, 8) with 4 rows per thread, grid
//                            (ceil(N/32), ceil(M/32), min(B, 65535)) looping over B; both the read of x and the
//                            write of y are coalesced (the classic transpose of Harris, "An Efficient Matrix
//                            Transpose in CUDA C/C++").
#include "common.cuh"

namespace shape_detail {

constexpr int kMaxRank = 6;
constexpr int kTile = 32, kRows = 8;

template <class T>
__device__ void copy_box(const T* __restrict__ src, T* __restrict__ dst, long long total, int rank, const int* n,
                         const long long* ss, const long long* ds) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        long long rem = i, so = 0, dof = 0;
#pragma unroll
        for (int k = 0; k < kMaxRank; k++) {  // unrolled over the fixed bound so n/ss/ds stay in registers
            if (k >= rank) break;
            long long c = rem % n[k];
            rem /= n[k];
            so += c * ss[k];
            dof += c * ds[k];
        }
        dst[dof] = src[so];
    }
}

template <class T>
__device__ void transpose(const T* __restrict__ x, T* __restrict__ y, int B, int M, int N) {
    __shared__ T tile[kTile][kTile + 1];
    int n0 = blockIdx.x * kTile, m0 = blockIdx.y * kTile;
    for (int b = blockIdx.z; b < B; b += gridDim.z) {
        const T* xb = x + (size_t)b * M * N;
        T* yb = y + (size_t)b * M * N;
        for (int r = threadIdx.y; r < kTile; r += kRows) {
            int m = m0 + r, n = n0 + threadIdx.x;
            if (m < M && n < N) tile[r][threadIdx.x] = xb[(size_t)m * N + n];
        }
        __syncthreads();
        for (int r = threadIdx.y; r < kTile; r += kRows) {
            int n = n0 + r, m = m0 + threadIdx.x;
            if (n < N && m < M) yb[(size_t)n * M + m] = tile[threadIdx.x][r];
        }
        __syncthreads();  // the tile is refilled for the next b
    }
}

template <class T>
__device__ void fill(T* __restrict__ y, long long n, float value) {
    const T v = de_from_float<T>(value);
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)blockDim.x * gridDim.x)
        y[i] = v;
}

}  // namespace shape_detail

// One set of entry points per storage type T with suffix S.
#define DE_SHAPE_ENTRY_POINTS(T, S)                                                                                   \
    extern "C" __global__ void shape_copy_fwd_##S(                                                                    \
        const T* __restrict__ src, T* __restrict__ dst, long long total, int rank, int n0, int n1, int n2, int n3,    \
        int n4, int n5, long long ss0, long long ss1, long long ss2, long long ss3, long long ss4, long long ss5,     \
        long long ds0, long long ds1, long long ds2, long long ds3, long long ds4, long long ds5) {                   \
        const int n[shape_detail::kMaxRank] = {n0, n1, n2, n3, n4, n5};                                              \
        const long long ss[shape_detail::kMaxRank] = {ss0, ss1, ss2, ss3, ss4, ss5};                                 \
        const long long ds[shape_detail::kMaxRank] = {ds0, ds1, ds2, ds3, ds4, ds5};                                 \
        shape_detail::copy_box<T>(src, dst, total, rank, n, ss, ds);                                                  \
    }                                                                                                                 \
    extern "C" __global__ void shape_fill_fwd_##S(T* __restrict__ y, long long n, float value) {                      \
        shape_detail::fill<T>(y, n, value);                                                                           \
    }                                                                                                                 \
    extern "C" __global__ void shape_transpose_fwd_##S(const T* __restrict__ x, T* __restrict__ y, int B, int M,      \
                                                       int N) {                                                       \
        shape_detail::transpose<T>(x, y, B, M, N);                                                                    \
    }

DE_SHAPE_ENTRY_POINTS(float, f32)
DE_SHAPE_ENTRY_POINTS(__half, f16)
DE_SHAPE_ENTRY_POINTS(__nv_bfloat16, bf16)
