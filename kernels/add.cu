// add.cu — dst[i] = a[i] + b[i] for i < n (dst may alias a or b).
//
// Shapes: a, b, dst [n] f32.
// Launch: 1-D grid-stride; any block size, grid = min(ceil(n / block), cap).
#include "common.cuh"

extern "C" __global__ void add_f32(float* dst, const float* a, const float* b, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) dst[i] = a[i] + b[i];
}
