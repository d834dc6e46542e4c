// attention.cu — causal grouped-query attention over a sequence's KV cache,
// flash-attention style: K/V tiles of BC rows stream through shared memory
// and each query keeps an online softmax (running max m, running sum l, an
// unnormalised accumulator), so the T x n score matrix never exists.
//
//   dst[t, h, :] = softmax(scale * q[t, h, :] · K[f(t)..pos+t, g, :]ᵀ) · V[f(t)..pos+t, g, :]
//   g = h / (heads / kvheads), f(t) = 0, or with a sliding window
//   (window > 0) max(0, pos + t + 1 - window); with soft-capping (cap > 0)
//   each score s = scale * q·k becomes cap * tanh(s / cap), cap being
//   scale * Softcap (Gemma 2)
//
// Kernels: attention_<cache dtype>_d<DMAX> for head dims D <= DMAX (32, 64,
// 128, 256).
//
// Shapes: q, dst [T, heads, D] f32; kc, vc [cache_len, kvheads * D] f32 or f16;
// posp: the position of query row 0, one int32 in device memory.
// Launch (attention_*): grid = (kvheads * hchunks, ceil(T / BR), nsplit),
// block = 128 (4 warps). A block takes one KV head, GB of the query heads
// that share it (hchunk), BR consecutive query rows, and one split of the
// keys: [f(row0) + split * split_keys, +split_keys), cut at the last row's
// causal limit. Its BR * GB query vectors are spread over the warps (at most QVW
// each); K/V tiles are loaded once for all of them (the GQA saving). In a
// tile, lane j scores key j, the warp updates the online softmax, and lane
// d accumulates output dims d, d+32, ... .
//   nsplit = 1: the block writes dst directly.
//   nsplit > 1 (split-K "flash decoding", for T = 1 over a long cache):
//     each block writes (acc[D], m, l) to part[split][t][h][D + 2]; the last
//     block of each (head chunk, row tile) to finish, counted in
//     counters[blockIdx.y * gridDim.x + blockIdx.x] (zero before the launch,
//     zero again after it), merges the splits into dst.
#include "common.cuh"

template <class KV>
static __device__ __forceinline__ float kv_load(const KV* p);
template <>
__device__ __forceinline__ float kv_load<float>(const float* p) { return *p; }
template <>
__device__ __forceinline__ float kv_load<uint16_t>(const uint16_t* p) { return f16_to_f32(*p); }

// kv_load8 reads 8 consecutive elements at a 16-byte aligned p.
template <class KV>
static __device__ __forceinline__ void kv_load8(const KV* p, float* y);
template <>
__device__ __forceinline__ void kv_load8<float>(const float* p, float* y) {
    const float4 a = ((const float4*)p)[0], b = ((const float4*)p)[1];
    y[0] = a.x, y[1] = a.y, y[2] = a.z, y[3] = a.w, y[4] = b.x, y[5] = b.y, y[6] = b.z, y[7] = b.w;
}
template <>
__device__ __forceinline__ void kv_load8<uint16_t>(const uint16_t* p, float* y) {
    const uint4 v = *(const uint4*)p;
    const uint32_t u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        y[2 * i] = f16_to_f32((uint16_t)(u[i] & 0xffff));
        y[2 * i + 1] = f16_to_f32((uint16_t)(u[i] >> 16));
    }
}

// combine_partials merges the nsplit partial results (acc[D], m, l) of one
// query, p[s * stride + ...] for split s, into out[D]:
// out = sum_s exp(m_s - M) acc_s / sum_s exp(m_s - M) l_s, M = max_s m_s.
// Threads lid = 0..n-1 share the D outputs. The partials come from other
// blocks: they are read past L1 (load_cg).
static __device__ __forceinline__ void combine_partials(float* out, const float* p, size_t stride, int D, int nsplit,
                                                        int lid, int n) {
    float M = -INFINITY;
    for (int s = 0; s < nsplit; s++) M = fmaxf(M, load_cg(p + s * stride + D));
    float L = 0.0f;
    for (int s = 0; s < nsplit; s++) {
        const float ms = load_cg(p + s * stride + D);
        if (ms != -INFINITY) L += expf(ms - M) * load_cg(p + s * stride + D + 1);
    }
    const float inv = L > 0.0f ? 1.0f / L : 0.0f;
    for (int d = lid; d < D; d += n) {
        float a = 0.0f;
        for (int s = 0; s < nsplit; s++) {
            const float ms = load_cg(p + s * stride + D);
            if (ms != -INFINITY) a += expf(ms - M) * load_cg(p + s * stride + d);
        }
        out[d] = a * inv;
    }
}

