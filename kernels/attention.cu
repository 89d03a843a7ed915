// Scaled dot-product attention, O = softmax(scale·Q·Kᵀ [+ causal mask]) · V, and its backward, without ever
// materialising the [Lq, Lk] score matrix (flash-attention style; Dao et al. 2022, "FlashAttention", Alg. 1 and 2).
// Layouts (contiguous, row-major): q [BH, Lq, D], k [BH, Lk, D], v [BH, Lk, Dv], o/gy [BH, Lq, Dv],
// lse/delta [BH, Lq] (BH = B·H). Causal: key j is masked for query i when j > i (top-left aligned, as torch's
// is_causal, also when Lq ≠ Lk), so every query sees key 0 and no row is fully masked.
//
// Every entry point exists for the storage types f32, f16 and bf16 (suffix _<t>) of q, k, v, gy and the outputs;
// scores, the softmax statistics (running max and sum, lse, delta), shared memory and accumulators are fp32, and
// each output element is rounded to the storage type once, from its fp32 accumulator.
//
// Common scheme: a block has `warps` warps (blockDim = (32, warps)); each warp owns ROWS rows (query rows in the
// forward and dQ kernels, key rows in the dK/dV kernel), so branches on a row are warp-uniform and the warp
// collectives stay converged. The other side is streamed in tiles of 32, staged in shared memory, with one lane per
// element of the tile for the dot products (shared rows with an odd stride: conflict-free) and one lane per output
// column (columns lane + 32·c, c < MAXC, so D, Dv ≤ 32·MAXC = 160) for the accumulation in registers.
//   attention_fwd_<t>     grid (ceil(Lq / (ROWS·warps)), BH), block (32, warps); per query tile, loop over key
//                         tiles with a running max m and sum l per row (online softmax); writes o and
//                         lse = m + log l. smem: Q tile [ROWS·warps, D] + K tile [32, D|1] + V tile [32, Dv].
//   attention_stats_bwd_<t>  the same pass for the backward (the Ops contract saves no forward state): instead of o
//                         it writes lse and delta_i = Σ_c gy[i, c]·o[i, c], taken from the fp32 o still in
//                         registers, so the backward needs no O workspace and no separate pass over it.
//   attention_dkdv_bwd_<t>  grid (ceil(Lk / (ROWS·warps)), BH); per key tile, loop over query tiles of 32:
//                         P = exp(scale·q·kᵀ − lse), dP = gy·vᵀ, dS = P∘(dP − delta); dV += Pᵀ·gy,
//                         dK += scale·dSᵀ·Q. smem: Q and gy tiles [32, D|1], [32, Dv|1] + K, V rows of the block.
//   attention_dq_bwd_<t>  grid (ceil(Lq / (ROWS·warps)), BH); per query tile, loop over key tiles: dQ += scale·dS·K.
//                         smem: K, V tiles [32, D|1], [32, Dv|1] + Q and gy rows of the block.
//   attention_mask_fwd_f32  not a flash kernel: the causal mask of the composed path (GEMM + softmax) that
//                         CudaAttention uses for head dims above 160 (see the end of this file).
// No atomics: each output element is written by exactly one thread, so results are deterministic. The host
// (CudaAttention.java) picks `warps` so the dynamic shared memory fits in 48 KiB.
#include <cmath>

#include "common.cuh"

