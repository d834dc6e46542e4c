package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotQ4_K64: the Q4_K prompt arithmetic (dotQ4_K64: AVX2 where the CPU
// has it, else the portable kernel, and dotQ4_KQ8_K64Generic) is a dot
// product of the same numbers as Dot: exact on integer inputs (unit
// scales), within float32 rounding (1e-5 of Σ|terms|) of the dequantized
// float64 reference on random blocks. That it rounds as llama.cpp's gemm
// does is runtime/engine's TestQuantModelsGreedyMatchLlamaCpp (q4k).
func TestDotQ4_K64(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 61))
	impls := []dotImpl{{"generic", dotQ4_KQ8_K64Generic}, {"dotQ4_K64", dotQ4_K64}}
	for _, n := range []int{256, 512, 2048} {
		w, a := integerRows(rng, t, Q4_K, n)
		ref, _ := refDot(t, Q4_K, w, a, n)
		for _, im := range impls {
			if got := im.fn(w, a, n); float64(got) != ref {
				t.Errorf("n=%d integer inputs: %s = %.1f, exact %.1f", n, im.name, got, ref)
			}
		}
		for trial := 0; trial < 4; trial++ {
			w := randomBlocks(rng, t, Q4_K, n)
			a := quantize(t, Q8_K, randomFloats(rng, n))
			ref, abs := refDot(t, Q4_K, w, a, n)
			for _, im := range impls {
				if got := float64(im.fn(w, a, n)); math.Abs(got-ref) > 1e-5*abs {
					t.Errorf("n=%d trial %d: %s = %.9g, dequantized reference %.9g (Σ|terms| %.3g)", n, trial, im.name, got, ref, abs)
				}
			}
		}
	}
}
