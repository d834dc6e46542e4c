package cpu

import "math"

// libmExpf is glibc 2.36's expf as x86-64 runs it (the FMA variant that
// sysdeps/x86_64/fpu/multiarch selects on CPUs with FMA: ARM's optimized
// routines, e_expf.c, compiled with contraction). llama.cpp calls the C
// library's expf where ggml has no vector code: the sigmoid of ggml_silu
// on a lone value (Qwen2-MoE's shared-expert gate) and the tail of a
// softmax row past the last multiple of eight (a router of 60 experts).
// glibc's expf is not correctly rounded, so math.Exp rounded to float32
// would differ now and then (on 2 of the golden's 10,604 values). This
// function equalled this machine's expf (Debian 12, glibc 2.36) on all
// 4,278,190,082 non-NaN float32 inputs, in a one-off cgo check; without the
// fused r it differs on two of them. TestLibmExpfMatchesGlibc checks it
// against glibc's own values (scripts/goldens/glibc_expf.py).
//
// exp(x) = 2^(k/32) * 2^(r/32), x*32/ln2 = k + r, |r| <= 1/2: the table
// holds 2^(i/32) (less i<<47, added back from k), a cubic the rest.
func libmExpf(x float32) float32 {
	const (
		invLn2N = 0x1.71547652b82fep+0 * 32
		shift   = 0x1.8p+52
		c0      = 0x1.c6af84b912394p-5 / 32 / 32 / 32
		c1      = 0x1.ebfce50fac4f3p-3 / 32 / 32
		c2      = 0x1.62e42ff0c52d6p-1 / 32
	)
	ux := math.Float32bits(x)
	if abstop := ux >> 20 & 0x7ff; abstop >= math.Float32bits(88)>>20 {
		switch {
		case ux == math.Float32bits(float32(math.Inf(-1))):
			return 0
		case abstop >= math.Float32bits(float32(math.Inf(1)))>>20:
			return x + x
		case x > 0x1.62e42ep6: // exp(x) > 2^128
			return float32(math.Inf(1))
		case x < -0x1.9fe368p6: // exp(x) < 2^-150
			return 0
		}
	}
	xd := float64(x)
	kd := math.FMA(invLn2N, xd, shift) // round(x*32/ln2) in the low bits
	ki := math.Float64bits(kd)
	kd -= shift
	r := math.FMA(invLn2N, xd, -kd)
	t := expfTab[ki%32] + ki<<47
	s := math.Float64frombits(t)
	z := math.FMA(c0, r, c1)
	r2 := float64(r * r)
	y := math.FMA(c2, r, 1)
	y = math.FMA(z, r2, y)
	return float32(y * s)
}

// expfTab[i] is the bits of 2^(i/32) (the nearest float64) less i<<47.
var expfTab = [32]uint64{
	0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
	0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
	0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
	0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
	0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
	0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
	0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
	0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
}
