package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/cpu"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
	"gpurun/runtime/model"
	"gpurun/runtime/quant"
)

// randomWeight quantizes a rows x cols matrix of random values to t and
// wraps it as a CPU weight.
func randomWeight(tb testing.TB, b *cpu.Backend, t quant.Type, rows, cols int, seed uint64) backend.Weight {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	rs, err := t.RowSize(cols)
	if err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, rows*rs)
	x := make([]float32, cols)
	for r := 0; r < rows; r++ {
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.05)
		}
		if err := quant.QuantizeRow(t, x, data[r*rs:(r+1)*rs]); err != nil {
			tb.Fatal(err)
		}
	}
	w, err := b.LoadWeight(&gguf.Tensor{Name: "w", Type: t, Dims: []uint64{uint64(cols), uint64(rows)}, Data: data})
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func randomBuffer(tb testing.TB, b *cpu.Backend, n int, seed uint64) backend.Buffer {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+7))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	buf, err := b.NewBuffer(backend.F32, n)
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.Write(buf, x); err != nil {
		tb.Fatal(err)
	}
	return buf
}

// BenchmarkMatMul: SmolLM2-135M's FFN up/gate shape (1536x576) and its tied
// Q8_0 output matrix (49152x576) at T activation rows: T=1 is one decode
// step, T=4/8 batched decoding of that many sequences, T=64 a prefill
// chunk. ns/op is per call; compare ns/op/T across T for the batching gain.
func BenchmarkMatMul(b *testing.B) {
	be, err := cpu.New(cpu.Options{Threads: benchThreads()})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	cases := []struct {
		t          quant.Type
		rows, cols int
		Ts         []int
	}{
		{quant.Q4_1, 1536, 576, []int{1, 4, 8, 64}},
		{quant.Q4_1, 576, 1536, []int{1, 8}},
		{quant.Q8_0, 1536, 576, []int{1, 8}},
		{quant.Q4_0, 1536, 576, []int{1, 8}},
		{quant.Q8_0, 49152, 576, []int{1, 8}},
	}
	for _, c := range cases {
		w := randomWeight(b, be, c.t, c.rows, c.cols, 1)
		for _, T := range c.Ts {
			x := randomBuffer(b, be, T*c.cols, 2)
			dst, _ := be.NewBuffer(backend.F32, T*c.rows)
			b.Run(fmt.Sprintf("%s/%dx%d/T=%d", c.t, c.rows, c.cols, T), func(b *testing.B) {
				for b.Loop() {
					be.MatMul(dst, x, w, T)
				}
				if err := be.Err(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(T)/1e3, "µs/row")
			})
		}
	}
}

