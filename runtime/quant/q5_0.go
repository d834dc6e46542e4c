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

// dotQ5_0Q8_0Generic: per block sumi = Σ (q5-16)*q8, then sumi * (d5*d8).
func dotQ5_0Q8_0Generic(w, a []byte, n int) float32 {
	nb := n / q5_0Block
	w, a = w[:nb*q5_0Bytes], a[:nb*q8_0Bytes]
	var sum float64
	for i := 0; i < nb; i++ {
		bw := w[i*q5_0Bytes : (i+1)*q5_0Bytes]
		ba := a[i*q8_0Bytes : (i+1)*q8_0Bytes]
		qh := binary.LittleEndian.Uint32(bw[2:])
		qw := (*[16]byte)(bw[6:22])
		qa := (*[32]byte)(ba[2:34])
		var sumi int32
		for j, q := range qw {
			h0 := int32(qh>>j) & 1 << 4
			h1 := int32(qh>>(j+16)) & 1 << 4
			sumi += ((int32(q&0xf) | h0) - 16) * int32(int8(qa[j]))
			sumi += ((int32(q>>4) | h1) - 16) * int32(int8(qa[j+16]))
		}
		sum += float64(float32(sumi) * float32(half(bw, 0)*half(ba, 0)))
	}
	return float32(sum)
}
