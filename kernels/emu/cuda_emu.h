// The CUDA execution model for g++: force-included (g++ -include kernels/emu/cuda_emu.h -x c++ kernel.cu) so the
// same .cu files nvcc compiles become host code run by kernels/emu/runtime.cpp. Each CUDA thread is a fiber on a
// block's worker thread, so everything "per block" (blockIdx, __shared__) is per worker thread (thread-local), and
// everything "per thread" (threadIdx) is rewritten by the scheduler on every fiber switch. Barriers, warp shuffles
// and votes are calls into the runtime, which parks the calling fiber until its partners arrive; so is the
// tensor-core MMA of kernels/mma.cuh (mma_m16n8k16, computed in scalar code by the runtime). Atomics are real
// atomics because several blocks run at once on different workers. What is not emulated: see kernels/README.md.
#pragma once

#if defined(__CUDACC__)
#error "cuda_emu.h is the CPU emulation of CUDA for g++; nvcc must not include it"
#endif
#if !defined(__x86_64__)
#error "the CUDA emulation switches fiber stacks in x86-64 assembly; this target is not x86-64"
#endif

#include <atomic>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <math.h>
#include <type_traits>

#define DE_CUDA_EMULATION 1
#define DE_EMU_HIDDEN __attribute__((visibility("hidden")))

// Defined before the CUDA headers: crt/host_defines.h keeps a definition it finds. __shared__ variables live on
// the block's worker thread, hence distinct between blocks running at once and shared by the block's fibers.
// build.sh's kernel scan preprocesses with -D__global__=__de_global__ to find the entry points.
#ifndef __global__
#define __global__
#endif
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __shared__ static thread_local
#define __grid_constant__
#define __launch_bounds__(...)

#include <vector_types.h>
#include <vector_functions.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

// Normally from crt/host_defines.h (through the CUDA headers); absent with the fallback headers.
#ifndef __forceinline__
#define __forceinline__ inline __attribute__((always_inline))
#endif
#ifndef __align__
#define __align__(n) __attribute__((aligned(n)))
#endif

// Per fiber (threadIdx) and per block (the rest); set by the scheduler. __thread, not thread_local: plain TLS
// with no initialisation wrapper on each access. uint3 rather than dim3 keeps them trivially constructible.
extern __thread uint3 threadIdx DE_EMU_HIDDEN;
extern __thread uint3 blockIdx DE_EMU_HIDDEN;
extern __thread uint3 blockDim DE_EMU_HIDDEN;
extern __thread uint3 gridDim DE_EMU_HIDDEN;
constexpr int warpSize = 32;

namespace de_emu {
// Warp collectives, all through one runtime entry: the last lane of the group to arrive computes every lane's
// result, so one barrier per collective suffices and no lane can overwrite a value another has yet to read.
enum WarpKind : int {
    WARP_SYNC, WARP_SHFL_IDX, WARP_SHFL_UP, WARP_SHFL_DOWN, WARP_SHFL_XOR, WARP_BALLOT, WARP_ANY, WARP_ALL,
    WARP_MATCH_ANY, WARP_MATCH_ALL, WARP_REDUCE_ADD, WARP_REDUCE_MIN_U, WARP_REDUCE_MAX_U, WARP_REDUCE_MIN_I,
    WARP_REDUCE_MAX_I, WARP_REDUCE_AND, WARP_REDUCE_OR, WARP_REDUCE_XOR, WARP_MMA_F16, WARP_MMA_BF16
};
DE_EMU_HIDDEN uint64_t warp_op(int kind, unsigned mask, uint64_t value, int arg, int width);
DE_EMU_HIDDEN unsigned active_mask();
DE_EMU_HIDDEN void* dynamic_shared();
[[noreturn]] DE_EMU_HIDDEN void trap(const char* what);
DE_EMU_HIDDEN long long clock_ticks();

template <class T> inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "warp shuffles move values of at most 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <class T> inline T from_bits(uint64_t b) {
    T v;
    std::memcpy(static_cast<void*>(&v), &b, sizeof(T));
    return v;
}
// One lane's share of mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.f32 (kernels/mma.cuh): the collective's
// value is a pointer to this, on the lane's own stack, which lives until the collective completes. The lane that
// completes it reads every lane's a, b, c and writes every lane's d (runtime.cpp, complete_mma), so d may alias c.
struct MmaLane {
    const uint32_t* a;  // 4 registers of 2 packed 16-bit values
    const uint32_t* b;  // 2 registers
    const float* c;     // 4 accumulators
    float* d;           // 4 results
};
inline void mma_m16n8k16(int kind, float* d, const uint32_t* a, const uint32_t* b, const float* c) {
    MmaLane lane{a, b, c, d};
    warp_op(kind, 0xffffffffu, reinterpret_cast<uintptr_t>(&lane), 0, 32);
}
template <class T> inline std::atomic_ref<T> atom(T* p) { return std::atomic_ref<T>(*p); }
// 16-bit floats have no atomic_ref arithmetic: compare-and-swap on their bits.
template <class H> inline H atomic_add_16(H* p, H v) {
    std::atomic_ref<unsigned short> a(*reinterpret_cast<unsigned short*>(p));
    unsigned short old = a.load(std::memory_order_relaxed), next;
    do {
        H cur = from_bits<H>(old);
        H sum = H(float(cur) + float(v));
        next = static_cast<unsigned short>(to_bits(sum));
    } while (!a.compare_exchange_weak(old, next, std::memory_order_relaxed));
    return from_bits<H>(old);
}
}  // namespace de_emu

