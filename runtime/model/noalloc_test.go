package model_test

import (
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
	"gpurun/runtime/model/synth"
)

// TestForwardNoAlloc: a decode step, alone or batched, allocates nothing on
// the CPU backend once warm — GPT-2, Gemma 3 and Gemma 2 past their window,
// Phi-3 (views of fused tensors, LongRoPE factors) and OLMo 2 (norms after
// the sub-blocks).
func TestForwardNoAlloc(t *testing.T) {
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	windowed := func(s synth.Shape) synth.Shape { s.Window = 3; return s }
	for _, c := range []struct {
		name string
		file func(t *testing.T) *gguf.File
	}{
		{"gpt2", gpt2Tiny},
		{"gemma3", func(t *testing.T) *gguf.File { return synthFile(t, windowed(gemma3Shape), nil) }},
		{"gemma2", func(t *testing.T) *gguf.File { return synthFile(t, windowed(gemma2Shape), nil) }},
		{"phi3", func(t *testing.T) *gguf.File { return tinyModel(t, "phi3") }},
		{"olmo2", func(t *testing.T) *gguf.File { return tinyModel(t, "olmo2") }},
		{"qwen3moe", func(t *testing.T) *gguf.File { return tinyModel(t, "qwen3moe") }},
	} {
		t.Run(c.name, func(t *testing.T) { testForwardNoAlloc(t, b, c.file(t)) })
	}
}

// testForwardNoAlloc loads f with room for 3 sequences and checks that a
// decode step of 1 and of 3 sequences, after a 5-token prompt each,
// allocates nothing.
func testForwardNoAlloc(t *testing.T, b backend.Backend, f *gguf.File) {
	t.Helper()
	m, err := model.Load(f, b, model.Options{MaxSeqs: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, seqs := range []int{1, 3} {
		segs := make([]model.Segment, seqs)
		toks := make([]int32, seqs)
		for i := range segs {
			c, err := m.NewCache(64, backend.F32)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Forward([]model.Segment{{Cache: c, Tokens: []int32{10, 20, 30, 40, 50 + int32(i)}}}); err != nil {
				t.Fatal(err)
			}
			toks[i] = int32(100 + i)
			segs[i] = model.Segment{Cache: c, Tokens: toks[i : i+1]}
		}
		if _, err := m.Forward(segs); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(10, func() {
			if _, err := m.Forward(segs); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s, %d sequences: %v allocations per decode step", m.Config().Arch, seqs, n)
		}
	}
}
