// embed.cu — token embedding: gather rows of the table and dequantize them.
//
//   dst[t, :] = table[ids[t], :]   (ids = null: the single id id0, T = 1)
// The backend passes ids in device memory even for one token, so that a CUDA
// graph replays the next decode step unchanged; id0 serves direct callers.
//
// Shapes: table [vocab, cols] in any weight format (quant.cuh: regions
// w0..w3), dst [T, cols] f32, ids [T] int32; cols % 8 == 0.
// Launch: grid = T (one block per token); block = any multiple of 32; each
// thread dequantizes groups of 8 elements.
#include "quant.cuh"

template <int T>
static __device__ __forceinline__ void embed_row(float* dst, const WeightPtrs& w, const int* ids, int id0, int cols) {
    constexpr int QK = WTraits<T>::QK;
    const int t = blockIdx.x;
    const int id = ids ? ids[t] : id0;
    const int groups = cols / 8;
    float* out = dst + (size_t)t * cols;
    for (int g = threadIdx.x; g < groups; g += blockDim.x) {
        size_t b;
        int gg;
        if constexpr (QK == 1) {
            b = (size_t)id * cols;
            gg = g;
        } else {
            b = (size_t)id * (cols / QK) + g / (QK / 8);
            gg = g % (QK / 8);
        }
        float y[8];
        dequant8<T>(w, b, gg, y);
#pragma unroll
        for (int i = 0; i < 8; i++) out[8 * g + i] = y[i];
    }
}

extern "C" __global__ void embed_f32(float* dst, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
                                      const uint8_t* w3, const int* ids, int id0, int cols) {
    embed_row<W_F32>(dst, WeightPtrs{w0, w1, w2, w3}, ids, id0, cols);
}

extern "C" __global__ void embed_f16(float* dst, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
                                      const uint8_t* w3, const int* ids, int id0, int cols) {
    embed_row<W_F16>(dst, WeightPtrs{w0, w1, w2, w3}, ids, id0, cols);
}

extern "C" __global__ void embed_q4_0(float* dst, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
                                      const uint8_t* w3, const int* ids, int id0, int cols) {
    embed_row<W_Q4_0>(dst, WeightPtrs{w0, w1, w2, w3}, ids, id0, cols);
}

extern "C" __global__ void embed_q4_1(float* dst, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
                                      const uint8_t* w3, const int* ids, int id0, int cols) {
    embed_row<W_Q4_1>(dst, WeightPtrs{w0, w1, w2, w3}, ids, id0, cols);
}

extern "C" __global__ void embed_q8_0(float* dst, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
                                      const uint8_t* w3, const int* ids, int id0, int cols) {
    embed_row<W_Q8_0>(dst, WeightPtrs{w0, w1, w2, w3}, ids, id0, cols);
}

extern "C" __global__ void embed_q4_k(float* dst, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
                                      const uint8_t* w3, const int* ids, int id0, int cols) {
    embed_row<W_Q4_K>(dst, WeightPtrs{w0, w1, w2, w3}, ids, id0, cols);
}

extern "C" __global__ void embed_q6_k(float* dst, const uint8_t* w0, const uint8_t* w1, const uint8_t* w2,
                                      const uint8_t* w3, const int* ids, int id0, int cols) {
    embed_row<W_Q6_K>(dst, WeightPtrs{w0, w1, w2, w3}, ids, id0, cols);
}
