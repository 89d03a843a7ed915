// Our tensor-core MMA wrapper: one warp-wide D = A·B + C with A 16×16 (row-major), B 16×8 (column-major), C and D
// 16×8 in fp32, operands fp16 or bf16 — PTX mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32.
//
//   de_mma_m16n8k16_f16(d, a, b, c)   / de_mma_m16n8k16_bf16(d, a, b, c)
//       float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]; d may be c (accumulate in place).
//   de_pack_half2(lo, hi) / de_pack_bf162(lo, hi)   two floats rounded (nearest even) into one 32-bit register
//   de_pack2(lo, hi)                                 two __half or two __nv_bfloat16 values, bits unchanged
//
// Fragment layout (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type"): lane l has
// groupID g = l >> 2 and threadID_in_group t = l % 4. Each 32-bit register holds two 16-bit values, the lower
// index in the low half.
//   a[0] = A[g    ][2t, 2t+1]     a[1] = A[g + 8][2t, 2t+1]     a[2] = A[g][2t+8, 2t+9]     a[3] = A[g+8][2t+8, 2t+9]
//   b[0] = B[2t, 2t+1][g]         b[1] = B[2t+8, 2t+9][g]
//   c[0], c[1] = C[g][2t], C[g][2t+1]          c[2], c[3] = C[g+8][2t], C[g+8][2t+1]          (d likewise)
// So a row-major A tile and a B tile stored n-major (B[n][k], k contiguous) both give a lane's register as one
// aligned 32-bit word of shared memory.
//
// Every lane of the warp must call it together (converged, none exited), like any mma.sync.aligned.
//   nvcc:      inline PTX (sm_80 or newer; the build targets compute_80 and sm_80/86/89/90).
//   emulation: one warp collective of the runtime (emu/runtime.cpp, complete_mma): each lane deposits pointers to
//              its fragments, the last lane to arrive computes the whole 16×8 D from the layout above in scalar fp32
//              (one FMA per product, k increasing, from C) and writes every lane's d. The launch fails, naming the
//              kernel, if a lane of the warp has exited, if the warp has fewer than 32 threads, or if lanes of one
//              warp meet in different MMAs (f16 against bf16) or other collectives.
// The GPU's accumulation order and internal precision are not specified by PTX: results agree with the
// emulation to fp32 rounding of the sum, exactly when every partial sum is exact (e.g. small integers).
#pragma once

#include <cstdint>

#include "common.cuh"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "kernels/mma.cuh: mma.sync m16n8k16 with bf16 needs sm_80 or newer"
#endif

__device__ __forceinline__ uint32_t de_pack2(__half lo, __half hi) {
    return uint32_t(__half_as_ushort(lo)) | (uint32_t(__half_as_ushort(hi)) << 16);
}
__device__ __forceinline__ uint32_t de_pack2(__nv_bfloat16 lo, __nv_bfloat16 hi) {
    return uint32_t(__bfloat16_as_ushort(lo)) | (uint32_t(__bfloat16_as_ushort(hi)) << 16);
}
__device__ __forceinline__ uint32_t de_pack_half2(float lo, float hi) {
    return de_pack2(__float2half_rn(lo), __float2half_rn(hi));
}
__device__ __forceinline__ uint32_t de_pack_bf162(float lo, float hi) {
    return de_pack2(__float2bfloat16_rn(lo), __float2bfloat16_rn(hi));
}

__device__ __forceinline__ void de_mma_m16n8k16_f16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
#if defined(DE_CUDA_EMULATION)
    de_emu::mma_m16n8k16(de_emu::WARP_MMA_F16, d, a, b, c);
#else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%10, %11, %12, %13};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#endif
}

__device__ __forceinline__ void de_mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
#if defined(DE_CUDA_EMULATION)
    de_emu::mma_m16n8k16(de_emu::WARP_MMA_BF16, d, a, b, c);
#else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%10, %11, %12, %13};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#endif
}

// The MMA of operand type T, for kernels templated on the storage type.
template <class T> struct DeMma;
template <> struct DeMma<__half> {
    __device__ __forceinline__ static void run(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
        de_mma_m16n8k16_f16(d, a, b, c);
    }
};
template <> struct DeMma<__nv_bfloat16> {
    __device__ __forceinline__ static void run(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
        de_mma_m16n8k16_bf16(d, a, b, c);
    }
};
