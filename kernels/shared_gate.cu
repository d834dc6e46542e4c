// shared_gate.cu — Qwen2-MoE's shared expert scaled by the sigmoid of its
// gate, as llama.cpp computes it: dst[t, i] = y[t, i] * (silu(g[t]) / g[t]),
// silu(x) = x / (1 + exp(-x)), each step rounded to float32 (dst may alias y).
//
// Shapes: y, dst [T, n] f32, g [T] f32.
// Launch: grid-stride over T*n elements; block = any multiple of 32.
#include "common.cuh"

extern "C" __global__ void shared_gate_f32(float* dst, const float* y, const float* g, int T, int n) {
    const size_t total = (size_t)T * n;
    for (size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (size_t)gridDim.x * blockDim.x) {
        const float x = g[idx / n];
        const float silu = __fdiv_rn(x, __fadd_rn(1.0f, expf(-x)));
        dst[idx] = __fmul_rn(y[idx], __fdiv_rn(silu, x));
    }
}
