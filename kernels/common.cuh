// common.cuh — device helpers shared by every kernel file: f16 conversion,
// warp and block reductions, the one dynamic-shared-memory macro, and the
// byte layouts of the weight formats as the kernels see them on the device.
//
// Compiled by nvcc (sm_80, sm_90) and, unchanged, by g++ through
// kernels/emu/emu.h (the host emulator used by the tests).
#pragma once

#include <cuda_fp16.h>
#include <stdint.h>

#ifdef EMU_CUDA
#define EXTERN_SHARED(T, name) EMU_EXTERN_SHARED(T, name)
#else
// Dynamic shared memory, sized by the launch's sharedMemBytes.
#define EXTERN_SHARED(T, name)                                   \
    extern __shared__ __align__(16) unsigned char name##_raw_[]; \
    T* name = reinterpret_cast<T*>(name##_raw_)
#endif

#define FULL_MASK 0xffffffffu

// ---- f16 --------------------------------------------------------------------

static __device__ __forceinline__ float f16_to_f32(uint16_t h) { return __half2float(__ushort_as_half(h)); }
static __device__ __forceinline__ uint16_t f32_to_f16(float f) { return __half_as_ushort(__float2half_rn(f)); }
// f16_round: f rounded to the nearest float16, as a float.
static __device__ __forceinline__ float f16_round(float f) { return f16_to_f32(f32_to_f16(f)); }

// load_cg reads global memory past L1 (which is not coherent between
// blocks): for data another block wrote and published with __threadfence.
static __device__ __forceinline__ float load_cg(const float* p) {
#ifdef EMU_CUDA
    return *(const volatile float*)p;
#else
    return __ldcg(p);
#endif
}

// ---- reductions -------------------------------------------------------------

static __device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

static __device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// block_sum returns the sum of v over the block to every thread. blockDim.x
// must be a multiple of 32 (<= 1024); scratch holds 32 floats of shared
// memory that the caller does not touch until the next __syncthreads.
static __device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nwarps ? scratch[lane] : 0.0f;
    return warp_sum(v);
}

static __device__ __forceinline__ float block_max(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nwarps ? scratch[lane] : -INFINITY;
    return warp_max(v);
}
