// matmul_id.cu — each row times the expert its id names (mixture of experts):
// dst[r, :R] = x[xr, :K] · W_eᵀ, e = ids[r], xr = perslot ? r : r / k, for
// the rows r of T*k (T tokens, k experts each), with W_e rows [e*R, (e+1)*R)
// of the stacked weight W[E*R, K] (quant.cuh's regions: expert e's blocks
// start s_i bytes into region i, s_i = R * K/QK * the region's field size,
// which the host passes).
//
//   matmul_id_<type>  a decode step (T = 1): grid = (ceil(R / (warps*rpw)), T*k),
//                     block = a multiple of 32; one row of x per block
//                     (matvec_rows with a tile of one: the numbers of
//                     matmul_<type>'s matrix-vector kernel); dynamic shared
//                     memory MV_SHARED(K) for the block formats.
//   moe_group_f32     the rows grouped by expert: off[e] = the first of
//                     expert e's rows in order[], order[] = the row indices,
//                     expert by expert. grid = 1, block = any multiple of 32;
//                     dynamic shared memory (E+1) ints. Within an expert the
//                     order is the atomics' (each row's product does not
//                     depend on it).
//   matmul_id_grouped_<type>  a prompt's rows (T > 1): grid = (ceil(R / (warps*rpw)),
//                     ceil(T*k / tile) + E), block y = one tile of up to tile
//                     rows of one expert (blocks past the last tile return),
//                     so an expert's weight rows are read once per tile, not
//                     once per row; dynamic shared memory tile * MV_SLOT(K).
//
// Shapes: x [T or T*k, K] f32, ids [T*k] f32 (exact integers), dst [T*k, R] f32;
// off [E+1] and order [T*k] int32 (temporary memory).
#include "mm.cuh"

template <int T>
static __device__ __forceinline__ void matvec_id(float* dst, const float* x, const WeightPtrs& w, const float* ids,
                                                 long long s0, long long s1, long long s2, long long s3, int R, int K,
                                                 int rpw, int vec, int k, int perslot) {
    const int r = blockIdx.y;
    const long long e = (long long)ids[r];
    const WeightPtrs we{w.w0 ? w.w0 + e * s0 : nullptr, w.w1 ? w.w1 + e * s1 : nullptr,
                        w.w2 ? w.w2 + e * s2 : nullptr, w.w3 ? w.w3 + e * s3 : nullptr};
    const float* xr = x + (size_t)(perslot ? r : r / k) * K;
    matvec_rows<T, false>(dst + (size_t)r * R, xr, we, we, R, K, rpw, vec, XNorm{nullptr, nullptr, 0.0f, 0}, nullptr, 0,
                          1);
}

extern "C" __global__ void matmul_id_f32(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
        const uint8_t* w3, const float* ids, long long s0, long long s1, long long s2, long long s3, int R, int K, int rpw,
        int vec, int k, int perslot) {
    matvec_id<W_F32>(dst, x, WeightPtrs{w0, w1, w2, w3}, ids, s0, s1, s2, s3, R, K, rpw, vec, k, perslot);
}

extern "C" __global__ void matmul_id_f16(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
        const uint8_t* w3, const float* ids, long long s0, long long s1, long long s2, long long s3, int R, int K, int rpw,
        int vec, int k, int perslot) {
    matvec_id<W_F16>(dst, x, WeightPtrs{w0, w1, w2, w3}, ids, s0, s1, s2, s3, R, K, rpw, vec, k, perslot);
}

extern "C" __global__ void matmul_id_q4_0(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
        const uint8_t* w3, const float* ids, long long s0, long long s1, long long s2, long long s3, int R, int K, int rpw,
        int vec, int k, int perslot) {
    matvec_id<W_Q4_0>(dst, x, WeightPtrs{w0, w1, w2, w3}, ids, s0, s1, s2, s3, R, K, rpw, vec, k, perslot);
}

extern "C" __global__ void matmul_id_q4_1(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
        const uint8_t* w3, const float* ids, long long s0, long long s1, long long s2, long long s3, int R, int K, int rpw,
        int vec, int k, int perslot) {
    matvec_id<W_Q4_1>(dst, x, WeightPtrs{w0, w1, w2, w3}, ids, s0, s1, s2, s3, R, K, rpw, vec, k, perslot);
}

extern "C" __global__ void matmul_id_q8_0(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
        const uint8_t* w3, const float* ids, long long s0, long long s1, long long s2, long long s3, int R, int K, int rpw,
        int vec, int k, int perslot) {
    matvec_id<W_Q8_0>(dst, x, WeightPtrs{w0, w1, w2, w3}, ids, s0, s1, s2, s3, R, K, rpw, vec, k, perslot);
}

extern "C" __global__ void matmul_id_q4_k(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
        const uint8_t* w3, const float* ids, long long s0, long long s1, long long s2, long long s3, int R, int K, int rpw,
        int vec, int k, int perslot) {
    matvec_id<W_Q4_K>(dst, x, WeightPtrs{w0, w1, w2, w3}, ids, s0, s1, s2, s3, R, K, rpw, vec, k, perslot);
}

extern "C" __global__ void matmul_id_q6_k(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
        const uint8_t* w3, const float* ids, long long s0, long long s1, long long s2, long long s3, int R, int K, int rpw,
        int vec, int k, int perslot) {
    matvec_id<W_Q6_K>(dst, x, WeightPtrs{w0, w1, w2, w3}, ids, s0, s1, s2, s3, R, K, rpw, vec, k, perslot);
}

