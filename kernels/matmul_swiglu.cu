// matmul_swiglu.cu — the gated feed-forward's first half, fused:
// dst[T, R] = silu(x · Gᵀ) * (x · Uᵀ) for gate G[R, K] and up U[R, K] of the
// same format. It equals MatMul(g, x, G); MatMul(u, x, U); SwiGLU(dst, g, u)
// without writing g and u; x is quantized once for both (matrix-vector).
//
//   matmul_swiglu_<type>     matrix-vector (grid, block, shared as matmul_<type>;
//                            block formats may fold in the RMSNorm before: nw, eps)
//   matmul_swiglu_<type>_v2  tiled SIMT GEMM, 256 threads, two weight tiles
//   matmul_swiglu_<type>_v3  tensor cores; gate and up accumulators are combined
//                            element-wise in their fragments (same layout)
//
// Shapes: x [T, K] f32, dst [T, R] f32, gate g0..g3 and up u0..u3 regions.
#include "mm.cuh"

extern "C" __global__ void matmul_swiglu_f32(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int rpw, int vec, const float* nw, float eps, int xrows, int xtile) {
    matvec<W_F32, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, rpw, vec, XNorm{nw, nullptr, eps, 0}, nullptr, 0, xrows, xtile);
}

extern "C" __global__ void matmul_swiglu_f16(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int rpw, int vec, const float* nw, float eps, int xrows, int xtile) {
    matvec<W_F16, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, rpw, vec, XNorm{nw, nullptr, eps, 0}, nullptr, 0, xrows, xtile);
}

extern "C" __global__ void matmul_swiglu_q4_0(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int rpw, int vec, const float* nw, float eps, int xrows, int xtile) {
    matvec<W_Q4_0, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, rpw, vec, XNorm{nw, nullptr, eps, 0}, nullptr, 0, xrows, xtile);
}

extern "C" __global__ void matmul_swiglu_q4_1(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int rpw, int vec, const float* nw, float eps, int xrows, int xtile) {
    matvec<W_Q4_1, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, rpw, vec, XNorm{nw, nullptr, eps, 0}, nullptr, 0, xrows, xtile);
}

extern "C" __global__ void matmul_swiglu_q8_0(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int rpw, int vec, const float* nw, float eps, int xrows, int xtile) {
    matvec<W_Q8_0, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, rpw, vec, XNorm{nw, nullptr, eps, 0}, nullptr, 0, xrows, xtile);
}

extern "C" __global__ void matmul_swiglu_q4_k(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int rpw, int vec, const float* nw, float eps, int xrows, int xtile) {
    matvec<W_Q4_K, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, rpw, vec, XNorm{nw, nullptr, eps, 0}, nullptr, 0, xrows, xtile);
}

extern "C" __global__ void matmul_swiglu_q6_k(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int rpw, int vec, const float* nw, float eps, int xrows, int xtile) {
    matvec<W_Q6_K, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, rpw, vec, XNorm{nw, nullptr, eps, 0}, nullptr, 0, xrows, xtile);
}

extern "C" __global__ void matmul_swiglu_f32_v2(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_simt<W_F32, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_f16_v2(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_simt<W_F16, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q4_0_v2(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_simt<W_Q4_0, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q4_1_v2(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_simt<W_Q4_1, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q8_0_v2(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_simt<W_Q8_0, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q4_k_v2(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_simt<W_Q4_K, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q6_k_v2(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_simt<W_Q6_K, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_f16_v3(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_wmma<W_F16, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q4_0_v3(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_wmma<W_Q4_0, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q4_1_v3(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_wmma<W_Q4_1, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q8_0_v3(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_wmma<W_Q8_0, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q4_k_v3(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_wmma<W_Q4_K, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}

extern "C" __global__ void matmul_swiglu_q6_k_v3(float* dst, const float* x, const uint8_t* g0, const uint8_t* g1, const uint8_t* g2, const uint8_t* g3, const uint8_t* u0,
        const uint8_t* u1, const uint8_t* u2, const uint8_t* u3,
        int R, int K, int T) {
    gemm_wmma<W_Q6_K, true>(dst, x, WeightPtrs{g0, g1, g2, g3}, WeightPtrs{u0, u1, u2, u3}, R, K, T);
}
