// rope_store_kv.cu — a decode step's rotary embedding and cache store in one
// launch: it equals rope(q), rope(k) (rope.cu) followed by store_kv
// (store_kv.cu) for T rows at consecutive positions pos0 .. pos0+T-1, stored
// at cache rows pos0 - row_off + t (row_off: the position a sliding-window
// cache's row 0 holds; 0 for a cache of every position).
//
//   rope_store_kv_f32 / rope_store_kv_f16   (the K/V cache's element type)
//
// Block (t, y) of grid (T, heads + kv_heads): y < heads rotates query head y
// of row t in place; y = heads + j rotates key head j in place, writes it to
// kc and copies value head j to vc, both at cache row pos0 - row_off + t. neox selects
// the pair layout (0: adjacent pairs (x[2i], x[2i+1]); 1: (x[i], x[i+dims/2])).
// The angles and rotation are rope.cuh's, so the results equal rope.cu's bit
// for bit. Block: any multiple of 32 threads.
//
// Shapes: q [T, heads, head_dim], k, v [T, kv_heads, head_dim] f32;
// kc, vc [CacheLen, kv_heads * head_dim] f32 or f16.
#include "rope.cuh"

template <typename C>
static __device__ __forceinline__ void cache_put(C* c, size_t i, float x);
template <>
__device__ __forceinline__ void cache_put<float>(float* c, size_t i, float x) { c[i] = x; }
template <>
__device__ __forceinline__ void cache_put<uint16_t>(uint16_t* c, size_t i, float x) { c[i] = f32_to_f16(x); }

template <typename C>
static __device__ __forceinline__ void rope_store_kv(float* q, float* k, const float* v, C* kc, C* vc, const int* pos0p, int row_off,
                                                     int heads, int head_dim, int dims, float theta_scale, float freq_scale,
                                                     int neox, const float* factors, float mscale) {
    const int t = blockIdx.x, y = blockIdx.y;
    const int kv_heads = gridDim.y - heads;
    const int p = *pos0p + t;
    const int half = dims / 2;
    const bool is_q = y < heads;
    const int j = y - heads;  // key/value head (when !is_q)
    float* h = is_q ? q + ((size_t)t * heads + y) * head_dim : k + ((size_t)t * kv_heads + j) * head_dim;
    const size_t crow = ((size_t)(p - row_off) * kv_heads + j) * head_dim;  // cache offset of this head (when !is_q)
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float c, s;
        rope_angle(p, i, theta_scale, freq_scale, factors, mscale, c, s);
        const int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
        rope_pair(&h[a], &h[b], c, s);
        if (!is_q) {
            cache_put(kc, crow + a, h[a]);
            cache_put(kc, crow + b, h[b]);
        }
    }
    if (is_q) return;
    const float* vh = v + ((size_t)t * kv_heads + j) * head_dim;
    for (int i = threadIdx.x; i < head_dim; i += blockDim.x) {
        if (i >= dims) cache_put(kc, crow + i, h[i]);  // dims past the rotary ones
        cache_put(vc, crow + i, vh[i]);
    }
}

extern "C" __global__ void rope_store_kv_f32(float* q, float* k, const float* v, float* kc, float* vc, const int* pos0p, int row_off,
                                             int heads, int head_dim, int dims, float theta_scale, float freq_scale, int neox, const float* factors, float mscale) {
    rope_store_kv<float>(q, k, v, kc, vc, pos0p, row_off, heads, head_dim, dims, theta_scale, freq_scale, neox, factors, mscale);
}

extern "C" __global__ void rope_store_kv_f16(float* q, float* k, const float* v, uint16_t* kc, uint16_t* vc, const int* pos0p,
                                             int row_off, int heads, int head_dim, int dims, float theta_scale, float freq_scale,
                                             int neox, const float* factors, float mscale) {
    rope_store_kv<uint16_t>(q, k, v, kc, vc, pos0p, row_off, heads, head_dim, dims, theta_scale, freq_scale, neox, factors, mscale);
}
