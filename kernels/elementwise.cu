// Element-wise kernels of the CUDA backend: the device side of dev.dragedit.cuda.ops.CudaElementwise, matching
// dev.dragedit.ops.cpu.CpuElementwise / CpuOptim (the specification) within float rounding.
// Every op but adamstep has three entry points, <op>_<dir>_f32 / _f16 / _bf16, by the storage type of all its
// tensors (__half and __nv_bfloat16 are read into fp32, computed in fp32 and rounded once, to nearest even, on store):
//   add|sub|mul|div_fwd       out = a ∘ b with NumPy broadcasting. The Java side coalesces the broadcast (size-1
//                             dimensions dropped, neighbours merged where both operands step through them as one)
//                             and passes, innermost first, up to 6 dimensions' sizes and each operand's element
//                             stride (0 where it broadcasts) as scalars (more dimensions: one launch per slab of
//                             the innermost 6, with offset pointers). Fast paths: one dimension with both
//                             strides 1 (same shape: packed loads/stores) or one stride 0 (a scalar operand);
//                             otherwise per element an index decomposition over ≤ 6 dimensions.
//   expand_fwd                out = x broadcast to out's shape, the same addressing with one operand.
//   affine_fwd                y = x·s + t (s, t fp32 scalars)
//   clamp_fwd                 y = min(max(x, lo), hi), NaN propagated (as torch.clamp and Java's Math.min/max)
//   clamp_bwd                 dx = gy where lo ≤ x ≤ hi, else 0
//   unary_fwd                 y = f(x), f by op code (UNARY_* below, the order of dev.dragedit.ops.Unary; the Java
//                             side maps by name, not ordinal)
//   unary_bwd                 dx = gy·f'(x), torch's conventions at kinks (abs'(0) = relu'(0) = 0)
//   geglu_fwd                 x [rows, 2n] → y [rows, n] = x[:, :n]·gelu(x[:, n:]), exact GELU x·Φ(x)
//   geglu_bwd                 dx [rows, 2n] from gy [rows, n]
//   adamstep_fwd_f32          one in-place Adam/AdamW step on (param, grad, m, v), operation by operation as
//                             CpuOptim (no FMA contraction: __fmul_rn/__fadd_rn), scalars precomputed on the host.
//                             F32 only: optimiser state and master weights stay F32 (a 16-bit model is trained
//                             through F32 master copies; updates lr·m/√v far below a 16-bit ulp would be lost).
// Layout: dense contiguous row-major, one storage type per launch. Launch: 1-D grids of 256-thread blocks,
// grid-stride loops (the Java side caps the grid), so any n works with any grid; 32-bit unsigned indices (tensors
// hold < 2^31 elements, and i + stride < 2^32). The maps are memory-bound: they move packs of four elements (16
// bytes of float, 8 bytes of a 16-bit type: one vector load/store each) when every pointer is aligned to the pack
// (checked per launch, uniformly, in the kernel), with a scalar tail; misaligned (offset) tensors take the scalar loop.
// GELU: Φ(x) = ½·erfc(−x/√2) — the exact (erf) GELU written with erfcf, which keeps relative accuracy in the
// negative tail where 1 + erf(x/√2) would cancel (the CPU reference is accurate there too).
// Storage type: the device helpers are templated on T and go through de_to_float/de_from_float (identity for float).
#include "common.cuh"

