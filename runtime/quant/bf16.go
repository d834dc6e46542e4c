package quant

import (
	"encoding/binary"
	"math"
)

// BF16 (bfloat16) is the upper half of a float32, stored little-endian in 2
// bytes (1 sign bit, 8 exponent bits, 7 mantissa bits).
//
// Its vec-dot type is BF16 itself, as in ggml's CPU backend: activations are
// rounded to bfloat16 and products are formed in float32.

// BF16ToF32 converts a bfloat16 value to float32 (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 converts a float32 to bfloat16 with round-to-nearest-even, as
// ggml_compute_fp32_to_bf16: NaN becomes a quiet NaN with the same sign and
// upper payload bits.
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

func dequantBF16(src []byte, dst []float32) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func quantizeBF16(x []float32, dst []byte) {
	dst = dst[:2*len(x)]
	for i, v := range x {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
	}
}
