// mm.cuh — building blocks of the matrix kernels (matmul.cu, matmul_swiglu.cu).
//
// Three paths compute dst[T, R] = x[T, K] · Wᵀ for a weight W[R, K]:
//
//  1. matrix-vector (decode, T = 1; grid.y = T runs T > 1 token by token):
//     a warp computes whole rows (rpw rows per warp, blockDim/32 warps per
//     block). For block formats the block first quantizes its x row to int8
//     in shared memory (32-element groups, scale d = max|x|/127, plus the
//     group's quantized sum for the min/offset terms), then every lane takes
//     whole weight blocks with 16-byte loads — consecutive lanes read
//     consecutive 16-byte pieces of the row, so a warp reads 512 contiguous
//     bytes per load instruction — and multiplies with __dp4a. F16/F32
//     weights use float FMAs against x read from global (L1).
//  2. tiled SIMT GEMM (v2, the portable twin): 64 rows x 64 tokens per
//     256-thread block, k-tiles of 32; the weight tile is dequantized into
//     shared memory as float, each thread accumulates a 4 x 4 patch.
//  3. tensor-core GEMM (v3, WMMA 16x16x16 f16 -> f32): the same tiles
//     dequantized to half, 4 warps of 2 x 2 fragments, accumulators through
//     shared memory for a bounds-checked store.
#pragma once
#include "gelu.cuh"
#include "quant.cuh"

// ---- x quantization (matrix-vector path) ------------------------------------

// XNorm is the norm a matrix-vector kernel applies to x before the product
// (w null: none): RMSNorm with weight w, or LayerNorm (layer) with weight w
// and bias b (b may be null).
struct XNorm {
    const float* w;
    const float* b;
    float eps;
    int layer;
};

// Flags of a matrix-vector launch (matmul_<type>'s flags argument).
#define MV_ACC 1        // dst += the result (the residual add)
#define MV_GELU 2       // gelu of the product plus bias
#define MV_LAYERNORM 4  // the norm is a LayerNorm (nw, nb), not an RMSNorm

