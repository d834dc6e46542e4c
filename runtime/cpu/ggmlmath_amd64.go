package cpu

import "gpurun/runtime/quant"

// useAsm selects the AVX2 + FMA kernels of ggmlmath_amd64.s; it follows the
// quant package's choice (CPU features and GPURUN_QUANT_NOASM), so one
// switch compares whole-model runs against the portable code.
var useAsm = quant.Implementation() == "avx2"

// useZMM selects the kernels on 512-bit registers (scores4ZMM). They need
// AVX-512F with the ZMM state enabled by the OS, which the quant package's
// VNNI kernels check; they follow that choice (GPURUN_QUANT_NOVNNI too).
var useZMM = useAsm && quant.MatMulImplementation() == "avx512vnni"

// vecDotF32AVX2 is ggml_vec_dot_f32's AVX2 main loop and reduction over n
// elements (n a positive multiple of 32).
//
//go:noescape
func vecDotF32AVX2(x, y *float32, n int) float32

// axpyFMAAVX2: y[i] = fma(a, x[i], y[i]) for n elements (n a positive
// multiple of 8).
//
//go:noescape
func axpyFMAAVX2(a float32, x, y *float32, n int)

// expSumAVX2 replaces x[i] by expf(x[i] - mx) (n a positive multiple of 8)
// and returns the float64 sum of the float32 sums of each group of eight, as
// ggml_vec_soft_max_f32 does.
//
//go:noescape
func expSumAVX2(x *float32, n int, mx float32) float64

// maxAVX2 is the largest of x[:n] (n a positive multiple of 8).
//
//go:noescape
func maxAVX2(x *float32, n int) float32

// scaleAVX2: x[i] *= s for i < n (n a positive multiple of 8).
//
//go:noescape
func scaleAVX2(x *float32, n int, s float32)

// swigluAVX2: dst[i] = silu(gate[i]) * up[i] (n a positive multiple of 8).
//
//go:noescape
func swigluAVX2(dst, gate, up *float32, n int)

// scoresF32AVX2: s[j] = vecDotF32(k[j*kstride:][:d], q) * scale for j < n
// (d a positive multiple of 32, n >= 1).
//
//go:noescape
func scoresF32AVX2(k *float32, kstride int, q *float32, d, n int, scale float32, s *float32)

// axpySlotsAVX2: acc[(j%slots)*d:][:d] = Σ_j p[j]*v[j*vstride:][:d], one
// FMA per term in order of j, from zero (d a positive multiple of 32,
// n >= 1; all slots*d elements of acc are written).
//
//go:noescape
func axpySlotsAVX2(p, v *float32, vstride, d, n int, acc *float32, slots int)

// foldVecDotAVX2 is foldVecDot for 32 lane rows of d elements (d a
// positive multiple of 8).
//
//go:noescape
func foldVecDotAVX2(out, acc *float32, d int)

// foldTinyAVX2 is foldTiny for 8 lane rows of d elements (d a positive
// multiple of 8).
//
//go:noescape
func foldTinyAVX2(out, acc *float32, d int)

// geluTableAVX2 is geluTask's loop over n elements (n a positive multiple
// of 8) with tab the 1<<16 entries of the GELU table.
//
//go:noescape
func geluTableAVX2(dst, x *float32, n int, tab *float32)

// scores4ZMM is scoresF32AVX2 for four query rows (q + i*qstride) at once
// into four score rows (s + i*sstride), i < 4 (d a positive multiple of 32,
// n >= 1).
//
//go:noescape
func scores4ZMM(k *float32, kstride int, q *float32, qstride, d, n int, scale float32, s *float32, sstride int)

// addAVX2: dst[i] = x[i] + y[i] for i < n (n a positive multiple of 8).
//
//go:noescape
func addAVX2(dst, x, y *float32, n int)

// axpy4ZMM is axpySlotsAVX2 for four probability rows (p + i*pstride) at
// once into four accumulator blocks (acc + i*accstride), i < 4, for the
// slots s0 <= slot < s1 of slots (d a positive multiple of 64, n >= 1; a
// row's probabilities up to n past its own positions must be 0).
//
//go:noescape
func axpy4ZMM(p *float32, pstride int, v *float32, vstride, d, n int, acc *float32, accstride, slots, s0, s1 int)

// widenRowsF16 widens n rows of d f16 values, sstride elements apart in
// src, into n consecutive rows of d float32 at dst (d a positive multiple
// of 8, n >= 1).
//
//go:noescape
func widenRowsF16(dst *float32, src *uint16, sstride, d, n int)
