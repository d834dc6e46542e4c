// rope.cu — rotary position embedding, in place.
//
//   rope_f32 (normal): rotates pairs (x[2i], x[2i+1])       (Llama as GGUF stores it)
//   rope_neox_f32:     rotates pairs (x[i], x[i + dims/2])   (GPT-NeoX, Qwen2, Phi)
// for i < dims/2 of each head, by theta_i = pos * theta_scale^i / factors[i] *
// freq_scale with theta_scale = freq_base^(-2/dims) (factors: null, or F32
// [dims/2]); dims after the first `dims` of a head are untouched.
//
// Shapes: x [T, heads, head_dim] f32; pos [T] int32 (or pos = null and row t
// at position pos0 + t, the common case, which needs no upload).
// Launch: grid = (T, heads); block = any multiple of 32, threads loop over
// the dims/2 pairs.
// The angles are rope.cuh's (ggml's rounding, bit for bit).
#include "rope.cuh"

extern "C" __global__ void rope_f32(float* x, const int* pos, int pos0, int head_dim, int dims, float theta_scale,
                                    float freq_scale, const float* factors, float mscale) {
    const int t = blockIdx.x;
    const int p = pos ? pos[t] : pos0 + t;
    float* h = x + ((size_t)t * gridDim.y + blockIdx.y) * head_dim;
    for (int i = threadIdx.x; i < dims / 2; i += blockDim.x) {
        float c, s;
        rope_angle(p, i, theta_scale, freq_scale, factors, mscale, c, s);
        rope_pair(&h[2 * i], &h[2 * i + 1], c, s);
    }
}

extern "C" __global__ void rope_neox_f32(float* x, const int* pos, int pos0, int head_dim, int dims, float theta_scale,
                                         float freq_scale, const float* factors, float mscale) {
    const int t = blockIdx.x;
    const int p = pos ? pos[t] : pos0 + t;
    float* h = x + ((size_t)t * gridDim.y + blockIdx.y) * head_dim;
    const int half = dims / 2;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float c, s;
        rope_angle(p, i, theta_scale, freq_scale, factors, mscale, c, s);
        rope_pair(&h[i], &h[i + half], c, s);
    }
}
