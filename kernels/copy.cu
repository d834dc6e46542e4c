// copy.cu — dst[i] = src[i]: moves the rows of a sliding-window KV cache
// (kvcache.Cache.Slide). The caller keeps dst and src apart.
//
// Shapes: dst, src [n] of 4-byte (f32) or 2-byte (f16) elements.
// Launch: 1-D grid-stride; any block size.
#include "common.cuh"

extern "C" __global__ void copy_f32(float* dst, const float* src, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) dst[i] = src[i];
}

extern "C" __global__ void copy_f16(uint16_t* dst, const uint16_t* src, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) dst[i] = src[i];
}
