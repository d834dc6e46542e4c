package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"gpurun/runtime/fixtures"
)

// These tests pin the arithmetic that must equal llama.cpp's x86 CPU build
// bit for bit: the AVX2 activation quantizers and the Q4_1·Q8_1 and
// Q8_0·Q8_0 dot products, on vectors that build's own kernels produced
// (testdata/ggml_x86_q8.bin, written by scripts/goldens/ggml_cpu_vectors.py),
// for every implementation; and FMA32, which the portable kernels use for
// ggml's fused multiply-adds.

func TestGGMLX86ActivationsAndDots(t *testing.T) {
	v := fixtures.ReadGGV1(t, "testdata/ggml_x86_q8.bin")
	rows, n := int(binary.LittleEndian.Uint32(v["n"])), int(binary.LittleEndian.Uint32(v["n"][4:]))
	x := fixtures.F32s(v["x"])
	r80, r81 := Q8_0.mustRowSize(n), Q8_1.mustRowSize(n)
	w41s, w80s := Q4_1.mustRowSize(n), Q8_0.mustRowSize(n)
	d41, d80 := fixtures.F32s(v["dot_q4_1"]), fixtures.F32s(v["dot_q8_0"])
	a0, a1 := make([]byte, r80), make([]byte, r81)
	for r := 0; r < rows; r++ {
		xr := x[r*n : (r+1)*n]
		if err := QuantizeActivation(Q8_0, xr, a0); err != nil {
			t.Fatal(err)
		}
		if err := QuantizeActivation(Q8_1, xr, a1); err != nil {
			t.Fatal(err)
		}
		want0, want1 := v["q8_0"][r*r80:(r+1)*r80], v["q8_1"][r*r81:(r+1)*r81]
		if i := firstByteDiff(a0, want0); i >= 0 {
			t.Errorf("row %d: Q8_0 activation byte %d = %#x, ggml %#x", r, i, a0[i], want0[i])
		}
		if i := firstByteDiff(a1, want1); i >= 0 {
			t.Errorf("row %d: Q8_1 activation byte %d = %#x, ggml %#x", r, i, a1[i], want1[i])
		}
		w41, w80 := v["w_q4_1"][r*w41s:(r+1)*w41s], v["w_q8_0"][r*w80s:(r+1)*w80s]
		for _, im := range dotImpls(Q4_1) {
			if got := im.fn(w41, want1, n); got != d41[r] {
				t.Errorf("row %d: Q4_1·Q8_1 %s = %.9g, ggml %.9g", r, im.name, got, d41[r])
			}
		}
		for _, im := range dotImpls(Q8_0) {
			if got := im.fn(w80, want0, n); got != d80[r] {
				t.Errorf("row %d: Q8_0·Q8_0 %s = %.9g, ggml %.9g", r, im.name, got, d80[r])
			}
		}
	}
	// MatVec (the two-row kernels) over all the rows against row 5's activations.
	a1, a0 = v["q8_1"][5*r81:6*r81], v["q8_0"][5*r80:6*r80]
	for _, c := range []struct {
		t    Type
		w, a []byte
	}{{Q4_1, v["w_q4_1"], a1}, {Q8_0, v["w_q8_0"], a0}} {
		for _, nr := range []int{rows, rows - 1} {
			out := make([]float32, nr)
			MatVec(c.t, c.w, nr, n, c.a, out)
			rs := c.t.mustRowSize(n)
			for r := range out {
				if want := Dot(c.t, c.w[r*rs:(r+1)*rs], c.a, n); out[r] != want {
					t.Errorf("%s MatVec %d rows: row %d = %.9g, Dot %.9g", c.t, nr, r, out[r], want)
				}
			}
		}
	}
}

func (t Type) mustRowSize(n int) int {
	rs, err := t.RowSize(n)
	if err != nil {
		panic(err)
	}
	return rs
}

func firstByteDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestQuantizeActivationTies: x*id exactly halfway between integers rounds
// to even (ggml's _mm256_round_ps), where QuantizeRow rounds away from zero.
func TestQuantizeActivationTies(t *testing.T) {
	x := make([]float32, 32)
	x[0] = 127 // amax 127: id = 1, d = 1
	x[1], x[2], x[3], x[4] = 0.5, 1.5, -2.5, -3.5
	dst := make([]byte, q8_0Bytes)
	if err := QuantizeActivation(Q8_0, x, dst); err != nil {
		t.Fatal(err)
	}
	if got := []int8{int8(dst[3]), int8(dst[4]), int8(dst[5]), int8(dst[6])}; fmt.Sprint(got) != "[0 2 -2 -4]" {
		t.Errorf("ties: got %v, want [0 2 -2 -4]", got)
	}
	if err := QuantizeActivation(Q8_1, make([]float32, 31), make([]byte, q8_1Bytes)); err == nil {
		t.Error("QuantizeActivation accepted 31 elements")
	}
}

// TestDotAsmEqualsGeneric: the ggml-mirroring kernels must agree bit for bit
// across implementations on arbitrary (non-integer) data.
func TestDotAsmEqualsGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	for _, typ := range []Type{Q4_1, Q8_0, F32, F16, BF16} {
		impls := dotImpls(typ)
		ns := []int{32, 64, 96, 576, 1536}
		if typ.BlockSize() == 1 {
			ns = append(ns, 1, 31, 33, 77) // leftovers, added in float64 after the vector part
		}
		for _, n := range ns {
			for trial := 0; trial < 20; trial++ {
				w := randomBlocks(rng, t, typ, n)
				x := randomFloats(rng, n)
				vt := VecDotType(typ)
				a := make([]byte, vt.mustRowSize(n))
				if err := QuantizeActivation(vt, x, a); err != nil {
					t.Fatal(err)
				}
				want := impls[0].fn(w, a, n)
				for _, im := range impls[1:] {
					if got := im.fn(w, a, n); math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%s n=%d: %s = %.9g, generic %.9g", typ, n, im.name, got, want)
					}
				}
			}
		}
	}
}

