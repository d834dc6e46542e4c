package cpu

import "math"

// tanhf is the C library's tanhf as llama.cpp's CPU backend calls it
// (ggml_vec_tanh_f32: Gemma 2's logit soft-capping), bit for bit with glibc
// up to 2.40: FreeBSD's msun algorithm in float32, tanh(x) = 1 - 2/(e^2|x| + 1)
// for |x| >= 1 and -t/(t + 2), t = e^-2|x| - 1, below, with e^y - 1 from
// expm1f. That glibc is not correctly rounded (a quarter of the float32
// inputs in (1e-6, 10) differ from tanh rounded to float32 by an ulp), so
// rounding Go's math.Tanh would not give llama.cpp's logits.
// TestTanhfMatchesGlibc checks it against glibc's own values.
//
// Every product and quotient is rounded to float32 on its own (the explicit
// conversions keep Go from fusing them on targets where it would).
func tanhf(x float32) float32 {
	bits := math.Float32bits(x) &^ (1 << 31)
	ax := math.Float32frombits(bits)
	var z float32
	switch {
	case bits >= 0x7f800000: // ±Inf or NaN
		if x != x {
			return x
		}
		z = 1
	case bits >= 0x41b00000: // |x| >= 22
		z = 1
	case bits == 0:
		return x
	case bits < 0x24000000: // |x| < 2^-55
		return x * (1 + x)
	case bits >= 0x3f800000: // |x| >= 1
		t := expm1f(2 * ax)
		z = 1 - float32(2/(t+2))
	default:
		t := expm1f(-2 * ax)
		z = float32(-t / (t + 2))
	}
	if math.Float32bits(x)>>31 != 0 {
		return -z
	}
	return z
}

// The constants of expm1f: ln 2 in two parts, 1/ln 2, and the rational
// approximation's coefficients (msun's decimals; their float32 bits in the
// comments).
const (
	ln2Hi   float32 = 6.9313812256e-01  // 0x3f317180
	ln2Lo   float32 = 9.0580006145e-06  // 0x3717f7d1
	invLn2  float32 = 1.4426950216e+00  // 0x3fb8aa3b
	expm1Q1 float32 = -3.3333335072e-02 // 0xbd088889
	expm1Q2 float32 = 1.5873016091e-03  // 0x3ad00d01
	expm1Q3 float32 = -7.9365076090e-05 // 0xb8a670cd
	expm1Q4 float32 = 4.0082177293e-06  // 0x36867e54
	expm1Q5 float32 = -2.0109921195e-07 // 0xb457edbb
)

// expm1f is e^x - 1 in float32 as msun's s_expm1f.c computes it, for the
// arguments tanhf passes (|x| < 44): reduce x = k ln 2 + r (r in two parts,
// hi - lo, with c the rounding error of the subtraction), approximate
// e^r - 1 on [-ln2/2, ln2/2] by a rational function, and scale by 2^k.
func expm1f(x float32) float32 {
	hx := math.Float32bits(x) & 0x7fffffff
	neg := math.Float32bits(x)>>31 != 0
	if hx >= 0x4195b844 && neg { // x <= -27 ln 2: e^x - 1 rounds to -1
		return -1
	}
	var k int32
	var c float32
	switch {
	case hx > 0x3eb17218: // |x| > ln2/2: reduce
		var hi, lo float32
		switch {
		case hx < 0x3f851592 && !neg: // |x| < 3 ln2/2
			hi, lo, k = x-ln2Hi, ln2Lo, 1
		case hx < 0x3f851592:
			hi, lo, k = x+ln2Hi, -ln2Lo, -1
		default:
			half := float32(0.5)
			if neg {
				half = -0.5
			}
			k = int32(float32(invLn2*x) + half) // truncated, as C's float-to-int conversion
			t := float32(k)
			hi = x - float32(t*ln2Hi) // t*ln2Hi is exact here
			lo = float32(t * ln2Lo)
		}
		x = hi - lo
		c = (hi - x) - lo
	case hx < 0x33000000: // |x| < 2^-25
		return x
	}
	// x is in [-ln2/2, ln2/2]
	hfx := float32(0.5 * x)
	hxs := float32(x * hfx)
	r1 := 1 + float32(hxs*(expm1Q1+float32(hxs*(expm1Q2+float32(hxs*(expm1Q3+float32(hxs*(expm1Q4+float32(hxs*expm1Q5)))))))))
	t := 3 - float32(r1*hfx)
	e := float32(hxs * float32((r1-t)/(6-float32(x*t))))
	if k == 0 {
		return x - (float32(x*e) - hxs)
	}
	e = float32(x*(e-c)) - c
	e -= hxs
	switch {
	case k == -1:
		return float32(0.5*(x-e)) - 0.5
	case k == 1 && x < -0.25:
		return float32(-2 * (e - (x + 0.5)))
	case k == 1:
		return 1 + float32(2*(x-e))
	case k <= -2 || k > 56:
		y := 1 - (e - x)
		y = math.Float32frombits(math.Float32bits(y) + uint32(k)<<23) // y * 2^k
		return y - 1
	case k < 23:
		t := math.Float32frombits(0x3f800000 - (0x1000000 >> k)) // 1 - 2^-k
		y := t - (e - x)
		return math.Float32frombits(math.Float32bits(y) + uint32(k)<<23)
	default:
		t := math.Float32frombits(uint32(0x7f-k) << 23) // 2^-k
		y := x - (e + t)
		y++
		return math.Float32frombits(math.Float32bits(y) + uint32(k)<<23)
	}
}
