// softcap.cu — dst[i] = tanh(x[i] * inv) * c, inv = 1/c: Gemma 2's final
// logit soft-capping, each step rounded (no fused multiply-add). The
// device's tanhf and the C library's differ in the last bit now and then:
// the parity tests allow for it.
//
// Shapes: dst, x [n] f32 (may alias).
// Launch: 1-D grid-stride; any block size.
#include "common.cuh"

extern "C" __global__ void softcap_f32(float* dst, const float* x, float c, float inv, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        dst[i] = __fmul_rn(tanhf(__fmul_rn(x[i], inv)), c);
    }
}
