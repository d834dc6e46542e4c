package quant

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Dot benchmarks report weight bytes read per second (b.SetBytes of one
// weight row) for the realistic SmolLM2-135M row lengths 576 (d_model) and
// 1536 (d_ff), every implementation side by side.
func BenchmarkDot(b *testing.B) {
	rng := rand.New(rand.NewPCG(30, 31))
	for _, dt := range dotTypes {
		for _, n := range []int{576, 1536} {
			if n%dt.t.BlockSize() != 0 {
				n = (n + QK_K - 1) / QK_K * QK_K // k-quants: 768 and 1536
			}
			w := randomBlocks(rng, b, dt.t, n)
			a := quantize(b, VecDotType(dt.t), randomFloats(rng, n))
			for _, im := range dotImpls(dt.t) {
				b.Run(fmt.Sprintf("%s/n=%d/%s", dt.t, n, im.name), func(b *testing.B) {
					b.SetBytes(int64(len(w)))
					var s float32
					for b.Loop() {
						s += im.fn(w, a, n)
					}
					sink = s
				})
			}
		}
	}
}

var sink float32

// BenchmarkMatVec: whole matrices as in SmolLM2-135M decode — the 1536x576
// FFN up/gate projection in several formats and the 49152x576 Q8_0 token
// embedding used as the tied output matrix (30 MB, so memory-bound).
func BenchmarkMatVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(32, 33))
	cases := []struct {
		t          Type
		rows, cols int
	}{
		{Q4_1, 1536, 576}, {Q4_0, 1536, 576}, {Q5_0, 1536, 576}, {Q5_1, 1536, 576}, {Q8_0, 1536, 576}, {Q4_K, 1536, 768},
		{Q2_K, 1536, 768}, {Q3_K, 1536, 768}, {Q5_K, 1536, 768}, {Q6_K, 1536, 768}, {F16, 1536, 576}, {F32, 1536, 576}, {Q8_0, 49152, 576}, {F32, 49152, 576}, {BF16, 49152, 576},
	}
	for _, c := range cases {
		rs, _ := c.t.RowSize(c.cols)
		row := randomBlocks(rng, b, c.t, c.cols)
		w := make([]byte, c.rows*rs)
		for r := 0; r < c.rows; r++ {
			copy(w[r*rs:], row)
			w[r*rs+rs-1] ^= byte(r) // rows differ
		}
		a := quantize(b, VecDotType(c.t), randomFloats(rng, c.cols))
		out := make([]float32, c.rows)
		for _, im := range dotImpls(c.t) {
			b.Run(fmt.Sprintf("%s/%dx%d/%s", c.t, c.rows, c.cols, im.name), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					matVec(im.fn, w, rs, c.cols, a, out)
				}
			})
		}
		// MatVec itself: the multi-row kernels where a type has them.
		b.Run(fmt.Sprintf("%s/%dx%d/MatVec", c.t, c.rows, c.cols), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				MatVec(c.t, w, c.rows, c.cols, a, out)
			}
		})
	}
}

// BenchmarkQuantizeActivation: ggml's x86 activation quantizers (what the
// CPU backend runs), bytes of float32 input per second.
func BenchmarkQuantizeActivation(b *testing.B) {
	rng := rand.New(rand.NewPCG(36, 37))
	for _, t := range []Type{Q8_0, Q8_1} {
		for _, n := range []int{576, 1536} {
			x := randomFloats(rng, n)
			rs, _ := t.RowSize(n)
			dst := make([]byte, rs)
			b.Run(fmt.Sprintf("%s/n=%d", t, n), func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					if err := QuantizeActivation(t, x, dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkQuantizeRow: the reference quantizers, bytes of float32 input per
// second.
func BenchmarkQuantizeRow(b *testing.B) {
	rng := rand.New(rand.NewPCG(34, 35))
	for _, t := range []Type{Q8_0, Q8_1, Q8_K, F16} {
		for _, n := range []int{768, 1536} {
			x := randomFloats(rng, n)
			rs, _ := t.RowSize(n)
			dst := make([]byte, rs)
			b.Run(fmt.Sprintf("%s/n=%d", t, n), func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					if err := QuantizeRow(t, x, dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMatMul: one goroutine, the 1536x576 FFN shape of SmolLM2-135M
// (and its 49152x576 Q8_0 output matrix) against T activation rows:
// MatMul (multi-row kernels) next to T MatVec passes, which is what the CPU
// backend ran before MatMul existed. µs/row is per activation row.
func BenchmarkMatMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(38, 39))
	cases := []struct {
		t          Type
		rows, cols int
		Ts         []int
	}{
		{Q4_1, 1536, 576, []int{1, 2, 4, 8, 64}},
		{Q8_0, 1536, 576, []int{1, 8}},
		{Q4_0, 1536, 576, []int{1, 2, 4, 8, 64}},
		{Q8_0, 49152, 576, []int{2, 8}}, // a stream of 27 MB, as decoding a few sequences at once
		{Q4_1, 49152, 576, []int{2, 4}},
		{Q4_K, 2048, 2048, []int{1, 2, 8, 16, 32, 64}}, // tinyllama-1b's attention projections
		{Q4_K, 2048, 5632, []int{64}},                  // and its FFN down projection
		{Q6_K, 2048, 2048, []int{64}},
		{Q5_K, 2048, 2048, []int{64}},
		{Q5_0, 1536, 576, []int{64}},
		{Q5_1, 1536, 576, []int{64}},
		{Q3_K, 2048, 2048, []int{64}},
		{Q2_K, 2048, 2048, []int{64}},
		{F16, 1536, 576, []int{1, 64, 512}}, // tinyBLAS from T=2 (tiny.go)
		{BF16, 1536, 576, []int{1, 64, 512}},
		{F32, 1536, 576, []int{1, 64, 512}},
	}
	for _, c := range cases {
		rs, _ := c.t.RowSize(c.cols)
		w := make([]byte, 0, c.rows*rs)
		for r := 0; r < c.rows; r++ {
			w = append(w, randomBlocks(rng, b, c.t, c.cols)...)
		}
		for _, T := range c.Ts {
			var ab Batch
			if err := ab.Quantize(c.t, randomFloats(rng, T*c.cols), T, c.cols); err != nil {
				b.Fatal(err)
			}
			out := make([]float32, T*c.rows)
			perRow := func(b *testing.B) {
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(ns/float64(T)/1e3, "µs/row")
				b.ReportMetric(float64(c.rows*c.cols*T)/ns, "GMAC/s")
			}
			var s Scratch
			b.Run(fmt.Sprintf("%s/%dx%d/T=%d/MatMul", c.t, c.rows, c.cols, T), func(b *testing.B) {
				for b.Loop() {
					MatMulScratch(&s, c.t, w, c.rows, &ab, out, c.rows)
				}
				perRow(b)
			})
			b.Run(fmt.Sprintf("%s/%dx%d/T=%d/MatVecs", c.t, c.rows, c.cols, T), func(b *testing.B) {
				for b.Loop() {
					for i := 0; i < T; i++ {
						MatVec(c.t, w, c.rows, c.cols, ab.Row(i), out[i*c.rows:])
					}
				}
				perRow(b)
			})
		}
	}
}
