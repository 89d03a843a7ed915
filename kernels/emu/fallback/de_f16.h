// The 16-bit float types of the fallback cuda_fp16.h / cuda_bf16.h (used only when the emulation is built
// without the CUDA toolkit): storage is the IEEE bit pattern, conversions round to nearest even (NaN becomes
// 0x7fff like CUDA's), and arithmetic is done in float (double for fma) and rounded once, which is the correctly
// rounded result CUDA's 16-bit instructions give. A subset of NVIDIA's API: what our kernels use.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "vector_types.h"

namespace de_f16 {

inline unsigned short half_bits(double d) {
    unsigned short sign = std::signbit(d) ? 0x8000 : 0;
    double a = std::fabs(d);
    if (std::isnan(d)) return 0x7fff;
    if (a >= 65520.0) return sign | 0x7c00;
    if (a < 0x1p-14) return sign | (unsigned short)std::nearbyint(a * 0x1p24);  // subnormal: multiples of 2^-24
    int e;
    std::frexp(a, &e);
    e -= 1;  // a in [2^e, 2^(e+1))
    double m = std::nearbyint(std::ldexp(a, 10 - e));
    if (m == 2048) {  // rounded up to the next binade
        m = 1024;
        e++;
    }
    if (e + 15 >= 31) return sign | 0x7c00;
    return sign | (unsigned short)(((e + 15) << 10) | (int(m) - 1024));
}

inline float half_value(unsigned short h) {
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? std::ldexp(double(m), -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(double(1024 + m), e - 25);
    return float((h & 0x8000) ? -v : v);
}

inline unsigned short bf16_bits(double d) {
    float f = float(d);
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if (std::isnan(f)) return 0x7fff;
    return (unsigned short)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

inline float bf16_value(unsigned short b) {
    uint32_t x = uint32_t(b) << 16;
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

}  // namespace de_f16

#define DE_F16_TYPE(T, RAW, T2, BITS, VALUE)                                                                  \
    struct RAW {                                                                                              \
        unsigned short x;                                                                                     \
    };                                                                                                        \
    struct __attribute__((aligned(2))) T {                                                                    \
        unsigned short __x;                                                                                   \
        T() = default;                                                                                        \
        constexpr T(const RAW& r) : __x(r.x) {}                                                               \
        T(float f) : __x(BITS(f)) {}                                                                          \
        T(double d) : __x(BITS(d)) {}                                                                         \
        T(int v) : __x(BITS(double(v))) {}                                                                    \
        T(unsigned int v) : __x(BITS(double(v))) {}                                                           \
        T(long long v) : __x(BITS(double(v))) {}                                                              \
        T(unsigned long long v) : __x(BITS(double(v))) {}                                                     \
        operator float() const { return VALUE(__x); }                                                         \
        operator RAW() const { return RAW{__x}; }                                                             \
        T& operator=(const RAW& r) {                                                                          \
            __x = r.x;                                                                                        \
            return *this;                                                                                     \
        }                                                                                                     \
        T& operator+=(const T& o) { return *this = T(float(*this) + float(o)); }                              \
        T& operator-=(const T& o) { return *this = T(float(*this) - float(o)); }                              \
        T& operator*=(const T& o) { return *this = T(float(*this) * float(o)); }                              \
        T& operator/=(const T& o) { return *this = T(float(*this) / float(o)); }                              \
    };                                                                                                        \
    struct __attribute__((aligned(4))) T2 {                                                                   \
        T x, y;                                                                                               \
        T2() = default;                                                                                       \
        constexpr T2(const T& a, const T& b) : x(a), y(b) {}                                                  \
    };                                                                                                        \
    inline T operator+(const T& a, const T& b) { return T(float(a) + float(b)); }                             \
    inline T operator-(const T& a, const T& b) { return T(float(a) - float(b)); }                             \
    inline T operator*(const T& a, const T& b) { return T(float(a) * float(b)); }                             \
    inline T operator/(const T& a, const T& b) { return T(float(a) / float(b)); }                             \
    inline T operator+(const T& a) { return a; }                                                              \
    inline T operator-(const T& a) { return T(RAW{(unsigned short)(a.__x ^ 0x8000u)}); }                      \
    inline bool operator==(const T& a, const T& b) { return float(a) == float(b); }                           \
    inline bool operator!=(const T& a, const T& b) { return float(a) != float(b); }                           \
    inline bool operator<(const T& a, const T& b) { return float(a) < float(b); }                             \
    inline bool operator<=(const T& a, const T& b) { return float(a) <= float(b); }                           \
    inline bool operator>(const T& a, const T& b) { return float(a) > float(b); }                             \
    inline bool operator>=(const T& a, const T& b) { return float(a) >= float(b); }                           \
    inline T2 operator+(const T2& a, const T2& b) { return T2(a.x + b.x, a.y + b.y); }                       \
    inline T2 operator-(const T2& a, const T2& b) { return T2(a.x - b.x, a.y - b.y); }                       \
    inline T2 operator*(const T2& a, const T2& b) { return T2(a.x * b.x, a.y * b.y); }                       \
    inline T2 operator/(const T2& a, const T2& b) { return T2(a.x / b.x, a.y / b.y); }                       \
    inline T __hadd(T a, T b) { return a + b; }                                                               \
    inline T __hsub(T a, T b) { return a - b; }                                                               \
    inline T __hmul(T a, T b) { return a * b; }                                                               \
    inline T __hdiv(T a, T b) { return a / b; }                                                               \
    inline T __hfma(T a, T b, T c) { return T(double(float(a)) * double(float(b)) + double(float(c))); }      \
    inline T __hneg(T a) { return -a; }                                                                       \
    inline T __habs(T a) { return T(RAW{(unsigned short)(a.__x & 0x7fffu)}); }                                \
    inline T __hmax(T a, T b) { return T(fmaxf(float(a), float(b))); }                                        \
    inline T __hmin(T a, T b) { return T(fminf(float(a), float(b))); }                                        \
    inline bool __heq(T a, T b) { return a == b; }                                                            \
    inline bool __hne(T a, T b) { return a != b; }                                                            \
    inline bool __hlt(T a, T b) { return a < b; }                                                             \
    inline bool __hle(T a, T b) { return a <= b; }                                                            \
    inline bool __hgt(T a, T b) { return a > b; }                                                             \
    inline bool __hge(T a, T b) { return a >= b; }                                                            \
    inline bool __hisnan(T a) { return std::isnan(float(a)); }                                                \
    inline int __hisinf(T a) { return std::isinf(float(a)) ? (float(a) < 0 ? -1 : 1) : 0; }                  \
    inline T2 __hadd2(T2 a, T2 b) { return a + b; }                                                           \
    inline T2 __hsub2(T2 a, T2 b) { return a - b; }                                                           \
    inline T2 __hmul2(T2 a, T2 b) { return a * b; }                                                           \
    inline T2 __hfma2(T2 a, T2 b, T2 c) { return T2(__hfma(a.x, b.x, c.x), __hfma(a.y, b.y, c.y)); }         \
    inline float __low2float(T2 a) { return float(a.x); }                                                     \
    inline float __high2float(T2 a) { return float(a.y); }                                                    \
    inline T __low2half(T2 a) { return a.x; }                                                                 \
    inline T __high2half(T2 a) { return a.y; }
