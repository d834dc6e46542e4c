package cpu

import (
	"math"

	"gpurun/runtime/quant"
)

// Float arithmetic of llama.cpp's CPU backend, reproduced bit for bit.
//
// gpurun's greedy output must match llama.cpp's token for token. The
// activations are re-quantized to 8 bits before every matrix product, and a
// one-ulp difference anywhere upstream occasionally moves a value across a
// Q8 rounding boundary; that flip perturbs everything after it enough to
// cause more, and within a few dozen tokens the continuations part. So the
// ops below do not merely approximate what ggml computes: they perform the
// same float32 operations in the same order, with fused multiply-adds
// exactly where llama.cpp's x86 build (AVX2 + FMA, GCC, which contracts
// a*b + c into FMA) has them, and the same SIMD lane structure for every
// sum. quant.FMA32 is the exact float32 FMA the portable code uses; the
// AVX2 assembly (ggmlmath_amd64.s) uses the hardware one and must agree with
// the portable code bit for bit (the tests check). Go fuses x*y + z on its
// own on some targets (arm64, ppc64le, s390x, riscv64; never amd64), so a
// product that llama.cpp rounds before adding is written float32(x*y).

// vecDotF32 is ggml_vec_dot_f32 as llama.cpp's AVX2 build computes it: four
// accumulators of eight lanes (GGML_F32_STEP = 32, GGML_F32_EPR = 8), the
// element i < n&^31 going to accumulator (i/8)%4, lane i%8, with one FMA
// each; then acc0+acc2, acc1+acc3, their sum, and the eight lanes reduced as
// GGML_F32x8_REDUCE does (low half + high half, then two horizontal adds):
//
//	((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7))
//
// Elements past the last multiple of 32 are added as GCC compiled the
// scalar leftover loop (products in groups of eight and four rounded and
// added one by one, the last one to three fused); attention's head dims of
// 64 or 128 have none.
func vecDotF32(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	np := n &^ 31
	if np > 0 && useAsm {
		return vecDotF32Tail(vecDotF32AVX2(&x[0], &y[0], np), x[np:], y[np:])
	}
	var acc [32]float32 // acc[8k+l]: accumulator k, lane l
	for i := 0; i < np; i += 32 {
		xs, ys := x[i:i+32], y[i:i+32]
		for s := range acc {
			acc[s] = quant.FMA32(xs[s], ys[s], acc[s])
		}
	}
	return vecDotF32Tail(reduce4x8(&acc), x[np:], y[np:])
}

// reduce4x8 folds ggml's four eight-lane accumulators (acc[8k+l]) to one
// float as GGML_F32x8_REDUCE does.
func reduce4x8(acc *[32]float32) float32 {
	var r [8]float32
	for l := range r {
		r[l] = (acc[l] + acc[16+l]) + (acc[8+l] + acc[24+l])
	}
	return hadd8(&r)
}

// hadd8 is the tail of GGML_F32x8_REDUCE: t = low + high half, then
// _mm_hadd_ps twice: (t0+t1) + (t2+t3).
func hadd8(r *[8]float32) float32 {
	t0, t1, t2, t3 := r[0]+r[4], r[1]+r[5], r[2]+r[6], r[3]+r[7]
	return (t0 + t1) + (t2 + t3)
}

// hsum8 is hsum_float_8 (ggml's x86 quants.c), llamafile's hsum(__m256) and
// the per-group sum of ggml_vec_soft_max_f32: low + high half, then lanes
// 2,3 onto 0,1, then lane 1 onto 0:
//
//	((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7))
func hsum8(r *[8]float32) float32 {
	t0, t1, t2, t3 := r[0]+r[4], r[1]+r[5], r[2]+r[6], r[3]+r[7]
	return (t0 + t2) + (t1 + t3)
}

