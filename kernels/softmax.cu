// softmax.cu — in place, over each row: x[r, i] = exp(x[r, i] - max) / sum.
//
// Shapes: x [rows, n] f32.
// Launch: grid = rows, one block per row; block = any multiple of 32 (<= 1024).
// Two passes over the row: an online (max, sum) per thread, merged across the
// block, then the normalised write.
#include "common.cuh"

// merge folds (m2, s2) into (m, s): s is a sum of exp(x - m).
static __device__ __forceinline__ void softmax_merge(float& m, float& s, float m2, float s2) {
    const float mm = fmaxf(m, m2);
    if (mm == -INFINITY) return;  // both empty
    s = s * expf(m - mm) + s2 * expf(m2 - mm);
    m = mm;
}

extern "C" __global__ void softmax_f32(float* x, int n) {
    __shared__ float sm[32], ss[32];
    float* row = x + (size_t)blockIdx.x * n;
    float m = -INFINITY, s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) softmax_merge(m, s, row[i], 1.0f);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float m2 = __shfl_xor_sync(FULL_MASK, m, o), s2 = __shfl_xor_sync(FULL_MASK, s, o);
        softmax_merge(m, s, m2, s2);
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        sm[warp] = m;
        ss[warp] = s;
    }
    __syncthreads();
    m = -INFINITY;
    s = 0.0f;
    if (lane < (int)(blockDim.x >> 5)) {
        m = sm[lane];
        s = ss[lane];
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float m2 = __shfl_xor_sync(FULL_MASK, m, o), s2 = __shfl_xor_sync(FULL_MASK, s, o);
        softmax_merge(m, s, m2, s2);
    }
    const float inv = 1.0f / s;
    for (int i = threadIdx.x; i < n; i += blockDim.x) row[i] = expf(row[i] - m) * inv;
}
