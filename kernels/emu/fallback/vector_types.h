// Stand-in for CUDA's vector_types.h when the emulation is built on a machine without the CUDA toolkit
// (build.sh picks these headers only then): the built-in vector structs with CUDA's sizes and alignments, and dim3.
#pragma once

#define DE_VEC_TYPES(T, N, A2, A4)                                        \
    struct N##1 { T x; };                                                 \
    struct __attribute__((aligned(A2))) N##2 { T x, y; };                 \
    struct N##3 { T x, y, z; };                                           \
    struct __attribute__((aligned(A4))) N##4 { T x, y, z, w; };

DE_VEC_TYPES(signed char, char, 2, 4)
DE_VEC_TYPES(unsigned char, uchar, 2, 4)
DE_VEC_TYPES(short, short, 4, 8)
DE_VEC_TYPES(unsigned short, ushort, 4, 8)
DE_VEC_TYPES(int, int, 8, 16)
DE_VEC_TYPES(unsigned int, uint, 8, 16)
DE_VEC_TYPES(long, long, 16, 16)
DE_VEC_TYPES(unsigned long, ulong, 16, 16)
DE_VEC_TYPES(long long, longlong, 16, 16)
DE_VEC_TYPES(unsigned long long, ulonglong, 16, 16)
DE_VEC_TYPES(float, float, 8, 16)
DE_VEC_TYPES(double, double, 16, 16)
#undef DE_VEC_TYPES

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};
