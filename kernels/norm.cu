// Normalisation and softmax kernels of the CUDA backend: GroupNorm (torch.nn.functional.group_norm), LayerNorm over
// the last dimension (layer_norm, normalized_shape = [D]) and softmax over the last dimension, with backwards. They
// match dev.dragedit.ops.cpu.CpuNorm: biased variance, eps inside the square root, statistics two-pass (a mean,
// then the centred moments about it, whose first moment corrects the mean) so a large mean does not cancel the
// variance away; a softmax row of all -inf (or holding +inf or NaN) comes out NaN, as in torch.
//
// Layouts (row-major, contiguous): GroupNorm x [N, C, spatial...], one (sample, group) is the contiguous run of
// m = C/groups*spatial elements at u*m, u = n*groups + g. LayerNorm and softmax: rows of D contiguous elements.
//
// Geometry (chosen by dev.dragedit.cuda.ops.CudaNorm):
//   A "team" of threads reduces one unit (a group or a row): with blockDim.x == 32 the team is one warp and the
//   block holds blockDim.y rows (warp shuffles only, no barrier); otherwise blockDim.y == 1 and the team is the
//   whole block (warp shuffles, then one shared slot per warp, which every warp reads and shuffles again, so
//   every thread gets the same bits). blockDim.x is always a multiple of 32.
//   groupnorm_fwd/bwd          grid (N*groups), block (T): one block per (sample, group), T = 32..1024 with at
//                              least 8 elements per thread; the backward's per-channel sums take a warp per channel
//                              when there are at least as many channels as warps, else the whole block per channel
//   layernorm_*, softmax_*     grid (ceil(rows/R)), block (32, R): a warp per row, for D <= 1024;
//                              grid (rows), block (T): a block per row, for longer rows
//   layernorm_param_bwd        grid (ceil(D/32), chunks), block (32, 8): per chunk of rows, partial
//                              Σ gy*x̂ and Σ gy per column (coalesced along D), summed over the 8 row lanes in shared
//                              memory in a fixed order
//   norm_param_sum_bwd         grid (ceil(cols/256)), block (256): out[c] = Σ_r part[r, c] in row order
// dgamma/dbeta are reduced deterministically (no atomics): per-(sample, channel) or per-chunk partials, then
// norm_param_sum_bwd sums them in a fixed order, so results do not vary from run to run.
//
// Loads are scalar and coalesced (a unit's start need not be 16-byte aligned); x is read three times (two
// statistics passes and the output pass), from L2 for groups up to a few MB. One block per group leaves SMs idle
// when N*groups is small (e.g. 32 groups of a VAE at batch 1); splitting a group over blocks is the known next step.
//
// Storage types: every kernel has entry points <name>_f32, _f16 and _bf16 (x, gamma, beta, gy, y and dx in float,
// __half or __nv_bfloat16; DE_NORM_ENTRIES at the end). They compute in fp32 through de_to_float / de_from_float:
// statistics, team reductions, the dgamma/dbeta partials and the LayerNorm statistics workspace are fp32 in all
// three, and a 16-bit value is rounded once, when it is stored (dgamma/dbeta by norm_param_sum_bwd_<T>).
// Reference: Wu & He, "Group Normalization" (2018); Ba et al., "Layer Normalization" (2016); the backward formulas
// dx = rstd·(γ·gy − mean(γ·gy) − x̂·mean(γ·gy·x̂)) and dx = y·(gy − Σ gy·y) for softmax.
#include "common.cuh"