namespace {

constexpr int TILE = 32;  // keys (or queries) per streamed tile: one per lane
constexpr int ROWS = 4;   // rows per warp
constexpr int MAXC = 5;   // output columns per lane / 32: head dims up to 160

__device__ __forceinline__ int odd_stride(int n) { return n | 1; }

// Copies rows [r0, r0 + count) of a [*, n] matrix into s (stride ld); rows past `limit` become 0.
template <class T>
__device__ __forceinline__ void stage(const T* __restrict__ src, float* s, int r0, int count, int limit, int n, int ld) {
    int tid = threadIdx.y * blockDim.x + threadIdx.x, nt = blockDim.x * blockDim.y;
    for (int e = tid; e < count * n; e += nt) {
        int r = e / n, c = e - r * n;
        s[r * ld + c] = r0 + r < limit ? de_to_float(src[(size_t)(r0 + r) * n + c]) : 0.0f;
    }
}

__device__ __forceinline__ float dot(const float* a, const float* b, int n) {
    float s = 0.0f;
    for (int d = 0; d < n; d++) s += a[d] * b[d];
    return s;
}

// STATS = false: the forward (o, lse). STATS = true: the backward's statistics (lse, delta from gy); o unused.
template <class T, bool STATS>
__device__ void attention_fwd(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                              T* __restrict__ o, const T* __restrict__ gy, float* __restrict__ lse,
                              float* __restrict__ delta, int lq, int lk, int dq, int dv, float scale, int causal) {
    DE_DYNAMIC_SHARED(float, smem);
    const int warps = blockDim.y, rowsPerBlock = ROWS * warps, ldk = odd_stride(dq);
    float* qs = smem;                                // [rowsPerBlock, dq]
    float* ks = qs + rowsPerBlock * dq;              // [TILE, ldk]
    float* vs = ks + TILE * ldk;                     // [TILE, dv]
    const int bh = blockIdx.y, i0 = blockIdx.x * rowsPerBlock, lane = threadIdx.x;
    q += (size_t)bh * lq * dq;
    k += (size_t)bh * lk * dq;
    v += (size_t)bh * lk * dv;
    stage(q, qs, i0, rowsPerBlock, lq, dq, dq);

    float m[ROWS], l[ROWS], acc[ROWS][MAXC];
    for (int r = 0; r < ROWS; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
        for (int c = 0; c < MAXC; c++) acc[r][c] = 0.0f;
    }
    const int keys = causal ? min(lk, i0 + rowsPerBlock) : lk;  // later keys are masked for every row here
    for (int j0 = 0; j0 < keys; j0 += TILE) {
        __syncthreads();  // the previous tile is no longer read
        stage(k, ks, j0, TILE, lk, dq, ldk);
        stage(v, vs, j0, TILE, lk, dv, dv);
        __syncthreads();
        for (int r = 0; r < ROWS; r++) {
            const int row = threadIdx.y * ROWS + r, i = i0 + row;
            if (i >= lq) break;  // warp-uniform
            const int j = j0 + lane;
            float s = -INFINITY;
            if (j < lk && (!causal || j <= i)) s = scale * dot(qs + row * dq, ks + lane * ldk, dq);
            // The first tile holds key 0, visible to every row, so mNew is finite from then on.
            const float mNew = fmaxf(m[r], de_warp_max(s));
            const float p = expf(s - mNew), corr = expf(m[r] - mNew);
            l[r] = l[r] * corr + de_warp_sum(p);
            m[r] = mNew;
            for (int c = 0; c < MAXC; c++) acc[r][c] *= corr;
            for (int kk = 0; kk < TILE; kk++) {
                const float pk = __shfl_sync(DE_FULL_MASK, p, kk);
                for (int c = 0; c < MAXC; c++) {
                    const int col = lane + 32 * c;
                    if (col < dv) acc[r][c] += pk * vs[kk * dv + col];
                }
            }
        }
    }
    for (int r = 0; r < ROWS; r++) {
        const int i = i0 + threadIdx.y * ROWS + r;
        if (i >= lq) break;
        const float inv = 1.0f / l[r];
        const size_t rowOff = ((size_t)bh * lq + i) * dv;
        float d = 0.0f;
        for (int c = 0; c < MAXC; c++) {
            const int col = lane + 32 * c;
            if (col >= dv) continue;
            if (STATS) d += de_to_float(gy[rowOff + col]) * (acc[r][c] * inv);
            else o[rowOff + col] = de_from_float<T>(acc[r][c] * inv);
        }
        if (STATS) d = de_warp_sum(d);  // warp-uniform branch: every lane of the row's warp takes part
        if (lane == 0) {
            lse[(size_t)bh * lq + i] = m[r] + logf(l[r]);
            if (STATS) delta[(size_t)bh * lq + i] = d;
        }
    }
}

template <class T>
__device__ void attention_dkdv_bwd(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                   const T* __restrict__ gy, const float* __restrict__ lse,
                                   const float* __restrict__ delta, T* __restrict__ dk, T* __restrict__ dvOut,
                                   int lq, int lk, int dq, int dv, float scale, int causal) {
    DE_DYNAMIC_SHARED(float, smem);
    const int warps = blockDim.y, rowsPerBlock = ROWS * warps, ldq = odd_stride(dq), ldg = odd_stride(dv);
    float* ks = smem;                                // [rowsPerBlock, dq]
    float* vs = ks + rowsPerBlock * dq;              // [rowsPerBlock, dv]
    float* qs = vs + rowsPerBlock * dv;              // [TILE, ldq]
    float* gs = qs + TILE * ldq;                     // [TILE, ldg]
    float* ls = gs + TILE * ldg;                     // [TILE] lse
    float* ds = ls + TILE;                           // [TILE] delta
    const int bh = blockIdx.y, j0 = blockIdx.x * rowsPerBlock, lane = threadIdx.x;
    q += (size_t)bh * lq * dq;
    k += (size_t)bh * lk * dq;
    v += (size_t)bh * lk * dv;
    gy += (size_t)bh * lq * dv;
    lse += (size_t)bh * lq;
    delta += (size_t)bh * lq;
    stage(k, ks, j0, rowsPerBlock, lk, dq, dq);
    stage(v, vs, j0, rowsPerBlock, lk, dv, dv);

    float accK[ROWS][MAXC], accV[ROWS][MAXC];
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < MAXC; c++) accK[r][c] = accV[r][c] = 0.0f;
    // Causal: queries before j0 see none of this block's keys.
    for (int i0 = causal ? j0 / TILE * TILE : 0; i0 < lq; i0 += TILE) {
        __syncthreads();
        stage(q, qs, i0, TILE, lq, dq, ldq);
        stage(gy, gs, i0, TILE, lq, dv, ldg);
        const int tid = threadIdx.y * 32 + lane;
        if (tid < TILE) {
            ls[tid] = i0 + tid < lq ? lse[i0 + tid] : 0.0f;
            ds[tid] = i0 + tid < lq ? delta[i0 + tid] : 0.0f;
        }
        __syncthreads();
        const int i = i0 + lane;
        for (int r = 0; r < ROWS; r++) {
            const int row = threadIdx.y * ROWS + r, j = j0 + row;
            if (j >= lk) break;  // warp-uniform
            float p = 0.0f, dsv = 0.0f;
            if (i < lq && (!causal || j <= i)) {
                p = expf(scale * dot(qs + lane * ldq, ks + row * dq, dq) - ls[lane]);
                dsv = p * (dot(gs + lane * ldg, vs + row * dv, dv) - ds[lane]);
            }
            for (int kk = 0; kk < TILE; kk++) {
                const float pk = __shfl_sync(DE_FULL_MASK, p, kk), sk = __shfl_sync(DE_FULL_MASK, dsv, kk);
                for (int c = 0; c < MAXC; c++) {
                    const int col = lane + 32 * c;
                    if (col < dv) accV[r][c] += pk * gs[kk * ldg + col];
                    if (col < dq) accK[r][c] += sk * qs[kk * ldq + col];
                }
            }
        }
    }
    for (int r = 0; r < ROWS; r++) {
        const int j = j0 + threadIdx.y * ROWS + r;
        if (j >= lk) break;
        for (int c = 0; c < MAXC; c++) {
            const int col = lane + 32 * c;
            if (col < dv) dvOut[((size_t)bh * lk + j) * dv + col] = de_from_float<T>(accV[r][c]);
            if (col < dq) dk[((size_t)bh * lk + j) * dq + col] = de_from_float<T>(scale * accK[r][c]);
        }
    }
}

