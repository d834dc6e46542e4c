// rope.cu — rotary position embedding, in place.
//
//   rope_f32 (normal): rotates pairs (x[2i], x[2i+1])       (Llama as GGUF stores it)
//   rope_neox_f32:     rotates pairs (x[i], x[i + dims/2])   (GPT-NeoX, Qwen2, Phi)
// for i < dims/2 of each head, by theta_i = pos * freq_scale * theta_scale^i with
// theta_scale = freq_base^(-2/dims); dims after the first `dims` of a head are
// untouched.
//
// Shapes: x [T, heads, head_dim] f32; pos [T] int32 (or pos = null and row t
// at position pos0 + t, the common case, which needs no upload).
// Launch: grid = (T, heads); block = any multiple of 32, threads loop over
// the dims/2 pairs.
// The angles follow ggml (and runtime/cpu) bit for bit: theta_scale is
// rounded to float on the host, theta_i is the float product recurrence
// theta_{i+1} = theta_i * theta_scale (i multiplications, each rounded), and
// cos/sin are taken in double of that float angle. A closed form in double
// would be more accurate but would not match llama.cpp's rounding at large
// positions (10^-4 rad at pos 4095), which token-exact output needs.
#include "common.cuh"

static __device__ __forceinline__ void rope_angle(int p, int i, float theta_scale, float freq_scale, float& c,
                                                  float& s) {
    float theta = (float)p * freq_scale;
    for (int k = 0; k < i; k++) theta *= theta_scale;
    double sd, cd;
    sincos((double)theta, &sd, &cd);
    c = (float)cd;
    s = (float)sd;
}

extern "C" __global__ void rope_f32(float* x, const int* pos, int pos0, int head_dim, int dims, float theta_scale,
                                    float freq_scale) {
    const int t = blockIdx.x;
    const int p = pos ? pos[t] : pos0 + t;
    float* h = x + ((size_t)t * gridDim.y + blockIdx.y) * head_dim;
    for (int i = threadIdx.x; i < dims / 2; i += blockDim.x) {
        float c, s;
        rope_angle(p, i, theta_scale, freq_scale, c, s);
        const float x0 = h[2 * i], x1 = h[2 * i + 1];
        h[2 * i] = x0 * c - x1 * s;
        h[2 * i + 1] = x0 * s + x1 * c;
    }
}

extern "C" __global__ void rope_neox_f32(float* x, const int* pos, int pos0, int head_dim, int dims, float theta_scale,
                                         float freq_scale) {
    const int t = blockIdx.x;
    const int p = pos ? pos[t] : pos0 + t;
    float* h = x + ((size_t)t * gridDim.y + blockIdx.y) * head_dim;
    const int half = dims / 2;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float c, s;
        rope_angle(p, i, theta_scale, freq_scale, c, s);
        const float x0 = h[i], x1 = h[i + half];
        h[i] = x0 * c - x1 * s;
        h[i + half] = x0 * s + x1 * c;
    }
}
