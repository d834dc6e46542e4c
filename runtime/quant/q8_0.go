package quant

import "math"

// Q8_0 block: 32 values in 34 bytes.
//
//	offset 0  f16    d       scale
//	offset 2  [32]i8 qs      quants
//
// Element value: q * d. Q8_0 is both a weight format and the activation
// (vec-dot) format for Q4_0, Q5_0 and Q8_0 weights.
const (
	q8_0Block = 32
	q8_0Bytes = 34
)

func dequantQ8_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/q8_0Block; i++ {
		b := src[i*q8_0Bytes : (i+1)*q8_0Bytes]
		d := half(b, 0)
		qs := (*[32]byte)(b[2:34])
		y := (*[32]float32)(dst[i*32:])
		for j, q := range qs {
			y[j] = float32(int8(q)) * d
		}
	}
}

// quantizeQ8_0 is quantize_row_q8_0_ref: d = amax/127, q = roundf(x * (1/d))
// (halfway cases away from zero).
func quantizeQ8_0(x []float32, dst []byte) {
	for i := 0; i < len(x)/q8_0Block; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := dst[i*q8_0Bytes : (i+1)*q8_0Bytes]
		var amax float32
		for _, v := range xb {
			if a := abs32(v); a > amax { // C's MAX(amax, fabsf(v)) for non-NaN input
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(b, 0, d)
		qs := (*[32]byte)(b[2:34])
		for j, v := range xb {
			qs[j] = byte(roundHalfAway(float32(v * id)))
		}
	}
}

// roundHalfAway is C's roundf for |v| <= 127 as an int8: adding ±0.5 in
// float64 is exact for a float32 of that size, and the conversion truncates
// toward zero.
func roundHalfAway(v float32) int8 {
	return int8(float64(v) + math.Copysign(0.5, float64(v)))
}

// quantizeQ8_0Act is the activation quantizer of ggml's x86 CPU backend
// (quantize_row_q8_0 in ggml-cpu/arch/x86/quants.c, the from_float that
// ggml_compute_forward_mul_mat applies to src1), which differs from the
// reference quantizer above: the multiplier is id = 127/amax (not
// 1/(amax/127)), and x*id is rounded half to even (_mm256_round_ps), not
// half away from zero. The two disagree by one step on a few elements per
// thousand, enough to change llama.cpp's greedy tokens downstream.
func quantizeQ8_0Act(x []float32, dst []byte) {
	for i := 0; i < len(x)/q8_0Block; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := dst[i*q8_0Bytes : (i+1)*q8_0Bytes]
		amax := blockAbsMax(xb)
		putHalf(b, 0, amax/127)
		id := actMultiplier(amax)
		qs := (*[32]byte)(b[2:34])
		for j, v := range xb {
			qs[j] = byte(roundHalfEven(v * id))
		}
	}
}

// blockAbsMax is max|x| over a block (for non-NaN input the lane order of
// ggml's _mm256_max_ps reduction does not matter).
func blockAbsMax(xb *[32]float32) float32 {
	var amax float32
	for _, v := range xb {
		amax = max(amax, abs32(v))
	}
	return amax
}

// actMultiplier is the x86 quantizers' id = 127/amax (0 for an all-zero block).
func actMultiplier(amax float32) float32 {
	if amax == 0 {
		return 0
	}
	return 127 / amax
}

// roundHalfEven rounds v (|v| <= 127.5 or so) to the nearest integer, ties
// to even, and saturates to int8 as _mm256_packs_epi16 does.
func roundHalfEven(v float32) int8 {
	r := math.RoundToEven(float64(v))
	return int8(max(-128, min(127, r)))
}

// dotQ8_0Q8_0Generic mirrors ggml_vec_dot_q8_0_q8_0's AVX2 code path exactly:
// one accumulator of eight float32 lanes, lane l holding Σ of the integer
// products of elements 4l..4l+3 (an exact int32, VPMADDUBSW + VPMADDWD),
// folded in per block with one fused multiply-add by the scale product
// dw*da (rounded to float32 first), and hsum_float_8 at the end.
func dotQ8_0Q8_0Generic(w, a []byte, n int) float32 {
	nb := n / q8_0Block
	w, a = w[:nb*q8_0Bytes], a[:nb*q8_0Bytes]
	var acc [8]float32
	for i := 0; i < nb; i++ {
		bw := w[i*q8_0Bytes : (i+1)*q8_0Bytes]
		ba := a[i*q8_0Bytes : (i+1)*q8_0Bytes]
		qw := (*[32]byte)(bw[2:34])
		qa := (*[32]byte)(ba[2:34])
		d := half(bw, 0) * half(ba, 0)
		for l := range acc {
			var sumi int32
			for j := 4 * l; j < 4*l+4; j++ {
				sumi += int32(int8(qw[j])) * int32(int8(qa[j]))
			}
			acc[l] = FMA32(d, float32(sumi), acc[l])
		}
	}
	return hsum8(&acc)
}
