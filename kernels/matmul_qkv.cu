// matmul_qkv.cu — the attention projections of a decode step in one launch:
// q[T, Rq] = x · Wqᵀ, k[T, Rkv] = x · Wkᵀ, v[T, Rkv] = x · Wvᵀ for three
// weights of the same format and K (for block formats, optionally of the
// normalised x: the attention norm folded in, an RMSNorm or with
// MV_LAYERNORM in flags a LayerNorm with bias nb). It equals three matmul_<type> launches
// (each row's dot product is computed the same way) with x quantized once
// per block instead of three times, and one graph node instead of three.
// Biases bq [Rq], bk and bv [Rkv] (null: none) are added to their products.
//
//   matmul_qkv_<type>  matrix-vector only. grid = (ceil((Rq + 2 Rkv) / (warps*rpw)), T),
//                      block = any multiple of 32, shared MV_SHARED(K) bytes for
//                      the block formats; vec as matmul_<type>.
//
// Shapes: x [T, K] f32; q [T, Rq], k and v [T, Rkv] f32; weight regions
// q0..q3, k0..k3, v0..v3 (quant.cuh). Prefill (many tokens) uses the GEMMs of
// matmul.cu once per weight: there the launches are few and large.
#include "mm.cuh"

extern "C" __global__ void matmul_qkv_f32(float* dq, float* dk, float* dv, const float* x,
        const uint8_t* q0, const uint8_t* q1, const uint8_t* q2, const uint8_t* q3,
        const uint8_t* k0, const uint8_t* k1, const uint8_t* k2, const uint8_t* k3,
        const uint8_t* v0, const uint8_t* v1, const uint8_t* v2, const uint8_t* v3,
        int Rq, int Rkv, int K, int rpw, int vec, const float* nw, const float* nb, float eps, int flags,
        const float* bq, const float* bk, const float* bv, int xrows, int xtile) {
    matvec_qkv<W_F32>(dq, dk, dv, x, WeightPtrs{q0, q1, q2, q3}, WeightPtrs{k0, k1, k2, k3}, WeightPtrs{v0, v1, v2, v3},
                    Rq, Rkv, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bq, bk, bv, xrows, xtile);
}

extern "C" __global__ void matmul_qkv_f16(float* dq, float* dk, float* dv, const float* x,
        const uint8_t* q0, const uint8_t* q1, const uint8_t* q2, const uint8_t* q3,
        const uint8_t* k0, const uint8_t* k1, const uint8_t* k2, const uint8_t* k3,
        const uint8_t* v0, const uint8_t* v1, const uint8_t* v2, const uint8_t* v3,
        int Rq, int Rkv, int K, int rpw, int vec, const float* nw, const float* nb, float eps, int flags,
        const float* bq, const float* bk, const float* bv, int xrows, int xtile) {
    matvec_qkv<W_F16>(dq, dk, dv, x, WeightPtrs{q0, q1, q2, q3}, WeightPtrs{k0, k1, k2, k3}, WeightPtrs{v0, v1, v2, v3},
                    Rq, Rkv, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bq, bk, bv, xrows, xtile);
}

extern "C" __global__ void matmul_qkv_q4_0(float* dq, float* dk, float* dv, const float* x,
        const uint8_t* q0, const uint8_t* q1, const uint8_t* q2, const uint8_t* q3,
        const uint8_t* k0, const uint8_t* k1, const uint8_t* k2, const uint8_t* k3,
        const uint8_t* v0, const uint8_t* v1, const uint8_t* v2, const uint8_t* v3,
        int Rq, int Rkv, int K, int rpw, int vec, const float* nw, const float* nb, float eps, int flags,
        const float* bq, const float* bk, const float* bv, int xrows, int xtile) {
    matvec_qkv<W_Q4_0>(dq, dk, dv, x, WeightPtrs{q0, q1, q2, q3}, WeightPtrs{k0, k1, k2, k3}, WeightPtrs{v0, v1, v2, v3},
                    Rq, Rkv, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bq, bk, bv, xrows, xtile);
}

