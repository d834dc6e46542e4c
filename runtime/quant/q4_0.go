package quant

// Q4_0 block: 32 weights in 18 bytes.
//
//	offset 0  f16    d       scale
//	offset 2  [16]u8 qs      4-bit quants q; byte j holds element j in its low
//	                         nibble and element j+16 in its high nibble
//
// Element value: (q - 8) * d.
const (
	q4_0Block = 32
	q4_0Bytes = 18
)

func dequantQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/q4_0Block; i++ {
		b := src[i*q4_0Bytes : (i+1)*q4_0Bytes]
		d := half(b, 0)
		qs := (*[16]byte)(b[2:18])
		y := (*[32]float32)(dst[i*32:])
		for j, q := range qs {
			y[j] = float32(int32(q&0xf)-8) * d
			y[j+16] = float32(int32(q>>4)-8) * d
		}
	}
}

// quantizeQ4_0 is quantize_row_q4_0_ref: d = (value of largest magnitude)/-8,
// q = min(15, trunc(x/d + 8.5)).
func quantizeQ4_0(x []float32, dst []byte) {
	for i := 0; i < len(x)/q4_0Block; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := dst[i*q4_0Bytes : (i+1)*q4_0Bytes]
		var amax, max float32
		for _, v := range xb {
			if a := abs32(v); amax < a {
				amax, max = a, v
			}
		}
		d := max / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(b, 0, d)
		qs := (*[16]byte)(b[2:18])
		for j := range qs {
			x0 := float32(xb[j] * id)
			x1 := float32(xb[j+16] * id)
			qs[j] = min(15, uint8(int8(float32(x0+8.5)))) | min(15, uint8(int8(float32(x1+8.5))))<<4
		}
	}
}

// dotQ4_0Q8_0Generic is the arithmetic of llama.cpp's x86 Q4_0 kernel
// (ggml_gemv_q4_0_8x8_q8_0: llama.cpp repacks Q4_0 weights on every AVX2
// machine): per block the exact integer sumi = Σ (q4-8)*q8, then one
// float32 FMA chain acc = fma(float(sumi), d4*d8, acc).
func dotQ4_0Q8_0Generic(w, a []byte, n int) float32 {
	nb := n / q4_0Block
	w, a = w[:nb*q4_0Bytes], a[:nb*q8_0Bytes]
	var acc float32
	for i := 0; i < nb; i++ {
		bw := w[i*q4_0Bytes : (i+1)*q4_0Bytes]
		ba := a[i*q8_0Bytes : (i+1)*q8_0Bytes]
		qw := (*[16]byte)(bw[2:18])
		qa := (*[32]byte)(ba[2:34])
		var sumi int32
		for j, q := range qw {
			sumi += (int32(q&0xf) - 8) * int32(int8(qa[j]))
			sumi += (int32(q>>4) - 8) * int32(int8(qa[j+16]))
		}
		acc = FMA32(float32(sumi), float32(half(bw, 0)*half(ba, 0)), acc)
	}
	return acc
}