namespace {

constexpr int UNARY_NEG = 0, UNARY_ABS = 1, UNARY_SQUARE = 2, UNARY_SQRT = 3, UNARY_RSQRT = 4, UNARY_EXP = 5,
              UNARY_LOG = 6, UNARY_SIGN = 7, UNARY_RELU = 8, UNARY_SIGMOID = 9, UNARY_TANH = 10, UNARY_SILU = 11,
              UNARY_GELU = 12, UNARY_QUICK_GELU = 13;
constexpr int BINARY_ADD = 0, BINARY_SUB = 1, BINARY_MUL = 2, BINARY_DIV = 3;
constexpr int MAX_RANK = 6;
constexpr float QUICK_GELU_K = 1.702f;
constexpr float INV_SQRT2 = 0.70710678118654752f;
constexpr float INV_SQRT_2PI = 0.39894228040143268f;

__device__ __forceinline__ unsigned global_thread() { return blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ unsigned grid_threads() { return gridDim.x * blockDim.x; }

// ---- the scalar functions (fp32) ---------------------------------------------------------------------------------

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float normal_cdf(float x) { return 0.5f * erfcf(-x * INV_SQRT2); }
__device__ __forceinline__ float gelu(float x) { return x * normal_cdf(x); }
__device__ __forceinline__ float gelu_grad(float x) { return normal_cdf(x) + x * expf(-0.5f * x * x) * INV_SQRT_2PI; }
// torch.sign: (0 < x) − (x < 0), so 0 for ±0 and NaN.
__device__ __forceinline__ float signf(float x) { return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : 0.0f; }

template <int OP> __device__ __forceinline__ float binary_op(float a, float b) {
    if constexpr (OP == BINARY_ADD) return a + b;
    else if constexpr (OP == BINARY_SUB) return a - b;
    else if constexpr (OP == BINARY_MUL) return a * b;
    else return a / b;
}

template <int OP> __device__ __forceinline__ float unary_op(float x) {
    if constexpr (OP == UNARY_NEG) return -x;
    else if constexpr (OP == UNARY_ABS) return fabsf(x);
    else if constexpr (OP == UNARY_SQUARE) return x * x;
    else if constexpr (OP == UNARY_SQRT) return sqrtf(x);
    else if constexpr (OP == UNARY_RSQRT) return 1.0f / sqrtf(x);  // IEEE sqrt and division, as the CPU's
    else if constexpr (OP == UNARY_EXP) return expf(x);
    else if constexpr (OP == UNARY_LOG) return logf(x);
    else if constexpr (OP == UNARY_SIGN) return signf(x);
    else if constexpr (OP == UNARY_RELU) return x != x ? x : fmaxf(x, 0.0f);  // Java's Math.max keeps NaN
    else if constexpr (OP == UNARY_SIGMOID) return sigmoidf(x);
    else if constexpr (OP == UNARY_TANH) return tanhf(x);
    else if constexpr (OP == UNARY_SILU) return x * sigmoidf(x);
    else if constexpr (OP == UNARY_GELU) return gelu(x);
    else return x * sigmoidf(QUICK_GELU_K * x);
}

template <int OP> __device__ __forceinline__ float unary_derivative(float x) {
    if constexpr (OP == UNARY_NEG) return -1.0f;
    else if constexpr (OP == UNARY_ABS) return signf(x);
    else if constexpr (OP == UNARY_SQUARE) return 2.0f * x;
    else if constexpr (OP == UNARY_SQRT) return 0.5f / sqrtf(x);
    else if constexpr (OP == UNARY_RSQRT) { float r = 1.0f / sqrtf(x); return -0.5f * r * r * r; }
    else if constexpr (OP == UNARY_EXP) return expf(x);
    else if constexpr (OP == UNARY_LOG) return 1.0f / x;
    else if constexpr (OP == UNARY_SIGN) return 0.0f;
    else if constexpr (OP == UNARY_RELU) return x > 0.0f ? 1.0f : 0.0f;
    else if constexpr (OP == UNARY_SIGMOID) { float s = sigmoidf(x); return s * (1.0f - s); }
    else if constexpr (OP == UNARY_TANH) { float t = tanhf(x); return 1.0f - t * t; }
    else if constexpr (OP == UNARY_SILU) { float s = sigmoidf(x); return s * (1.0f + x * (1.0f - s)); }
    else if constexpr (OP == UNARY_GELU) return gelu_grad(x);
    else { float s = sigmoidf(QUICK_GELU_K * x); return s * (1.0f + QUICK_GELU_K * x * (1.0f - s)); }
}

// ---- grid-stride maps ----------------------------------------------------------------------------------------------

// Four consecutive elements as one aligned load/store: 16 bytes of float (an LDG.128) or 8 bytes of __half /
// __nv_bfloat16 (an LDG.64). An aligned struct copy is one vector access under nvcc and a plain copy under g++.
template <class T> struct alignas(4 * sizeof(T)) Pack4 {
    T v[4];
};

template <class T> __device__ __forceinline__ bool pack_aligned(const void* p) {
    return (reinterpret_cast<uintptr_t>(p) & (sizeof(Pack4<T>) - 1)) == 0;
}

// y[i] = f(x[i]): packs of four when every pointer is pack-aligned (uniform over the launch), then a scalar tail.
template <class T, class F> __device__ __forceinline__ void map1(const T* __restrict__ x, T* __restrict__ y, unsigned n, F f) {
    unsigned start = 0, tid = global_thread(), stride = grid_threads();
    if (pack_aligned<T>(x) && pack_aligned<T>(y)) {
        unsigned n4 = n / 4;
        const Pack4<T>* x4 = reinterpret_cast<const Pack4<T>*>(x);
        Pack4<T>* y4 = reinterpret_cast<Pack4<T>*>(y);
        for (unsigned i = tid; i < n4; i += stride) {
            Pack4<T> v = x4[i];
            for (int k = 0; k < 4; k++) v.v[k] = de_from_float<T>(f(de_to_float(v.v[k])));
            y4[i] = v;
        }
        start = n4 * 4;
    }
    for (unsigned i = start + tid; i < n; i += stride) y[i] = de_from_float<T>(f(de_to_float(x[i])));
}

// y[i] = f(a[i], b[i]), packed as map1.
template <class T, class F>
__device__ __forceinline__ void map2(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, unsigned n, F f) {
    unsigned start = 0, tid = global_thread(), stride = grid_threads();
    if (pack_aligned<T>(a) && pack_aligned<T>(b) && pack_aligned<T>(y)) {
        unsigned n4 = n / 4;
        const Pack4<T>* a4 = reinterpret_cast<const Pack4<T>*>(a);
        const Pack4<T>* b4 = reinterpret_cast<const Pack4<T>*>(b);
        Pack4<T>* y4 = reinterpret_cast<Pack4<T>*>(y);
        for (unsigned i = tid; i < n4; i += stride) {
            Pack4<T> u = a4[i], v = b4[i];
            for (int k = 0; k < 4; k++) u.v[k] = de_from_float<T>(f(de_to_float(u.v[k]), de_to_float(v.v[k])));
            y4[i] = u;
        }
        start = n4 * 4;
    }
    for (unsigned i = start + tid; i < n; i += stride) y[i] = de_from_float<T>(f(de_to_float(a[i]), de_to_float(b[i])));
}

// The coalesced broadcast geometry (innermost dimension first); unused dimensions have size 1 and strides 0.
struct Bcast {
    int rank;
    unsigned size[MAX_RANK], sa[MAX_RANK], sb[MAX_RANK];
};

__device__ __forceinline__ Bcast make_bcast(int rank, int s0, int s1, int s2, int s3, int s4, int s5, int a0, int a1,
                                            int a2, int a3, int a4, int a5, int b0, int b1, int b2, int b3, int b4, int b5) {
    Bcast g;
    g.rank = rank;
    g.size[0] = s0; g.size[1] = s1; g.size[2] = s2; g.size[3] = s3; g.size[4] = s4; g.size[5] = s5;
    g.sa[0] = a0; g.sa[1] = a1; g.sa[2] = a2; g.sa[3] = a3; g.sa[4] = a4; g.sa[5] = a5;
    g.sb[0] = b0; g.sb[1] = b1; g.sb[2] = b2; g.sb[3] = b3; g.sb[4] = b4; g.sb[5] = b5;
    return g;
}

// Offsets of element i of the result in both operands. nvcc unrolls the constant-bound loop fully (no #pragma: g++
// warns on it), so g stays in registers: the ptxas report shows no stack frame.
__device__ __forceinline__ void bcast_offsets(const Bcast& g, unsigned i, unsigned& oa, unsigned& ob) {
    oa = 0;
    ob = 0;
    for (int k = 0; k < MAX_RANK; k++) {
        if (k < g.rank) {
            unsigned c = i % g.size[k];
            i /= g.size[k];
            oa += c * g.sa[k];
            ob += c * g.sb[k];
        }
    }
}

template <class T, int OP>
__device__ __forceinline__ void binary(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, unsigned n,
                                       const Bcast& g) {
    auto op = [](float u, float v) { return binary_op<OP>(u, v); };
    if (g.rank == 1 && g.sa[0] == 1 && g.sb[0] == 1) {
        map2(a, b, out, n, op);
    } else if (g.rank == 1 && g.sa[0] == 1 && g.sb[0] == 0) {
        float s = de_to_float(b[0]);
        map1(a, out, n, [s](float u) { return binary_op<OP>(u, s); });
    } else if (g.rank == 1 && g.sa[0] == 0 && g.sb[0] == 1) {
        float s = de_to_float(a[0]);
        map1(b, out, n, [s](float v) { return binary_op<OP>(s, v); });
    } else {
        for (unsigned i = global_thread(); i < n; i += grid_threads()) {
            unsigned oa, ob;
            bcast_offsets(g, i, oa, ob);
            out[i] = de_from_float<T>(binary_op<OP>(de_to_float(a[oa]), de_to_float(b[ob])));
        }
    }
}

template <class T, int OP> __device__ __forceinline__ void unary_fwd(const T* x, T* y, unsigned n) {
    map1(x, y, n, [](float v) { return unary_op<OP>(v); });
}

template <class T, int OP> __device__ __forceinline__ void unary_bwd(const T* gy, const T* x, T* dx, unsigned n) {
    map2(gy, x, dx, n, [](float g, float v) { return g * unary_derivative<OP>(v); });
}

template <class T> __device__ __forceinline__ void expand(const T* __restrict__ x, T* __restrict__ out, unsigned n, const Bcast& g) {
    if (g.rank == 1 && g.sa[0] == 1) {
        map1(x, out, n, [](float v) { return v; });
    } else {
        for (unsigned i = global_thread(); i < n; i += grid_threads()) {
            unsigned ox, unused;
            bcast_offsets(g, i, ox, unused);
            out[i] = x[ox];
        }
    }
}

// op is uniform over the launch: the switch picks one specialised loop, not a branch per element.
template <class T> __device__ __forceinline__ void unary_fwd_dispatch(const T* __restrict__ x, T* __restrict__ y, unsigned n, int op) {
    switch (op) {
        case UNARY_NEG: unary_fwd<T, UNARY_NEG>(x, y, n); break;
        case UNARY_ABS: unary_fwd<T, UNARY_ABS>(x, y, n); break;
        case UNARY_SQUARE: unary_fwd<T, UNARY_SQUARE>(x, y, n); break;
        case UNARY_SQRT: unary_fwd<T, UNARY_SQRT>(x, y, n); break;
        case UNARY_RSQRT: unary_fwd<T, UNARY_RSQRT>(x, y, n); break;
        case UNARY_EXP: unary_fwd<T, UNARY_EXP>(x, y, n); break;
        case UNARY_LOG: unary_fwd<T, UNARY_LOG>(x, y, n); break;
        case UNARY_SIGN: unary_fwd<T, UNARY_SIGN>(x, y, n); break;
        case UNARY_RELU: unary_fwd<T, UNARY_RELU>(x, y, n); break;
        case UNARY_SIGMOID: unary_fwd<T, UNARY_SIGMOID>(x, y, n); break;
        case UNARY_TANH: unary_fwd<T, UNARY_TANH>(x, y, n); break;
        case UNARY_SILU: unary_fwd<T, UNARY_SILU>(x, y, n); break;
        case UNARY_GELU: unary_fwd<T, UNARY_GELU>(x, y, n); break;
        case UNARY_QUICK_GELU: unary_fwd<T, UNARY_QUICK_GELU>(x, y, n); break;
        default: __trap();
    }
}

template <class T>
__device__ __forceinline__ void unary_bwd_dispatch(const T* __restrict__ gy, const T* __restrict__ x, T* __restrict__ dx,
                                                   unsigned n, int op) {
    switch (op) {
        case UNARY_NEG: unary_bwd<T, UNARY_NEG>(gy, x, dx, n); break;
        case UNARY_ABS: unary_bwd<T, UNARY_ABS>(gy, x, dx, n); break;
        case UNARY_SQUARE: unary_bwd<T, UNARY_SQUARE>(gy, x, dx, n); break;
        case UNARY_SQRT: unary_bwd<T, UNARY_SQRT>(gy, x, dx, n); break;
        case UNARY_RSQRT: unary_bwd<T, UNARY_RSQRT>(gy, x, dx, n); break;
        case UNARY_EXP: unary_bwd<T, UNARY_EXP>(gy, x, dx, n); break;
        case UNARY_LOG: unary_bwd<T, UNARY_LOG>(gy, x, dx, n); break;
        case UNARY_SIGN: unary_bwd<T, UNARY_SIGN>(gy, x, dx, n); break;
        case UNARY_RELU: unary_bwd<T, UNARY_RELU>(gy, x, dx, n); break;
        case UNARY_SIGMOID: unary_bwd<T, UNARY_SIGMOID>(gy, x, dx, n); break;
        case UNARY_TANH: unary_bwd<T, UNARY_TANH>(gy, x, dx, n); break;
        case UNARY_SILU: unary_bwd<T, UNARY_SILU>(gy, x, dx, n); break;
        case UNARY_GELU: unary_bwd<T, UNARY_GELU>(gy, x, dx, n); break;
        case UNARY_QUICK_GELU: unary_bwd<T, UNARY_QUICK_GELU>(gy, x, dx, n); break;
        default: __trap();
    }
}

// x [rows, 2n] → y [rows, n]; element i of y is (row i / n, column i % n), so consecutive threads read consecutive
// columns of both halves.
template <class T> __device__ __forceinline__ void geglu_fwd(const T* __restrict__ x, T* __restrict__ y, unsigned total, unsigned n) {
    for (unsigned i = global_thread(); i < total; i += grid_threads()) {
        unsigned r = i / n, j = i - r * n;
        const T* row = x + (size_t)r * 2 * n;
        y[i] = de_from_float<T>(de_to_float(row[j]) * gelu(de_to_float(row[n + j])));
    }
}

// dx[:, :n] = gy·gelu(gate), dx[:, n:] = gy·value·gelu'(gate).
template <class T>
__device__ __forceinline__ void geglu_bwd(const T* __restrict__ gy, const T* __restrict__ x, T* __restrict__ dx, unsigned total,
                                          unsigned n) {
    for (unsigned i = global_thread(); i < total; i += grid_threads()) {
        unsigned r = i / n, j = i - r * n;
        size_t o = (size_t)r * 2 * n + j;
        float g = de_to_float(gy[i]), value = de_to_float(x[o]), gate = de_to_float(x[o + n]);
        dx[o] = de_from_float<T>(g * gelu(gate));
        dx[o + n] = de_from_float<T>(g * value * gelu_grad(gate));
    }
}

// The per-step scalars of CpuOptim.Coefficients.
struct AdamCoefficients {
    float l2, decay, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step_size;
};

// torch.optim.Adam/AdamW (amsgrad off), CpuOptim's order of operations; l2 = 0 / decay = 1 skip their terms exactly
// as the CPU does (0·p would turn an infinite p into NaN). P is the parameter's storage type; the moments stay fp32.
template <class P>
__device__ __forceinline__ void adam_step(P* __restrict__ p, const P* __restrict__ grad, float* __restrict__ m,
                                          float* __restrict__ v, unsigned n, const AdamCoefficients& k) {
    for (unsigned i = global_thread(); i < n; i += grid_threads()) {
        float gi = de_to_float(grad[i]), pi = de_to_float(p[i]);
        if (k.l2 != 0.0f) gi = __fadd_rn(gi, __fmul_rn(k.l2, pi));
        if (k.decay != 1.0f) pi = __fmul_rn(pi, k.decay);
        float mi = m[i], vi = v[i];
        mi = __fadd_rn(mi, __fmul_rn(__fsub_rn(gi, mi), k.one_minus_beta1));
        vi = __fadd_rn(__fmul_rn(vi, k.beta2), __fmul_rn(__fmul_rn(gi, k.one_minus_beta2), gi));
        float denom = __fadd_rn(__fdiv_rn(sqrtf(vi), k.bc2_sqrt), k.eps);
        m[i] = mi;
        v[i] = vi;
        p[i] = de_from_float<P>(__fadd_rn(pi, __fdiv_rn(__fmul_rn(mi, k.neg_step_size), denom)));
    }
}

}  // namespace

// ---- entry points ------------------------------------------------------------------------------------------------

// Every op but adamstep in three storage types, written by one macro per signature (SUF the name suffix, T the type).
// The broadcast geometry travels as scalars (sizes s*, strides a*/b*, innermost first): no device-side array to
// allocate and fill per launch.

#define DE_BINARY_ENTRY(NAME, OP, SUF, T)                                                                            \
    extern "C" __global__ void NAME##_fwd_##SUF(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,  \
                                                unsigned n, int rank, int s0, int s1, int s2, int s3, int s4, int s5,   \
                                                int a0, int a1, int a2, int a3, int a4, int a5, int b0, int b1, int b2, \
                                                int b3, int b4, int b5) {                                               \
        binary<T, OP>(a, b, out, n,                                                                                  \
                      make_bcast(rank, s0, s1, s2, s3, s4, s5, a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5));     \
    }

