// Stand-in for CUDA's vector_functions.h without the CUDA toolkit: make_<type><n>(...) for the structs of
// vector_types.h.
#pragma once

#include "vector_types.h"

#define DE_MAKE_VEC(T, N)                                                                             \
    static inline N##1 make_##N##1(T x) { return N##1{x}; }                                           \
    static inline N##2 make_##N##2(T x, T y) { return N##2{x, y}; }                                   \
    static inline N##3 make_##N##3(T x, T y, T z) { return N##3{x, y, z}; }                           \
    static inline N##4 make_##N##4(T x, T y, T z, T w) { return N##4{x, y, z, w}; }

DE_MAKE_VEC(signed char, char)
DE_MAKE_VEC(unsigned char, uchar)
DE_MAKE_VEC(short, short)
DE_MAKE_VEC(unsigned short, ushort)
DE_MAKE_VEC(int, int)
DE_MAKE_VEC(unsigned int, uint)
DE_MAKE_VEC(long, long)
DE_MAKE_VEC(unsigned long, ulong)
DE_MAKE_VEC(long long, longlong)
DE_MAKE_VEC(unsigned long long, ulonglong)
DE_MAKE_VEC(float, float)
DE_MAKE_VEC(double, double)
#undef DE_MAKE_VEC