// TestFMA32 compares FMA32 with a*b+c computed exactly and rounded once.
func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 43))
	exact := func(a, b, c float32) float32 {
		p := new(big.Float).SetPrec(0).SetFloat64(float64(a))
		p.SetPrec(200).Mul(p, new(big.Float).SetFloat64(float64(b)))
		p.Add(p, new(big.Float).SetFloat64(float64(c)))
		f, _ := p.Float32()
		return f
	}
	check := func(a, b, c float32) {
		if got, want := FMA32(a, b, c), exact(a, b, c); math.Float32bits(got) != math.Float32bits(want) && got != want {
			t.Fatalf("FMA32(%g, %g, %g) = %g (%#x), want %g (%#x)", a, b, c, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	for i := 0; i < 200000; i++ {
		a := math.Float32frombits(rng.Uint32() & 0x3fffffff)
		b := math.Float32frombits(rng.Uint32() & 0x3fffffff)
		c := float32(rng.NormFloat64()) * a * b
		if i%3 == 0 {
			// c near -a*b: cancellation; low bits set to make double rounding likely
			c = -float32(float64(a)*float64(b)) + math.Float32frombits(rng.Uint32()&0x0fffffff)
		}
		if i%5 == 0 {
			c = math.Float32frombits(rng.Uint32()&0x7effffff) * float32(rng.IntN(3)-1)
		}
		check(a, b, c)
		check(-a, b, c)
	}
	// Double rounding: (1+2^-12)^2 = 1 + 2^-11 + 2^-24 is a float32 tie;
	// adding 2^-70 leaves the float64 sum on the tie (which would round down
	// to even) while the exact value lies above it and must round up.
	if got := FMA32(1+0x1p-12, 1+0x1p-12, 0x1p-70); got != 1+0x1p-11+0x1p-23 {
		t.Errorf("FMA32 tie + tiny = %g, want %g", got, float32(1+0x1p-11+0x1p-23))
	}
	check(1+0x1p-12, 1+0x1p-12, 0x1p-70)
	check(1+0x1p-12, 1+0x1p-12, -0x1p-70)
	check(0, 5, -0)
	check(float32(math.Inf(1)), 1, 2)
}

// TestDotGenericMatchesFMAReference spells ggml's Q4_1 lane structure out
// once more, independently, on random blocks (the fixtures cover realistic
// scales; this covers odd ones).
func TestDotGenericMatchesFMAReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(44, 45))
	const n = 256
	for trial := 0; trial < 50; trial++ {
		w := randomBlocks(rng, t, Q4_1, n)
		a := make([]byte, Q8_1.mustRowSize(n))
		if err := QuantizeActivation(Q8_1, randomFloats(rng, n), a); err != nil {
			t.Fatal(err)
		}
		var lanes [8]float32
		var summs float32
		for b := 0; b < n/32; b++ {
			bw, ba := w[b*20:], a[b*36:]
			summs = FMA32(half(bw, 2), half(ba, 2), summs)
			d := half(bw, 0) * half(ba, 0)
			for l := 0; l < 8; l++ {
				var s int32
				for e := 4 * l; e < 4*l+4; e++ {
					q := int32(bw[4+e%16] & 0xf)
					if e >= 16 {
						q = int32(bw[4+e%16] >> 4)
					}
					s += q * int32(int8(ba[4+e]))
				}
				lanes[l] = FMA32(d, float32(s), lanes[l])
			}
		}
		want := ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7])) + summs
		for _, im := range dotImpls(Q4_1) {
			if got := im.fn(w, a, n); got != want {
				t.Fatalf("%s = %.9g, reference %.9g", im.name, got, want)
			}
		}
	}
}

// TestQuantizeActivationImplementationsAgree: the assembly quantizers equal
// the portable ones byte for byte, ties and all-zero blocks included.
func TestQuantizeActivationImplementationsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(46, 47))
	for trial := 0; trial < 200; trial++ {
		n := 32 * (1 + rng.IntN(48))
		x := randomFloats(rng, n)
		for i := range x {
			switch rng.IntN(8) {
			case 0:
				x[i] = 0
			case 1:
				x[i] = float32(rng.IntN(255)-127) + 0.5 // a tie when amax is 127
			case 2:
				x[i] *= 1e-30
			}
		}
		if trial%4 == 0 {
			x[0] = 127
			if n >= 64 {
				clear(x[32:64])
			}
		}
		for _, typ := range []Type{Q8_0, Q8_1} {
			got := make([]byte, typ.mustRowSize(n))
			want := make([]byte, len(got))
			if err := QuantizeActivation(typ, x, got); err != nil {
				t.Fatal(err)
			}
			if typ == Q8_0 {
				quantizeQ8_0Act(x, want)
			} else {
				quantizeQ8_1Act(x, want)
			}
			if i := firstByteDiff(got, want); i >= 0 {
				t.Fatalf("%s n=%d trial %d: byte %d = %#x, portable %#x", typ, n, trial, i, got[i], want[i])
			}
		}
	}
}