// quantize_x writes x[0:K] as int8 xq[K] and per-32-group (d, d * sum(xq))
// in xds, both in shared memory. The dot products below then compute exactly
// (up to float rounding) the dot of the dequantized weights with the
// quantized x: offsets and minimums use the quantized sum, so the
// quantization error is sum(w_i * e_i) — small for zero-mean weights — and
// not sum((w_i - offset) * e_i). Every thread of the block must call it (warp
// shuffles, a barrier). Eight lanes handle one group, 4 elements each.
//
// With a norm (n.w not null) it quantizes the normalised x instead: the norm
// before a product folded into it (each block normalises the row it has to
// read anyway, so the norm costs no launch and no round trip). RMSNorm:
// x[i] * (1 / sqrt(mean(x^2) + eps)) * w[i] as rmsnorm.cu computes it;
// LayerNorm (n.layer): (x[i] - mean) * (1 / sqrt(var + eps)) * w[i] + b[i]
// as layernorm.cu computes it.
//
// x is quantized as llama.cpp's CPU backend (and the CPU twin) quantizes it,
// so that a product here differs from the CPU's only by the order of float
// sums: for Q4_0 and Q8_0 weights as block_q8_0 (amax/127 per 32, d as
// f16, the sum recomputed from it), for Q4_1 as block_q8_1 (d and d*sum as
// f16), for K-quants as block_q8_K (one float scale per 256: -127 over the
// element of largest magnitude; xds then holds that d for each of its
// groups).
template <int T>
static __device__ __forceinline__ void quantize_x(const float* __restrict__ x, int K, int8_t* xq, float2* xds,
                                                  const XNorm& n) {
    float scale = 1.0f, mean = 0.0f;
    if (n.w) {  // block-uniform
        __shared__ float red[32];
        if (n.layer) {  // as layernorm.cu: the mean, then the variance about it
            float s = 0.0f;
            for (int i = threadIdx.x; i < K; i += blockDim.x) s += x[i];
            mean = block_sum(s, red) / K;
        }
        float ss = 0.0f;
        for (int i = threadIdx.x; i < K; i += blockDim.x) ss += (x[i] - mean) * (x[i] - mean);
        ss = block_sum(ss, red);
        scale = 1.0f / sqrtf(ss / K + n.eps);  // as rmsnorm.cu
    }
    const int ngroups = K / 32;
    const int gpb = blockDim.x / 8;  // groups per pass
    const int gi = threadIdx.x & 7;
    // group's 4 elements of this lane, normalised as n says (zeros past K)
    auto load = [&](int group, float v[4]) {
        v[0] = v[1] = v[2] = v[3] = 0.0f;
        if (group >= ngroups) return;
        const int j = 32 * group + 4 * gi;
#pragma unroll
        for (int i = 0; i < 4; i++) v[i] = x[j + i];
        if (n.w) {
#pragma unroll
            for (int i = 0; i < 4; i++) v[i] = (v[i] - mean) * scale * n.w[j + i];
            if (n.b) {
#pragma unroll
                for (int i = 0; i < 4; i++) v[i] += n.b[j + i];
            }
        }
    };
    // K-quants: x is block_q8_K on the CPU, one scale per 256: -127 / the
    // element of largest magnitude (the first on ties). sbmax[s] is that
    // element of superblock s, found per group first (in xds, overwritten
    // below), then per superblock.
    constexpr bool KQ = T == W_Q4_K || T == W_Q6_K;
    float* sbmax = (float*)(xds + ngroups);
    if constexpr (KQ) {
        for (int base = 0; base < ngroups; base += gpb) {
            const int group = base + (int)(threadIdx.x >> 3);
            float v[4];
            load(group, v);
            float best = 0.0f, val = 0.0f;
            int bi = 0x7fffffff;
#pragma unroll
            for (int i = 0; i < 4; i++) {
                if (fabsf(v[i]) > best) best = fabsf(v[i]), val = v[i], bi = 4 * gi + i;
            }
#pragma unroll
            for (int o = 4; o > 0; o >>= 1) {
                const float ob = __shfl_xor_sync(FULL_MASK, best, o), ov = __shfl_xor_sync(FULL_MASK, val, o);
                const int oi = __shfl_xor_sync(FULL_MASK, bi, o);
                if (ob > best || (ob == best && oi < bi)) best = ob, val = ov, bi = oi;
            }
            if (group < ngroups && gi == 0) xds[group].x = val;
        }
        __syncthreads();
        for (int sb = threadIdx.x; sb < ngroups / 8; sb += blockDim.x) {
            float best = 0.0f, val = 0.0f;
            for (int g = 0; g < 8; g++) {
                const float e = xds[8 * sb + g].x;
                if (fabsf(e) > best) best = fabsf(e), val = e;
            }
            sbmax[sb] = val;
        }
        __syncthreads();
    }
    for (int base = 0; base < ngroups; base += gpb) {
        const int group = base + (int)(threadIdx.x >> 3);
        const bool valid = group < ngroups;
        float v[4];
        load(group, v);
        if constexpr (KQ) {
            const float mx = valid ? sbmax[group / 8] : 0.0f;
            const float iscale = mx != 0.0f ? -127.0f / mx : 0.0f;
            int packed = 0, isum = 0;
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const int q = min(127, __float2int_rn(iscale * v[i]));
                isum += q;
                packed |= (q & 0xff) << (8 * i);
            }
#pragma unroll
            for (int o = 4; o > 0; o >>= 1) isum += __shfl_xor_sync(FULL_MASK, isum, o);
            if (valid) {
                ((int*)xq)[8 * group + gi] = packed;
                const float d = mx != 0.0f ? 1.0f / iscale : 0.0f;
                if (gi == 0) xds[group] = make_float2(d, d * (float)isum);
            }
            continue;
        }
        float amax = fmaxf(fmaxf(fabsf(v[0]), fabsf(v[1])), fmaxf(fabsf(v[2]), fabsf(v[3])));
#pragma unroll
        for (int o = 4; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(FULL_MASK, amax, o));
        const float d = amax / 127.0f;
        const float id = d > 0.0f ? 1.0f / d : 0.0f;
        int packed = 0, isum = 0;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int q = __float2int_rn(v[i] * id);
            isum += q;
            packed |= (q & 0xff) << (8 * i);
        }
#pragma unroll
        for (int o = 4; o > 0; o >>= 1) isum += __shfl_xor_sync(FULL_MASK, isum, o);
        if (valid) {
            ((int*)xq)[8 * group + gi] = packed;
            if (gi == 0) {
                float dx = d, sx = d * (float)isum;
                if constexpr (T == W_Q4_0 || T == W_Q8_0) {
                    dx = f16_round(d), sx = dx * (float)isum;
                } else if constexpr (T == W_Q4_1) {
                    dx = f16_round(d), sx = f16_round(sx);
                }
                xds[group] = make_float2(dx, sx);
            }
        }
    }
    __syncthreads();
}

// Shared bytes quantize_x needs for one row of K: int8 x, (d, d*sum) per
// group of 32, a float per superblock of 256 (K-quants), rounded up to 16 so
// that the next row's int4 loads stay aligned.
#define MV_SLOT(K) ((((K) + ((K) / 32) * 8 + ((K) / 256) * 4) + 15) & ~15)

// ---- per-format row dot products (lane partials; the caller reduces) -------

template <int T>
static __device__ __forceinline__ float row_dot_q(const WeightPtrs& w, size_t row, int K, const int8_t* xq,
                                                  const float2* xds, int lane);