template <class KV, int DMAX, int BC, int QVW>
static __device__ __forceinline__ void attention_tile(float* __restrict__ dst, float* __restrict__ part,
                                                      int* __restrict__ counters, const float* __restrict__ q,
                                                      const KV* __restrict__ kc, const KV* __restrict__ vc, int T, int pos,
                                                      int heads, int kvheads, int D, float scale, int split_keys, int BR,
                                                      int GB, int window, float cap) {
    constexpr int NW = 4;              // warps
    constexpr int QV = NW * QVW;       // query vectors per block, max
    constexpr int DPL = DMAX / 32;     // output dims per lane
    __shared__ float Qs[QV][DMAX];     // scaled queries
    __shared__ float Ks[BC][DMAX + 1]; // +1: lane j reads row j without bank conflicts
    __shared__ float Vs[BC][DMAX];
    __shared__ float Ps[NW][BC];       // probabilities of the tile, per warp

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int G = heads / kvheads;
    const int hchunks = (G + GB - 1) / GB;
    const int kvh = blockIdx.x / hchunks, hc = blockIdx.x % hchunks;
    const int row0 = blockIdx.y * BR;
    const int split = blockIdx.z, nsplit = gridDim.z;
    const int kvdim = kvheads * D;
    const int ng = min(GB, G - hc * GB);            // heads of this chunk
    const int nrows = min(BR, T - row0);
    const int nqv = nrows * ng;
    // 16-byte loads of K/V rows: D a multiple of 8 and the caches 16-byte aligned
    const bool vec = (D % 8) == 0 && ((uintptr_t)kc % 16) == 0 && ((uintptr_t)vc % 16) == 0;

    // Load the queries: qv = r * ng + gi -> row row0 + r, head kvh*G + hc*GB + gi.
    for (int i = tid; i < QV * DMAX; i += blockDim.x) {
        const int qv = i / DMAX, d = i % DMAX;
        float v = 0.0f;
        if (qv < nqv && d < D) {
            const int t = row0 + qv / ng, h = kvh * G + hc * GB + qv % ng;
            v = q[((size_t)t * heads + h) * D + d] * scale;
        }
        Qs[qv][d] = v;
    }

    const int k_first = window > 0 ? max(0, pos + row0 + 1 - window) : 0;  // the first row's window
    const int k_begin = k_first + split * split_keys;
    const int k_end = min(k_begin + split_keys, pos + row0 + nrows);  // exclusive; causal limit of the last row

    float m[QVW], l[QVW], acc[QVW][DPL];
#pragma unroll
    for (int i = 0; i < QVW; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int j = 0; j < DPL; j++) acc[i][j] = 0.0f;
    }

    for (int kt = k_begin; kt < k_end; kt += BC) {
        __syncthreads();  // the previous tile (and, first time, Qs) is done with
        if (vec) {
            // 8 consecutive elements per thread, 16-byte loads (f16) or two (f32)
            for (int i = tid; i < BC * (DMAX / 8); i += blockDim.x) {
                const int j = i / (DMAX / 8), d = 8 * (i % (DMAX / 8));
                float kv[8], vv[8];
                if (kt + j < k_end && d < D) {
                    const size_t off = (size_t)(kt + j) * kvdim + (size_t)kvh * D + d;
                    kv_load8(kc + off, kv);
                    kv_load8(vc + off, vv);
                } else {
#pragma unroll
                    for (int e = 0; e < 8; e++) kv[e] = vv[e] = 0.0f;
                }
#pragma unroll
                for (int e = 0; e < 8; e++) {
                    Ks[j][d + e] = kv[e];
                    Vs[j][d + e] = vv[e];
                }
            }
        } else {
            for (int i = tid; i < BC * DMAX; i += blockDim.x) {
                const int j = i / DMAX, d = i % DMAX;
                float kv = 0.0f, vv = 0.0f;
                if (kt + j < k_end && d < D) {
                    const size_t off = (size_t)(kt + j) * kvdim + (size_t)kvh * D + d;
                    kv = kv_load(kc + off);
                    vv = kv_load(vc + off);
                }
                Ks[j][d] = kv;
                Vs[j][d] = vv;
            }
        }
        __syncthreads();
#pragma unroll
        for (int i = 0; i < QVW; i++) {
            const int qv = warp + NW * i;
            if (qv >= nqv) break;  // warp-uniform
            const int t = row0 + qv / ng;
            // score of key kt + lane
            const int key = kt + lane;
            float s = -INFINITY;
            if (lane < BC && key < k_end && key <= pos + t && (window <= 0 || key > pos + t - window)) {
                float dot = 0.0f;
                for (int d = 0; d < D; d++) dot += Qs[qv][d] * Ks[lane][d];
                s = cap > 0.0f ? cap * tanhf(dot * (1.0f / cap)) : dot;
            }
            const float mt = warp_max(s);
            const float mn = fmaxf(m[i], mt);
            float p = 0.0f, alpha = 1.0f;
            if (mn != -INFINITY) {  // some key of this or an earlier tile is visible
                p = s == -INFINITY ? 0.0f : expf(s - mn);
                alpha = m[i] == -INFINITY ? 0.0f : expf(m[i] - mn);
            }
            l[i] = l[i] * alpha + warp_sum(p);
            m[i] = mn;
            if (lane < BC) Ps[warp][lane] = p;
            __syncwarp();
#pragma unroll
            for (int j = 0; j < DPL; j++) acc[i][j] *= alpha;
            for (int k = 0; k < BC; k++) {
                const float pk = Ps[warp][k];
#pragma unroll
                for (int j = 0; j < DPL; j++) acc[i][j] += pk * Vs[k][lane + 32 * j];
            }
            __syncwarp();  // Ps is rewritten by the next query vector
        }
    }

