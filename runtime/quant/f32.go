package quant

import (
	"encoding/binary"
	"math"
)

// F32 is an IEEE 754 binary32 value stored little-endian in 4 bytes.

func dequantF32(src []byte, dst []float32) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func quantizeF32(x []float32, dst []byte) {
	dst = dst[:4*len(x)]
	for i, v := range x {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// dotF32Generic: products rounded to float32, summed in float64 (ggml's
// portable ggml_vec_dot_f32 sums in ggml_float = double as well).
func dotF32Generic(w, a []byte, n int) float32 {
	w, a = w[:4*n], a[:4*n]
	var sum float64
	for i := 0; i < n; i++ {
		x := math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
		y := math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:]))
		sum += float64(float32(x * y))
	}
	return float32(sum)
}

// abs32 is fabsf: it clears the sign bit.
func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
