// topk.cu — the k largest of x[0:n] (larger value first in rank; among equal
// values the smaller index), in no particular order: ids[0:k] and vals[0:k].
// For sampling with top-k: 2k values cross the bus per token instead of the
// logits, and the host sorts and samples the k candidates.
//
// Shapes: x [n] f32, ids [k] int32, vals [k] f32; 1 <= k <= n.
// Launch: grid = 1, block = 1024 threads (any multiple of 32 works).
//
// Radix select on order-preserving keys: four passes of 8 bits from the top
// find the key of the k-th largest element (a shared 256-bin histogram of
// the elements that match the prefix found so far). Every element with a
// larger key is taken; of the elements equal to it, those with the smallest
// indices, found by a block-wide scan in index order. NaNs rank above +Inf
// (their keys are the largest); logits have none.
#include "common.cuh"

// topk_key maps a float to a uint32 whose unsigned order is the float order.
static __device__ __forceinline__ unsigned topk_key(float f) {
    const unsigned u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

extern "C" __global__ void topk_f32(const float* x, int n, int k, int* ids, float* vals) {
    __shared__ unsigned hist[256];
    __shared__ unsigned s_prefix, s_mask, s_need;  // s_need: still to take at the prefix
    __shared__ int s_out, s_taken;
    __shared__ int warp_sums[32];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nwarps = blockDim.x >> 5;
    if (tid == 0) {
        s_prefix = 0;
        s_mask = 0;
        s_need = (unsigned)k;
        s_out = 0;
        s_taken = 0;
    }
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int i = tid; i < 256; i += blockDim.x) hist[i] = 0;
        __syncthreads();
        const unsigned prefix = s_prefix, mask = s_mask;
        for (int i = tid; i < n; i += blockDim.x) {
            const unsigned u = topk_key(x[i]);
            if ((u & mask) == prefix) atomicAdd(&hist[(u >> shift) & 255u], 1u);
        }
        __syncthreads();
        if (tid == 0) {
            // From the top bin down: the bin holding the need-th largest.
            unsigned need = s_need, above = 0;
            int b = 255;
            for (; b > 0; b--) {
                if (above + hist[b] >= need) break;
                above += hist[b];
            }
            s_need = need - above;
            s_prefix = prefix | ((unsigned)b << shift);
            s_mask = mask | (255u << shift);
        }
        __syncthreads();
    }
    const unsigned kth = s_prefix;  // the key of the k-th largest
    const int need = (int)s_need;   // how many elements equal to it are taken
    // Every larger key (there are k - need of them), in any order.
    for (int i = tid; i < n; i += blockDim.x) {
        const float v = x[i];
        if (topk_key(v) > kth) {
            const int o = atomicAdd(&s_out, 1);
            ids[o] = i;
            vals[o] = v;
        }
    }
    __syncthreads();
    // The need smallest indices whose key equals kth, scanning in index order.
    const int base_out = s_out;
    for (int start = 0; start < n; start += blockDim.x) {
        if (s_taken >= need) break;  // uniform: read after the barrier below
        const int i = start + tid;
        const bool eq = i < n && topk_key(x[i]) == kth;
        const unsigned ballot = __ballot_sync(FULL_MASK, eq);
        if (lane == 0) warp_sums[warp] = __popc(ballot);
        __syncthreads();
        int before = 0, total = 0;
        for (int w = 0; w < nwarps; w++) {
            if (w < warp) before += warp_sums[w];
            total += warp_sums[w];
        }
        const int rank = s_taken + before + __popc(ballot & ((1u << lane) - 1u));
        if (eq && rank < need) {
            ids[base_out + rank] = i;
            vals[base_out + rank] = x[i];
        }
        __syncthreads();
        if (tid == 0) s_taken += total;
        __syncthreads();
    }
}
