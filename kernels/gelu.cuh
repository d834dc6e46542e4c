// gelu.cuh — one element of GELU, shared by gelu.cu and the matrix-vector
// epilogue of matmul.cu (the up projection of a GPT-2 feed-forward).
//
// ggml's tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))),
// rounded as the CPU twin (runtime/cpu/gelu.go) and llama.cpp's CPU backend
// round it: x <= -10 gives 0, x >= 10 gives x, and other inputs pass
// through float16 on the way in and on the way out (llama.cpp reads a table
// of all float16 inputs). The products are rounded one by one (__fmul_rn:
// no fused multiply-add), as on the CPU. Rounding costs nothing here and
// keeps GPT-2's greedy tokens the CPU's; unrounded, logits of a
// random-weight GPT-2 move by up to 0.1.
#pragma once
#include "common.cuh"

static __device__ __forceinline__ float gelu_rounded(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    const float h = f16_round(x);
    const float inner = __fmul_rn(__fmul_rn(0.7978845608028654f, h),                        // sqrt(2/pi) h
                                  __fadd_rn(1.0f, __fmul_rn(__fmul_rn(0.044715f, h), h)));  // 1 + a h^2
    return f16_round(__fmul_rn(__fmul_rn(0.5f, h), __fadd_rn(1.0f, tanhf(inner))));
}
