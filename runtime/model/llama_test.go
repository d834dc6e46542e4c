package model_test

import (
	"encoding/binary"
	"math"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
)

func openStories(t *testing.T) *gguf.File {
	t.Helper()
	f, err := gguf.Open(fixtures.Path(t, "stories260K/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestStoriesConfig(t *testing.T) {
	c, err := model.ReadConfig(openStories(t))
	if err != nil {
		t.Fatal(err)
	}
	// Values from the fixtures README (llama2.c's stories260K).
	want := model.Config{Arch: "llama", Layers: 5, Dim: 64, Heads: 8, KVHeads: 4, HeadDim: 8, FFN: 172,
		CtxTrain: 2048, NormEps: 1e-5,
		RoPE: backend.RoPE{Mode: backend.RoPENormal, Dims: 8, FreqBase: 10000, FreqScale: 1}}
	if c != want {
		t.Fatalf("config\n got %+v\nwant %+v", c, want)
	}
}

// TestStoriesLogits feeds llama2.c's tokens one position at a time and
// compares all 512 logits at each of the 8 positions with llama2.c's own.
func TestStoriesLogits(t *testing.T) {
	raw := fixtures.Read(t, "stories260K/llama2c_logits_pos0-7_f32.bin")
	tokens := []int32{1, 403, 407, 261, 378, 432, 383, 286}
	const vocab = 512
	if len(raw) != len(tokens)*vocab*4 {
		t.Fatalf("logits fixture has %d bytes", len(raw))
	}
	for _, threads := range []int{1, 2} {
		b, err := cpu.New(cpu.Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		m, err := model.Load(openStories(t), b, model.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cache, err := m.NewCache(64, backend.F32)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, vocab)
		worst := 0.0
		for pos, tok := range tokens {
			logits, err := m.Forward([]model.Segment{{Cache: cache, Tokens: []int32{tok}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Read(got, logits); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				want := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(pos*vocab+i):]))
				d := math.Abs(float64(got[i] - want))
				worst = max(worst, d)
				if d > 1e-4 {
					t.Fatalf("threads %d pos %d logit %d = %v, llama2.c %v (|diff| %.3g > 1e-4)", threads, pos, i, got[i], want, d)
				}
			}
		}
		t.Logf("threads %d: max |logit - llama2.c| = %.3g", threads, worst)
	}
}

// TestBatchedPrefillMatchesStepwise: the same tokens fed as one batch give
// the same last logits as one at a time.
func TestBatchedPrefillMatchesStepwise(t *testing.T) {
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := model.Load(openStories(t), b, model.Options{MaxBatch: 16})
	if err != nil {
		t.Fatal(err)
	}
	tokens := []int32{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298}
	run := func(chunks ...int) []float32 {
		cache, err := m.NewCache(32, backend.F32)
		if err != nil {
			t.Fatal(err)
		}
		var logits backend.Buffer
		rest := tokens
		for _, n := range chunks {
			if logits, err = m.Forward([]model.Segment{{Cache: cache, Tokens: rest[:n]}}); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		out := make([]float32, 512)
		if err := b.Read(out, logits); err != nil {
			t.Fatal(err)
		}
		return out
	}
	step := run(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	for _, chunks := range [][]int{{11}, {4, 7}, {1, 9, 1}} {
		got := run(chunks...)
		if nmse := nmse(step, got); nmse > 1e-10 {
			t.Errorf("chunks %v: NMSE %.3g against one-at-a-time", chunks, nmse)
		}
	}
}

// TestBatchedDecodeMatchesSingle: two sequences decoded in one forward pass
// give the logits each gives alone.
func TestBatchedDecodeMatchesSingle(t *testing.T) {
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := model.Load(openStories(t), b, model.Options{MaxSeqs: 2})
	if err != nil {
		t.Fatal(err)
	}
	seqA := []int32{1, 403, 407, 261}
	seqB := []int32{1, 376, 298, 315, 421, 395}
	alone := func(seq []int32) []float32 {
		c, _ := m.NewCache(16, backend.F32)
		logits, err := m.Forward([]model.Segment{{Cache: c, Tokens: seq}})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, 512)
		b.Read(out, logits)
		return out
	}
	wantA, wantB := alone(seqA), alone(seqB)
	ca, _ := m.NewCache(16, backend.F32)
	cb, _ := m.NewCache(16, backend.F32)
	if _, err := m.Forward([]model.Segment{{Cache: ca, Tokens: seqA[:3]}, {Cache: cb, Tokens: seqB[:5]}}); err != nil {
		t.Fatal(err)
	}
	logits, err := m.Forward([]model.Segment{{Cache: ca, Tokens: seqA[3:]}, {Cache: cb, Tokens: seqB[5:]}})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 2*512)
	if err := b.Read(got, logits); err != nil {
		t.Fatal(err)
	}
	if e := nmse(wantA, got[:512]); e > 1e-10 {
		t.Errorf("sequence A: NMSE %.3g", e)
	}
	if e := nmse(wantB, got[512:]); e > 1e-10 {
		t.Errorf("sequence B: NMSE %.3g", e)
	}
}

func nmse(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i] - b[i])
		num += d * d
		den += float64(a[i]) * float64(a[i])
	}
	return num / den
}