#pragma unroll
    for (int i = 0; i < QVW; i++) {
        const int qv = warp + NW * i;
        if (qv >= nqv) break;
        const int t = row0 + qv / ng, h = kvh * G + hc * GB + qv % ng;
        const size_t o = (size_t)t * heads + h;
        if (nsplit == 1) {
            const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
#pragma unroll
            for (int j = 0; j < DPL; j++) {
                const int d = lane + 32 * j;
                if (d < D) dst[o * D + d] = acc[i][j] * inv;
            }
        } else {
            float* pp = part + ((size_t)split * T * heads + o) * (D + 2);
#pragma unroll
            for (int j = 0; j < DPL; j++) {
                const int d = lane + 32 * j;
                if (d < D) pp[d] = acc[i][j];
            }
            if (lane == 0) {
                pp[D] = m[i];
                pp[D + 1] = l[i];
            }
        }
    }
    if (nsplit == 1) return;

    // Split-K: the last of the nsplit blocks of this (head chunk, row tile)
    // to finish merges their partials (the threadFenceReduction pattern),
    // so that decoding a long cache is one launch, not two.
    __shared__ int last;
    __threadfence();  // this block's partials are visible to the whole device
    __syncthreads();  // ... for every thread of the block
    if (tid == 0) {
        int* c = counters + blockIdx.y * gridDim.x + blockIdx.x;
        last = atomicAdd(c, 1) == nsplit - 1;
        if (last) *c = 0;  // zero again for the next launch (a graph replays it)
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    const size_t stride = (size_t)T * heads * (D + 2);
    for (int qv = warp; qv < nqv; qv += NW) {
        const int t = row0 + qv / ng, h = kvh * G + hc * GB + qv % ng;
        const size_t o = (size_t)t * heads + h;
        combine_partials(dst + o * D, part + o * (D + 2), stride, D, nsplit, lane, 32);
    }
}

// pos arrives through device memory (posp), so that a CUDA graph replays
// the next decode step with the same arguments.
#define ATT_ARGS                                                                                                  \
    float *dst, float *part, int *counters, const float *q, const KV_T *kc, const KV_T *vc, int T, const int *posp, \
        int heads, int kvheads, int D, float scale, int split_keys, int BR, int GB, int window, float cap
#define ATT_PASS dst, part, counters, q, kc, vc, T, *posp, heads, kvheads, D, scale, split_keys, BR, GB, window, cap

#define KV_T float
extern "C" __global__ void attention_f32_d32(ATT_ARGS) { attention_tile<float, 32, 32, 4>(ATT_PASS); }
extern "C" __global__ void attention_f32_d64(ATT_ARGS) { attention_tile<float, 64, 32, 4>(ATT_PASS); }
extern "C" __global__ void attention_f32_d128(ATT_ARGS) { attention_tile<float, 128, 32, 4>(ATT_PASS); }
extern "C" __global__ void attention_f32_d256(ATT_ARGS) { attention_tile<float, 256, 16, 2>(ATT_PASS); }
#undef KV_T
#define KV_T uint16_t
extern "C" __global__ void attention_f16_d32(ATT_ARGS) { attention_tile<uint16_t, 32, 32, 4>(ATT_PASS); }
extern "C" __global__ void attention_f16_d64(ATT_ARGS) { attention_tile<uint16_t, 64, 32, 4>(ATT_PASS); }
extern "C" __global__ void attention_f16_d128(ATT_ARGS) { attention_tile<uint16_t, 128, 32, 4>(ATT_PASS); }
extern "C" __global__ void attention_f16_d256(ATT_ARGS) { attention_tile<uint16_t, 256, 16, 2>(ATT_PASS); }
#undef KV_T
