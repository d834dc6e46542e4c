package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// mmTypes: the weight types with multi-row kernels, plus two without (which
// MatMul runs through MatVec) to cover that path.
var mmTypes = []Type{Q4_1, Q8_0, Q4_0, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, F32, F16, BF16}

// mmRows builds rows random weight rows of cols elements of type t.
func mmRows(rng *rand.Rand, tb testing.TB, t Type, rows, cols int) []byte {
	var w []byte
	for r := 0; r < rows; r++ {
		w = append(w, randomBlocks(rng, tb, t, cols)...)
	}
	return w
}

// checkMatMul runs MatMul with an output stride larger than rows (the gaps
// and the tail hold sentinels that must survive) and requires every result
// to be bit-identical to Dot on the same rows, or, for batches that take
// the batch arithmetic of their type (kBatchType, T >= kBatchMin), to
// dotTiledRef, and for the first T - T%4 rows of a Q4_K batch of 4 or more
// (llama.cpp's gemm rows) to dotQ4_KQ8_K64Generic, and for float batches
// that take tinyBLAS's arithmetic to tinyDotRef.
func checkMatMul(t *testing.T, typ Type, w []byte, rows, cols int, b *Batch, name string) {
	t.Helper()
	checkMatMulScratch(t, nil, typ, w, rows, cols, b, name)
}

// checkMatMulScratch is checkMatMul through MatMulScratch with s.
func checkMatMulScratch(t *testing.T, s *Scratch, typ Type, w []byte, rows, cols int, b *Batch, name string) {
	t.Helper()
	T := b.Len()
	ldo := rows + 3
	const sentinel = float32(-12345.5)
	out := make([]float32, T*ldo+1)
	for i := range out {
		out[i] = sentinel
	}
	MatMulScratch(s, typ, w, rows, b, out, ldo)
	rs, _ := typ.RowSize(cols)
	for i := 0; i < T; i++ {
		for r := 0; r < ldo; r++ {
			got := out[i*ldo+r]
			if r >= rows {
				if got != sentinel {
					t.Fatalf("%s: MatMul wrote out[%d*ldo+%d] outside the rows", name, i, r)
				}
				continue
			}
			want, ref := Dot(typ, w[r*rs:(r+1)*rs], b.Row(i), cols), "Dot"
			switch {
			case kBatchType(typ) && T >= kBatchMin:
				want, ref = dotTiledRef(typ, w[r*rs:(r+1)*rs], b.Row(i), cols), "batch arithmetic"
			case tinyBatch(typ, T, cols) && rows%4 == 0:
				want, ref = tinyDotRef(typ, w[r*rs:(r+1)*rs], b.Row(i), cols), "tinyBLAS arithmetic"
			case typ == Q4_K && i < T-T%4 && !b.GemvOnly:
				want, ref = dotQ4_KQ8_K64Generic(w[r*rs:(r+1)*rs], b.Row(i), cols), "Q4_K prompt arithmetic"
			}
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("%s: weight row %d, activation row %d: MatMul %.9g (%#x), %s %.9g (%#x)",
					name, r, i, got, math.Float32bits(got), ref, want, math.Float32bits(want))
			}
		}
	}
	if out[T*ldo] != sentinel {
		t.Fatalf("%s: MatMul wrote past the last row", name)
	}
}

// TestMatMulMatchesDot: every (weight row, activation row) result of
// MatMul equals Dot bit for bit (dotTiledRef for the batches that take the
// batch arithmetic), for batch sizes 1..9 and beyond (full
// groups, remainders of every size, a single leftover row), odd row counts
// and several row lengths, on random blocks and activations quantized as
// the CPU backend does.
func TestMatMulMatchesDot(t *testing.T) { matMulModes(t, testMatMulMatchesDot) }

func testMatMulMatchesDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 51))
	var b Batch   // reused across cases, as the CPU backend does
	var s Scratch // likewise
	for _, typ := range mmTypes {
		cs := []int{32, 96, 576}
		switch {
		case typ.BlockSize() == QK_K:
			cs = []int{256, 768}
		case typ == Q8_0:
			cs = append(cs, 3072) // groups of 6 (groupSize)
		case typ.BlockSize() == 1:
			cs = append(cs, 8, 40, 36) // leftovers after 32s; 36: no tinyBLAS (cols % 8)
		}
		rowCounts := []int{1, 3, 7, 13}
		switch typ {
		case Q4_K, Q4_0, Q6_K, Q5_K, Q3_K, Q2_K: // the tile paths
			cs = append(cs, 256)                  // a shorter row after longer ones: Scratch reuse
			rowCounts = append(rowCounts, 16, 35) // whole tiles of 16 rows, and a partial one
		case F32, F16, BF16: // tinyBLAS for rows % 4 == 0
			rowCounts = append(rowCounts, 4, 12)
		}
		for _, cols := range cs {
			for _, rows := range rowCounts {
				w := mmRows(rng, t, typ, rows, cols)
				for _, T := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 21} {
					if (cols == 576 || cols == 3072) && rows == 13 && T > 9 {
						continue // enough
					}
					x := make([]float32, 0, T*cols)
					for i := 0; i < T; i++ {
						x = append(x, randomFloats(rng, cols)...)
					}
					if err := b.Quantize(typ, x, T, cols); err != nil {
						t.Fatal(err)
					}
					checkMatMulScratch(t, &s, typ, w, rows, cols, &b, fmt.Sprintf("%s %dx%d T=%d", typ, rows, cols, T))
				}
			}
		}
	}
}

// TestMatMulQ4KGemvOnly: with Batch.GemvOnly every row of a Q4_K batch
// (llama.cpp's mul_mat_id on repacked experts) takes Dot's arithmetic,
// the gemm rows included, on every kernel path; without it the first
// T - T%4 rows take the prompt arithmetic, which differs somewhere here.
func TestMatMulQ4KGemvOnly(t *testing.T) { matMulModes(t, testMatMulQ4KGemvOnly) }

func testMatMulQ4KGemvOnly(t *testing.T) {
	rng := rand.New(rand.NewPCG(52, 53))
	var s Scratch
	const rows, cols = 35, 768
	w := mmRows(rng, t, Q4_K, rows, cols)
	differs := false
	for _, T := range []int{4, 5, 8, 9, 16, 17} {
		x := make([]float32, 0, T*cols)
		for i := 0; i < T; i++ {
			x = append(x, randomFloats(rng, cols)...)
		}
		b := Batch{GemvOnly: true}
		if err := b.Quantize(Q4_K, x, T, cols); err != nil {
			t.Fatal(err)
		}
		checkMatMulScratch(t, &s, Q4_K, w, rows, cols, &b, fmt.Sprintf("Q4_K gemv only %dx%d T=%d", rows, cols, T))
		gemv := make([]float32, T*rows)
		MatMulScratch(&s, Q4_K, w, rows, &b, gemv, rows)
		var plain Batch
		if err := plain.Quantize(Q4_K, x, T, cols); err != nil {
			t.Fatal(err)
		}
		gemm := make([]float32, T*rows)
		MatMulScratch(&s, Q4_K, w, rows, &plain, gemm, rows)
		for i := range gemv {
			differs = differs || gemv[i] != gemm[i]
		}
	}
	if !differs {
		t.Error("GemvOnly changed no result: the test would not see it ignored")
	}
}

// TestGroupSize: Q8_0 rows of 3072 (96 blocks) take groups of 6, shorter
// ones and other types the kernels' most.
func TestGroupSize(t *testing.T) {
	for _, c := range []struct {
		t      Type
		nb, gs int
	}{{Q8_0, 96, 6}, {Q8_0, 24, 8}, {Q4_1, 96, 8}, {Q4_0, 96, 4}} {
		if got := groupSize(c.t, c.nb); got != c.gs {
			t.Errorf("groupSize(%s, %d) = %d, want %d", c.t, c.nb, got, c.gs)
		}
	}
}

// TestMatMulEdgeValues: the integer extremes (all-15 nibbles, -128 and
// +127 weights, ±127 activations, scales of 1) through SetRows.
func TestMatMulEdgeValues(t *testing.T) { matMulModes(t, testMatMulEdgeValues) }