#define DE_ELEMENTWISE_ENTRIES(SUF, T)                                                                               \
    DE_BINARY_ENTRY(add, BINARY_ADD, SUF, T)                                                                         \
    DE_BINARY_ENTRY(sub, BINARY_SUB, SUF, T)                                                                         \
    DE_BINARY_ENTRY(mul, BINARY_MUL, SUF, T)                                                                         \
    DE_BINARY_ENTRY(div, BINARY_DIV, SUF, T)                                                                         \
    extern "C" __global__ void expand_fwd_##SUF(const T* __restrict__ x, T* __restrict__ out, unsigned n, int rank,    \
                                                int s0, int s1, int s2, int s3, int s4, int s5, int x0, int x1, int x2, \
                                                int x3, int x4, int x5) {                                               \
        expand(x, out, n, make_bcast(rank, s0, s1, s2, s3, s4, s5, x0, x1, x2, x3, x4, x5, 0, 0, 0, 0, 0, 0));         \
    }                                                                                                                \
    /* No FMA: the CPU rounds x·s before adding t. */                                                                \
    extern "C" __global__ void affine_fwd_##SUF(const T* __restrict__ x, T* __restrict__ y, unsigned n, float s, float t) { \
        map1(x, y, n, [s, t](float v) { return __fadd_rn(__fmul_rn(v, s), t); });                                    \
    }                                                                                                                \
    extern "C" __global__ void clamp_fwd_##SUF(const T* __restrict__ x, T* __restrict__ y, unsigned n, float lo, float hi) { \
        map1(x, y, n, [lo, hi](float v) { return v != v ? v : fminf(fmaxf(v, lo), hi); });                           \
    }                                                                                                                \
    extern "C" __global__ void clamp_bwd_##SUF(const T* __restrict__ gy, const T* __restrict__ x, T* __restrict__ dx,  \
                                               unsigned n, float lo, float hi) {                                     \
        map2(gy, x, dx, n, [lo, hi](float g, float v) { return v >= lo && v <= hi ? g : 0.0f; });                    \
    }                                                                                                                \
    extern "C" __global__ void unary_fwd_##SUF(const T* __restrict__ x, T* __restrict__ y, unsigned n, int op) {       \
        unary_fwd_dispatch(x, y, n, op);                                                                             \
    }                                                                                                                \
    extern "C" __global__ void unary_bwd_##SUF(const T* __restrict__ gy, const T* __restrict__ x, T* __restrict__ dx,  \
                                               unsigned n, int op) {                                                 \
        unary_bwd_dispatch(gy, x, dx, n, op);                                                                        \
    }                                                                                                                \
    extern "C" __global__ void geglu_fwd_##SUF(const T* __restrict__ x, T* __restrict__ y, unsigned total, unsigned n) { \
        geglu_fwd(x, y, total, n);                                                                                   \
    }                                                                                                                \
    extern "C" __global__ void geglu_bwd_##SUF(const T* __restrict__ gy, const T* __restrict__ x, T* __restrict__ dx,  \
                                               unsigned total, unsigned n) {                                         \
        geglu_bwd(gy, x, dx, total, n);                                                                              \
    }