template <>
__device__ __forceinline__ float row_dot_q<W_Q4_0>(const WeightPtrs& w, size_t row, int K, const int8_t* xq,
                                                   const float2* xds, int lane) {
    const int nb = K / 32;
    const uint4* qs = (const uint4*)w.w0 + row * nb;
    const uint16_t* dp = (const uint16_t*)w.w1 + row * nb;
    float acc = 0.0f;
#pragma unroll 4
    for (int j = lane; j < nb; j += 32) {
        const uint4 q = qs[j];
        const int4 x0 = ((const int4*)xq)[2 * j], x1 = ((const int4*)xq)[2 * j + 1];
        int s = 0;
        s = __dp4a((int)(q.x & 0x0F0F0F0Fu), x0.x, s);
        s = __dp4a((int)(q.y & 0x0F0F0F0Fu), x0.y, s);
        s = __dp4a((int)(q.z & 0x0F0F0F0Fu), x0.z, s);
        s = __dp4a((int)(q.w & 0x0F0F0F0Fu), x0.w, s);
        s = __dp4a((int)((q.x >> 4) & 0x0F0F0F0Fu), x1.x, s);
        s = __dp4a((int)((q.y >> 4) & 0x0F0F0F0Fu), x1.y, s);
        s = __dp4a((int)((q.z >> 4) & 0x0F0F0F0Fu), x1.z, s);
        s = __dp4a((int)((q.w >> 4) & 0x0F0F0F0Fu), x1.w, s);
        const float2 ds = xds[j];
        acc += f16_to_f32(dp[j]) * (ds.x * (float)s - 8.0f * ds.y);
    }
    return acc;
}

template <>
__device__ __forceinline__ float row_dot_q<W_Q4_1>(const WeightPtrs& w, size_t row, int K, const int8_t* xq,
                                                   const float2* xds, int lane) {
    const int nb = K / 32;
    const uint4* qs = (const uint4*)w.w0 + row * nb;
    const uint32_t* dm = (const uint32_t*)w.w1 + row * nb;
    float acc = 0.0f;
#pragma unroll 4
    for (int j = lane; j < nb; j += 32) {
        const uint4 q = qs[j];
        const uint32_t dmv = dm[j];
        const int4 x0 = ((const int4*)xq)[2 * j], x1 = ((const int4*)xq)[2 * j + 1];
        int s = 0;
        s = __dp4a((int)(q.x & 0x0F0F0F0Fu), x0.x, s);
        s = __dp4a((int)(q.y & 0x0F0F0F0Fu), x0.y, s);
        s = __dp4a((int)(q.z & 0x0F0F0F0Fu), x0.z, s);
        s = __dp4a((int)(q.w & 0x0F0F0F0Fu), x0.w, s);
        s = __dp4a((int)((q.x >> 4) & 0x0F0F0F0Fu), x1.x, s);
        s = __dp4a((int)((q.y >> 4) & 0x0F0F0F0Fu), x1.y, s);
        s = __dp4a((int)((q.z >> 4) & 0x0F0F0F0Fu), x1.z, s);
        s = __dp4a((int)((q.w >> 4) & 0x0F0F0F0Fu), x1.w, s);
        const float2 ds = xds[j];
        acc += f16_to_f32((uint16_t)(dmv & 0xffff)) * ds.x * (float)s + f16_to_f32((uint16_t)(dmv >> 16)) * ds.y;
    }
    return acc;
}

template <>
__device__ __forceinline__ float row_dot_q<W_Q8_0>(const WeightPtrs& w, size_t row, int K, const int8_t* xq,
                                                   const float2* xds, int lane) {
    const int nb = K / 32;
    const uint4* qs = (const uint4*)w.w0 + row * nb * 2;
    const uint16_t* dp = (const uint16_t*)w.w1 + row * nb;
    float acc = 0.0f;
#pragma unroll 4
    for (int j = lane; j < nb; j += 32) {
        const uint4 q0 = qs[2 * j], q1 = qs[2 * j + 1];
        const int4 x0 = ((const int4*)xq)[2 * j], x1 = ((const int4*)xq)[2 * j + 1];
        int s = 0;
        s = __dp4a((int)q0.x, x0.x, s);
        s = __dp4a((int)q0.y, x0.y, s);
        s = __dp4a((int)q0.z, x0.z, s);
        s = __dp4a((int)q0.w, x0.w, s);
        s = __dp4a((int)q1.x, x1.x, s);
        s = __dp4a((int)q1.y, x1.y, s);
        s = __dp4a((int)q1.z, x1.z, s);
        s = __dp4a((int)q1.w, x1.w, s);
        acc += f16_to_f32(dp[j]) * xds[j].x * (float)s;
    }
    return acc;
}

// Byte k of the 12 scale bytes held in three words, without indexing a
// local array (which would go through local memory).
static __device__ __forceinline__ int scale_byte(uint32_t a, uint32_t b, uint32_t c, int k) {
    const uint32_t w = k < 4 ? a : (k < 8 ? b : c);
    return (int)((w >> (8 * (k & 3))) & 0xff);
}