func testMatMulEdgeValues(t *testing.T) {
	const cols, rows = 96, 5
	for _, typ := range []Type{Q4_1, Q8_0, Q4_0} {
		for _, fill := range []byte{0x00, 0xff, 0x80, 0x81, 0x7f} {
			rng := rand.New(rand.NewPCG(52, uint64(fill)))
			rs, _ := typ.RowSize(cols)
			var w []byte
			for r := 0; r < rows; r++ {
				wr, _ := integerRows(rng, t, typ, cols)
				df, mf := scaleFields(typ)
				for off := 0; off < rs; off += typ.TypeSize() {
					for j := off; j < off+typ.TypeSize(); j++ {
						if k := j - off; k != df && k != df+1 && (mf < 0 || (k != mf && k != mf+1)) && r%2 == 0 {
							wr[j] = fill
						}
					}
				}
				w = append(w, wr...)
			}
			for _, T := range []int{2, 5, 8, 9} {
				var as []byte
				for i := 0; i < T; i++ {
					_, a := integerRows(rng, t, typ, cols)
					vt := VecDotType(typ)
					qs := vt.TypeSize() - 32
					for off := 0; off < len(a) && i%2 == 0; off += vt.TypeSize() {
						for j := 0; j < 32; j++ {
							a[off+qs+j] = byte(int8(127 * (1 - 2*(j%2))))
						}
					}
					as = append(as, a...)
				}
				var b Batch
				if err := b.SetRows(typ, as, T, cols); err != nil {
					t.Fatal(err)
				}
				checkMatMul(t, typ, w, rows, cols, &b, fmt.Sprintf("%s fill %#02x T=%d", typ, fill, T))
			}
		}
	}
}

// TestMatMulEdgeValuesK: the K-quants' tile paths at the ends of their
// integer ranges. Half the weight rows have every byte but d and dmin set to
// one fill pattern (all quants and scales at 0, at their largest, or
// 0x80/0x81/0x7f: Q6_K scales of -128, -127, 127 with the largest quants),
// the activations are all ±1 (quants of ±127), over 17 rows (a
// whole tile and one row of the next) and two super-blocks.
func TestMatMulEdgeValuesK(t *testing.T) { matMulModes(t, testMatMulEdgeValuesK) }

func testMatMulEdgeValuesK(t *testing.T) {
	const cols, rows = 512, 17
	for _, typ := range []Type{Q6_K, Q5_K, Q3_K, Q2_K, Q4_K} {
		for _, fill := range []byte{0x00, 0xff, 0x80, 0x81, 0x7f} {
			rng := rand.New(rand.NewPCG(56, uint64(fill)))
			rs, _ := typ.RowSize(cols)
			df, mf := scaleFields(typ)
			w := mmRows(rng, t, typ, rows, cols)
			for r := 0; r < rows; r += 2 {
				for off := r * rs; off < (r+1)*rs; off += typ.TypeSize() {
					for k := 0; k < typ.TypeSize(); k++ {
						if k != df && k != df+1 && (mf < 0 || (k != mf && k != mf+1)) {
							w[off+k] = fill
						}
					}
				}
			}
			for _, T := range []int{2, 3, 7, 8, 13} {
				x := make([]float32, T*cols)
				for i := range x {
					x[i] = float32(1 - 2*(i%2))
					if i/cols%2 == 1 {
						x[i] = -x[i] // rows led by -1 too
					}
				}
				var b Batch
				if err := b.Quantize(typ, x, T, cols); err != nil {
					t.Fatal(err)
				}
				checkMatMul(t, typ, w, rows, cols, &b, fmt.Sprintf("%s fill %#02x T=%d", typ, fill, T))
			}
		}
	}
}

// TestMatMulKernelsAgree runs the assembly and the portable multi-row
// kernels on the same packed groups (every G) and requires identical bits;
// the portable ones must also equal the portable one-row kernels (the
// assembly ones equal the assembly one-row kernels by TestMatMulMatchesDot).
func TestMatMulKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(54, 55))
	const rows = 11
	for _, typ := range []Type{Q4_1, Q8_0, Q4_0} {
		for _, cols := range []int{32, 64, 160, 1536} {
			w := mmRows(rng, t, typ, rows, cols)
			rs, _ := typ.RowSize(cols)
			nb := cols / 32
			for G := 2; G <= maxGroup(typ); G++ {
				x := make([]float32, 0, G*cols)
				for i := 0; i < G; i++ {
					x = append(x, randomFloats(rng, cols)...)
				}
				var b Batch
				if err := b.Quantize(typ, x, G, cols); err != nil {
					t.Fatal(err)
				}
				b.packGroups() // the group layout, even where MatMul would take the Q4_0 tile path
				gen := make([]float32, G*rows)
				switch typ {
				case Q4_1:
					mmQ4_1Generic(w, rs, rows, b.packed, G, nb, gen, rows)
				case Q8_0:
					mmQ8_0Generic(w, rs, rows, b.packed, G, nb, gen, rows)
				case Q4_0:
					mmQ4_0Generic(w, rs, rows, b.packed, G, nb, gen, rows)
				}
				for i := 0; i < G; i++ {
					for r := 0; r < rows; r++ {
						want := genericDot(typ)(w[r*rs:(r+1)*rs], b.Row(i), cols)
						if got := gen[i*rows+r]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s cols=%d G=%d row %d act %d: portable multi %.9g, portable Dot %.9g", typ, cols, G, r, i, got, want)
						}
					}
				}
				// The assembly sets (AVX2, VNNI where the CPU has it) agree
				// with each other and with the portable kernels.
				var asm [][]float32
				for _, vnni := range []bool{false, true} {
					out := make([]float32, G*rows)
					if mmGroupAsm(typ, w, rs, rows, b.packed, G, nb, out, rows, vnni) {
						asm = append(asm, out)
					}
				}
				for k, out := range asm {
					for i := range out {
						if math.Float32bits(out[i]) != math.Float32bits(gen[i]) {
							t.Fatalf("%s cols=%d G=%d out %d: assembly set %d %.9g, portable %.9g", typ, cols, G, i, k, out[i], gen[i])
						}
					}
				}
			}
		}
	}
}

