package synth_test

import (
	"io"
	"slices"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
	"gpurun/runtime/model/synth"
	"gpurun/runtime/quant"
)

// TestBuildLoads: what Build writes, for each architecture, is a file
// gpurun loads and runs (shapes cut down so that the test is quick).
func TestBuildLoads(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape synth.Shape
		typ   quant.Type
	}{
		{"smollm2-135m", synth.Shape{Dim: 64, Heads: 4, KVHeads: 2, FFN: 128, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 10000, Tied: true}, quant.Q8_0},
		{"qwen2.5-0.5b", synth.Shape{Arch: "qwen2", Dim: 64, Heads: 4, KVHeads: 2, FFN: 128, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 1000000, Tied: true}, quant.Q8_0},
		{"qwen3-0.6b", synth.Shape{Arch: "qwen3", Dim: 64, Heads: 4, KVHeads: 2, HeadDim: 32, FFN: 128, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 1000000, Tied: true}, quant.Q8_0},
		{"gemma2-2b", synth.Shape{Arch: "gemma2", Dim: 64, Heads: 4, KVHeads: 2, HeadDim: 32, FFN: 128, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 10000, Window: 2, Tied: true}, quant.Q8_0},
		{"granite3-2b", synth.Shape{Arch: "granite", Dim: 64, Heads: 4, KVHeads: 2, FFN: 128, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 10000, Tied: true}, quant.Q8_0},
		{"olmo2-1b", synth.Shape{Arch: "olmo2", Dim: 64, Heads: 4, KVHeads: 4, FFN: 128, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 500000}, quant.Q8_0},
		{"phi4-mini", synth.Shape{Arch: "phi3", Dim: 64, Heads: 2, KVHeads: 1, FFN: 128, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 10000, RopeDims: 24, Tied: true}, quant.Q8_0},
		{"gemma3-270m", synth.Shape{Arch: "gemma3", Dim: 64, Heads: 4, KVHeads: 1, HeadDim: 32, FFN: 128, Layers: 6, Vocab: 300, Ctx: 64, RopeBase: 1000000, Window: 2, Tied: true}, quant.Q8_0},
		{"qwen3-30b-a3b", synth.Shape{Arch: "qwen3moe", Dim: 64, Heads: 4, KVHeads: 2, HeadDim: 32, FFN: 128, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 1000000,
			Experts: 8, ExpertsUsed: 3, ExpertFFN: 32}, quant.Q8_0},
		{"mixtral-8x7b", synth.Shape{Dim: 64, Heads: 4, KVHeads: 2, FFN: 128, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 1000000, Experts: 4, ExpertsUsed: 2}, quant.Q4_0},
		{"granite3-3b-a800m", synth.Shape{Arch: "granitemoe", Dim: 64, Heads: 4, KVHeads: 2, FFN: 32, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 10000, Tied: true,
			Experts: 4, ExpertsUsed: 2, SharedFFN: 32}, quant.Q8_0},
		{"qwen1.5-moe-a2.7b", synth.Shape{Arch: "qwen2moe", Dim: 64, Heads: 4, KVHeads: 4, FFN: 64, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 1000000,
			Experts: 12, ExpertsUsed: 4, ExpertFFN: 32, SharedFFN: 64}, quant.Q8_0},
		{"ernie4.5-21b-a3b", synth.Shape{Arch: "ernie4_5-moe", Dim: 64, Heads: 4, KVHeads: 2, FFN: 128, Layers: 3, Vocab: 300, Ctx: 64, RopeBase: 500000, Tied: true,
			Experts: 8, ExpertsUsed: 3, ExpertFFN: 32, SharedFFN: 64}, quant.Q8_0},
		{"olmoe-1b-7b", synth.Shape{Arch: "olmoe", Dim: 64, Heads: 4, KVHeads: 4, FFN: 32, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 10000, Experts: 8, ExpertsUsed: 2}, quant.Q8_0},
		{"gpt2-124m", synth.Shape{Arch: "gpt2", Dim: 64, Heads: 2, KVHeads: 2, FFN: 256, Layers: 2, Vocab: 300, Ctx: 64}, quant.Q8_0},
		// K-quants have no quantizer: random blocks with modest scales.
		{"tinyllama-1b", synth.Shape{Dim: 256, Heads: 4, KVHeads: 2, FFN: 512, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 10000}, quant.Q4_K},
		{"llama3-8b", synth.Shape{Dim: 256, Heads: 4, KVHeads: 2, FFN: 512, Layers: 2, Vocab: 300, Ctx: 64, RopeBase: 10000}, quant.Q6_K},
	} {
		t.Run(c.name+"-"+c.typ.String(), func(t *testing.T) {
			w, err := synth.Build(c.name, c.shape, c.typ, c.typ, 1)
			if err != nil {
				t.Fatal(err)
			}
			f, m := load(t, w)
			arch := c.shape.Arch
			if arch == "" {
				arch = "llama"
			}
			if got := m.Config().Arch; got != arch {
				t.Errorf("architecture %q, want %q", got, arch)
			}
			if hd := c.shape.HeadDim; hd > 0 && m.Config().HeadDim != hd {
				t.Errorf("head dim %d, want %d", m.Config().HeadDim, hd)
			}
			if unused := model.UnusedTensors(f, m); len(unused) > 0 {
				t.Errorf("tensors written but not loaded: %v", unused)
			}
			cache, err := m.NewCache(16, backend.F32)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Forward([]model.Segment{{Cache: cache, Tokens: []int32{1, 5, 7}}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNamedShapes: every named shape is consistent (heads divide the
// width, KV heads divide the heads) and Build accepts it.
func TestNamedShapes(t *testing.T) {
	for _, name := range synth.Names() {
		s, ok := synth.Named(name)
		if !ok {
			t.Fatalf("Names lists %q, Named does not know it", name)
		}
		if s.Dim%s.Heads != 0 || s.Heads%s.KVHeads != 0 || s.Vocab <= 0 || s.Ctx <= 0 {
			t.Errorf("%s: inconsistent shape %+v", name, s)
		}
		s.Layers = 1
		if _, err := synth.Build(name, s, quant.Q8_0, quant.Q8_0, 1); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, ok := synth.Named("no-such-model"); ok {
		t.Error("Named accepted an unknown name")
	}
	if _, err := synth.Build("bad", synth.Shape{Arch: "mamba", Dim: 8, Heads: 2}, quant.F32, quant.F32, 1); err == nil {
		t.Error("Build accepted an unknown architecture")
	}
}

// TestUnusedTensors: a tensor the architecture does not read is reported
// (Load warns about it), in file order.
func TestUnusedTensors(t *testing.T) {
	s := synth.Shape{Dim: 64, Heads: 4, KVHeads: 2, FFN: 128, Layers: 1, Vocab: 300, Ctx: 64, RopeBase: 10000, Tied: true}
	w, err := synth.Build("unused", s, quant.F32, quant.F32, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"blk.0.mystery.weight", "rope_mystery.weight"} {
		if err := w.AddTensorFunc(name, quant.F32, []uint64{4}, func(w io.Writer) error {
			_, err := w.Write(make([]byte, 16))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	f, m := load(t, w)
	if got := model.UnusedTensors(f, m); !slices.Equal(got, []string{"blk.0.mystery.weight", "rope_mystery.weight"}) {
		t.Fatalf("unused %v", got)
	}
}

// load parses what w writes and loads it on a one-thread CPU backend
// (closed when the test ends).
func load(t *testing.T, w *gguf.Writer) (*gguf.File, model.Model) {
	t.Helper()
	f, err := gguf.Parse(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	b, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	m, err := model.Load(f, b, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}
