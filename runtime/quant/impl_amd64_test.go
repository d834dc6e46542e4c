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

// TestQuantizeQ8_KImplementationsAgree: the assembly Q8_K quantizer equals
// quantizeQ8_K (quantize_row_q8_K_ref) byte for byte, on random rows with
// zeros, ties (both signs of the largest magnitude, the first one winning),
// tiny values, and blocks that are all zero, all NaN, or hold NaNs and
// infinities.
func TestQuantizeQ8_KImplementationsAgree(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(62, 63))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for trial := 0; trial < 300; trial++ {
		n := QK_K * (1 + rng.IntN(6))
		x := randomFloats(rng, n)
		for i := range x {
			switch rng.IntN(10) {
			case 0:
				x[i] = 0
			case 1:
				x[i] = float32(rng.IntN(255)-127) + 0.5
			case 2:
				x[i] *= 1e-40 // denormal
			}
		}
		blk := x[QK_K*rng.IntN(n/QK_K):][:QK_K]
		switch trial % 8 {
		case 1:
			clear(blk)
		case 2:
			for i := range blk {
				blk[i] = nan
			}
		case 3:
			blk[rng.IntN(QK_K)], blk[rng.IntN(QK_K)] = nan, nan
		case 4:
			blk[rng.IntN(QK_K)] = inf
			blk[rng.IntN(QK_K)] = -inf
		case 5:
			j, k := rng.IntN(QK_K), rng.IntN(QK_K)
			blk[j], blk[k] = 7.25, -7.25 // ties of the largest magnitude, either sign first
			for i := range blk {
				if i != j && i != k {
					blk[i] = max(-7, min(7, blk[i]))
				}
			}
		case 6:
			blk[QK_K-1] = 1e30 // the largest in the last lane
		case 7:
			for i := QK_K - 32; i < QK_K; i++ {
				blk[i] = nan // NaNs last, where a running maximum would keep them
			}
		}
		got := make([]byte, Q8_K.mustRowSize(n))
		want := make([]byte, len(got))
		if !quantizeQ8_KAsm(x, got) {
			t.Fatal("quantizeQ8_KAsm did not run")
		}
		quantizeQ8_K(x, want)
		if i := firstByteDiff(got, want); i >= 0 {
			t.Fatalf("n=%d trial %d: byte %d (block %d, offset %d) = %#x, portable %#x", n, trial, i, i/q8_KBytes, i%q8_KBytes, got[i], want[i])
		}
	}
}

// TestRepackTilesAVX2: the repacks machines without VNNI run (the Q4_0,
// Q4_K and Q5_K quants in AVX2, Go headers) write exactly the bytes of the
// Go ones, as TestRepackTiles.
func TestRepackTilesAVX2(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2")
	}
	saved := useVNNI
	defer func() { useVNNI = saved }()
	useVNNI = false
	checkTileRepacks(t, 66)
}
