package quant

import (
	"encoding/binary"
	"math"
)

// F16 is an IEEE 754 binary16 value stored little-endian in 2 bytes
// (1 sign bit, 5 exponent bits with bias 15, 10 mantissa bits).

// F16ToF32 converts an IEEE 754 half-precision value to float32. The
// conversion is exact (every half is a float32), including subnormals,
// infinities and NaN payloads. It is small enough to inline.
func F16ToF32(h uint16) float32 {
	o := uint32(h&0x7fff) << 13 // exponent and mantissa, in float32 position
	exp := o & 0x0f800000
	o += (127 - 15) << 23 // rebias the exponent
	if exp == 0x0f800000 {
		o += (128 - 16) << 23 // Inf/NaN: exponent all ones, payload kept
	} else if exp == 0 {
		// Zero or subnormal m*2^-24: make it 2^-14*(1+m/1024), then subtract
		// 2^-14 (exact in float32).
		o += 1 << 23
		o = math.Float32bits(math.Float32frombits(o) - math.Float32frombits(113<<23))
	}
	return math.Float32frombits(o | uint32(h&0x8000)<<16)
}

// F32ToF16 converts a float32 to IEEE 754 half precision with
// round-to-nearest-even, as ggml's GGML_FP32_TO_FP16 (F16C's vcvtps2ph with
// rounding mode 0). Values too large become ±Inf; NaN stays a (quiet) NaN.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13) // quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // half exponent field, if the value is normal there
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half (or zero): the result counts units of 2^-24.
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to zero
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		r := m >> shift
		rem := m & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || (rem == halfway && r&1 == 1) {
			r++ // may carry into the smallest normal, which is the right encoding
		}
		return sign | uint16(r)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is correct, up to 0x7c00 = Inf
	}
	return sign | uint16(h)
}

func dequantF16(src []byte, dst []float32) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func quantizeF16(x []float32, dst []byte) {
	dst = dst[:2*len(x)]
	for i := quantizeF16Asm(x, dst); i < len(x); i++ {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(x[i]))
	}
}