// q4k_scale_min on the scale bytes in registers (words s0..s2).
static __device__ __forceinline__ void q4k_scale_min_regs(int j, uint32_t s0, uint32_t s1, uint32_t s2, int& sc, int& mn) {
    if (j < 4) {
        sc = scale_byte(s0, s1, s2, j) & 63;
        mn = scale_byte(s0, s1, s2, j + 4) & 63;
    } else {
        sc = (scale_byte(s0, s1, s2, j + 4) & 0xF) | ((scale_byte(s0, s1, s2, j - 4) >> 6) << 4);
        mn = (scale_byte(s0, s1, s2, j + 4) >> 4) | ((scale_byte(s0, s1, s2, j) >> 6) << 4);
    }
}

// Q4_K: 8 lanes per 256-element super-block; lane sub = lane % 8 takes
// qs bytes [16 sub, 16 sub + 16): 16 elements of sub-block 2c (low nibbles)
// and 16 of sub-block 2c+1 (high nibbles), c = sub / 2.
template <>
__device__ __forceinline__ float row_dot_q<W_Q4_K>(const WeightPtrs& w, size_t row, int K, const int8_t* xq,
                                                   const float2* xds, int lane) {
    const int nsb = K / 256;
    const int sub = lane & 7, c = sub >> 1, half = sub & 1;
    float acc = 0.0f;
#pragma unroll 2
    for (int sb = lane >> 3; sb < nsb; sb += 4) {
        const uint8_t* blk = w.w0 + (row * nsb + sb) * 144;
        const uint4 hdr = *(const uint4*)blk;
        const uint4 q = *(const uint4*)(blk + 16 + 16 * sub);
        const float d = f16_to_f32((uint16_t)(hdr.x & 0xffff)), dmin = f16_to_f32((uint16_t)(hdr.x >> 16));
        int sc0, m0, sc1, m1;
        q4k_scale_min_regs(2 * c, hdr.y, hdr.z, hdr.w, sc0, m0);
        q4k_scale_min_regs(2 * c + 1, hdr.y, hdr.z, hdr.w, sc1, m1);
        const int e = sb * 256 + 64 * c + 16 * half;
        const int4 xl = *(const int4*)(xq + e), xh = *(const int4*)(xq + e + 32);
        int sl = 0, sh = 0;
        sl = __dp4a((int)(q.x & 0x0F0F0F0Fu), xl.x, sl);
        sl = __dp4a((int)(q.y & 0x0F0F0F0Fu), xl.y, sl);
        sl = __dp4a((int)(q.z & 0x0F0F0F0Fu), xl.z, sl);
        sl = __dp4a((int)(q.w & 0x0F0F0F0Fu), xl.w, sl);
        sh = __dp4a((int)((q.x >> 4) & 0x0F0F0F0Fu), xh.x, sh);
        sh = __dp4a((int)((q.y >> 4) & 0x0F0F0F0Fu), xh.y, sh);
        sh = __dp4a((int)((q.z >> 4) & 0x0F0F0F0Fu), xh.z, sh);
        sh = __dp4a((int)((q.w >> 4) & 0x0F0F0F0Fu), xh.w, sh);
        const float2 dl = xds[sb * 8 + 2 * c], dh = xds[sb * 8 + 2 * c + 1];
        acc += d * ((float)sc0 * dl.x * (float)sl + (float)sc1 * dh.x * (float)sh);
        if (half == 0) acc -= dmin * ((float)m0 * dl.y + (float)m1 * dh.y);  // once per group
    }
    return acc;
}

// Q6_K: 8 lanes per super-block; lane sub: half h = sub / 4, piece p = sub % 4
// takes ql bytes [64h + 16p, +16) — quarters A = p / 2 (low nibbles) and
// A + 2 (high nibbles) at positions l0 = 16 (p % 2) .. +16 — and the qh
// bytes of those positions.
template <>
__device__ __forceinline__ float row_dot_q<W_Q6_K>(const WeightPtrs& w, size_t row, int K, const int8_t* xq,
                                                   const float2* xds, int lane) {
    const int nsb = K / 256;
    const int sub = lane & 7, h = sub >> 2, p = sub & 3, A = p >> 1, l0 = 16 * (p & 1);
    float acc = 0.0f;
#pragma unroll 2
    for (int sb = lane >> 3; sb < nsb; sb += 4) {
        const size_t b = row * nsb + sb;
        const uint4 ql = *(const uint4*)(w.w0 + b * 128 + 64 * h + 16 * p);
        const uint4 qh = *(const uint4*)(w.w1 + b * 64 + 32 * h + l0);
        const int8_t* sc = (const int8_t*)w.w2 + b * 16 + 8 * h;
        const float d = f16_to_f32(((const uint16_t*)w.w3)[b]);
        const int e = sb * 256 + 128 * h + 32 * A + l0;
        const int4 xa = *(const int4*)(xq + e), xb = *(const int4*)(xq + e + 64);
        const uint32_t qlv[4] = {ql.x, ql.y, ql.z, ql.w}, qhv[4] = {qh.x, qh.y, qh.z, qh.w};
        const int xav[4] = {xa.x, xa.y, xa.z, xa.w}, xbv[4] = {xb.x, xb.y, xb.z, xb.w};
        int sa = 0, sbv = 0;
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const uint32_t qa = (qlv[k] & 0x0F0F0F0Fu) | (((qhv[k] >> (2 * A)) & 0x03030303u) << 4);
            const uint32_t qb = ((qlv[k] >> 4) & 0x0F0F0F0Fu) | (((qhv[k] >> (2 * A + 4)) & 0x03030303u) << 4);
            sa = __dp4a((int)__vsubss4(qa, 0x20202020u), xav[k], sa);
            sbv = __dp4a((int)__vsubss4(qb, 0x20202020u), xbv[k], sbv);
        }
        acc += d * ((float)sc[(p & 1) + 2 * A] * xds[e / 32].x * (float)sa +
                    (float)sc[(p & 1) + 2 * A + 4] * xds[(e + 64) / 32].x * (float)sbv);
    }
    return acc;
}

