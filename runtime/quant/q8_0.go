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

// dotQ8_0Q8_0Generic: per block sumi = Σ qw*qa, then sumi * (dw*da).
func dotQ8_0Q8_0Generic(w, a []byte, n int) float32 {
	nb := n / q8_0Block
	w, a = w[:nb*q8_0Bytes], a[:nb*q8_0Bytes]
	var sum float64
	for i := 0; i < nb; i++ {
		bw := w[i*q8_0Bytes : (i+1)*q8_0Bytes]
		ba := a[i*q8_0Bytes : (i+1)*q8_0Bytes]
		qw := (*[32]byte)(bw[2:34])
		qa := (*[32]byte)(ba[2:34])
		var sumi int32
		for j, q := range qw {
			sumi += int32(int8(q)) * int32(int8(qa[j]))
		}
		sum += float64(float32(sumi) * float32(half(bw, 0)*half(ba, 0)))
	}
	return float32(sum)
}
