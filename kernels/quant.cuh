// quant.cuh — the weight formats as the kernels see them on the device.
//
// runtime/cuda/weight.go uploads every weight once, with its bytes
// unchanged but, for formats whose block is not a multiple of 16 bytes,
// split into regions ("structure of arrays") so that a warp can read a row's
// quants with coalesced 16-byte loads. A weight reaches a kernel as four
// region pointers (w0..w3) plus rows and cols; block j of row r is block
// index b = r * nb + j, nb = cols / block elements.
//
//   type  block (GGUF)                         regions on the device
//   F32   float                                w0: float[rows*cols]
//   F16   half                                 w0: half[rows*cols]
//   Q4_0  32 el, 18 B: d f16 | qs[16]          w0: qs[b*16 .. +16]   w1: d f16[b]
//   Q4_1  32 el, 20 B: d f16 | m f16 | qs[16]  w0: qs[b*16 .. +16]   w1: (d, m) f16x2[b]
//   Q8_0  32 el, 34 B: d f16 | qs[32] int8     w0: qs[b*32 .. +32]   w1: d f16[b]
//   Q4_K  256 el, 144 B: d f16 | dmin f16 | scales[12] | qs[128]     w0: blocks as stored
//   Q6_K  256 el, 210 B: ql[128] | qh[64] | sc[16] int8 | d f16
//                                      w0: ql[b*128]  w1: qh[b*64]  w2: sc[b*16]  w3: d f16[b]
//
// Element j of a block (ggml's dequantize_row_*):
//   Q4_0: q = j < 16 ? qs[j] & 15 : qs[j-16] >> 4;          y = d * (q - 8)
//   Q4_1: same nibbles;                                    y = d * q + m
//   Q8_0: y = d * qs[j]
//   Q4_K: sub-block s = j / 32 (scale/min pair s), chunk c = j / 64, l = j % 32:
//         q = (j % 64 < 32) ? qs[32c + l] & 15 : qs[32c + l] >> 4
//         y = d * sc[s] * q - dmin * mn[s]   (6-bit sc/mn unpacked from scales[12])
//   Q6_K: half h = j / 128, quarter k = (j % 128) / 32, l = j % 32,
//         ql' = ql + 64h, qh' = qh + 32h, sc' = sc + 8h:
//         q = ((k & 1 ? ql'[l+32] : ql'[l]) >> (k & 2 ? 4 : 0)) & 15 | ((qh'[l] >> 2k) & 3) << 4
//         y = d * sc'[l/16 + 2k] * (q - 32)
#pragma once
#include "common.cuh"

enum WType { W_F32 = 0, W_F16 = 1, W_Q4_0 = 2, W_Q4_1 = 3, W_Q8_0 = 8, W_Q4_K = 12, W_Q6_K = 14 };

struct WeightPtrs {
    const uint8_t* w0;
    const uint8_t* w1;
    const uint8_t* w2;
    const uint8_t* w3;
};