// vecDotF32Tail adds the leftover elements (fewer than 32) to sum the way
// GCC compiled ggml_vec_dot_f32's scalar loop `sumf += x[i]*y[i]`: while
// eight or more remain, eight products rounded and then added in order,
// then four likewise, then each remaining one with an FMA.
func vecDotF32Tail(sum float32, x, y []float32) float32 {
	// float32(x*y) keeps Go from fusing the product into the add (which
	// it does on arm64 and other targets with FMA, never on amd64).
	i, n := 0, len(x)
	for ; i+8 <= n; i += 8 {
		for j := i; j < i+8; j++ {
			sum += float32(x[j] * y[j])
		}
	}
	if n-i >= 4 {
		for j := i; j < i+4; j++ {
			sum += float32(x[j] * y[j])
		}
		i += 4
	}
	for ; i < n; i++ {
		sum = quant.FMA32(x[i], y[i], sum)
	}
	return sum
}

// expf is one lane of ggml_v_expf (vec.h, the AVX2 + FMA version), the exp
// that ggml's soft_max and silu use: x = n*ln2 + b with n = round(x/ln2) via
// the 1.5*2^23 trick, ln2 split in two for the reduction, a degree-5
// polynomial in b, and 2^n applied through the exponent bits, with the
// overflow / underflow paths (|n| > 126, |n| > 192) of the original. Every
// fmadd / fnmadd of the C code is one fused operation here.
func expf(x float32) float32 {
	const (
		r   = 0x1.8p23
		l2e = 0x1.715476p+0
		ln1 = 0x1.62e4p-1    // ln2, high part
		ln2 = 0x1.7f7d1cp-20 // ln2, low part
	)
	z := quant.FMA32(x, l2e, r)
	n := z - r
	b := quant.FMA32(-n, ln2, quant.FMA32(-n, ln1, x))
	e := math.Float32bits(z) << 23
	k := math.Float32frombits(e + math.Float32bits(1))
	u := b * b
	j := quant.FMA32(
		quant.FMA32(quant.FMA32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, quant.FMA32(0x1.555e66p-3, b, 0x1.fffdb6p-2)),
		u, 0x1.ffffecp-1*b)
	an := abs32(n)
	if !(an > 126) {
		return quant.FMA32(j, k, k)
	}
	var g uint32
	if n <= 0 {
		g = 0x82000000
	}
	s1 := math.Float32frombits(g + 0x7f000000)
	if an > 192 {
		return s1 * s1
	}
	s2 := math.Float32frombits(e - g)
	return quant.FMA32(s2, j, s2) * s1
}