// TestMatMulConcurrent splits the weight rows over goroutines, as the CPU
// backend does, and requires the single-call result.
func TestMatMulConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(56, 57))
	const rows, cols, T = 101, 576, 11
	for _, typ := range []Type{Q4_1, Q8_0, Q4_0} {
		rs, _ := typ.RowSize(cols)
		w := mmRows(rng, t, typ, rows, cols)
		x := make([]float32, 0, T*cols)
		for i := 0; i < T; i++ {
			x = append(x, randomFloats(rng, cols)...)
		}
		var b Batch
		if err := b.Quantize(typ, x, T, cols); err != nil {
			t.Fatal(err)
		}
		want := make([]float32, T*rows)
		MatMul(typ, w, rows, &b, want, rows)
		got := make([]float32, T*rows)
		var wg sync.WaitGroup
		for lo := 0; lo < rows; lo += 13 {
			hi := min(lo+13, rows)
			wg.Add(1)
			go func() {
				defer wg.Done()
				MatMul(typ, w[lo*rs:hi*rs], hi-lo, &b, got[lo:], rows)
			}()
		}
		wg.Wait()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s out %d: concurrent %g, single %g", typ, i, got[i], want[i])
			}
		}
	}
}

// TestMatMulNoOverread: weights and packed activations end right before
// an unmapped page.
func TestMatMulNoOverread(t *testing.T) { matMulModes(t, testMatMulNoOverread) }

func testMatMulNoOverread(t *testing.T) {
	rng := rand.New(rand.NewPCG(58, 59))
	for _, typ := range []Type{Q4_1, Q8_0, Q4_0} {
		for _, cols := range []int{32, 96} {
			for _, T := range []int{2, 3, 5, 8} {
				const rows = 3
				w := guardedCopy(t, mmRows(rng, t, typ, rows, cols))
				x := make([]float32, 0, T*cols)
				for i := 0; i < T; i++ {
					x = append(x, randomFloats(rng, cols)...)
				}
				var b Batch
				if err := b.Quantize(typ, x, T, cols); err != nil {
					t.Fatal(err)
				}
				b.packed = guardedCopy(t, b.packed)
				checkMatMul(t, typ, w, rows, cols, &b, fmt.Sprintf("%s guarded T=%d", typ, T))
			}
		}
	}
}

func TestMatMulNoAlloc(t *testing.T) { matMulModes(t, testMatMulNoAlloc) }

func testMatMulNoAlloc(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 61))
	const rows = 16
	for _, typ := range []Type{Q4_1, Q8_0, Q4_0, Q4_K, Q6_K, Q5_K, Q3_K, Q2_K, F32, F16, BF16} {
		cols := 576
		if typ.BlockSize() == QK_K {
			cols = 512
		}
		w := mmRows(rng, t, typ, rows, cols)
		for _, T := range []int{1, 9} { // decoding one row (the Q4_0 tile path) and a batch
			x := randomFloats(rng, T*cols)
			out := make([]float32, T*rows)
			var b Batch
			var s Scratch // the tile paths' working memory, reused as the CPU backend does
			if err := b.Quantize(typ, x, T, cols); err != nil {
				t.Fatal(err)
			}
			MatMulScratch(&s, typ, w, rows, &b, out, rows)
			allocs := testing.AllocsPerRun(20, func() {
				if err := b.Quantize(typ, x, T, cols); err != nil {
					t.Fatal(err)
				}
				MatMulScratch(&s, typ, w, rows, &b, out, rows)
			})
			if allocs != 0 {
				t.Errorf("%s T=%d: %v allocations per Quantize+MatMul", typ, T, allocs)
			}
		}
	}
}

