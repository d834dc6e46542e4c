// rope.cuh — the rotary angle shared by rope.cu and rope_store_kv.cu.
//
// The angles follow ggml (and runtime/cpu) bit for bit: theta_scale is
// rounded to float on the host, theta_i is the float product recurrence
// theta_{i+1} = theta_i * theta_scale (i multiplications, each rounded) from
// theta_0 = pos, divided by factors[i] when there are frequency factors
// (rope_freqs.weight, Llama 3.1's scaling), times freq_scale, and cos/sin are
// taken in double of that float angle, rounded to float, then times mscale
// (ggml's attn_factor; 1 for most models). A closed form in double
// would be more accurate but would not match llama.cpp's rounding at large
// positions (10^-4 rad at pos 4095), which token-exact output needs.
#pragma once
#include "common.cuh"

// rope_angle: cos and sin of pair i's angle at position p.
static __device__ __forceinline__ void rope_angle(int p, int i, float theta_scale, float freq_scale,
                                                  const float* factors, float mscale, float& c, float& s) {
    float theta = (float)p;
    for (int k = 0; k < i; k++) theta *= theta_scale;
    if (factors) theta /= factors[i];
    theta *= freq_scale;
    double sd, cd;
    sincos((double)theta, &sd, &cd);
    c = __fmul_rn((float)cd, mscale);
    s = __fmul_rn((float)sd, mscale);
}

// rope_pair rotates (x0, x1) by the angle (c, s) in place, in the CPU's
// arithmetic (runtime/cpu/rope.go: what GCC makes of ggml's rotation): b*s
// and b*c rounded, then one fused multiply-add each. Written out, so that
// nvcc cannot contract the two products its own way and the emulator (which
// never contracts) computes the same bits as the GPU.
static __device__ __forceinline__ void rope_pair(float* x0, float* x1, float c, float s) {
    const float a = *x0, b = *x1;
    *x0 = fmaf(a, c, -(b * s));
    *x1 = fmaf(a, s, b * c);
}