extern "C" __global__ void matmul_qkv_q4_1(float* dq, float* dk, float* dv, const float* x,
        const uint8_t* q0, const uint8_t* q1, const uint8_t* q2, const uint8_t* q3,
        const uint8_t* k0, const uint8_t* k1, const uint8_t* k2, const uint8_t* k3,
        const uint8_t* v0, const uint8_t* v1, const uint8_t* v2, const uint8_t* v3,
        int Rq, int Rkv, int K, int rpw, int vec, const float* nw, const float* nb, float eps, int flags,
        const float* bq, const float* bk, const float* bv, int xrows, int xtile) {
    matvec_qkv<W_Q4_1>(dq, dk, dv, x, WeightPtrs{q0, q1, q2, q3}, WeightPtrs{k0, k1, k2, k3}, WeightPtrs{v0, v1, v2, v3},
                    Rq, Rkv, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bq, bk, bv, xrows, xtile);
}

extern "C" __global__ void matmul_qkv_q8_0(float* dq, float* dk, float* dv, const float* x,
        const uint8_t* q0, const uint8_t* q1, const uint8_t* q2, const uint8_t* q3,
        const uint8_t* k0, const uint8_t* k1, const uint8_t* k2, const uint8_t* k3,
        const uint8_t* v0, const uint8_t* v1, const uint8_t* v2, const uint8_t* v3,
        int Rq, int Rkv, int K, int rpw, int vec, const float* nw, const float* nb, float eps, int flags,
        const float* bq, const float* bk, const float* bv, int xrows, int xtile) {
    matvec_qkv<W_Q8_0>(dq, dk, dv, x, WeightPtrs{q0, q1, q2, q3}, WeightPtrs{k0, k1, k2, k3}, WeightPtrs{v0, v1, v2, v3},
                    Rq, Rkv, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bq, bk, bv, xrows, xtile);
}

extern "C" __global__ void matmul_qkv_q4_k(float* dq, float* dk, float* dv, const float* x,
        const uint8_t* q0, const uint8_t* q1, const uint8_t* q2, const uint8_t* q3,
        const uint8_t* k0, const uint8_t* k1, const uint8_t* k2, const uint8_t* k3,
        const uint8_t* v0, const uint8_t* v1, const uint8_t* v2, const uint8_t* v3,
        int Rq, int Rkv, int K, int rpw, int vec, const float* nw, const float* nb, float eps, int flags,
        const float* bq, const float* bk, const float* bv, int xrows, int xtile) {
    matvec_qkv<W_Q4_K>(dq, dk, dv, x, WeightPtrs{q0, q1, q2, q3}, WeightPtrs{k0, k1, k2, k3}, WeightPtrs{v0, v1, v2, v3},
                    Rq, Rkv, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bq, bk, bv, xrows, xtile);
}

extern "C" __global__ void matmul_qkv_q6_k(float* dq, float* dk, float* dv, const float* x,
        const uint8_t* q0, const uint8_t* q1, const uint8_t* q2, const uint8_t* q3,
        const uint8_t* k0, const uint8_t* k1, const uint8_t* k2, const uint8_t* k3,
        const uint8_t* v0, const uint8_t* v1, const uint8_t* v2, const uint8_t* v3,
        int Rq, int Rkv, int K, int rpw, int vec, const float* nw, const float* nb, float eps, int flags,
        const float* bq, const float* bk, const float* bv, int xrows, int xtile) {
    matvec_qkv<W_Q6_K>(dq, dk, dv, x, WeightPtrs{q0, q1, q2, q3}, WeightPtrs{k0, k1, k2, k3}, WeightPtrs{v0, v1, v2, v3},
                    Rq, Rkv, K, rpw, vec, XNorm{nw, nb, eps, flags & MV_LAYERNORM}, bq, bk, bv, xrows, xtile);
}
