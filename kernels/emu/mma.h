// mma.h for the emulator: nvcuda::wmma for the 16x16x16 half -> float shape.
// Every lane holds the whole fragment (num_elements = 256 rather than the
// GPU's 8): loads and stores are done by each lane in full, mma_sync computes
// the full tile in each lane. Kernels may apply element-wise operations over
// x[0..num_elements) but must not assume which matrix element x[i] is — which
// is exactly the rule on the GPU.
#pragma once
#include "cuda_fp16.h"

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static_assert(M == 16 && N == 16 && K == 16, "emu wmma: only the 16x16x16 shape");
    enum { num_elements = 256 };
    T x[256];  // a: [m][k], b: [k][n], accumulator: [m][n]
};

// The GPU requires 256-bit aligned fragment pointers and ldm a multiple of
// 16 bytes; it faults or computes garbage otherwise, so the emulator checks.
inline void check_ptr(const void* p, unsigned ldm, unsigned elem) {
    if ((uintptr_t)p % 32 != 0) emu::fail("wmma: fragment pointer not 32-byte aligned");
    if ((ldm * elem) % 16 != 0) emu::fail("wmma: ldm is not a multiple of 16 bytes");
}

template <class Use, int M, int N, int K, class T, class L>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, const T& v) {
    for (int i = 0; i < 256; i++) f.x[i] = v;
}
template <class Use, int M, int N, int K, class L>
inline void fill_fragment(fragment<Use, M, N, K, float, L>& f, float v) {
    for (int i = 0; i < 256; i++) f.x[i] = v;
}

template <class L>
inline void load_matrix_sync(fragment<matrix_a, 16, 16, 16, __half, L>& f, const __half* p, unsigned ldm) {
    check_ptr(p, ldm, 2);
    for (int m = 0; m < 16; m++)
        for (int k = 0; k < 16; k++)
            f.x[m * 16 + k] = std::is_same_v<L, row_major> ? p[m * ldm + k] : p[k * ldm + m];
}
template <class L>
inline void load_matrix_sync(fragment<matrix_b, 16, 16, 16, __half, L>& f, const __half* p, unsigned ldm) {
    check_ptr(p, ldm, 2);
    for (int k = 0; k < 16; k++)
        for (int n = 0; n < 16; n++)
            f.x[k * 16 + n] = std::is_same_v<L, row_major> ? p[k * ldm + n] : p[n * ldm + k];
}
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float>& f, const float* p, unsigned ldm, layout_t l) {
    check_ptr(p, ldm, 4);
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) f.x[m * 16 + n] = l == mem_row_major ? p[m * ldm + n] : p[n * ldm + m];
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& f, unsigned ldm, layout_t l) {
    check_ptr(p, ldm, 4);
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            if (l == mem_row_major) p[m * ldm + n] = f.x[m * 16 + n];
            else p[n * ldm + m] = f.x[m * 16 + n];
        }
}
template <class LA, class LB>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float>& d, const fragment<matrix_a, 16, 16, 16, __half, LA>& a,
                     const fragment<matrix_b, 16, 16, 16, __half, LB>& b, const fragment<accumulator, 16, 16, 16, float>& c) {
    float r[256];
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            float s = c.x[m * 16 + n];
            for (int k = 0; k < 16; k++) s += __half2float(a.x[m * 16 + k]) * __half2float(b.x[k * 16 + n]);
            r[m * 16 + n] = s;
        }
    for (int i = 0; i < 256; i++) d.x[i] = r[i];
}

}  // namespace wmma
}  // namespace nvcuda