// Float weights (F32/F16): lane partial of x · W[row, :] with x in global
// memory; vec: K % 8 == 0 and x 16-byte aligned, so 16-byte loads are legal.
template <int T>
static __device__ __forceinline__ float row_dot_f(const WeightPtrs& w, size_t row, int K, const float* __restrict__ x,
                                                  int vec, int lane) {
    float acc = 0.0f;
    if (vec) {
        const float4* x4 = (const float4*)x;
        for (int j = lane; j < K / 8; j += 32) {
            const float4 xa = x4[2 * j], xb = x4[2 * j + 1];
            float wv[8];
            if (T == W_F16) {
                const uint4 v = ((const uint4*)((const uint16_t*)w.w0 + row * K))[j];
                const uint32_t u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    wv[2 * i] = f16_to_f32((uint16_t)(u[i] & 0xffff));
                    wv[2 * i + 1] = f16_to_f32((uint16_t)(u[i] >> 16));
                }
            } else {
                const float4* wr = (const float4*)((const float*)w.w0 + row * K);
                const float4 a = wr[2 * j], b = wr[2 * j + 1];
                wv[0] = a.x, wv[1] = a.y, wv[2] = a.z, wv[3] = a.w;
                wv[4] = b.x, wv[5] = b.y, wv[6] = b.z, wv[7] = b.w;
            }
            acc += wv[0] * xa.x + wv[1] * xa.y + wv[2] * xa.z + wv[3] * xa.w;
            acc += wv[4] * xb.x + wv[5] * xb.y + wv[6] * xb.z + wv[7] * xb.w;
        }
    } else {
        for (int k = lane; k < K; k += 32) {
            const float wk = T == W_F16 ? f16_to_f32(((const uint16_t*)w.w0)[row * K + k]) : ((const float*)w.w0)[row * K + k];
            acc += wk * x[k];
        }
    }
    return acc;
}

// ---- matrix-vector kernels ----------------------------------------------------

static __device__ __forceinline__ float silu_f(float g) { return g / (1.0f + expf(-g)); }

// epilogue: what a matrix-vector row writes for its product a (old: the
// value dst holds; read only when acc).
static __device__ __forceinline__ float epilogue(float a, float old, int r, const float* __restrict__ bias, int gelu,
                                                 int acc) {
    if (bias) a += bias[r];
    if (gelu) a = gelu_rounded(a);
    return acc ? old + a : a;
}

// matvec: dst[t, r] for the rows r of this block and the x rows t of its
// tile, [blockIdx.y * xtile, + xtile) of xrows: each x row quantized once
// per block into its own slot of shared memory, each weight row read once
// per block for all of them (from L1 after the first). Every (t, r) is
// computed exactly as with a tile of one: decode and prefill give the same
// numbers, and those are the CPU twin's up to the order of float sums.
// SWIGLU: dst = silu(x·G[r]) * (x·U[r]) with u the up weight. Fusions:
//   n.w != null: x is normalised first (quantize_x; block formats only:
//                the host passes no norm for F32/F16);
//   bias:        the product plus bias[r] (GPT-2's projections), then
//   MV_GELU:     gelu of that (GPT-2's up projection; as gelu.cu);
//   MV_ACC:      dst[t, r] += the result (the residual add) instead of =.
// In that order, as the unfused ops round: dst + ((x·W[r] + b[r])).
template <int T, bool SWIGLU>
static __device__ __forceinline__ void matvec_rows(float* __restrict__ dst, const float* __restrict__ x,
                                                   const WeightPtrs& w, const WeightPtrs& u, int R, int K, int rpw,
                                                   int vec, const XNorm n, const float* __restrict__ bias, int flags,
                                                   int tn);
template <int T, bool SWIGLU, class Rows>
static __device__ __forceinline__ void matvec_rows_of(const Rows& rows, const WeightPtrs& w, const WeightPtrs& u, int R,
                                                      int K, int rpw, int vec, const XNorm n,
                                                      const float* __restrict__ bias, int flags, int tn);