extern "C" __global__ void moe_group_f32(int* off, int* order, const float* ids, int n, int E) {
    EXTERN_SHARED(int, cnt);
    for (int e = threadIdx.x; e <= E; e += blockDim.x) cnt[e] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) atomicAdd(&cnt[(int)ids[i] + 1], 1);
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int e = 0; e < E; e++) cnt[e + 1] += cnt[e];  // cnt[e]: the first of expert e's rows
    }
    __syncthreads();
    for (int e = threadIdx.x; e <= E; e += blockDim.x) off[e] = cnt[e];
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) order[atomicAdd(&cnt[(int)ids[i]], 1)] = i;
}

// RowsGathered: tile row j is row order[j] of the T*k (dst; x: that row, or
// its token's row).
struct RowsGathered {
    const float* x;
    float* d;
    const int* order;
    int K, R, k, perslot;
    __device__ const float* xrow(int j) const { return x + (size_t)(perslot ? order[j] : order[j] / k) * K; }
    __device__ float* drow(int j) const { return d + (size_t)order[j] * R; }
};

template <int T>
static __device__ __forceinline__ void matvec_id_grouped(float* dst, const float* x, const WeightPtrs& w, const int* off,
                                                         const int* order, long long s0, long long s1, long long s2,
                                                         long long s3, int R, int K, int rpw, int vec, int k,
                                                         int perslot, int E, int tile) {
    int b = blockIdx.y, e = 0;
    for (; e < E; e++) {  // find the block's expert and tile (block-uniform)
        const int tiles = (off[e + 1] - off[e] + tile - 1) / tile;
        if (b < tiles) break;
        b -= tiles;
    }
    if (e == E) return;
    const int first = off[e] + b * tile, tn = min(tile, off[e + 1] - first);
    const WeightPtrs we{w.w0 ? w.w0 + e * s0 : nullptr, w.w1 ? w.w1 + e * s1 : nullptr,
                        w.w2 ? w.w2 + e * s2 : nullptr, w.w3 ? w.w3 + e * s3 : nullptr};
    matvec_rows_of<T, false>(RowsGathered{x, dst, order + first, K, R, k, perslot}, we, we, R, K, rpw, vec,
                             XNorm{nullptr, nullptr, 0.0f, 0}, nullptr, 0, tn);
}

extern "C" __global__ void matmul_id_grouped_f32(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1,
        const uint8_t* w2, const uint8_t* w3, const int* off, const int* order, long long s0, long long s1, long long s2,
        long long s3, int R, int K, int rpw, int vec, int k, int perslot, int E, int tile) {
    matvec_id_grouped<W_F32>(dst, x, WeightPtrs{w0, w1, w2, w3}, off, order, s0, s1, s2, s3, R, K, rpw, vec, k, perslot, E,
                          tile);
}

extern "C" __global__ void matmul_id_grouped_f16(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1,
        const uint8_t* w2, const uint8_t* w3, const int* off, const int* order, long long s0, long long s1, long long s2,
        long long s3, int R, int K, int rpw, int vec, int k, int perslot, int E, int tile) {
    matvec_id_grouped<W_F16>(dst, x, WeightPtrs{w0, w1, w2, w3}, off, order, s0, s1, s2, s3, R, K, rpw, vec, k, perslot, E,
                          tile);
}

extern "C" __global__ void matmul_id_grouped_q4_0(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1,
        const uint8_t* w2, const uint8_t* w3, const int* off, const int* order, long long s0, long long s1, long long s2,
        long long s3, int R, int K, int rpw, int vec, int k, int perslot, int E, int tile) {
    matvec_id_grouped<W_Q4_0>(dst, x, WeightPtrs{w0, w1, w2, w3}, off, order, s0, s1, s2, s3, R, K, rpw, vec, k, perslot, E,
                          tile);
}

extern "C" __global__ void matmul_id_grouped_q4_1(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1,
        const uint8_t* w2, const uint8_t* w3, const int* off, const int* order, long long s0, long long s1, long long s2,
        long long s3, int R, int K, int rpw, int vec, int k, int perslot, int E, int tile) {
    matvec_id_grouped<W_Q4_1>(dst, x, WeightPtrs{w0, w1, w2, w3}, off, order, s0, s1, s2, s3, R, K, rpw, vec, k, perslot, E,
                          tile);
}

extern "C" __global__ void matmul_id_grouped_q8_0(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1,
        const uint8_t* w2, const uint8_t* w3, const int* off, const int* order, long long s0, long long s1, long long s2,
        long long s3, int R, int K, int rpw, int vec, int k, int perslot, int E, int tile) {
    matvec_id_grouped<W_Q8_0>(dst, x, WeightPtrs{w0, w1, w2, w3}, off, order, s0, s1, s2, s3, R, K, rpw, vec, k, perslot, E,
                          tile);
}

extern "C" __global__ void matmul_id_grouped_q4_k(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1,
        const uint8_t* w2, const uint8_t* w3, const int* off, const int* order, long long s0, long long s1, long long s2,
        long long s3, int R, int K, int rpw, int vec, int k, int perslot, int E, int tile) {
    matvec_id_grouped<W_Q4_K>(dst, x, WeightPtrs{w0, w1, w2, w3}, off, order, s0, s1, s2, s3, R, K, rpw, vec, k, perslot, E,
                          tile);
}

extern "C" __global__ void matmul_id_grouped_q6_k(float* dst, const float* x, const uint8_t* w0, const uint8_t* w1,
        const uint8_t* w2, const uint8_t* w3, const int* off, const int* order, long long s0, long long s1, long long s2,
        long long s3, int R, int K, int rpw, int vec, int k, int perslot, int E, int tile) {
    matvec_id_grouped<W_Q6_K>(dst, x, WeightPtrs{w0, w1, w2, w3}, off, order, s0, s1, s2, s3, R, K, rpw, vec, k, perslot, E,
                          tile);
}
