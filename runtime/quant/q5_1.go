package quant

import (
	"encoding/binary"
	"math"
)

// Q5_1 block: 32 weights in 24 bytes.
//
//	offset 0  f16    d       scale
//	offset 2  f16    m       minimum
//	offset 4  u32    qh      bit j = 5th bit of element j (little-endian)
//	offset 8  [16]u8 qs      low 4 bits; byte j holds element j in its low
//	                         nibble and element j+16 in its high nibble
//
// Element value: q*d + m, q in [0, 31].
const (
	q5_1Block = 32
	q5_1Bytes = 24
)

func dequantQ5_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/q5_1Block; i++ {
		b := src[i*q5_1Bytes : (i+1)*q5_1Bytes]
		d, m := half(b, 0), half(b, 2)
		qh := binary.LittleEndian.Uint32(b[4:])
		qs := (*[16]byte)(b[8:24])
		y := (*[32]float32)(dst[i*32:])
		for j, q := range qs {
			h0 := int32(qh>>j) & 1 << 4
			h1 := int32(qh>>(j+16)) & 1 << 4
			y[j] = float32(float32(int32(q&0xf)|h0)*d) + m
			y[j+16] = float32(float32(int32(q>>4)|h1)*d) + m
		}
	}
}

// quantizeQ5_1 is quantize_row_q5_1_ref: d = (max-min)/31, m = min,
// q = trunc((x-min)/d + 0.5).
func quantizeQ5_1(x []float32, dst []byte) {
	for i := 0; i < len(x)/q5_1Block; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := dst[i*q5_1Bytes : (i+1)*q5_1Bytes]
		lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
		for _, v := range xb {
			if v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
		}
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(b, 0, d)
		putHalf(b, 2, lo)
		var qh uint32
		qs := (*[16]byte)(b[8:24])
		for j := range qs {
			x0 := float32((xb[j] - lo) * id)
			x1 := float32((xb[j+16] - lo) * id)
			q0 := uint8(float32(x0 + 0.5))
			q1 := uint8(float32(x1 + 0.5))
			qs[j] = q0&0xf | (q1&0xf)<<4
			qh |= uint32(q0>>4&1) << j
			qh |= uint32(q1>>4&1) << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

// dotQ5_1Q8_1Generic mirrors ggml_vec_dot_q5_1_q8_1 (AVX2), which llama.cpp
// runs for Q5_1 on x86 (it does not repack Q5_1), as dotQ4_1Q8_1Generic
// mirrors the Q4_1 kernel: per block, eight lanes of four elements each,
// lane l += fma(float(Σ q5·q8 over elements 4l..4l+3), d5·d8), and
// summs = fma(m5, s8, summs) (GCC contracts ggml's summs += m*s); the result
// is hsum_float_8 of the lanes plus summs.
func dotQ5_1Q8_1Generic(w, a []byte, n int) float32 {
	nb := n / q5_1Block
	w, a = w[:nb*q5_1Bytes], a[:nb*q8_1Bytes]
	var acc [8]float32
	var summs float32
	var q [32]int32
	for i := 0; i < nb; i++ {
		bw := w[i*q5_1Bytes : (i+1)*q5_1Bytes]
		ba := a[i*q8_1Bytes : (i+1)*q8_1Bytes]
		qh := binary.LittleEndian.Uint32(bw[4:])
		for j, v := range (*[16]byte)(bw[8:24]) {
			q[j] = int32(v&0xf) | int32(qh>>j)&1<<4
			q[j+16] = int32(v>>4) | int32(qh>>(j+16))&1<<4
		}
		qa := (*[32]byte)(ba[4:36])
		summs = FMA32(half(bw, 2), half(ba, 2), summs)
		d := half(bw, 0) * half(ba, 0)
		for l := range acc {
			var sumi int32
			for j := 4 * l; j < 4*l+4; j++ {
				sumi += q[j] * int32(int8(qa[j]))
			}
			acc[l] = FMA32(d, float32(sumi), acc[l])
		}
	}
	return hsum8(&acc) + summs
}