// Q4_K's 6-bit scale and min of sub-block j (ggml's get_scale_min_k4).
static __device__ __forceinline__ void q4k_scale_min(int j, const uint8_t* s, int& sc, int& mn) {
    if (j < 4) {
        sc = s[j] & 63;
        mn = s[j + 4] & 63;
    } else {
        sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Block elements of each type.
template <int T>
struct WTraits;
template <>
struct WTraits<W_F32> { enum { QK = 1 }; };
template <>
struct WTraits<W_F16> { enum { QK = 1 }; };
template <>
struct WTraits<W_Q4_0> { enum { QK = 32 }; };
template <>
struct WTraits<W_Q4_1> { enum { QK = 32 }; };
template <>
struct WTraits<W_Q8_0> { enum { QK = 32 }; };
template <>
struct WTraits<W_Q4_K> { enum { QK = 256 }; };
template <>
struct WTraits<W_Q6_K> { enum { QK = 256 }; };

// dequant_group writes the 8 consecutive elements [8g, 8g+8) of block b
// (g < QK/8; for F32/F16, "block" b is element 8g.. of the flat array
// starting at b) to y. It is the one dequantizer the embedding gather and
// the GEMM tile loaders share.
template <int T>
static __device__ __forceinline__ void dequant8(const WeightPtrs& w, size_t b, int g, float* y);

template <>
__device__ __forceinline__ void dequant8<W_F32>(const WeightPtrs& w, size_t b, int g, float* y) {
    const float* p = (const float*)w.w0 + b + 8 * g;
#pragma unroll
    for (int i = 0; i < 8; i++) y[i] = p[i];
}

template <>
__device__ __forceinline__ void dequant8<W_F16>(const WeightPtrs& w, size_t b, int g, float* y) {
    const uint16_t* p = (const uint16_t*)w.w0 + b + 8 * g;
#pragma unroll
    for (int i = 0; i < 8; i++) y[i] = f16_to_f32(p[i]);
}

template <>
__device__ __forceinline__ void dequant8<W_Q4_0>(const WeightPtrs& w, size_t b, int g, float* y) {
    const uint8_t* qs = w.w0 + b * 16;
    const float d = f16_to_f32(((const uint16_t*)w.w1)[b]);
    const int hi = g >= 2, j0 = 8 * (g & 1);
#pragma unroll
    for (int i = 0; i < 8; i++) y[i] = d * (float)(((qs[j0 + i] >> (4 * hi)) & 15) - 8);
}

template <>
__device__ __forceinline__ void dequant8<W_Q4_1>(const WeightPtrs& w, size_t b, int g, float* y) {
    const uint8_t* qs = w.w0 + b * 16;
    const uint16_t* dm = (const uint16_t*)w.w1 + 2 * b;
    const float d = f16_to_f32(dm[0]), m = f16_to_f32(dm[1]);
    const int hi = g >= 2, j0 = 8 * (g & 1);
#pragma unroll
    for (int i = 0; i < 8; i++) y[i] = d * (float)((qs[j0 + i] >> (4 * hi)) & 15) + m;
}

template <>
__device__ __forceinline__ void dequant8<W_Q8_0>(const WeightPtrs& w, size_t b, int g, float* y) {
    const int8_t* qs = (const int8_t*)w.w0 + b * 32 + 8 * g;
    const float d = f16_to_f32(((const uint16_t*)w.w1)[b]);
#pragma unroll
    for (int i = 0; i < 8; i++) y[i] = d * (float)qs[i];
}

template <>
__device__ __forceinline__ void dequant8<W_Q4_K>(const WeightPtrs& w, size_t b, int g, float* y) {
    const uint8_t* blk = w.w0 + b * 144;
    const float d = f16_to_f32(((const uint16_t*)blk)[0]), dmin = f16_to_f32(((const uint16_t*)blk)[1]);
    const int j = 8 * g;      // first element
    const int s = j / 32;     // sub-block
    const int c = j / 64;     // 64-element chunk: 32 bytes of qs
    const int l0 = j % 32;    // position within the sub-block
    int sc, mn;
    q4k_scale_min(s, blk + 4, sc, mn);
    const float ds = d * sc, ms = dmin * mn;
    const uint8_t* q = blk + 16 + 32 * c + l0;
    const int shift = (s & 1) * 4;
#pragma unroll
    for (int i = 0; i < 8; i++) y[i] = ds * (float)((q[i] >> shift) & 15) - ms;
}

template <>
__device__ __forceinline__ void dequant8<W_Q6_K>(const WeightPtrs& w, size_t b, int g, float* y) {
    const int j = 8 * g;
    const int h = j / 128, k = (j % 128) / 32, l0 = j % 32;
    const uint8_t* ql = w.w0 + b * 128 + 64 * h + (k & 1) * 32 + l0;
    const uint8_t* qh = w.w1 + b * 64 + 32 * h + l0;
    const int8_t* sc = (const int8_t*)w.w2 + b * 16 + 8 * h;
    const float d = f16_to_f32(((const uint16_t*)w.w3)[b]) * sc[l0 / 16 + 2 * k];
    const int shift = (k & 2) ? 4 : 0;
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const int q = ((ql[i] >> shift) & 15) | (((qh[i] >> (2 * k)) & 3) << 4);
        y[i] = d * (float)(q - 32);
    }
}
