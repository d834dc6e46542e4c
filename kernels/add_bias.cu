// add_bias.cu — x[t, i] += b[i] for T rows of n elements.
//
// Shapes: x [T, n] f32 (in place), b [n] f32.
// Launch: 1-D grid-stride over T*n elements; any block size.
#include "common.cuh"

extern "C" __global__ void add_bias_f32(float* x, const float* b, int n, int total) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) x[i] += b[i % n];
}