template <class T>
__device__ void attention_dq_bwd(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                 const T* __restrict__ gy, const float* __restrict__ lse,
                                 const float* __restrict__ delta, T* __restrict__ dqOut,
                                 int lq, int lk, int dq, int dv, float scale, int causal) {
    DE_DYNAMIC_SHARED(float, smem);
    const int warps = blockDim.y, rowsPerBlock = ROWS * warps, ldk = odd_stride(dq), ldv = odd_stride(dv);
    float* qs = smem;                                // [rowsPerBlock, dq]
    float* gs = qs + rowsPerBlock * dq;              // [rowsPerBlock, dv]
    float* ks = gs + rowsPerBlock * dv;              // [TILE, ldk]
    float* vs = ks + TILE * ldk;                     // [TILE, ldv]
    const int bh = blockIdx.y, i0 = blockIdx.x * rowsPerBlock, lane = threadIdx.x;
    q += (size_t)bh * lq * dq;
    k += (size_t)bh * lk * dq;
    v += (size_t)bh * lk * dv;
    gy += (size_t)bh * lq * dv;
    stage(q, qs, i0, rowsPerBlock, lq, dq, dq);
    stage(gy, gs, i0, rowsPerBlock, lq, dv, dv);

    float rowLse[ROWS], rowDelta[ROWS], acc[ROWS][MAXC];
    for (int r = 0; r < ROWS; r++) {
        const int i = i0 + threadIdx.y * ROWS + r;
        rowLse[r] = i < lq ? lse[(size_t)bh * lq + i] : 0.0f;
        rowDelta[r] = i < lq ? delta[(size_t)bh * lq + i] : 0.0f;
        for (int c = 0; c < MAXC; c++) acc[r][c] = 0.0f;
    }
    const int keys = causal ? min(lk, i0 + rowsPerBlock) : lk;
    for (int j0 = 0; j0 < keys; j0 += TILE) {
        __syncthreads();
        stage(k, ks, j0, TILE, lk, dq, ldk);
        stage(v, vs, j0, TILE, lk, dv, ldv);
        __syncthreads();
        const int j = j0 + lane;
        for (int r = 0; r < ROWS; r++) {
            const int row = threadIdx.y * ROWS + r, i = i0 + row;
            if (i >= lq) break;  // warp-uniform
            float dsv = 0.0f;
            if (j < lk && (!causal || j <= i)) {
                const float p = expf(scale * dot(qs + row * dq, ks + lane * ldk, dq) - rowLse[r]);
                dsv = p * (dot(gs + row * dv, vs + lane * ldv, dv) - rowDelta[r]);
            }
            for (int kk = 0; kk < TILE; kk++) {
                const float sk = __shfl_sync(DE_FULL_MASK, dsv, kk);
                for (int c = 0; c < MAXC; c++) {
                    const int col = lane + 32 * c;
                    if (col < dq) acc[r][c] += sk * ks[kk * ldk + col];
                }
            }
        }
    }
    for (int r = 0; r < ROWS; r++) {
        const int i = i0 + threadIdx.y * ROWS + r;
        if (i >= lq) break;
        for (int c = 0; c < MAXC; c++) {
            const int col = lane + 32 * c;
            if (col < dq) dqOut[((size_t)bh * lq + i) * dq + col] = de_from_float<T>(scale * acc[r][c]);
        }
    }
}

}  // namespace