// --- barriers -------------------------------------------------------------------------------------------------
// Out of line in runtime.cpp on purpose: the return address identifies the call site, and threads of one block
// waiting at different __syncthreads are reported (undefined behaviour on the GPU).
DE_EMU_HIDDEN void __syncthreads();
DE_EMU_HIDDEN int __syncthreads_count(int predicate);
DE_EMU_HIDDEN int __syncthreads_and(int predicate);
DE_EMU_HIDDEN int __syncthreads_or(int predicate);
inline void __syncwarp(unsigned mask = 0xffffffffu) { de_emu::warp_op(de_emu::WARP_SYNC, mask, 0, 0, 32); }
inline unsigned __activemask() { return de_emu::active_mask(); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_system() { std::atomic_thread_fence(std::memory_order_seq_cst); }
[[noreturn]] inline void __trap() { de_emu::trap("__trap() called"); }
inline void __nanosleep(unsigned) {}
inline long long clock64() { return de_emu::clock_ticks(); }

// --- warp shuffles and votes -----------------------------------------------------------------------------------
template <class T> inline T __shfl_sync(unsigned mask, T var, int srcLane, int width = 32) {
    return de_emu::from_bits<T>(de_emu::warp_op(de_emu::WARP_SHFL_IDX, mask, de_emu::to_bits(var), srcLane, width));
}
template <class T> inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
    return de_emu::from_bits<T>(de_emu::warp_op(de_emu::WARP_SHFL_UP, mask, de_emu::to_bits(var), int(delta), width));
}
template <class T> inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
    return de_emu::from_bits<T>(de_emu::warp_op(de_emu::WARP_SHFL_DOWN, mask, de_emu::to_bits(var), int(delta), width));
}
template <class T> inline T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = 32) {
    return de_emu::from_bits<T>(de_emu::warp_op(de_emu::WARP_SHFL_XOR, mask, de_emu::to_bits(var), laneMask, width));
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
    return unsigned(de_emu::warp_op(de_emu::WARP_BALLOT, mask, pred != 0, 0, 32));
}
inline int __any_sync(unsigned mask, int pred) { return int(de_emu::warp_op(de_emu::WARP_ANY, mask, pred != 0, 0, 32)); }
inline int __all_sync(unsigned mask, int pred) { return int(de_emu::warp_op(de_emu::WARP_ALL, mask, pred != 0, 0, 32)); }
template <class T> inline unsigned __match_any_sync(unsigned mask, T value) {
    return unsigned(de_emu::warp_op(de_emu::WARP_MATCH_ANY, mask, de_emu::to_bits(value), 0, 32));
}
template <class T> inline unsigned __match_all_sync(unsigned mask, T value, int* pred) {
    unsigned m = unsigned(de_emu::warp_op(de_emu::WARP_MATCH_ALL, mask, de_emu::to_bits(value), 0, 32));
    *pred = m != 0;
    return m;
}
inline unsigned __reduce_add_sync(unsigned mask, unsigned v) { return unsigned(de_emu::warp_op(de_emu::WARP_REDUCE_ADD, mask, v, 0, 32)); }
inline int __reduce_add_sync(unsigned mask, int v) { return int(de_emu::warp_op(de_emu::WARP_REDUCE_ADD, mask, unsigned(v), 0, 32)); }
inline unsigned __reduce_min_sync(unsigned mask, unsigned v) { return unsigned(de_emu::warp_op(de_emu::WARP_REDUCE_MIN_U, mask, v, 0, 32)); }
inline unsigned __reduce_max_sync(unsigned mask, unsigned v) { return unsigned(de_emu::warp_op(de_emu::WARP_REDUCE_MAX_U, mask, v, 0, 32)); }
inline int __reduce_min_sync(unsigned mask, int v) { return int(de_emu::warp_op(de_emu::WARP_REDUCE_MIN_I, mask, unsigned(v), 0, 32)); }
inline int __reduce_max_sync(unsigned mask, int v) { return int(de_emu::warp_op(de_emu::WARP_REDUCE_MAX_I, mask, unsigned(v), 0, 32)); }
inline unsigned __reduce_and_sync(unsigned mask, unsigned v) { return unsigned(de_emu::warp_op(de_emu::WARP_REDUCE_AND, mask, v, 0, 32)); }
inline unsigned __reduce_or_sync(unsigned mask, unsigned v) { return unsigned(de_emu::warp_op(de_emu::WARP_REDUCE_OR, mask, v, 0, 32)); }
inline unsigned __reduce_xor_sync(unsigned mask, unsigned v) { return unsigned(de_emu::warp_op(de_emu::WARP_REDUCE_XOR, mask, v, 0, 32)); }

