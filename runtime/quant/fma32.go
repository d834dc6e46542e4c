package quant

import "math"

// FMA32 returns a*b + c rounded once to float32: the single-precision fused
// multiply-add (C's fmaf, the VFMADD*PS/SS instructions).
//
// ggml's AVX2 kernels accumulate with FMA, and GCC contracts many of
// llama.cpp's scalar a*b + c expressions into FMA too. The portable kernels
// that mirror them must round the same way, bit for bit, because a one-ulp
// difference in an activation can flip a later Q8 quantization step (see
// QuantizeActivation) and from there change whole tokens. Go has no float32
// FMA (and never fuses float32 x*y + z on its own), so this emulates one:
//
//   - a*b is exact in float64 (24 + 24 significant bits fit in 53);
//   - the float64 sum s = a*b + c is rounded to odd when inexact (if its last
//     bit is even, step one ulp toward the exact value, whose side TwoSum's
//     error term gives). Rounding a round-to-odd value with at least
//     2 + 24 bits to float32 then gives the correctly rounded result, with no
//     double-rounding error (Boldo and Melquiond, "Emulation of FMA and
//     correctly rounded sums: proved algorithms using rounding to odd", 2008).
func FMA32(a, b, c float32) float32 {
	p := float64(a) * float64(b) // exact
	s := p + float64(c)
	// Fast path: unless s is exactly halfway between two float32 (a tie the
	// float64 rounding may have created) or below the float32 normal range,
	// no float32 rounding boundary lies between s and the exact value, so
	// float32(s) is the correctly rounded result.
	if bits := math.Float64bits(s); bits&(1<<29-1) != 1<<28 && bits<<1 >= (1023-126)<<53 {
		return float32(s)
	}
	return fma32RoundOdd(p, float64(c), s)
}

// fma32RoundOdd finishes FMA32 for s = p + c (float64) by rounding to odd.
func fma32RoundOdd(p, c, s float64) float32 {
	if bits := math.Float64bits(s); bits&1 == 0 {
		// TwoSum: e is the exact rounding error of p + c.
		bb := s - p
		e := (p - (s - bb)) + (c - bb)
		if e != 0 && !math.IsInf(s, 0) {
			if (e > 0) == (s > 0) {
				bits++ // the exact value lies further from zero than s
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}

// hsum8 adds eight float32 lanes in the order of ggml's hsum_float_8 (and
// llamafile's hsum on __m256, and the tail of ggml_vec_soft_max_f32): the
// high 128-bit half onto the low one, then lanes 2,3 onto 0,1, then lane 1
// onto lane 0:
//
//	((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7))
func hsum8(l *[8]float32) float32 {
	t0, t1, t2, t3 := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7]
	return (t0 + t2) + (t1 + t3)
}
