package quant

import "math"

// Q4_1 block: 32 weights in 20 bytes.
//
//	offset 0  f16    d       scale
//	offset 2  f16    m       minimum
//	offset 4  [16]u8 qs      4-bit quants q; byte j holds element j in its low
//	                         nibble and element j+16 in its high nibble
//
// Element value: q*d + m.
const (
	q4_1Block = 32
	q4_1Bytes = 20
)

func dequantQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/q4_1Block; i++ {
		b := src[i*q4_1Bytes : (i+1)*q4_1Bytes]
		d, m := half(b, 0), half(b, 2)
		qs := (*[16]byte)(b[4:20])
		y := (*[32]float32)(dst[i*32:])
		for j, q := range qs {
			y[j] = float32(float32(q&0xf)*d) + m
			y[j+16] = float32(float32(q>>4)*d) + m
		}
	}
}

// quantizeQ4_1 is quantize_row_q4_1_ref: d = (max-min)/15, m = min,
// q = min(15, trunc((x-min)/d + 0.5)).
func quantizeQ4_1(x []float32, dst []byte) {
	for i := 0; i < len(x)/q4_1Block; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := dst[i*q4_1Bytes : (i+1)*q4_1Bytes]
		lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
		for _, v := range xb {
			if v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
		}
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(b, 0, d)
		putHalf(b, 2, lo)
		qs := (*[16]byte)(b[4:20])
		for j := range qs {
			x0 := float32((xb[j] - lo) * id)
			x1 := float32((xb[j+16] - lo) * id)
			qs[j] = min(15, uint8(int8(float32(x0+0.5)))) | min(15, uint8(int8(float32(x1+0.5))))<<4
		}
	}
}

// dotQ4_1Q8_1Generic mirrors ggml_vec_dot_q4_1_q8_1's AVX2 code path
// exactly, since llama.cpp's results depend on its rounding:
//
//   - one accumulator of eight float32 lanes; lane l holds the exact int32
//     Σ q4*q8 over elements 4l..4l+3 (lanes 0-3: the low nibbles, elements
//     0-15; lanes 4-7: the high nibbles, elements 16-31), folded in per
//     block with one FMA by dw*da (rounded to float32 first);
//   - the min term summs = Σ mw*sa, a separate float32 running sum that GCC
//     contracts into one FMA per block (vfmadd231ss in libggml-cpu);
//   - the result is hsum_float_8(acc) + summs.
func dotQ4_1Q8_1Generic(w, a []byte, n int) float32 {
	nb := n / q4_1Block
	w, a = w[:nb*q4_1Bytes], a[:nb*q8_1Bytes]
	var acc [8]float32
	var summs float32
	for i := 0; i < nb; i++ {
		bw := w[i*q4_1Bytes : (i+1)*q4_1Bytes]
		ba := a[i*q8_1Bytes : (i+1)*q8_1Bytes]
		qw := (*[16]byte)(bw[4:20])
		qa := (*[32]byte)(ba[4:36])
		summs = FMA32(half(bw, 2), half(ba, 2), summs)
		d := half(bw, 0) * half(ba, 0)
		for l := 0; l < 4; l++ {
			var lo, hi int32
			for j := 4 * l; j < 4*l+4; j++ {
				lo += int32(qw[j]&0xf) * int32(int8(qa[j]))
				hi += int32(qw[j]>>4) * int32(int8(qa[j+16]))
			}
			acc[l] = FMA32(d, float32(lo), acc[l])
			acc[l+4] = FMA32(d, float32(hi), acc[l+4])
		}
	}
	return hsum8(&acc) + summs
}
