// geglu.cu — dst[i] = gelu(gate[i]) * up[i], the gated feed-forward of
// Gemma, with GELU rounded as llama.cpp's CPU backend rounds it (see
// gelu.cuh; ggml_vec_geglu_f32): a gate at or below -10 gives 0, at or
// above 10 gives gate * up.
//
// Shapes: dst, gate, up [n] f32 (dst may alias either input).
// Launch: 1-D grid-stride; any block size.
#include "gelu.cuh"

extern "C" __global__ void geglu_f32(float* dst, const float* gate, const float* up, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        const float g = gate[i];
        dst[i] = g <= -10.0f ? 0.0f : __fmul_rn(gelu_rounded(g), up[i]);
    }
}