template <int T, bool SWIGLU>
static __device__ __forceinline__ void matvec(float* __restrict__ dst, const float* __restrict__ x, const WeightPtrs& w,
                                              const WeightPtrs& u, int R, int K, int rpw, int vec,
                                              const XNorm n, const float* __restrict__ bias, int flags, int xrows,
                                              int xtile) {
    const int t0 = blockIdx.y * xtile, tn = min(xtile, xrows - t0);
    matvec_rows<T, SWIGLU>(dst + (size_t)t0 * R, x + (size_t)t0 * K, w, u, R, K, rpw, vec, n, bias, flags, tn);
}

// RowsContig: tn rows of x and of dst, one after another (matvec).
struct RowsContig {
    const float* x;
    float* d;
    int K, R;
    __device__ const float* xrow(int j) const { return x + (size_t)j * K; }
    __device__ float* drow(int j) const { return d + (size_t)j * R; }
};

// matvec_rows is matvec's body for the tn rows of x (and of dst) its
// pointers start at: the block's weight rows times each of them.
template <int T, bool SWIGLU>
static __device__ __forceinline__ void matvec_rows(float* __restrict__ dst, const float* __restrict__ x,
                                                   const WeightPtrs& w, const WeightPtrs& u, int R, int K, int rpw,
                                                   int vec, const XNorm n, const float* __restrict__ bias, int flags,
                                                   int tn) {
    matvec_rows_of<T, SWIGLU>(RowsContig{x, dst, K, R}, w, u, R, K, rpw, vec, n, bias, flags, tn);
}

// matvec_rows_of is matvec_rows for any placement of the tn rows: rows.xrow(j)
// is x row j, rows.drow(j) the dst row its products go to (matmul_id's
// grouped prefill gathers an expert's rows from anywhere in x and scatters
// them back).
template <int T, bool SWIGLU, class Rows>
static __device__ __forceinline__ void matvec_rows_of(const Rows& rows, const WeightPtrs& w, const WeightPtrs& u, int R,
                                                      int K, int rpw, int vec, const XNorm n,
                                                      const float* __restrict__ bias, int flags, int tn) {
    const int acc = flags & MV_ACC, gelu = flags & MV_GELU;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int row0 = (blockIdx.x * nwarps + warp) * rpw;
    if constexpr (T == W_F32 || T == W_F16) {
        for (int i = 0; i < rpw; i++) {
            const int r = row0 + i;
            if (r >= R) break;  // warp-uniform
            for (int j = 0; j < tn; j++) {
                const float* xj = rows.xrow(j);
                float a = warp_sum(row_dot_f<T>(w, r, K, xj, vec, lane));
                if (SWIGLU) a = silu_f(a) * warp_sum(row_dot_f<T>(u, r, K, xj, vec, lane));
                float* d = rows.drow(j);
                if (lane == 0) d[r] = epilogue(a, d[r], r, bias, gelu, acc);
            }
        }
    } else {
        EXTERN_SHARED(int8_t, smem);
        const int slot = MV_SLOT(K);
        for (int j = 0; j < tn; j++) {
            int8_t* xq = smem + j * slot;
            quantize_x<T>(rows.xrow(j), K, xq, (float2*)(xq + K), n);  // K % 32 == 0: 8-byte aligned
        }
        for (int i = 0; i < rpw; i++) {
            const int r = row0 + i;
            if (r >= R) break;
            for (int j = 0; j < tn; j++) {
                const int8_t* xq = smem + j * slot;
                const float2* xds = (const float2*)(xq + K);
                float a = warp_sum(row_dot_q<T>(w, r, K, xq, xds, lane));
                if (SWIGLU) a = silu_f(a) * warp_sum(row_dot_q<T>(u, r, K, xq, xds, lane));
                float* d = rows.drow(j);
                if (lane == 0) d[r] = epilogue(a, d[r], r, bias, gelu, acc);
            }
        }
    }
}

