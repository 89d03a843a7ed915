// Self-test kernels of the CUDA emulation (kernels/emu/): each exercises features the op kernels rely on, with a
// result the native test driver (emu/test/driver.cpp) checks exactly against a plain host loop. Inputs there are
// small integers (or halves), so every float sum is exact whatever the order of additions and whether nvcc
// contracts a*b+c into an FMA — the same kernels give the same numbers on a GPU.
//   selftest_matmul_tiled_f32      C[M,N] = A[M,K] B[K,N]; 32x32 tiles in __shared__, two __syncthreads per tile;
//                                  block (32,32), grid (ceil(N/32), ceil(M/32))
//   selftest_reduce_shfl_f32       *out += sum(x): __shfl_down_sync within warps, warp sums in __shared__, the
//                                  first warp's __shfl_xor_sync, one atomicAdd per block; blockDim a multiple of 32
//   selftest_dynamic_smem_f32      y = x reversed within each block, through DE_DYNAMIC_SHARED (blockDim floats)
//   selftest_ballot                per thread: full-warp ballot, then ballot/any/all over the even lanes and, at
//                                  the same time, over the odd lanes (two disjoint partial masks)
//   selftest_warp_scan_i32         inclusive scan in 16-lane segments (__shfl_up_sync with width 16) and each
//                                  segment's total broadcast by __shfl_sync with width 16
//   selftest_warp_match_reduce     __match_any_sync of x % 4 and __reduce_add_sync / __reduce_max_sync
//   selftest_atomics               atomicAdd int/unsigned/float, atomicMax, atomicExch, atomicCAS (one winner)
//   selftest_syncthreads_count     per block: __syncthreads_count / _and / _or of a predicate
//   selftest_indices               threadIdx, blockIdx, blockDim, gridDim of every thread of a 3-D launch
//   selftest_half_roundtrip_f16    h = half(x) (round to nearest even), y = float(h)
//   selftest_bf16_roundtrip_bf16   the same through __nv_bfloat16
//   selftest_oob_write             y[i] = i for i < n, and one write at y[n]: the red-zone check must report it
//   selftest_deadlock              a __syncthreads only the low half of each warp reaches while the high half waits
//                                  in __syncwarp for the whole warp: hangs a GPU; the detector must report it
//   selftest_warp_divergent        half a warp in __shfl_xor_sync, the other half in __ballot_sync, same mask
//   selftest_assert                assert(n < 0): a failed device assert fails the launch (no abort)
//   selftest_mma_m16n8k16_f16      one de_mma_m16n8k16 (kernels/mma.cuh) per warp on raw fragments: thread i
//   selftest_mma_m16n8k16_bf16     reads a[4i..4i+3], b[2i..2i+1], c[4i..4i+3] (its lane's registers, packed by the
//                                  caller in the PTX layout), accumulates in place (d = c) and writes d[4i..4i+3];
//                                  checked by src/test/.../MmaFragmentTest against a scalar product
//   selftest_mma_exited_lane_f16   the same with lane 31 of each warp returning first: undefined on the GPU, a
//                                  launch failure in the emulation (EmulatedCudaDeviceTest)
#include <cassert>

#include "common.cuh"
#include "mma.cuh"

extern "C" __global__ void selftest_matmul_tiled_f32(const float* __restrict__ A, const float* __restrict__ B,
                                                     float* __restrict__ C, int M, int N, int K) {
    __shared__ float As[32][32];
    __shared__ float Bs[32][33];  // padded: a column read hits 32 different banks
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * 32 + ty, col = blockIdx.x * 32 + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += 32) {
        As[ty][tx] = (row < M && k0 + tx < K) ? A[(size_t)row * K + k0 + tx] : 0.0f;
        Bs[ty][tx] = (k0 + ty < K && col < N) ? B[(size_t)(k0 + ty) * N + col] : 0.0f;
        __syncthreads();
        for (int k = 0; k < 32; k++) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();  // the next tile overwrites what other threads may still be reading
    }
    if (row < M && col < N) C[(size_t)row * N + col] = acc;
}

