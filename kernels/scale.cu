// scale.cu — dst[i] = x[i] * s, one rounded product each (ggml_scale with
// no bias): Gemma's embedding and query scales.
//
// Shapes: dst, x [n] f32 (may alias).
// Launch: 1-D grid-stride; any block size.
#include "common.cuh"

extern "C" __global__ void scale_f32(float* dst, const float* x, float s, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        dst[i] = __fmul_rn(x[i], s);
    }
}