// smolLM2 loads the default model for a forward-level benchmark or test,
// skipping (failing under CI) when models/ does not have it.
func smolLM2(tb testing.TB, threads, seqs int) (model.Model, func()) {
	tb.Helper()
	root, err := fixtures.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(root, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
	if _, err := os.Stat(p); err != nil {
		fixtures.Missing(tb, p+" (run make model)")
	}
	f, err := gguf.Open(p)
	if err != nil {
		tb.Fatal(err)
	}
	be, err := cpu.New(cpu.Options{Threads: threads})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := model.Load(f, be, model.Options{MaxSeqs: seqs, MaxBatch: 64})
	if err != nil {
		tb.Fatal(err)
	}
	return m, func() { be.Close(); f.Close() }
}

// prefilled makes n caches holding ctx positions of a fixed prompt each (a
// different one per cache), ready for decoding.
func prefilled(tb testing.TB, m model.Model, n, ctx, room int) []*kvcache.Cache {
	tb.Helper()
	cs := make([]*kvcache.Cache, n)
	for i := range cs {
		c, err := m.NewCache(ctx+room, backend.F32)
		if err != nil {
			tb.Fatal(err)
		}
		toks := make([]int32, ctx)
		for j := range toks {
			toks[j] = int32(1 + (i*977+j*131)%40000)
		}
		if _, err := m.Forward([]model.Segment{{Cache: c, Tokens: toks}}); err != nil {
			tb.Fatal(err)
		}
		cs[i] = c
	}
	return cs
}

// BenchmarkForwardSmolLM2 times one decode step of SmolLM2-135M Q4_1 on 2
// threads ($GPURUN_BENCH_THREADS) for 1 and 8 sequences (8 one-token
// segments in one Forward, as `gpurun serve` batches them). Each sequence
// holds a 48-token prompt and decodes up to 128 tokens before its cache is
// truncated back, so the context cycles through 48..176 positions, about
// what scripts/serve-load.py's scaling phase (a short chat prompt, 96
// tokens) sees. ns/op is one forward pass; tok/s is the aggregate decode
// rate (sequences per second).
func BenchmarkForwardSmolLM2(b *testing.B) {
	for _, seqs := range []int{1, 8} {
		b.Run(fmt.Sprintf("seqs=%d", seqs), func(b *testing.B) {
			m, done := smolLM2(b, benchThreads(), seqs)
			defer done()
			const ctx, room = 48, 128
			cs := prefilled(b, m, seqs, ctx, room)
			segs := make([]model.Segment, seqs)
			toks := make([]int32, seqs)
			for i := range segs {
				toks[i] = int32(100 + i)
				segs[i] = model.Segment{Cache: cs[i], Tokens: toks[i : i+1]}
			}
			for b.Loop() {
				if cs[0].Free() == 0 {
					for _, c := range cs {
						c.Truncate(ctx)
					}
				}
				if _, err := m.Forward(segs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(seqs)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// TestBatchedForwardMatchesSingle: decoding 8 sequences in one Forward must
// give each sequence exactly (bit for bit) the logits it gets decoded alone,
// on the real model, so that `gpurun serve` batching never changes tokens.
// Prompts of different lengths put the sequences at different positions.
func TestBatchedForwardMatchesSingle(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 135M model")
	}
	const seqs, steps = 8, 3
	m, done := smolLM2(t, 2, seqs)
	defer done()
	vocab := m.Config().Vocab
	single := make([][]float32, seqs*steps)
	batched := make([][]float32, seqs*steps)
	read := func(logits backend.Buffer, i int) []float32 {
		all := make([]float32, (i+1)*vocab)
		if err := m.Backend().Read(all, logits); err != nil {
			t.Fatal(err)
		}
		return all[i*vocab:]
	}
	// Alone: one sequence per Forward.
	caches := make([]*kvcache.Cache, seqs)
	for s := range caches {
		caches[s] = prefillOne(t, m, s, 5+3*s, steps)
		for k := 0; k < steps; k++ {
			lg, err := m.Forward([]model.Segment{{Cache: caches[s], Tokens: []int32{int32(200 + 17*s + k)}}})
			if err != nil {
				t.Fatal(err)
			}
			single[s*steps+k] = read(lg, 0)
		}
	}
	// Together: all sequences in each Forward.
	for s := range caches {
		caches[s] = prefillOne(t, m, s, 5+3*s, steps)
	}
	segs := make([]model.Segment, seqs)
	for k := 0; k < steps; k++ {
		for s := range segs {
			segs[s] = model.Segment{Cache: caches[s], Tokens: []int32{int32(200 + 17*s + k)}}
		}
		lg, err := m.Forward(segs)
		if err != nil {
			t.Fatal(err)
		}
		for s := range segs {
			batched[s*steps+k] = read(lg, s)
		}
	}
	for i := range single {
		for j, v := range single[i] {
			if math.Float32bits(v) != math.Float32bits(batched[i][j]) {
				t.Fatalf("sequence %d step %d logit %d: batched %g, alone %g", i/steps, i%steps, j, batched[i][j], v)
			}
		}
	}
}

// prefillOne makes a cache holding n prompt positions of sequence s.
func prefillOne(tb testing.TB, m model.Model, s, n, room int) *kvcache.Cache {
	tb.Helper()
	c, err := m.NewCache(n+room, backend.F32)
	if err != nil {
		tb.Fatal(err)
	}
	toks := make([]int32, n)
	for j := range toks {
		toks[j] = int32(1 + (s*977+j*131)%40000)
	}
	if _, err := m.Forward([]model.Segment{{Cache: c, Tokens: toks}}); err != nil {
		tb.Fatal(err)
	}
	return c
}

// benchThreads is the worker count of the forward benchmarks: 2 (this
// project's reference machine), or $GPURUN_BENCH_THREADS.
func benchThreads() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("GPURUN_BENCH_THREADS"), &n); err == nil && n > 0 {
		return n
	}
	return 2
}

// TestForwardNoAlloc: a decode step, alone or batched, allocates nothing
// in the CPU backend once its scratch has grown (the first calls), on the
// real model so that every op of the Q4_1 path is covered.
func TestForwardNoAlloc(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 135M model")
	}
	for _, seqs := range []int{1, 8} {
		m, done := smolLM2(t, 2, seqs)
		cs := prefilled(t, m, seqs, 8, 64)
		segs := make([]model.Segment, seqs)
		toks := make([]int32, seqs)
		for i := range segs {
			toks[i] = int32(300 + i)
			segs[i] = model.Segment{Cache: cs[i], Tokens: toks[i : i+1]}
		}
		if _, err := m.Forward(segs); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := m.Forward(segs); err != nil {
				t.Fatal(err)
			}
		})
		done()
		if allocs != 0 {
			t.Errorf("%d sequences: %v allocations per decode step", seqs, allocs)
		}
	}
}

// BenchmarkSoftcapVocab: Gemma 2's final logit soft-capping over its
// 256,000-token vocabulary, once per decoded token.
func BenchmarkSoftcapVocab(b *testing.B) {
	be, err := cpu.New(cpu.Options{Threads: benchThreads()})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	src := backendtest.Floats(backendtest.Rand(1), 256000, 60)
	x, _ := be.NewBuffer(backend.F32, len(src))
	if err := be.Write(x, src); err != nil {
		b.Fatal(err)
	}
	y, _ := be.NewBuffer(backend.F32, len(src))
	for b.Loop() {
		be.Softcap(y, x, 30, len(src))
	}
}

// BenchmarkMatMulID: one expert projection of Qwen3-30B-A3B (128 experts of
// 768 x 2048, 8 per token) in Q4_K and Q8_0, for one decode token (T=1: 8
// rows, each its own expert) and a 64-token prompt chunk (512 rows grouped
// by expert, about 4 per expert). µs/row is per routed row.
func BenchmarkMatMulID(b *testing.B) {
	be, err := cpu.New(cpu.Options{Threads: benchThreads()})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	const E, k, R, C = 128, 8, 768, 2048
	for _, t := range []quant.Type{quant.Q4_K, quant.Q8_0} {
		tt, err := backendtest.Tensor("w", t, E*R, C, 3) // random blocks (no K-quant quantizer here)
		if err != nil {
			b.Fatal(err)
		}
		w, err := be.LoadWeight(tt)
		if err != nil {
			b.Fatal(err)
		}
		for _, T := range []int{1, 64} {
			rng := rand.New(rand.NewPCG(4, 5))
			ids := make([]float32, T*k)
			for i := 0; i < T; i++ {
				for j, e := range rng.Perm(E)[:k] { // k distinct experts per token
					ids[i*k+j] = float32(e)
				}
			}
			idb, _ := be.NewBuffer(backend.F32, T*k)
			if err := be.Write(idb, ids); err != nil {
				b.Fatal(err)
			}
			x := randomBuffer(b, be, T*C, 6)
			dst, _ := be.NewBuffer(backend.F32, T*k*R)
			b.Run(fmt.Sprintf("%s/%dx%dx%d/T=%d/k=%d", t, E, R, C, T, k), func(b *testing.B) {
				for b.Loop() {
					be.MatMulID(dst, x, w, idb, backend.MatMulIDArgs{T: T, Used: k, Experts: E})
				}
				if err := be.Err(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(T*k)/1e3, "µs/row")
			})
		}
	}
}