extern "C" __global__ void selftest_reduce_shfl_f32(const float* __restrict__ x, float* __restrict__ out, int n) {
    __shared__ float warp_sums[32];
    float v = 0.0f;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) v += x[i];
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(DE_FULL_MASK, v, offset);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x >> 5) ? warp_sums[lane] : 0.0f;
        v = de_warp_sum(v);
        if (lane == 0) atomicAdd(out, v);
    }
}

extern "C" __global__ void selftest_dynamic_smem_f32(const float* __restrict__ x, float* __restrict__ y, int n) {
    DE_DYNAMIC_SHARED(float, buf);
    int base = blockIdx.x * blockDim.x, t = threadIdx.x;
    int count = min(n - base, (int)blockDim.x);
    if (t < count) buf[t] = x[base + t];
    __syncthreads();
    if (t < count) y[base + t] = buf[count - 1 - t];
}

extern "C" __global__ void selftest_ballot(const int* __restrict__ flags, unsigned* __restrict__ out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x & 31;
    int f = i < n ? flags[i] : 0;
    unsigned full = __ballot_sync(DE_FULL_MASK, f);
    unsigned half_mask = (lane & 1) ? 0xaaaaaaaau : 0x55555555u;
    unsigned ballot = __ballot_sync(half_mask, f);
    unsigned any = __any_sync(half_mask, f);
    unsigned all = __all_sync(half_mask, f);
    if (i < n) {
        out[4 * i + 0] = full;
        out[4 * i + 1] = ballot;
        out[4 * i + 2] = any;
        out[4 * i + 3] = all;
    }
}

extern "C" __global__ void selftest_warp_scan_i32(const int* __restrict__ x, int* __restrict__ y,
                                                  int* __restrict__ totals, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x & 31;
    int v = i < n ? x[i] : 0;
    for (int d = 1; d < 16; d <<= 1) {
        int u = __shfl_up_sync(DE_FULL_MASK, v, d, 16);
        if ((lane & 15) >= d) v += u;
    }
    int total = __shfl_sync(DE_FULL_MASK, v, 15, 16);
    if (i < n) {
        y[i] = v;
        totals[i] = total;
    }
}

extern "C" __global__ void selftest_warp_match_reduce(const int* __restrict__ x, unsigned* __restrict__ out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = i < n ? x[i] : 0;
    unsigned same = __match_any_sync(DE_FULL_MASK, v % 4);
    unsigned sum = __reduce_add_sync(DE_FULL_MASK, (unsigned)v);
    unsigned mx = __reduce_max_sync(DE_FULL_MASK, (unsigned)v);
    if (i < n) {
        out[3 * i + 0] = same;
        out[3 * i + 1] = sum;
        out[3 * i + 2] = mx;
    }
}

// counters: [0] count, [1] max, [2] last exchanged index, [3] CAS winner (starts -1), [4] number of winners.
extern "C" __global__ void selftest_atomics(const int* __restrict__ vals, int* counters, unsigned* ucount, float* fsum, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    atomicAdd(&counters[0], 1);
    atomicMax(&counters[1], vals[i]);
    atomicAdd(ucount, 2u);
    atomicAdd(fsum, 0.5f);
    atomicExch(&counters[2], i);
    if (atomicCAS(&counters[3], -1, i) == -1) atomicAdd(&counters[4], 1);
}

extern "C" __global__ void selftest_syncthreads_count(const int* __restrict__ flags, int* __restrict__ out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int p = i < n ? flags[i] : 0;
    int count = __syncthreads_count(p);
    int all = __syncthreads_and(p);
    int any = __syncthreads_or(p);
    if (threadIdx.x == 0) {
        out[3 * blockIdx.x + 0] = count;
        out[3 * blockIdx.x + 1] = all;
        out[3 * blockIdx.x + 2] = any;
    }
}

