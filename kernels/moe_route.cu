// moe_route.cu — each token's experts (mixture of experts): the softmax of
// its router logits, the k largest probabilities (plus bias[e] when bias is
// not null: ERNIE 4.5 chooses by the sum and weighs by the probability;
// largest first; the lower index wins a tie), their ids and weights, the weights divided by their sum
// (clamped below at 6.103515625e-5, as llama.cpp) when norm, then times
// scale when it is neither 0 nor 1.
//
// Shapes: logits [T, E] f32; ids [T, k] f32 (exact integers), wts [T, k] f32.
// Launch: grid = T, one block per token; block = 32 (one warp).
// Dynamic shared memory: E floats (the row's probabilities).
#include "common.cuh"

extern "C" __global__ void moe_route_f32(float* ids, float* wts, const float* logits, const float* bias, int E, int k,
                                         int norm, float scale) {
    EXTERN_SHARED(float, p);
    const int t = blockIdx.x, lane = threadIdx.x;
    const float* row = logits + (size_t)t * E;
    float m = -INFINITY;
    for (int i = lane; i < E; i += 32) {
        p[i] = row[i];
        m = fmaxf(m, p[i]);
    }
    m = warp_max(m);
    float s = 0.0f;
    for (int i = lane; i < E; i += 32) {
        p[i] = expf(p[i] - m);
        s += p[i];
    }
    const float inv = 1.0f / warp_sum(s);
    __syncwarp();
    for (int i = lane; i < E; i += 32) p[i] *= inv;
    __syncwarp();
    float sum = 0.0f;
    for (int j = 0; j < k; j++) {
        float best = -INFINITY;  // a taken expert's p is NaN: never chosen again
        int bi = E;
        for (int i = lane; i < E; i += 32) {
            const float v = bias ? __fadd_rn(p[i], bias[i]) : p[i];
            if (v > best) best = v, bi = i;  // ascending i: the first of equals stays
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float b2 = __shfl_xor_sync(FULL_MASK, best, o);
            const int i2 = __shfl_xor_sync(FULL_MASK, bi, o);
            if (b2 > best || (b2 == best && i2 < bi)) best = b2, bi = i2;
        }
        const float w = p[bi];  // the probability, without the bias
        __syncwarp();
        if (lane == 0) {
            ids[(size_t)t * k + j] = (float)bi;
            wts[(size_t)t * k + j] = w;
            p[bi] = NAN;
        }
        sum += w;
        __syncwarp();
    }
    if (lane == 0) {
        const float d = norm ? fmaxf(sum, 6.103515625e-5f) : 1.0f;
        for (int j = 0; j < k; j++) {
            float w = wts[(size_t)t * k + j];
            if (norm) w /= d;
            if (scale != 0.0f && scale != 1.0f) w *= scale;
            wts[(size_t)t * k + j] = w;
        }
    }
}
