// moe_sum.cu — the weighted sum of each token's expert outputs (mixture of
// experts): dst[t, i] = Σ_j y[t*k+j, i] * wts[t*k+j], each product rounded
// and the sum taken left to right (no FMA contraction: the CPU twin's
// ggml_mul then ggml_adds, bit for bit).
//
// Shapes: y [T*k, n] f32, wts [T*k] f32, dst [T, n] f32.
// Launch: grid-stride over T*n elements; block = any multiple of 32.
#include "common.cuh"

extern "C" __global__ void moe_sum_f32(float* dst, const float* y, const float* wts, int T, int k, int n) {
    const size_t total = (size_t)T * n;
    for (size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (size_t)gridDim.x * blockDim.x) {
        const size_t t = idx / n, i = idx % n;
        const float* yt = y + t * k * n + i;
        const float* w = wts + t * k;
        float acc = __fmul_rn(yt[0], w[0]);
        for (int j = 1; j < k; j++) acc = __fadd_rn(acc, __fmul_rn(yt[(size_t)j * n], w[j]));
        dst[idx] = acc;
    }
}
