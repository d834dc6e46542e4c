// swiglu.cu — dst[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)).
//
// Shapes: dst, gate, up [n] f32 (dst may alias either input).
// Launch: 1-D grid-stride; any block size.
#include "common.cuh"

extern "C" __global__ void swiglu_f32(float* dst, const float* gate, const float* up, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        const float g = gate[i];
        dst[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