// --- atomics (relaxed, like CUDA's; they return the old value) -------------------------------------------------
inline float atomicAdd(float* p, float v) { return de_emu::atom(p).fetch_add(v, std::memory_order_relaxed); }
inline double atomicAdd(double* p, double v) { return de_emu::atom(p).fetch_add(v, std::memory_order_relaxed); }
inline int atomicAdd(int* p, int v) { return de_emu::atom(p).fetch_add(v, std::memory_order_relaxed); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return de_emu::atom(p).fetch_add(v, std::memory_order_relaxed); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return de_emu::atom(p).fetch_add(v, std::memory_order_relaxed);
}
inline __half atomicAdd(__half* p, __half v) { return de_emu::atomic_add_16(p, v); }
inline __nv_bfloat16 atomicAdd(__nv_bfloat16* p, __nv_bfloat16 v) { return de_emu::atomic_add_16(p, v); }
inline int atomicSub(int* p, int v) { return de_emu::atom(p).fetch_sub(v, std::memory_order_relaxed); }
inline unsigned atomicSub(unsigned* p, unsigned v) { return de_emu::atom(p).fetch_sub(v, std::memory_order_relaxed); }
template <class T> inline T de_atomic_exch(T* p, T v) { return de_emu::atom(p).exchange(v, std::memory_order_relaxed); }
inline int atomicExch(int* p, int v) { return de_atomic_exch(p, v); }
inline unsigned atomicExch(unsigned* p, unsigned v) { return de_atomic_exch(p, v); }
inline unsigned long long atomicExch(unsigned long long* p, unsigned long long v) { return de_atomic_exch(p, v); }
inline float atomicExch(float* p, float v) { return de_atomic_exch(p, v); }
template <class T> inline T de_atomic_cas(T* p, T compare, T val) {
    de_emu::atom(p).compare_exchange_strong(compare, val, std::memory_order_relaxed);
    return compare;  // holds the old value either way
}
inline int atomicCAS(int* p, int c, int v) { return de_atomic_cas(p, c, v); }
inline unsigned atomicCAS(unsigned* p, unsigned c, unsigned v) { return de_atomic_cas(p, c, v); }
inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long c, unsigned long long v) {
    return de_atomic_cas(p, c, v);
}
inline unsigned short atomicCAS(unsigned short* p, unsigned short c, unsigned short v) { return de_atomic_cas(p, c, v); }
template <class T> inline T de_atomic_max(T* p, T v) {
    auto a = de_emu::atom(p);
    T old = a.load(std::memory_order_relaxed);
    while (old < v && !a.compare_exchange_weak(old, v, std::memory_order_relaxed)) {}
    return old;
}
template <class T> inline T de_atomic_min(T* p, T v) {
    auto a = de_emu::atom(p);
    T old = a.load(std::memory_order_relaxed);
    while (v < old && !a.compare_exchange_weak(old, v, std::memory_order_relaxed)) {}
    return old;
}
inline int atomicMax(int* p, int v) { return de_atomic_max(p, v); }
inline unsigned atomicMax(unsigned* p, unsigned v) { return de_atomic_max(p, v); }
inline long long atomicMax(long long* p, long long v) { return de_atomic_max(p, v); }
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) { return de_atomic_max(p, v); }
inline int atomicMin(int* p, int v) { return de_atomic_min(p, v); }
inline unsigned atomicMin(unsigned* p, unsigned v) { return de_atomic_min(p, v); }
inline long long atomicMin(long long* p, long long v) { return de_atomic_min(p, v); }
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) { return de_atomic_min(p, v); }
inline int atomicAnd(int* p, int v) { return de_emu::atom(p).fetch_and(v, std::memory_order_relaxed); }
inline unsigned atomicAnd(unsigned* p, unsigned v) { return de_emu::atom(p).fetch_and(v, std::memory_order_relaxed); }
inline int atomicOr(int* p, int v) { return de_emu::atom(p).fetch_or(v, std::memory_order_relaxed); }
inline unsigned atomicOr(unsigned* p, unsigned v) { return de_emu::atom(p).fetch_or(v, std::memory_order_relaxed); }
inline int atomicXor(int* p, int v) { return de_emu::atom(p).fetch_xor(v, std::memory_order_relaxed); }
inline unsigned atomicXor(unsigned* p, unsigned v) { return de_emu::atom(p).fetch_xor(v, std::memory_order_relaxed); }
inline unsigned atomicInc(unsigned* p, unsigned limit) {
    auto a = de_emu::atom(p);
    unsigned old = a.load(std::memory_order_relaxed);
    while (!a.compare_exchange_weak(old, old >= limit ? 0u : old + 1, std::memory_order_relaxed)) {}
    return old;
}
inline unsigned atomicDec(unsigned* p, unsigned limit) {
    auto a = de_emu::atom(p);
    unsigned old = a.load(std::memory_order_relaxed);
    while (!a.compare_exchange_weak(old, (old == 0 || old > limit) ? limit : old - 1, std::memory_order_relaxed)) {}
    return old;
}