// silu is ggml_v_silu: x / (1 + expf(0 - x)).
func silu(x float32) float32 {
	return x / (1 + expf(0-x))
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// sincosf is glibc's sincosf (the algorithm of ARM's optimized-routines,
// glibc 2.28 and later) as the x86-64 FMA variant libm selects on CPUs with
// FMA and AVX2 computes it: ggml's RoPE takes cosf/sinf of every angle (GCC
// merges them into one sincosf call), and these are not correctly rounded —
// about 2.6% of the angles RoPE uses differ by an ulp from the nearest
// float32 of the true value — so matching llama.cpp needs the same
// algorithm, down to which double-precision operations are fused.
//
// The argument is reduced to r in [-pi/4, pi/4] with quadrant n (a single
// fused multiply-subtract of pi/2 below 120, 2/pi to 192 bits above); then
// sin and cos come from short polynomials in r^2 evaluated in double
// precision and rounded to float32 once.
func sincosf(y float32) (sin, cos float32) {
	bits := math.Float32bits(y)
	top := bits >> 20 & 0x7ff // abstop12: exponent and top mantissa bits
	x := float64(y)
	switch {
	case top < 0x3f4: // |y| < pi/4
		if top < 0x398 { // |y| < 2^-12
			return y, 1
		}
		s, c := sincosPoly(x, x*x, &sincosCoef[0])
		return s, c
	case top < 0x42f: // |y| < 120
		r := x * 0x1.45f306dc9c883p+23 // 2/pi * 2^24
		n := (int32(r) + 0x800000) >> 24
		x = math.FMA(-float64(n), 0x1.921fb54442d18p+0, x) // x - n*pi/2, fused
		return sincosQuadrant(x, int(n), int(n))
	case top < 0x7f8: // finite
		x, n := reduceLarge(bits)
		return sincosQuadrant(x, n+int(bits>>31), n)
	}
	nan := y - y
	return nan, nan
}

// sincosQuadrant finishes sincosf for an argument reduced to x with
// quadrant q (including the input's sign for large arguments); n decides
// whether sin and cos swap.
func sincosQuadrant(x float64, q, n int) (sin, cos float32) {
	p := &sincosCoef[0]
	if q&2 != 0 {
		p = &sincosCoef[1]
	}
	s, c := sincosPoly(x*sincosSign[q&3], x*x, p)
	if n&1 != 0 {
		return c, s
	}
	return s, c
}

// sincosPoly evaluates glibc's sin and cos polynomials at xs (x with the
// quadrant's sign) and x2 = x*x, with the multiplications and fused
// multiply-adds the compiled code has, and rounds each to float32.
func sincosPoly(xs, x2 float64, p *sincosCoefs) (sin, cos float32) {
	s1 := math.FMA(x2, p.s3, p.s2)
	c2 := math.FMA(x2, p.c4, p.c3)
	x3 := x2 * xs
	x4 := x2 * x2
	x5 := x2 * x3
	x6 := x2 * x4
	c1 := math.FMA(x2, p.c1, p.c0)
	s := math.FMA(x3, p.s1, xs)
	c := math.FMA(x4, p.c2, c1)
	return float32(math.FMA(s1, x5, s)), float32(math.FMA(c2, x6, c))
}

// reduceLarge reduces a float32 |y| >= 120 (given by its bits) modulo pi/2
// with 2/pi to 192 bits: a 32x96-bit fixed-point product whose top two bits
// (rounded) are the quadrant n, the rest the remainder r in [-pi/4, pi/4].
func reduceLarge(bits uint32) (r float64, n int) {
	arr := twoOverPi[bits>>26&15:]
	m := (bits&0x7fffff | 0x800000) << (bits >> 23 & 7)
	res0 := uint64(m * arr[0]) // the low 32 bits of the product only
	res1 := uint64(m) * uint64(arr[4])
	res2 := uint64(m) * uint64(arr[8])
	res0 = res2>>32 | res0<<32
	res0 += res1
	q := (res0 + 1<<61) >> 62
	res0 -= q << 62
	return float64(int64(res0)) * 0x1.921fb54442d18p-62, int(q) // 2pi * 2^-64
}

type sincosCoefs struct {
	c0, c1, s1, c2, s2, c3, s3, c4 float64
}

// sincosSign is the sign of sin in quadrants 0-3.
var sincosSign = [4]float64{1, -1, -1, 1}

// sincosCoef are glibc's polynomial coefficients; the second set has the
// cosine terms negated (quadrants 2 and 3).
var sincosCoef = [2]sincosCoefs{
	{
		c0: 0x1p0, c1: -0x1.ffffffd0c621cp-2, s1: -0x1.555545995a603p-3, c2: 0x1.55553e1068f19p-5,
		s2: 0x1.1107605230bc4p-7, c3: -0x1.6c087e89a359dp-10, s3: -0x1.994eb3774cf24p-13, c4: 0x1.99343027bf8c3p-16,
	},
	{
		c0: -0x1p0, c1: 0x1.ffffffd0c621cp-2, s1: -0x1.555545995a603p-3, c2: -0x1.55553e1068f19p-5,
		s2: 0x1.1107605230bc4p-7, c3: 0x1.6c087e89a359dp-10, s3: -0x1.994eb3774cf24p-13, c4: -0x1.99343027bf8c3p-16,
	},
}

// twoOverPi holds the bits of 2/pi (0.a2f9836e4e441529fc2757d1f534ddc0db6295993c439041...)
// as overlapping 32-bit words starting one byte apart: word i is bytes
// i-3..i of the fraction.
var twoOverPi = [24]uint32{
	0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e,
	0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
	0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
	0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
	0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599,
	0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
}