// matvec_qkv: the three attention projections in one grid — global row
// r < Rq is row r of Wq into dq, then Rkv rows of Wk into dk and Rkv rows of
// Wv into dv, for the x rows of the block's tile (as matvec). x is quantized
// once per block for all three (normalised first with a norm, as matvec).
// A block's rows may straddle two weights; each row picks its own.
template <int T>
static __device__ __forceinline__ void matvec_qkv(float* __restrict__ dq, float* __restrict__ dk, float* __restrict__ dv,
                                                  const float* __restrict__ x, const WeightPtrs& wq, const WeightPtrs& wk,
                                                  const WeightPtrs& wv, int Rq, int Rkv, int K, int rpw, int vec,
                                                  const XNorm n, const float* __restrict__ bq,
                                                  const float* __restrict__ bk, const float* __restrict__ bv, int xrows,
                                                  int xtile) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int t0 = blockIdx.y * xtile, tn = min(xtile, xrows - t0);
    x += (size_t)t0 * K;
    const int R = Rq + 2 * Rkv;
    const int row0 = (blockIdx.x * nwarps + warp) * rpw;
    int8_t* smem = nullptr;
    const int slot = MV_SLOT(K);
    if constexpr (T != W_F32 && T != W_F16) {
        EXTERN_SHARED(int8_t, sm);
        smem = sm;
        for (int j = 0; j < tn; j++) {
            int8_t* xq = smem + j * slot;
            quantize_x<T>(x + (size_t)j * K, K, xq, (float2*)(xq + K), n);
        }
    }
    for (int i = 0; i < rpw; i++) {
        int r = row0 + i;
        if (r >= R) break;  // warp-uniform
        // the weight by value: a pointer chosen at run time to one of the
        // three parameters would put them in local memory
        WeightPtrs w = wq;
        float* dst = dq + (size_t)t0 * Rq;
        int ld = Rq;
        const float* bias = bq;
        if (r >= Rq + Rkv) {
            w = wv, dst = dv + (size_t)t0 * Rkv, ld = Rkv, bias = bv, r -= Rq + Rkv;
        } else if (r >= Rq) {
            w = wk, dst = dk + (size_t)t0 * Rkv, ld = Rkv, bias = bk, r -= Rq;
        }
        for (int j = 0; j < tn; j++) {
            float a;
            if constexpr (T == W_F32 || T == W_F16) {
                a = warp_sum(row_dot_f<T>(w, r, K, x + (size_t)j * K, vec, lane));
            } else {
                const int8_t* xq = smem + j * slot;
                a = warp_sum(row_dot_q<T>(w, r, K, xq, (const float2*)(xq + K), lane));
            }
            if (lane == 0) dst[(size_t)j * ld + r] = bias ? a + bias[r] : a;
        }
    }
}

// ---- tiles shared by the GEMMs --------------------------------------------------

#define MM_BM 64  // weight rows per block
#define MM_BN 64  // tokens per block
#define MM_BK 32  // k per tile

// load_w_group dequantizes group i (of the 64 x 32 tile's 256 groups of 8:
// row i / 4, k 8 (i % 4)) of W[r0.., k0..] into y; rows >= R give zeros.
template <int T>
static __device__ __forceinline__ void load_w_group(const WeightPtrs& w, int R, int K, int r0, int k0, int i, float* y) {
    constexpr int QK = WTraits<T>::QK;
    const int row = r0 + i / 4, g = i % 4;
    if (row >= R) {
#pragma unroll
        for (int j = 0; j < 8; j++) y[j] = 0.0f;
        return;
    }
    if constexpr (QK == 1) {
        dequant8<T>(w, (size_t)row * K + k0, g, y);
    } else {
        dequant8<T>(w, (size_t)row * (K / QK) + k0 / QK, (k0 % QK) / 8 + g, y);
    }
}

// load_x_group reads group i (token i / 4, k 8 (i % 4)) of x[t0.., k0..].
static __device__ __forceinline__ void load_x_group(const float* __restrict__ x, int T, int K, int t0, int k0, int i,
                                                    float* y) {
    const int t = t0 + i / 4, k = k0 + 8 * (i % 4);
    if (t >= T) {
#pragma unroll
        for (int j = 0; j < 8; j++) y[j] = 0.0f;
        return;
    }
    const float* p = x + (size_t)t * K + k;
#pragma unroll
    for (int j = 0; j < 8; j++) y[j] = p[j];
}

// ---- v2: SIMT tiled GEMM (256 threads) -----------------------------------------

template <int T, bool SWIGLU>
static __device__ __forceinline__ void gemm_simt(float* __restrict__ dst, const float* __restrict__ x, const WeightPtrs& w,
                                                 const WeightPtrs& u, int R, int K, int Tn) {
    __shared__ float Ws[MM_BK][MM_BM + 4];  // k-major: Ws[k][row]
    __shared__ float Us[SWIGLU ? MM_BK : 1][MM_BM + 4];
    __shared__ float Xs[MM_BK][MM_BN + 4];  // Xs[k][token]
    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;  // tokens 4tx.., rows 4ty..
    const int r0 = blockIdx.x * MM_BM, t0 = blockIdx.y * MM_BN;
    float acc[4][4], accu[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = accu[i][j] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += MM_BK) {
        {
            float y[8];
            const int i = tid;  // 256 groups, one per thread
            load_w_group<T>(w, R, K, r0, k0, i, y);
#pragma unroll
            for (int j = 0; j < 8; j++) Ws[8 * (i % 4) + j][i / 4] = y[j];
            if (SWIGLU) {
                load_w_group<T>(u, R, K, r0, k0, i, y);
#pragma unroll
                for (int j = 0; j < 8; j++) Us[8 * (i % 4) + j][i / 4] = y[j];
            }
            load_x_group(x, Tn, K, t0, k0, i, y);
#pragma unroll
            for (int j = 0; j < 8; j++) Xs[8 * (i % 4) + j][i / 4] = y[j];
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < MM_BK; kk++) {
            float a[4], b[4], c[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                a[i] = Ws[kk][4 * ty + i];
                b[i] = Xs[kk][4 * tx + i];
                if (SWIGLU) c[i] = Us[kk][4 * ty + i];
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    acc[i][j] += a[i] * b[j];
                    if (SWIGLU) accu[i][j] += c[i] * b[j];
                }
        }
        __syncthreads();
    }
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const int t = t0 + 4 * tx + j;
        if (t >= Tn) break;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int r = r0 + 4 * ty + i;
            if (r < R) dst[(size_t)t * R + r] = SWIGLU ? silu_f(acc[i][j]) * accu[i][j] : acc[i][j];
        }
    }
}

