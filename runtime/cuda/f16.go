package cuda

import "math"

// f32ToF16 rounds to the nearest IEEE binary16 (ties to even), as
// __float2half_rn does on the device.
func f32ToF16(f float32) uint16 {
	x := math.Float32bits(f)
	sign := uint16(x>>16) & 0x8000
	abs := x & 0x7fffffff
	switch {
	case abs >= 0x7f800000: // Inf, NaN
		if abs > 0x7f800000 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case abs >= 0x477ff000: // rounds to >= 65520
		return sign | 0x7c00
	case abs < 0x33000000: // < 2^-25
		return sign
	case abs < 0x38800000: // subnormal half
		e := abs >> 23
		man := abs&0x7fffff | 0x800000
		shift := 126 - e
		h := man >> shift
		rem := man & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := (abs - 0x38000000) >> 13
	rem := abs & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++
	}
	return sign | uint16(h)
}

// f16ToF32 widens an IEEE binary16 exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		e := uint32(0)
		for man&0x400 == 0 {
			man <<= 1
			e++
		}
		return math.Float32frombits(sign | (127-15+1-e)<<23 | (man&0x3ff)<<13)
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}