DE_ELEMENTWISE_ENTRIES(f32, float)
DE_ELEMENTWISE_ENTRIES(f16, __half)
DE_ELEMENTWISE_ENTRIES(bf16, __nv_bfloat16)

// F32 only: the optimiser keeps master weights, gradients and both moments in F32 (16-bit storage would lose the
// small updates lr·m/√v to rounding); the template takes a storage type P for the parameter should that change.
extern "C" __global__ void adamstep_fwd_f32(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ m,
                                            float* __restrict__ v, unsigned n, float l2, float decay, float one_minus_beta1,
                                            float beta2, float one_minus_beta2, float bc2_sqrt, float eps,
                                            float neg_step_size) {
    adam_step(p, grad, m, v, n, AdamCoefficients{l2, decay, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step_size});
}

// ---- storage conversion -------------------------------------------------------------------------------------------
// cast_<from>_<to>: out[i] = in[i] converted between F32, F16 and BF16, round to nearest even (one rounding: a 16-bit
// value is exact in fp32, so F16 <-> BF16 through fp32 rounds once). Grid-stride over a 1-D launch.
namespace {
template <class TI, class TO>
__device__ __forceinline__ void cast_map(const TI* __restrict__ in, TO* __restrict__ out, unsigned n) {
    for (unsigned i = global_thread(); i < n; i += grid_threads()) out[i] = de_from_float<TO>(de_to_float(in[i]));
}
}  // namespace

#define DE_CAST_ENTRY(FROM, TI, TO_NAME, TO)                                                                        \
    extern "C" __global__ void cast_##FROM##_##TO_NAME(const TI* __restrict__ in, TO* __restrict__ out, unsigned n) { \
        cast_map<TI, TO>(in, out, n);                                                                               \
    }
DE_CAST_ENTRY(f32, float, f16, __half)
DE_CAST_ENTRY(f32, float, bf16, __nv_bfloat16)
DE_CAST_ENTRY(f16, __half, f32, float)
DE_CAST_ENTRY(bf16, __nv_bfloat16, f32, float)
DE_CAST_ENTRY(f16, __half, bf16, __nv_bfloat16)
DE_CAST_ENTRY(bf16, __nv_bfloat16, f16, __half)
