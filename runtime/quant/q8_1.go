package quant

// Q8_1 block: 32 values in 36 bytes (activation format only).
//
//	offset 0  f16    d       scale
//	offset 2  f16    s       d * Σ qs (lets Q4_1/Q5_1 dots apply their min
//	                         with one multiply per block)
//	offset 4  [32]i8 qs      quants
//
// Element value: q * d.
const (
	q8_1Block = 32
	q8_1Bytes = 36
)

func dequantQ8_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/q8_1Block; i++ {
		b := src[i*q8_1Bytes : (i+1)*q8_1Bytes]
		d := half(b, 0)
		qs := (*[32]byte)(b[4:36])
		y := (*[32]float32)(dst[i*32:])
		for j, q := range qs {
			y[j] = float32(int8(q)) * d
		}
	}
}

// quantizeQ8_1 is quantize_row_q8_1_ref: as Q8_0, plus s = f16(Σq * d).
func quantizeQ8_1(x []float32, dst []byte) {
	for i := 0; i < len(x)/q8_1Block; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := dst[i*q8_1Bytes : (i+1)*q8_1Bytes]
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
		qs := (*[32]byte)(b[4:36])
		var sum int32
		for j, v := range xb {
			q := roundHalfAway(float32(v * id))
			qs[j] = byte(q)
			sum += int32(q)
		}
		putHalf(b, 2, float32(sum)*d)
	}
}

// quantizeQ8_1Act is ggml's x86 activation quantizer for Q8_1
// (quantize_row_q8_1 in ggml-cpu/arch/x86/quants.c): as quantizeQ8_0Act,
// with s = f16(d * Σq) where d = amax/127 is the float32 scale (before its
// own f16 rounding).
func quantizeQ8_1Act(x []float32, dst []byte) {
	for i := 0; i < len(x)/q8_1Block; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := dst[i*q8_1Bytes : (i+1)*q8_1Bytes]
		amax := blockAbsMax(xb)
		d := amax / 127
		putHalf(b, 0, d)
		id := actMultiplier(amax)
		qs := (*[32]byte)(b[4:36])
		var sum int32
		for j, v := range xb {
			q := roundHalfEven(v * id)
			qs[j] = byte(q)
			sum += int32(q)
		}
		putHalf(b, 2, d*float32(sum))
	}
}
