// argmax.cu — out[0] = index of the first maximum of x[0:n] (NaNs never win;
// 0 if no element is > -inf).
//
// Shapes: x [n] f32, out [1] int32.
// Launch: grid = 1, block = any multiple of 32 (<= 1024). One int crosses the
// bus per sampled token instead of the logits.
#include "common.cuh"

// better reports whether (v, i) beats (bv, bi): larger value, or equal value
// and smaller index.
static __device__ __forceinline__ bool argmax_better(float v, int i, float bv, int bi) {
    return v > bv || (v == bv && i < bi);
}

extern "C" __global__ void argmax_f32(const float* x, int n, int* out) {
    __shared__ float sv[32];
    __shared__ int si[32];
    float bv = -INFINITY;
    int bi = 0x7fffffff;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float v = x[i];
        if (v > bv) {  // strict: the first (smallest i) of equal values stays
            bv = v;
            bi = i;
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float v = __shfl_xor_sync(FULL_MASK, bv, o);
        const int i = __shfl_xor_sync(FULL_MASK, bi, o);
        if (argmax_better(v, i, bv, bi)) {
            bv = v;
            bi = i;
        }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        sv[warp] = bv;
        si[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
        bv = -INFINITY;
        bi = 0x7fffffff;
        if (lane < (int)(blockDim.x >> 5)) {
            bv = sv[lane];
            bi = si[lane];
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float v = __shfl_xor_sync(FULL_MASK, bv, o);
            const int i = __shfl_xor_sync(FULL_MASK, bi, o);
            if (argmax_better(v, i, bv, bi)) {
                bv = v;
                bi = i;
            }
        }
        if (lane == 0) out[0] = bi == 0x7fffffff ? 0 : bi;
    }
}
