// layernorm.cu — dst[t, :] = (x[t, :] - mean) / sqrt(var + eps) * w + b.
//
// Shapes: x, dst [T, n] f32; w, b [n] f32 (b may be null).
// Launch: grid = T (one block per row); block = any multiple of 32 (<= 1024).
// Two reductions (mean, then the variance about it: no cancellation).
#include "common.cuh"

extern "C" __global__ void layernorm_f32(float* dst, const float* x, const float* w, const float* b, int n, float eps) {
    __shared__ float scratch[32];
    const float* xr = x + (size_t)blockIdx.x * n;
    float* dr = dst + (size_t)blockIdx.x * n;
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += xr[i];
    const float mean = block_sum(s, scratch) / n;
    float v = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float d = xr[i] - mean;
        v += d * d;
    }
    const float scale = 1.0f / sqrtf(block_sum(v, scratch) / n + eps);  // as rmsnorm.cu
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float y = (xr[i] - mean) * scale * w[i];
        dr[i] = b ? y + b[i] : y;
    }
}
