// Shared device helpers of the dragedit kernels and the macros that let one source compile under both nvcc and
// g++ with the CPU emulation (emu/cuda_emu.h, force-included by build.sh; it defines DE_CUDA_EMULATION).
//  - DE_DYNAMIC_SHARED(T, name): the block's dynamic shared memory as a T*. nvcc: `extern __shared__` (one raw
//    byte array, so kernels of different element types can share a file); emulation: the worker's buffer.
//  - de_to_float / de_from_float<T>: fp32 <-> storage dtype (float, __half, __nv_bfloat16), round to nearest
//    even; kernels compute in fp32 and template their loads and stores on the storage type.
//  - de_warp_sum / de_warp_max: butterfly reductions over a full warp (every lane gets the result).
//  - de_ceil_div.
#pragma once

#include <cstdint>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#if defined(DE_CUDA_EMULATION)
#define DE_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(::de_emu::dynamic_shared())
#else
#define DE_DYNAMIC_SHARED(T, name) \
    extern __shared__ __align__(16) unsigned char de_dynamic_smem_[]; \
    T* name = reinterpret_cast<T*>(de_dynamic_smem_)
#endif

#define DE_FULL_MASK 0xffffffffu

__device__ __forceinline__ float de_to_float(float v) { return v; }
__device__ __forceinline__ float de_to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float de_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T> __device__ __forceinline__ T de_from_float(float v);
template <> __device__ __forceinline__ float de_from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __half de_from_float<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 de_from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

__device__ __forceinline__ float de_warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(DE_FULL_MASK, v, offset);
    return v;
}

__device__ __forceinline__ float de_warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(DE_FULL_MASK, v, offset));
    return v;
}

__host__ __device__ __forceinline__ int de_ceil_div(int a, int b) { return (a + b - 1) / b; }
