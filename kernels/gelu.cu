// gelu.cu — dst[i] = gelu(x[i]) with ggml's tanh approximation:
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
//
// Shapes: dst, x [n] f32 (may alias).
// Launch: 1-D grid-stride; any block size.
#include "common.cuh"

extern "C" __global__ void gelu_f32(float* dst, const float* x, int n) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        const float v = x[i];
        dst[i] = 0.5f * v * (1.0f + tanhf(k * v * (1.0f + 0.044715f * v * v)));
    }
}
