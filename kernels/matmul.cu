// matmul.cu — dst[T, R] = x[T, K] · Wᵀ for a weight W[R, K] in any format
// (quant.cuh), dequantized on the fly; see mm.cuh for the three paths.
//
//   matmul_<type>     matrix-vector, decode. grid = (ceil(R / (warps*rpw)), T),
//                     block = any multiple of 32 (8 warps by default), each
//                     warp rpw rows; dynamic shared memory MV_SHARED(K) bytes
//                     for the block formats (int8 x + per-group scale, sum).
//                     Block formats may fold in the norm before (nw, eps: an
//                     RMSNorm, or with MV_LAYERNORM a LayerNorm with bias nb);
//                     every format a bias (bias: null or [R]), GELU (MV_GELU)
//                     and the residual add (MV_ACC: dst +=) after; see matvec.
//   matmul_<type>_v2  tiled SIMT GEMM, prefill, the portable twin of v3.
//                     grid = (ceil(R / 64), ceil(T / 64)), block = 256; K % 32 == 0.
//   matmul_<type>_v3  tensor cores (WMMA f16 x f16 -> f32), prefill.
//                     grid = (ceil(R / 64), ceil(T / 64)), block = 128; K % 32 == 0.
//                     Not for F32 weights (whose results must stay f32-exact).
//
// Shapes: x [T, K] f32, dst [T, R] f32, W regions w0..w3 (quant.cuh).
// vec (matrix-vector, F32/F16 only): K % 8 == 0 and x 16-byte aligned.
#include "mm.cuh"

extern "C" __global__ void matmul_f32(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int rpw, int vec, const float* nw, const float* nb, float eps, const float* bias, int flags,
        int xrows, int xtile) {
    matvec<W_F32, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bias, flags, xrows, xtile);
}

extern "C" __global__ void matmul_f16(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int rpw, int vec, const float* nw, const float* nb, float eps, const float* bias, int flags,
        int xrows, int xtile) {
    matvec<W_F16, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bias, flags, xrows, xtile);
}

extern "C" __global__ void matmul_q4_0(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int rpw, int vec, const float* nw, const float* nb, float eps, const float* bias, int flags,
        int xrows, int xtile) {
    matvec<W_Q4_0, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bias, flags, xrows, xtile);
}

extern "C" __global__ void matmul_q4_1(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int rpw, int vec, const float* nw, const float* nb, float eps, const float* bias, int flags,
        int xrows, int xtile) {
    matvec<W_Q4_1, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bias, flags, xrows, xtile);
}

extern "C" __global__ void matmul_q8_0(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int rpw, int vec, const float* nw, const float* nb, float eps, const float* bias, int flags,
        int xrows, int xtile) {
    matvec<W_Q8_0, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bias, flags, xrows, xtile);
}

extern "C" __global__ void matmul_q4_k(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int rpw, int vec, const float* nw, const float* nb, float eps, const float* bias, int flags,
        int xrows, int xtile) {
    matvec<W_Q4_K, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bias, flags, xrows, xtile);
}

extern "C" __global__ void matmul_q6_k(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int rpw, int vec, const float* nw, const float* nb, float eps, const float* bias, int flags,
        int xrows, int xtile) {
    matvec<W_Q6_K, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bias, flags, xrows, xtile);
}

extern "C" __global__ void matmul_f32_v2(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_simt<W_F32, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_f16_v2(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_simt<W_F16, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q4_0_v2(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_simt<W_Q4_0, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q4_1_v2(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_simt<W_Q4_1, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q8_0_v2(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_simt<W_Q8_0, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q4_k_v2(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_simt<W_Q4_K, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q6_k_v2(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_simt<W_Q6_K, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_f16_v3(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_wmma<W_F16, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q4_0_v3(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_wmma<W_Q4_0, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q4_1_v3(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_wmma<W_Q4_1, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q8_0_v3(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_wmma<W_Q8_0, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q4_k_v3(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_wmma<W_Q4_K, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}

extern "C" __global__ void matmul_q6_k_v3(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
        int R, int K, int T) {
    gemm_wmma<W_Q6_K, false>(dst, x, WeightPtrs{w0, w1, w2, w3}, WeightPtrs{w0, w1, w2, w3}, R, K, T);
}
