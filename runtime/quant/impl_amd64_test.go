package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// asmDots lists the AVX2 kernels for t when the CPU can run them.
func asmDots(t Type) []dotImpl {
	if !haveAVX2 {
		return nil
	}
	switch t {
	case F32:
		return []dotImpl{{"avx2", dotF32}}
	case F16:
		return []dotImpl{{"avx2", dotF16}}
	case BF16:
		return []dotImpl{{"avx2", dotBF16}}
	case Q4_0:
		return []dotImpl{{"avx2", dotQ4_0}}
	case Q4_1:
		return []dotImpl{{"avx2", dotQ4_1}}
	case Q8_0:
		return []dotImpl{{"avx2", dotQ8_0}}
	case Q4_K:
		return []dotImpl{{"avx2", dotQ4_K}}
	case Q2_K:
		return []dotImpl{{"avx2", dotQ2_K}}
	case Q3_K:
		return []dotImpl{{"avx2", dotQ3_K}}
	case Q5_0:
		return []dotImpl{{"avx2", dotQ5_0}}
	case Q5_1:
		return []dotImpl{{"avx2", dotQ5_1}}
	case Q5_K:
		return []dotImpl{{"avx2", dotQ5_K}}
	case Q6_K:
		return []dotImpl{{"avx2", dotQ6_K}}
	}
	return nil
}

// matMulModes runs f once per kernel set this machine has: the VNNI
// kernels, the AVX2 ones, and the portable ones (haveAVX2 off, which
// switches Dot to its portable kernels too, so that MatMul is compared
// with the Dot of the same set).
func matMulModes(t *testing.T, f func(t *testing.T)) {
	savedAVX2, savedVNNI := haveAVX2, useVNNI
	defer func() { haveAVX2, useVNNI = savedAVX2, savedVNNI }()
	if savedVNNI {
		t.Run("vnni", f)
	}
	if savedAVX2 {
		useVNNI = false
		t.Run("avx2", f)
	}
	haveAVX2, useVNNI = false, false
	t.Run("generic", f)
}

// TestDotQ5AsmEqualsGeneric: the AVX2 Q5_0, Q5_1, Q5_K (and Q2_K, Q3_K) kernels follow
// the portable ones' arithmetic (exact integers per block, float32 products
// summed in float64), and the Q4_K and Q4_0 kernels llama.cpp's x86 ones
// for repacked weights (exact integers per (super-)block, float32 FMA
// chains), so the two agree bit for bit, not just within TestDotImplementationsAgree's rounding bound.
func TestDotQ5AsmEqualsGeneric(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(52, 53))
	for _, c := range []struct {
		t        Type
		asm, gen func(w, a []byte, n int) float32
	}{{Q5_0, dotQ5_0, dotQ5_0Q8_0Generic}, {Q5_1, dotQ5_1, dotQ5_1Q8_1Generic}, {Q5_K, dotQ5_K, dotQ5_KQ8_KGeneric},
		{Q2_K, dotQ2_K, dotQ2_KQ8_KGeneric}, {Q3_K, dotQ3_K, dotQ3_KQ8_KGeneric},
		{Q4_K, dotQ4_K, dotQ4_KQ8_KGeneric}, {Q4_K, dotQ4_K64, dotQ4_KQ8_K64Generic}, {Q4_0, dotQ4_0, dotQ4_0Q8_0Generic}, {Q6_K, dotQ6_K, dotQ6_KQ8_KGeneric}} {
		for _, n := range []int{256, 512, 2048, 5632} {
			for trial := 0; trial < 20; trial++ {
				w := randomBlocks(rng, t, c.t, n)
				a := quantize(t, VecDotType(c.t), randomFloats(rng, n))
				got, want := c.asm(w, a, n), c.gen(w, a, n)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s n=%d trial %d: AVX2 %.9g (%#x), generic %.9g (%#x)", c.t, n, trial, got, math.Float32bits(got), want, math.Float32bits(want))
				}
			}
		}
	}
}
