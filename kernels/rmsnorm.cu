// rmsnorm.cu — RMS normalisation.
//
//   rmsnorm_f32: dst[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * w
//
// (On the decode path the norm is folded into the matrix-vector kernel that
// follows it: quantize_x in mm.cuh.)
//
// Shapes: x, dst [T, n] f32; w [n] f32.
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
    // 1/sqrtf, as ggml: the GPU's rsqrtf is approximate (2 ulp), and the
    // emulator's would be exact
    const float scale = 1.0f / sqrtf(ss / n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) dr[i] = xr[i] * scale * w[i];
}
