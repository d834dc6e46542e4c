package quant

import "encoding/binary"

// Q5_0 block: 32 weights in 22 bytes.
//
//	offset 0  f16    d       scale
//	offset 2  u32    qh      bit j = 5th bit of element j (little-endian)
//	offset 6  [16]u8 qs      low 4 bits; byte j holds element j in its low
//	                         nibble and element j+16 in its high nibble
//
// Element value: (q - 16) * d, q in [0, 31].
const (
	q5_0Block = 32
	q5_0Bytes = 22
)

func dequantQ5_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/q5_0Block; i++ {
		b := src[i*q5_0Bytes : (i+1)*q5_0Bytes]
		d := half(b, 0)
		qh := binary.LittleEndian.Uint32(b[2:])
		qs := (*[16]byte)(b[6:22])
		y := (*[32]float32)(dst[i*32:])
		for j, q := range qs {
			h0 := int32(qh>>j) & 1 << 4
			h1 := int32(qh>>(j+16)) & 1 << 4
			y[j] = float32((int32(q&0xf)|h0)-16) * d
			y[j+16] = float32((int32(q>>4)|h1)-16) * d
		}
	}
}

// quantizeQ5_0 is quantize_row_q5_0_ref: d = (value of largest
// magnitude)/-16, q = min(31, trunc(x/d + 16.5)).
func quantizeQ5_0(x []float32, dst []byte) {
	for i := 0; i < len(x)/q5_0Block; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := dst[i*q5_0Bytes : (i+1)*q5_0Bytes]
		var amax, max float32
		for _, v := range xb {
			if a := abs32(v); amax < a {
				amax, max = a, v
			}
		}
		d := max / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(b, 0, d)
		var qh uint32
		qs := (*[16]byte)(b[6:22])
		for j := range qs {
			x0 := float32(xb[j] * id)
			x1 := float32(xb[j+16] * id)
			q0 := min(31, uint8(int8(float32(x0+16.5))))
			q1 := min(31, uint8(int8(float32(x1+16.5))))
			qs[j] = q0&0xf | (q1&0xf)<<4
			qh |= uint32(q0>>4) << j
			qh |= uint32(q1>>4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

// dotQ5_0Q8_0Generic mirrors ggml_vec_dot_q5_0_q8_0 (AVX2), which llama.cpp
// runs for Q5_0 on x86 (it does not repack Q5_0) and whose arithmetic its
// prompt path (llamafile's tinyBLAS) shares: per block, eight lanes of four
// elements each, lane l += fma(d5*d8, float(Σ (q5-16)*q8 over elements
// 4l..4l+3)), then hsum_float_8's reduction.
func dotQ5_0Q8_0Generic(w, a []byte, n int) float32 {
	nb := n / q5_0Block
	w, a = w[:nb*q5_0Bytes], a[:nb*q8_0Bytes]
	var acc [8]float32
	var q [32]int32
	for i := 0; i < nb; i++ {
		bw := w[i*q5_0Bytes : (i+1)*q5_0Bytes]
		ba := a[i*q8_0Bytes : (i+1)*q8_0Bytes]
		qh := binary.LittleEndian.Uint32(bw[2:])
		for j, v := range (*[16]byte)(bw[6:22]) {
			q[j] = (int32(v&0xf) | int32(qh>>j)&1<<4) - 16
			q[j+16] = (int32(v>>4) | int32(qh>>(j+16))&1<<4) - 16
		}
		qa := (*[32]byte)(ba[2:34])
		d := half(bw, 0) * half(ba, 0)
		for l := range acc {
			var sumi int32
			for j := 4 * l; j < 4*l+4; j++ {
				sumi += q[j] * int32(int8(qa[j]))
			}
			acc[l] = FMA32(d, float32(sumi), acc[l])
		}
	}
	return hsum8(&acc)
}
