package quant

import (
	"encoding/binary"
	"math"
)

// Q8_K block: 256 values in 292 bytes (activation format of the k-quants).
//
//	offset 0    f32       d       scale (a full float32, not f16)
//	offset 4    [256]i8   qs      quants
//	offset 260  [16]i16   bsums   sum of each group of 16 quants
//	                              (little-endian), used for the k-quant mins
//
// Element value: q * d.
const (
	q8_KBytes   = 292
	q8_KQs      = 4
	q8_KBsums   = 260
	q8_KBsumsN  = QK_K / 16
	q8_KDOffset = 0
)

func q8Kd(b []byte) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(b[q8_KDOffset:]))
}

func dequantQ8_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*q8_KBytes : (i+1)*q8_KBytes]
		d := q8Kd(b)
		qs := (*[QK_K]byte)(b[q8_KQs:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		for j, q := range qs {
			y[j] = float32(int8(q)) * d
		}
	}
}

// nearestInt is ggml's nearest_int: round to nearest, ties to even, by adding
// 1.5*2^23 in float32 (valid for |f| <= 2^22).
func nearestInt(f float32) int32 {
	v := float32(f + 12582912)
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// quantizeQ8_K is quantize_row_q8_K_ref: iscale = -127/max where max is the
// value of largest magnitude, q = min(127, nearest_int(iscale*x)),
// d = 1/iscale. An all-zero block gets d = 0 and zero quants and sums.
func quantizeQ8_K(x []float32, dst []byte) {
	for i := 0; i < len(x)/QK_K; i++ {
		xb := (*[QK_K]float32)(x[i*QK_K:])
		b := dst[i*q8_KBytes : (i+1)*q8_KBytes]
		qs := (*[QK_K]byte)(b[q8_KQs:])
		var amax, mx float32
		for _, v := range xb {
			if a := abs32(v); a > amax {
				amax, mx = a, v
			}
		}
		if amax == 0 {
			clear(b)
			continue
		}
		iscale := -127 / mx
		for j, v := range xb {
			qs[j] = byte(int8(min(127, nearestInt(float32(iscale*v)))))
		}
		for g := 0; g < q8_KBsumsN; g++ {
			var s int32
			for _, q := range qs[g*16 : g*16+16] {
				s += int32(int8(q))
			}
			binary.LittleEndian.PutUint16(b[q8_KBsums+2*g:], uint16(int16(s)))
		}
		binary.LittleEndian.PutUint32(b[q8_KDOffset:], math.Float32bits(1/iscale))
	}
}

// q8KBsum returns bsums[g] of a Q8_K block.
func q8KBsum(b []byte, g int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(b[q8_KBsums+2*g:])))
}