func TestMatMulPanics(t *testing.T) {
	var b Batch
	x := make([]float32, 2*64)
	if err := b.Quantize(Q4_1, x, 2, 64); err != nil {
		t.Fatal(err)
	}
	w := make([]byte, 3*40)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"wrong type", func() { MatMul(Q8_0, w, 1, &b, make([]float32, 8), 4) }},
		{"short w", func() { MatMul(Q4_1, w, 4, &b, make([]float32, 8), 4) }},
		{"short out", func() { MatMul(Q4_1, w, 3, &b, make([]float32, 5), 3) }},
		{"ldo < rows", func() { MatMul(Q4_1, w, 3, &b, make([]float32, 8), 2) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			c.f()
		}()
	}
	if err := b.Quantize(Q4_1, x, 2, 63); err == nil {
		t.Error("Quantize accepted a partial block")
	}
	if err := b.Quantize(Q8_1, x, 2, 64); err == nil {
		t.Error("Quantize accepted an activation type as weight type")
	}
}

// TestMatMulMinus128: an activation quant of -128 (which no quantizer
// produces, but SetRows accepts) keeps Q8_0 off the VNNI kernels, whose
// exact products would differ there from the sign trick Dot shares with
// ggml.
func TestMatMulMinus128(t *testing.T) {
	matMulModes(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(62, 63))
		const rows, cols, T = 5, 64, 4
		for _, typ := range []Type{Q8_0, Q4_0} {
			w := mmRows(rng, t, typ, rows, cols)
			var as []byte
			for i := 0; i < T; i++ {
				as = append(as, quantize(t, Q8_0, randomFloats(rng, cols))...)
			}
			for off := 2; off < len(as); off += 34 {
				as[off+rng.IntN(32)] = 0x80
			}
			var b Batch
			if err := b.SetRows(typ, as, T, cols); err != nil {
				t.Fatal(err)
			}
			if b.vnniOK && typ == Q8_0 {
				t.Fatal("Q8_0 batch with -128 quants marked for the VNNI kernels")
			}
			checkMatMul(t, typ, w, rows, cols, &b, fmt.Sprintf("%s with -128 activations", typ))
		}
	})
}

// tinyDotRef is llamafile's tinyBLAS for one output, from its definition:
// one 8-lane FMA accumulator over the row, then hsum (hsum_float_8's order).
func tinyDotRef(t Type, w, a []byte, cols int) float32 {
	x, y := floatRow{w, t}, floatRow{a, t}
	var c [8]float32
	for l := 0; l < cols; l++ {
		c[l%8] = FMA32(x.at(l), y.at(l), c[l%8])
	}
	t0, t1, t2, t3 := c[0]+c[4], c[1]+c[5], c[2]+c[6], c[3]+c[7]
	return (t0 + t2) + (t1 + t3)
}

// TestMatMulTinyBlocks: tinyBLAS batches split into blocks of one or two
// pairs (odd and even batches) give the same results as one block.
func TestMatMulTinyBlocks(t *testing.T) {
	saved := tinyBlockBytes
	defer func() { tinyBlockBytes = saved }()
	rng := rand.New(rand.NewPCG(60, 61))
	for _, typ := range []Type{F32, F16, BF16} {
		const rows, cols = 8, 64
		w := mmRows(rng, t, typ, rows, cols)
		for _, pairs := range []int{tinyPairs, 2 * tinyPairs, 1 << 20} {
			tinyBlockBytes = pairs * cols * 8
			for _, T := range []int{2, 5, 14, 15, 27, 140} { // 27, 140: several groups of pairs, a short last group
				var b Batch
				if err := b.Quantize(typ, randomFloats(rng, T*cols), T, cols); err != nil {
					t.Fatal(err)
				}
				checkMatMul(t, typ, w, rows, cols, &b, fmt.Sprintf("%s T=%d blocks of %d pairs", typ, T, pairs))
			}
		}
	}
}