namespace {

// Sum (IS_MAX false) or max over a team of K values at once; every thread of the team gets the result.
template <int K, bool IS_MAX>
__device__ __forceinline__ void team_reduce(float (&v)[K]) {
    for (int k = 0; k < K; k++) v[k] = IS_MAX ? de_warp_max(v[k]) : de_warp_sum(v[k]);
    if (blockDim.x == 32) return;  // the team is one warp (uniform across the block: no barrier below is skipped)
    __shared__ float red[K][32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();  // an earlier call's readers of red are done
    if (lane == 0)
        for (int k = 0; k < K; k++) red[k][warp] = v[k];
    __syncthreads();
    for (int k = 0; k < K; k++) {
        float w = lane < warps ? red[k][lane] : (IS_MAX ? -INFINITY : 0.0f);
        v[k] = IS_MAX ? de_warp_max(w) : de_warp_sum(w);
    }
}

// The statistics of one unit: x − mean is evaluated as (x − guess) − shift, a float guess of the mean plus the
// small float correction, so a large mean (1000 ± 1) keeps the digits below its own ulp (as CpuNorm's double mean).
struct Stats {
    float guess, shift, rstd;
    __device__ __forceinline__ float centre(float v) const { return (v - guess) - shift; }
};

// Statistics of x[0, n) over a team of nt threads (this one is t): a first pass for a guess of the mean, a second
// for the moments about it; the first moment corrects the mean and the variance.
template <class T>
__device__ __forceinline__ Stats stats_of(const T* __restrict__ x, int n, int t, int nt, float eps) {
    float s[1] = {0.0f};
    for (int i = t; i < n; i += nt) s[0] += de_to_float(x[i]);
    team_reduce<1, false>(s);
    Stats st;
    st.guess = s[0] / (float)n;
    float m[2] = {0.0f, 0.0f};
    for (int i = t; i < n; i += nt) {
        float d = de_to_float(x[i]) - st.guess;
        m[0] += d;
        m[1] += d * d;
    }
    team_reduce<2, false>(m);
    st.shift = m[0] / (float)n;
    float var = fmaxf(0.0f, m[1] / (float)n - st.shift * st.shift);
    st.rstd = 1.0f / sqrtf(var + eps);  // IEEE sqrt and division (not rsqrtf) to stay within an ulp of the CPU op
    return st;
}

// ---------------------------------------------------------------- GroupNorm

template <class T>
__device__ void groupnorm_fwd(const T* __restrict__ x, const T* __restrict__ gamma, const T* __restrict__ beta,
                              T* __restrict__ y, int C, int groups, int spatial, float eps) {
    int u = blockIdx.x, cg = C / groups, m = cg * spatial;
    size_t base = (size_t)u * m;
    int c0 = (u % groups) * cg;
    Stats st = stats_of(x + base, m, threadIdx.x, blockDim.x, eps);
    for (int i = threadIdx.x; i < m; i += blockDim.x) {
        int c = c0 + i / spatial;
        float s = gamma ? st.rstd * de_to_float(gamma[c]) : st.rstd;
        float b = beta ? de_to_float(beta[c]) : 0.0f;
        y[base + i] = de_from_float<T>(st.centre(de_to_float(x[base + i])) * s + b);
    }
}

// dx of one (sample, group), and when dg_part/db_part are not null the per-(sample, channel) partials
// dg_part[n, c] = rstd·Σ gy·(x − mean), db_part[n, c] = Σ gy over the channel's spatial run.
template <class T>
__device__ void groupnorm_bwd(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ gamma,
                              T* __restrict__ dx, float* __restrict__ dg_part, float* __restrict__ db_part, int C,
                              int groups, int spatial, float eps) {
    int u = blockIdx.x, cg = C / groups, m = cg * spatial;
    size_t base = (size_t)u * m;
    int c0 = (u % groups) * cg, nc0 = (u / groups) * C + c0;
    int t = threadIdx.x, nt = blockDim.x, lane = t & 31, warp = t >> 5, warps = nt >> 5;
    Stats st = stats_of(x + base, m, t, nt, eps);
    // Per channel j: Σ gy and Σ gy·(x − mean); acc gathers Σ γ·(those) over the group (nonzero in one thread per
    // channel, reduced over the team afterwards).
    float acc[2] = {0.0f, 0.0f};
    if (cg >= warps) {
        // Enough channels for every warp: a warp per channel, no barrier inside the loop.
        for (int j = warp; j < cg; j += warps) {
            const T* g = gy + base + (size_t)j * spatial;
            const T* xj = x + base + (size_t)j * spatial;
            float p0 = 0.0f, p1 = 0.0f;
            for (int s = lane; s < spatial; s += 32) {
                float gv = de_to_float(g[s]);
                p0 += gv;
                p1 += gv * st.centre(de_to_float(xj[s]));
            }
            p0 = de_warp_sum(p0);
            p1 = de_warp_sum(p1);
            if (lane == 0) {
                float gam = gamma ? de_to_float(gamma[c0 + j]) : 1.0f;
                acc[0] += __fmul_rn(gam, p0);
                acc[1] += gam * p1;
                if (db_part) db_part[nc0 + j] = p0;
                if (dg_part) dg_part[nc0 + j] = st.rstd * p1;
            }
        }
    } else {
        // Few long channels: the whole team on each channel in turn.
        for (int j = 0; j < cg; j++) {
            const T* g = gy + base + (size_t)j * spatial;
            const T* xj = x + base + (size_t)j * spatial;
            float p[2] = {0.0f, 0.0f};
            for (int s = t; s < spatial; s += nt) {
                float gv = de_to_float(g[s]);
                p[0] += gv;
                p[1] += gv * st.centre(de_to_float(xj[s]));
            }
            team_reduce<2, false>(p);
            if (t == 0) {
                float gam = gamma ? de_to_float(gamma[c0 + j]) : 1.0f;
                acc[0] += __fmul_rn(gam, p[0]);
                acc[1] += gam * p[1];
                if (db_part) db_part[nc0 + j] = p[0];
                if (dg_part) dg_part[nc0 + j] = st.rstd * p[1];
            }
        }
    }
    team_reduce<2, false>(acc);
    // With dx̂ = γ·gy: a = mean(dx̂), b = mean(dx̂·x̂); dx = rstd·(dx̂ − a − x̂·b). dx̂ is rounded on its own
    // (__fmul_rn: no FMA contraction into the subtraction), as it was summed into a, so a one-element group gets
    // dx = 0 exactly.
    float a = acc[0] / (float)m, b = acc[1] * st.rstd / (float)m;
    for (int i = t; i < m; i += nt) {
        int c = c0 + i / spatial;
        float gam = gamma ? de_to_float(gamma[c]) : 1.0f;
        float xh = st.centre(de_to_float(x[base + i])) * st.rstd;
        dx[base + i] = de_from_float<T>(st.rstd * ((__fmul_rn(gam, de_to_float(gy[base + i])) - a) - xh * b));
    }
}

// ---------------------------------------------------------------- LayerNorm

template <class T>
__device__ void layernorm_fwd(const T* __restrict__ x, const T* __restrict__ gamma, const T* __restrict__ beta,
                              T* __restrict__ y, int rows, int D, float eps) {
    int row = blockIdx.x * blockDim.y + threadIdx.y;
    if (row >= rows) return;  // only in warp-per-row launches, where a whole warp leaves and no barrier follows
    size_t off = (size_t)row * D;
    Stats st = stats_of(x + off, D, threadIdx.x, blockDim.x, eps);
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
        float v = st.centre(de_to_float(x[off + i])) * st.rstd;
        if (gamma) v *= de_to_float(gamma[i]);
        if (beta) v += de_to_float(beta[i]);
        y[off + i] = de_from_float<T>(v);
    }
}

// dx of one row; when stats is not null, also the row's statistics (stats[row], stats[rows + row],
// stats[2 rows + row] = guess, shift, rstd) for the parameter gradients (layernorm_param_bwd).
template <class T>
__device__ void layernorm_bwd(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ gamma,
                              T* __restrict__ dx, float* __restrict__ stats, int rows, int D, float eps) {
    int row = blockIdx.x * blockDim.y + threadIdx.y;
    if (row >= rows) return;
    size_t off = (size_t)row * D;
    int t = threadIdx.x, nt = blockDim.x;
    Stats st = stats_of(x + off, D, t, nt, eps);
    // dx̂ = γ·gy rounded on its own (__fmul_rn), the same value in the sum and in dx (so D = 1 gives dx = 0).
    float p[2] = {0.0f, 0.0f};
    for (int i = t; i < D; i += nt) {
        float g = de_to_float(gy[off + i]);
        if (gamma) g = __fmul_rn(g, de_to_float(gamma[i]));
        p[0] += g;
        p[1] += g * st.centre(de_to_float(x[off + i]));
    }
    team_reduce<2, false>(p);
    float a = p[0] / (float)D, b = p[1] * st.rstd / (float)D;
    for (int i = t; i < D; i += nt) {
        float g = de_to_float(gy[off + i]);
        if (gamma) g = __fmul_rn(g, de_to_float(gamma[i]));
        float xh = st.centre(de_to_float(x[off + i])) * st.rstd;
        dx[off + i] = de_from_float<T>(st.rstd * ((g - a) - xh * b));
    }
    if (stats && t == 0) {
        stats[row] = st.guess;
        stats[rows + row] = st.shift;
        stats[2 * rows + row] = st.rstd;
    }
}

// Per chunk of rows_per_chunk rows: dg_part[chunk, d] = Σ gy·x̂ and db_part[chunk, d] = Σ gy over the chunk's rows.
template <class T>
__device__ void layernorm_param_bwd(const T* __restrict__ gy, const T* __restrict__ x, const float* __restrict__ stats,
                                    float* __restrict__ dg_part, float* __restrict__ db_part, int rows, int D,
                                    int rows_per_chunk) {
    __shared__ float sg[8][33], sb[8][33];
    int tx = threadIdx.x, ty = threadIdx.y, col = blockIdx.x * 32 + tx, chunk = blockIdx.y;
    int r0 = chunk * rows_per_chunk, r1 = min(rows, r0 + rows_per_chunk);
    float accg = 0.0f, accb = 0.0f;
    if (col < D) {
        for (int r = r0 + ty; r < r1; r += 8) {
            size_t i = (size_t)r * D + col;
            float g = de_to_float(gy[i]);
            accg += g * (((de_to_float(x[i]) - stats[r]) - stats[rows + r]) * stats[2 * rows + r]);
            accb += g;
        }
    }
    sg[ty][tx] = accg;
    sb[ty][tx] = accb;
    __syncthreads();
    if (ty == 0 && col < D) {
        for (int k = 1; k < 8; k++) {
            accg += sg[k][tx];
            accb += sb[k][tx];
        }
        if (dg_part) dg_part[(size_t)chunk * D + col] = accg;
        db_part[(size_t)chunk * D + col] = accb;
    }
}

// ---------------------------------------------------------------- softmax

template <class T>
__device__ void softmax_fwd(const T* __restrict__ x, T* __restrict__ y, int rows, int D) {
    int row = blockIdx.x * blockDim.y + threadIdx.y;
    if (row >= rows) return;
    size_t off = (size_t)row * D;
    int t = threadIdx.x, nt = blockDim.x;
    float mx[1] = {-INFINITY};
    for (int i = t; i < D; i += nt) mx[0] = fmaxf(mx[0], de_to_float(x[off + i]));
    team_reduce<1, true>(mx);
    // All -inf: x − max is NaN, so the row is NaN (torch). A NaN entry is skipped by fmaxf but its exp is NaN.
    float s[1] = {0.0f};
    for (int i = t; i < D; i += nt) s[0] += expf(de_to_float(x[off + i]) - mx[0]);
    team_reduce<1, false>(s);
    float inv = 1.0f / s[0];
    for (int i = t; i < D; i += nt) y[off + i] = de_from_float<T>(expf(de_to_float(x[off + i]) - mx[0]) * inv);
}

template <class T>
__device__ void softmax_bwd(const T* __restrict__ gy, const T* __restrict__ y, T* __restrict__ dx, int rows, int D) {
    int row = blockIdx.x * blockDim.y + threadIdx.y;
    if (row >= rows) return;
    size_t off = (size_t)row * D;
    int t = threadIdx.x, nt = blockDim.x;
    float dot[1] = {0.0f};
    for (int i = t; i < D; i += nt) dot[0] += de_to_float(gy[off + i]) * de_to_float(y[off + i]);
    team_reduce<1, false>(dot);
    for (int i = t; i < D; i += nt)
        dx[off + i] = de_from_float<T>((de_to_float(gy[off + i]) - dot[0]) * de_to_float(y[off + i]));
}

// out[c] = Σ_r part[r, c], r in order: the deterministic last step of the dgamma/dbeta reductions.
template <class T>
__device__ void param_sum(const float* __restrict__ part, T* __restrict__ out, int rows, int cols) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float s = 0.0f;
    for (int r = 0; r < rows; r++) s += part[(size_t)r * cols + c];
    out[c] = de_from_float<T>(s);
}

}  // namespace