extern "C" __global__ void selftest_indices(int* __restrict__ out) {
    int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    int* o = out + 12 * ((size_t)block * blockDim.x * blockDim.y * blockDim.z + thread);
    o[0] = threadIdx.x, o[1] = threadIdx.y, o[2] = threadIdx.z;
    o[3] = blockIdx.x, o[4] = blockIdx.y, o[5] = blockIdx.z;
    o[6] = blockDim.x, o[7] = blockDim.y, o[8] = blockDim.z;
    o[9] = gridDim.x, o[10] = gridDim.y, o[11] = gridDim.z;
}

template <class T>
__device__ __forceinline__ void roundtrip(const float* x, T* h, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        h[i] = de_from_float<T>(x[i]);
        y[i] = de_to_float(h[i]);
    }
}

extern "C" __global__ void selftest_half_roundtrip_f16(const float* __restrict__ x, __half* __restrict__ h,
                                                       float* __restrict__ y, int n) {
    roundtrip(x, h, y, n);
}

extern "C" __global__ void selftest_bf16_roundtrip_bf16(const float* __restrict__ x, __nv_bfloat16* __restrict__ h,
                                                        float* __restrict__ y, int n) {
    roundtrip(x, h, y, n);
}

extern "C" __global__ void selftest_oob_write(float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = (float)i;
    if (i == 0) y[n] = -1.0f;  // one element past the end, on purpose
}

// Exited threads do not hold a barrier up (PTX bar.sync waits for non-exited threads) and every __syncthreads is
// the same barrier, so a branch-only barrier hangs only when the threads that skip it wait for the ones inside.
extern "C" __global__ void selftest_deadlock(float* y, int n) {
    int t = threadIdx.x;
    if ((t & 31) < 16) {
        __syncthreads();  // the low half of each warp waits for the whole block, on purpose
    } else {
        __syncwarp(DE_FULL_MASK);  // the high half waits for the low half of its warp, which never comes
    }
    if (t < n) y[t] = (float)t;
}

extern "C" __global__ void selftest_warp_divergent(float* y) {
    int t = threadIdx.x;
    float v = (float)t;
    if (t < 16) {
        v = __shfl_xor_sync(DE_FULL_MASK, v, 1);
    } else {
        v = (float)__ballot_sync(DE_FULL_MASK, t & 1);  // a different collective on the same mask, on purpose
    }
    y[t] = v;
}

extern "C" __global__ void selftest_assert(int* y, int n) {
    assert(n < 0);  // fails on purpose
    y[threadIdx.x] = n;
}

template <class T>
__device__ __forceinline__ void mma_fragments(const unsigned* a, const unsigned* b, const float* c, float* d) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    uint32_t ra[4] = {a[4 * i], a[4 * i + 1], a[4 * i + 2], a[4 * i + 3]};
    uint32_t rb[2] = {b[2 * i], b[2 * i + 1]};
    float acc[4] = {c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]};
    DeMma<T>::run(acc, ra, rb, acc);  // in place, as a GEMM's accumulators are
    for (int r = 0; r < 4; r++) d[4 * i + r] = acc[r];
}

extern "C" __global__ void selftest_mma_m16n8k16_f16(const unsigned* __restrict__ a, const unsigned* __restrict__ b,
                                                     const float* __restrict__ c, float* __restrict__ d) {
    mma_fragments<__half>(a, b, c, d);
}

extern "C" __global__ void selftest_mma_m16n8k16_bf16(const unsigned* __restrict__ a, const unsigned* __restrict__ b,
                                                      const float* __restrict__ c, float* __restrict__ d) {
    mma_fragments<__nv_bfloat16>(a, b, c, d);
}

extern "C" __global__ void selftest_mma_exited_lane_f16(const unsigned* __restrict__ a, const unsigned* __restrict__ b,
                                                        const float* __restrict__ c, float* __restrict__ d) {
    if ((threadIdx.x & 31) == 31) return;  // leaves the warp's MMA short of a lane, on purpose
    mma_fragments<__half>(a, b, c, d);
}