#define DE_ATTENTION_ENTRIES(SUF, T)                                                                              \
    extern "C" __global__ void attention_fwd_##SUF(const T* __restrict__ q, const T* __restrict__ k,                  \
                                                   const T* __restrict__ v, T* __restrict__ o,                        \
                                                   float* __restrict__ lse, int lq, int lk, int dq, int dv,           \
                                                   float scale, int causal) {                                         \
        attention_fwd<T, false>(q, k, v, o, nullptr, lse, nullptr, lq, lk, dq, dv, scale, causal);                    \
    }                                                                                                                 \
    extern "C" __global__ void attention_stats_bwd_##SUF(const T* __restrict__ q, const T* __restrict__ k,            \
                                                         const T* __restrict__ v, const T* __restrict__ gy,           \
                                                         float* __restrict__ lse, float* __restrict__ delta, int lq,  \
                                                         int lk, int dq, int dv, float scale, int causal) {           \
        attention_fwd<T, true>(q, k, v, nullptr, gy, lse, delta, lq, lk, dq, dv, scale, causal);                      \
    }                                                                                                                 \
    extern "C" __global__ void attention_dkdv_bwd_##SUF(const T* __restrict__ q, const T* __restrict__ k,             \
                                                        const T* __restrict__ v, const T* __restrict__ gy,            \
                                                        const float* __restrict__ lse,                                \
                                                        const float* __restrict__ delta, T* __restrict__ dk,          \
                                                        T* __restrict__ dv, int lq, int lk, int dq, int dvDim,        \
                                                        float scale, int causal) {                                    \
        attention_dkdv_bwd<T>(q, k, v, gy, lse, delta, dk, dv, lq, lk, dq, dvDim, scale, causal);                     \
    }                                                                                                                 \
    extern "C" __global__ void attention_dq_bwd_##SUF(const T* __restrict__ q, const T* __restrict__ k,               \
                                                      const T* __restrict__ v, const T* __restrict__ gy,              \
                                                      const float* __restrict__ lse, const float* __restrict__ delta, \
                                                      T* __restrict__ dq, int lq, int lk, int dqDim, int dv,          \
                                                      float scale, int causal) {                                      \
        attention_dq_bwd<T>(q, k, v, gy, lse, delta, dq, lq, lk, dqDim, dv, scale, causal);                           \
    }

DE_ATTENTION_ENTRIES(f32, float)
DE_ATTENTION_ENTRIES(f16, __half)
DE_ATTENTION_ENTRIES(bf16, __nv_bfloat16)

// The causal mask of CudaAttention's composed path for head dims above 32·MAXC (scores materialised by GEMMs, see
// CudaAttention.java): s [rows, lk] fp32 holds query block rows q0 .. q0 + qb − 1 of one or more heads (row r is
// query q0 + r % qb); s[r, j] = −∞ for j > q0 + r % qb, the same top-left alignment as the kernels above. The
// softmax that follows turns −∞ into exact zeros (every row keeps key 0). Grid-stride, one thread per element.
extern "C" __global__ void attention_mask_fwd_f32(float* __restrict__ s, long long rows, int qb, int lk, int q0) {
    long long total = rows * lk;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (long long)blockDim.x * gridDim.x) {
        long long r = e / lk;
        int j = (int)(e - r * lk), i = q0 + (int)(r % qb);
        if (j > i) s[e] = -INFINITY;
    }
}