// One set of entry points per storage type T of x, gamma, beta, gy, y, dx (SUF its name suffix); the partials,
// the statistics workspace and every accumulator are fp32 in all three, and norm_param_sum_bwd rounds the final
// dgamma/dbeta to T once, in its store.
#define DE_NORM_ENTRIES(SUF, T)                                                                                      \
    extern "C" __global__ void groupnorm_fwd_##SUF(const T* __restrict__ x, const T* __restrict__ gamma,              \
                                                   const T* __restrict__ beta, T* __restrict__ y, int C, int groups,  \
                                                   int spatial, float eps) {                                          \
        groupnorm_fwd(x, gamma, beta, y, C, groups, spatial, eps);                                                   \
    }                                                                                                                \
    extern "C" __global__ void groupnorm_bwd_##SUF(const T* __restrict__ gy, const T* __restrict__ x,                 \
                                                   const T* __restrict__ gamma, T* __restrict__ dx,                   \
                                                   float* __restrict__ dg_part, float* __restrict__ db_part, int C,   \
                                                   int groups, int spatial, float eps) {                              \
        groupnorm_bwd(gy, x, gamma, dx, dg_part, db_part, C, groups, spatial, eps);                                  \
    }                                                                                                                \
    extern "C" __global__ void layernorm_fwd_##SUF(const T* __restrict__ x, const T* __restrict__ gamma,              \
                                                   const T* __restrict__ beta, T* __restrict__ y, int rows, int D,    \
                                                   float eps) {                                                       \
        layernorm_fwd(x, gamma, beta, y, rows, D, eps);                                                              \
    }                                                                                                                \
    extern "C" __global__ void layernorm_bwd_##SUF(const T* __restrict__ gy, const T* __restrict__ x,                 \
                                                   const T* __restrict__ gamma, T* __restrict__ dx,                   \
                                                   float* __restrict__ stats, int rows, int D, float eps) {           \
        layernorm_bwd(gy, x, gamma, dx, stats, rows, D, eps);                                                        \
    }                                                                                                                \
    extern "C" __global__ void layernorm_param_bwd_##SUF(const T* __restrict__ gy, const T* __restrict__ x,           \
                                                         const float* __restrict__ stats, float* __restrict__ dg_part, \
                                                         float* __restrict__ db_part, int rows, int D,                \
                                                         int rows_per_chunk) {                                        \
        layernorm_param_bwd(gy, x, stats, dg_part, db_part, rows, D, rows_per_chunk);                                \
    }                                                                                                                \
    extern "C" __global__ void softmax_fwd_##SUF(const T* __restrict__ x, T* __restrict__ y, int rows, int D) {       \
        softmax_fwd(x, y, rows, D);                                                                                  \
    }                                                                                                                \
    extern "C" __global__ void softmax_bwd_##SUF(const T* __restrict__ gy, const T* __restrict__ y,                   \
                                                 T* __restrict__ dx, int rows, int D) {                               \
        softmax_bwd(gy, y, dx, rows, D);                                                                             \
    }                                                                                                                \
    extern "C" __global__ void norm_param_sum_bwd_##SUF(const float* __restrict__ part, T* __restrict__ out, int rows, \
                                                        int cols) {                                                   \
        param_sum(part, out, rows, cols);                                                                            \
    }

DE_NORM_ENTRIES(f32, float)
DE_NORM_ENTRIES(f16, __half)
DE_NORM_ENTRIES(bf16, __nv_bfloat16)
