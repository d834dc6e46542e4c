package model_test

import (
	"strings"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
	"gpurun/runtime/model/synth"
	"gpurun/runtime/quant"
)

// FuzzLoad: a damaged model file (metadata values, tensor names, types and
// shapes) is refused by Load, or by NewCache or Forward, with a one-line
// error, or runs a short prompt and a decode step; nothing panics or asks
// for memory the file's sizes do not justify.
func FuzzLoad(f *testing.F) {
	// Models small enough for fuzz seeds (a few KB), one per architecture.
	seeds := []struct {
		s   synth.Shape
		mat quant.Type
	}{
		{synth.Shape{Arch: "llama", Layers: 2, Dim: 32, Heads: 2, KVHeads: 1, FFN: 64, Vocab: 8, Ctx: 32, RopeBase: 10000}, quant.Q8_0},
		{synth.Shape{Arch: "qwen2", Layers: 1, Dim: 32, Heads: 4, KVHeads: 2, FFN: 32, Vocab: 6, Ctx: 32, RopeBase: 10000, Tied: true}, quant.F32},
		{synth.Shape{Arch: "gpt2", Layers: 1, Dim: 32, Heads: 2, KVHeads: 2, FFN: 64, Vocab: 8, Ctx: 32}, quant.Q8_0},
		{synth.Shape{Arch: "smollm3", Layers: 4, Dim: 32, Heads: 2, KVHeads: 1, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Tied: true}, quant.Q8_0},
		{synth.Shape{Arch: "granite", Layers: 1, Dim: 32, Heads: 2, KVHeads: 1, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Tied: true}, quant.Q8_0},
		{synth.Shape{Arch: "exaone", Layers: 1, Dim: 32, Heads: 2, KVHeads: 1, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Tied: true}, quant.Q8_0},
		{synth.Shape{Arch: "olmo2", Layers: 1, Dim: 32, Heads: 2, KVHeads: 2, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000}, quant.Q8_0},
		{synth.Shape{Arch: "phi3", Layers: 1, Dim: 32, Heads: 2, KVHeads: 1, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, RopeDims: 8, Tied: true}, quant.Q8_0},
		{synth.Shape{Arch: "gemma2", Layers: 2, Dim: 32, Heads: 2, KVHeads: 1, HeadDim: 16, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Window: 4, Tied: true}, quant.Q8_0},
		{synth.Shape{Arch: "gemma3", Layers: 2, Dim: 32, Heads: 2, KVHeads: 1, HeadDim: 32, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Window: 4, Tied: true}, quant.Q8_0},
		{synth.Shape{Arch: "qwen3", Layers: 1, Dim: 32, Heads: 2, KVHeads: 1, HeadDim: 32, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Tied: true}, quant.Q8_0},
		{synth.Shape{Arch: "qwen3moe", Layers: 1, Dim: 32, Heads: 2, KVHeads: 1, HeadDim: 32, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Tied: true,
			Experts: 4, ExpertsUsed: 2, ExpertFFN: 32}, quant.Q8_0},
		{synth.Shape{Arch: "granitemoe", Layers: 1, Dim: 32, Heads: 2, KVHeads: 1, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Tied: true,
			Experts: 4, ExpertsUsed: 2, SharedFFN: 32}, quant.Q8_0},
		{synth.Shape{Arch: "qwen2moe", Layers: 1, Dim: 32, Heads: 2, KVHeads: 2, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000,
			Experts: 12, ExpertsUsed: 4, ExpertFFN: 32, SharedFFN: 32}, quant.Q8_0},
		{synth.Shape{Arch: "ernie4_5-moe", Layers: 2, Dim: 32, Heads: 2, KVHeads: 1, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Tied: true,
			Experts: 4, ExpertsUsed: 2, ExpertFFN: 32, SharedFFN: 32}, quant.Q8_0},
		{synth.Shape{Arch: "llama", Layers: 1, Dim: 32, Heads: 2, KVHeads: 1, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Experts: 4, ExpertsUsed: 2}, quant.Q8_0},
		{synth.Shape{Arch: "olmoe", Layers: 1, Dim: 32, Heads: 2, KVHeads: 2, FFN: 32, Vocab: 8, Ctx: 32, RopeBase: 10000, Experts: 4, ExpertsUsed: 2}, quant.Q8_0},
	}
	for _, c := range seeds {
		w, err := synth.Build("fuzz seed", c.s, c.mat, quant.F32, 1)
		if err != nil {
			f.Fatal(err)
		}
		b := w.Bytes()
		if _, err := load(b); err != nil {
			f.Fatalf("seed %s does not run: %v", c.s.Arch, err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := load(b); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("error of more than one line: %q", err)
		}
	})
}

// load parses b, loads the model on one CPU thread and runs a prompt of
// three tokens and one decode step; it returns the last logits.
func load(b []byte) ([]float32, error) {
	g, err := gguf.Parse(b)
	if err != nil {
		return nil, err
	}
	be, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	defer be.Close()
	m, err := model.Load(g, be, model.Options{MaxBatch: 4})
	if err != nil {
		return nil, err
	}
	c, err := m.NewCache(8, backend.F32)
	if err != nil {
		return nil, err
	}
	voc := int32(m.Config().Vocab)
	if _, err := m.Forward([]model.Segment{{Cache: c, Tokens: []int32{0, 1 % voc, voc - 1}}}); err != nil {
		return nil, err
	}
	out, err := m.Forward([]model.Segment{{Cache: c, Tokens: []int32{2 % voc}}})
	if err != nil {
		return nil, err
	}
	logits := make([]float32, voc)
	return logits, be.Read(logits, out)
}
