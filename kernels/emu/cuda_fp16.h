// cuda_fp16.h for the emulator: the half types as 16-bit storage with exact
// IEEE binary16 conversions (round to nearest even), the subset of the
// intrinsics the kernels use. Arithmetic on __half is done by converting to
// float, as the kernels do on the GPU (they only use f16 for storage and as
// tensor-core inputs).
#pragma once
#include <cstdint>
#include <cstring>

struct alignas(2) __half {
    unsigned short x;
};
struct alignas(4) __half2 {
    __half x, y;
};
typedef __half half;
typedef __half2 half2;

namespace emu {
inline float h2f(unsigned short h) {
    unsigned sign = (unsigned)(h & 0x8000u) << 16;
    unsigned exp = (h >> 10) & 0x1fu;
    unsigned man = h & 0x3ffu;
    unsigned bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do { e++; man <<= 1; } while ((man & 0x400u) == 0);
            bits = sign | ((unsigned)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}
inline unsigned short f2h(float f) {
    unsigned x;
    std::memcpy(&x, &f, 4);
    unsigned sign = (x >> 16) & 0x8000u;
    unsigned absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u)  // Inf or NaN
        return (unsigned short)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
    if (absx >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u);  // rounds to >= 65520: Inf
    if (absx < 0x38800000u) {  // below the smallest normal half: subnormal or zero
        if (absx < 0x33000000u) return (unsigned short)sign;  // < 2^-25: rounds to zero
        unsigned e = absx >> 23;
        unsigned man = (absx & 0x7fffffu) | 0x800000u;
        unsigned shift = 126 - e;  // 14 + (113 - e) ... gives man >> (shift) as the half mantissa
        unsigned h = man >> shift;
        unsigned rem = man & ((1u << shift) - 1u);
        unsigned half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u))) h++;
        return (unsigned short)(sign | h);
    }
    unsigned h = ((absx - 0x38000000u) >> 13);
    unsigned rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return (unsigned short)(sign | h);
}
}  // namespace emu

static inline float __half2float(__half h) { return emu::h2f(h.x); }
static inline __half __float2half(float f) { return __half{emu::f2h(f)}; }
static inline __half __float2half_rn(float f) { return __half{emu::f2h(f)}; }
static inline __half __ushort_as_half(unsigned short u) { return __half{u}; }
static inline unsigned short __half_as_ushort(__half h) { return h.x; }
static inline __half2 __halves2half2(__half a, __half b) { return __half2{a, b}; }
static inline __half2 __floats2half2_rn(float a, float b) { return __half2{__float2half(a), __float2half(b)}; }
static inline __half2 __float2half2_rn(float a) { return __half2{__float2half(a), __float2half(a)}; }
static inline float __low2float(__half2 h) { return __half2float(h.x); }
static inline float __high2float(__half2 h) { return __half2float(h.y); }
static inline float2 __half22float2(__half2 h) { return float2{__half2float(h.x), __half2float(h.y)}; }