// --- loads and stores with cache hints: plain accesses on the host ----------------------------------------------
template <class T> inline T __ldg(const T* p) { return *p; }
template <class T> inline T __ldca(const T* p) { return *p; }
template <class T> inline T __ldcg(const T* p) { return *p; }
template <class T> inline T __ldcs(const T* p) { return *p; }
template <class T> inline T __ldlu(const T* p) { return *p; }
template <class T> inline T __ldcv(const T* p) { return *p; }
template <class T> inline void __stwb(T* p, T v) { *p = v; }
template <class T> inline void __stcg(T* p, T v) { *p = v; }
template <class T> inline void __stcs(T* p, T v) { *p = v; }
template <class T> inline void __stwt(T* p, T v) { *p = v; }

// --- math: the device intrinsics mapped to the host library (the fast approximations become exact calls) --------
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return exp10f(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline void __sincosf(float x, float* s, float* c) { *s = sinf(x); *c = cosf(x); }
inline float __tanhf(float x) { return tanhf(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __saturatef(float x) { return x != x ? 0.0f : fminf(fmaxf(x, 0.0f), 1.0f); }
inline float normcdff(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
inline double normcdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752); }
inline int __float_as_int(float x) { return de_emu::from_bits<int>(de_emu::to_bits(x)); }
inline unsigned __float_as_uint(float x) { return de_emu::from_bits<unsigned>(de_emu::to_bits(x)); }
inline float __int_as_float(int x) { return de_emu::from_bits<float>(de_emu::to_bits(x)); }
inline float __uint_as_float(unsigned x) { return de_emu::from_bits<float>(de_emu::to_bits(x)); }
inline long long __double_as_longlong(double x) { return de_emu::from_bits<long long>(de_emu::to_bits(x)); }
inline double __longlong_as_double(long long x) { return de_emu::from_bits<double>(de_emu::to_bits(x)); }
inline int __float2int_rn(float x) { return int(nearbyintf(x)); }
inline int __float2int_rz(float x) { return int(truncf(x)); }
inline int __float2int_rd(float x) { return int(floorf(x)); }
inline int __float2int_ru(float x) { return int(ceilf(x)); }
inline unsigned __float2uint_rn(float x) { return unsigned(nearbyintf(x)); }
inline long long __float2ll_rn(float x) { return (long long)nearbyintf(x); }
inline float __int2float_rn(int x) { return float(x); }
inline float __uint2float_rn(unsigned x) { return float(x); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(unsigned(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
inline int __mul24(int a, int b) { return int(unsigned(a << 8 >> 8) * unsigned(b << 8 >> 8)); }
inline unsigned __umul24(unsigned a, unsigned b) { return (a & 0xffffffu) * (b & 0xffffffu); }
inline int __mulhi(int a, int b) { return int((long long)a * b >> 32); }
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((unsigned long long)a * b >> 32); }
inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s) {
    return unsigned((((unsigned long long)hi << 32 | lo) << (s & 31)) >> 32);
}
inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s) {
    return unsigned(((unsigned long long)hi << 32 | lo) >> (s & 31));
}

// CUDA's global min/max overloads (device code calls them unqualified).
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline unsigned min(int a, unsigned b) { return min(unsigned(a), b); }
inline unsigned max(int a, unsigned b) { return max(unsigned(a), b); }
inline unsigned min(unsigned a, int b) { return min(a, unsigned(b)); }
inline unsigned max(unsigned a, int b) { return max(a, unsigned(b)); }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
