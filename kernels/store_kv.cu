// store_kv.cu — copy this call's keys and values into the layer's cache at
// rows [pos, pos+T): kc[pos*kvDim + i] = k[i], same for v, i < T*kvDim.
//
// Shapes: k, v [T, kvDim] f32; kc, vc [CacheLen, kvDim] f32 or f16.
// Launch: 1-D grid-stride over T*kvDim elements; any block size.
// pos is read from device memory (a step value: a CUDA graph replays the
// launch for the next position without a node update).
#include "common.cuh"

extern "C" __global__ void store_kv_f32(float* kc, float* vc, const float* k, const float* v, const int* pos, int kvDim,
                                        int n) {
    const size_t off = (size_t)pos[0] * kvDim;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        kc[off + i] = k[i];
        vc[off + i] = v[i];
    }
}

extern "C" __global__ void store_kv_f16(uint16_t* kc, uint16_t* vc, const float* k, const float* v, const int* pos,
                                        int kvDim, int n) {
    const size_t off = (size_t)pos[0] * kvDim;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        kc[off + i] = f32_to_f16(k[i]);
        vc[off + i] = f32_to_f16(v[i]);
    }
}