// ---- v3: tensor-core GEMM (WMMA, 128 threads) ------------------------------------

#if defined(EMU_CUDA) || !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 700
#define MM_HAVE_WMMA 1
#include <mma.h>

#define MM_LDH (MM_BK + 8)   // half tile row stride (multiple of 8)
#define MM_LDC (MM_BM + 4)   // float accumulator stride (multiple of 4)

template <int T, bool SWIGLU>
static __device__ __forceinline__ void gemm_wmma(float* __restrict__ dst, const float* __restrict__ x, const WeightPtrs& w,
                                                 const WeightPtrs& u, int R, int K, int Tn) {
    using namespace nvcuda;
    __shared__ __align__(32) __half Wh[MM_BM * MM_LDH];  // Wh[row][k]
    __shared__ __align__(32) __half Uh[SWIGLU ? MM_BM * MM_LDH : 8];
    __shared__ __align__(32) __half Xh[MM_BN * MM_LDH];  // Xh[token][k]
    __shared__ __align__(32) float Cs[MM_BN * MM_LDC];   // Cs[token][row]
    const int tid = threadIdx.x, warp = tid >> 5;
    const int wm = warp & 1, wn = warp >> 1;  // warp tile: rows 32wm.., tokens 32wn..
    const int r0 = blockIdx.x * MM_BM, t0 = blockIdx.y * MM_BN;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2], accu[SWIGLU ? 2 : 1][SWIGLU ? 2 : 1];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);
    if (SWIGLU) {
#pragma unroll
        for (int i = 0; i < 2; i++)
#pragma unroll
            for (int j = 0; j < 2; j++) wmma::fill_fragment(accu[SWIGLU ? i : 0][SWIGLU ? j : 0], 0.0f);
    }
    for (int k0 = 0; k0 < K; k0 += MM_BK) {
        for (int i = tid; i < 256; i += blockDim.x) {
            float y[8];
            const int row = i / 4, kk = 8 * (i % 4);
            load_w_group<T>(w, R, K, r0, k0, i, y);
#pragma unroll
            for (int j = 0; j < 8; j++) Wh[row * MM_LDH + kk + j] = __float2half_rn(y[j]);
            if (SWIGLU) {
                load_w_group<T>(u, R, K, r0, k0, i, y);
#pragma unroll
                for (int j = 0; j < 8; j++) Uh[row * MM_LDH + kk + j] = __float2half_rn(y[j]);
            }
            load_x_group(x, Tn, K, t0, k0, i, y);
#pragma unroll
            for (int j = 0; j < 8; j++) Xh[row * MM_LDH + kk + j] = __float2half_rn(y[j]);
        }
        __syncthreads();
#pragma unroll
        for (int ks = 0; ks < MM_BK; ks += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> b[2];
#pragma unroll
            for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], Wh + (32 * wm + 16 * i) * MM_LDH + ks, MM_LDH);
#pragma unroll
            for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], Xh + (32 * wn + 16 * j) * MM_LDH + ks, MM_LDH);
#pragma unroll
            for (int i = 0; i < 2; i++)
#pragma unroll
                for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
            if (SWIGLU) {
#pragma unroll
                for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], Uh + (32 * wm + 16 * i) * MM_LDH + ks, MM_LDH);
#pragma unroll
                for (int i = 0; i < 2; i++)
#pragma unroll
                    for (int j = 0; j < 2; j++)
                        wmma::mma_sync(accu[SWIGLU ? i : 0][SWIGLU ? j : 0], a[i], b[j], accu[SWIGLU ? i : 0][SWIGLU ? j : 0]);
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) {
            if (SWIGLU) {
                // gate and up fragments share one element layout
                for (int e = 0; e < acc[i][j].num_elements; e++)
                    acc[i][j].x[e] = silu_f(acc[i][j].x[e]) * accu[SWIGLU ? i : 0][SWIGLU ? j : 0].x[e];
            }
            // element (row m, token n) -> Cs[n][m]
            wmma::store_matrix_sync(Cs + (32 * wn + 16 * j) * MM_LDC + 32 * wm + 16 * i, acc[i][j], MM_LDC,
                                    wmma::mem_col_major);
        }
    __syncthreads();
    for (int e = tid; e < MM_BM * MM_BN; e += blockDim.x) {
        const int n = e / MM_BM, m = e % MM_BM;  // consecutive threads: consecutive rows
        const int t = t0 + n, r = r0 + m;
        if (t < Tn && r < R) dst[(size_t)t * R + r] = Cs[n * MM_LDC + m];
    }
}
#endif
