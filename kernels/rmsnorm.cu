// rmsnorm.cu — RMS normalisation, and the fused residual add + RMSNorm.
//
//   rmsnorm_f32:     dst[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * w
//   add_rmsnorm_f32: x[t, :] += r[t, :]; then dst[t, :] = rmsnorm(x[t, :]) * w
//
// Shapes: x, r, dst [T, n] f32; w [n] f32.
// Launch: grid = T (one block per row); block = any multiple of 32 (<= 1024).
// The row is read twice (the second time from L1/L2); the sum of squares is
// reduced with warp shuffles and one shared-memory exchange.
#include "common.cuh"

extern "C" __global__ void rmsnorm_f32(float* dst, const float* x, const float* w, int n, float eps) {
    __shared__ float scratch[32];
    const float* xr = x + (size_t)blockIdx.x * n;
    float* dr = dst + (size_t)blockIdx.x * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss, scratch);
    const float scale = rsqrtf(ss / n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) dr[i] = xr[i] * scale * w[i];
}

extern "C" __global__ void add_rmsnorm_f32(float* dst, float* x, const float* r, const float* w, int n, float eps) {
    __shared__ float scratch[32];
    float* xr = x + (size_t)blockIdx.x * n;
    const float* rr = r + (size_t)blockIdx.x * n;
    float* dr = dst + (size_t)blockIdx.x * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float v = xr[i] + rr[i];
        xr[i] = v;  // each thread re-reads only what it wrote
        ss += v * v;
    }
    ss = block_sum(ss, scratch);
    const float scale = rsqrtf(ss / n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) dr[i] = xr[i] * scale * w[i];
}
