// gelu.cu — dst[i] = gelu(x[i]), rounded as llama.cpp's CPU backend rounds
// it (see gelu.cuh).
//
// Shapes: dst, x [n] f32 (may alias).
// Launch: 1-D grid-stride; any block size.
#include "gelu.cuh"

extern "C" __global__ void gelu_f32(float* dst, const float* x, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        dst[i] = gelu_rounded(x[i]);
    }
}
