package model_test

import (
	"math"
	"strings"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
	"gpurun/runtime/model/synth"
	"gpurun/runtime/quant"
)

// gemma3Shape is a Gemma 3 small enough for unit tests: 7 layers, so that
// the default pattern makes layer 5 global and layer 6 local again.
var gemma3Shape = synth.Shape{Arch: "gemma3", Layers: 7, Dim: 64, Heads: 4, KVHeads: 1, HeadDim: 32, FFN: 128,
	Vocab: 300, Ctx: 64, RopeBase: 1000000, Window: 3, Tied: true}

// gemma3File builds gemma3Shape with the extra metadata kv (key suffix after
// "gemma3.", value).
func gemma3File(t *testing.T, s synth.Shape, kv map[string]any) *gguf.File {
	t.Helper()
	w, err := synth.Build("gemma3 test", s, quant.Q8_0, quant.Q8_0, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		w.AddKV("gemma3."+k, v)
	}
	f, err := gguf.Parse(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestGemma3Config: the metadata llama.cpp's llama_model_gemma3 reads, with
// its defaults, and what gpurun refuses.
func TestGemma3Config(t *testing.T) {
	for _, c := range []struct {
		name      string
		shape     synth.Shape
		kv        map[string]any
		local     []bool // IsLocal of each layer
		localBase float32
		err       string
	}{
		{name: "default pattern", shape: gemma3Shape, local: []bool{true, true, true, true, true, false, true}, localBase: 10000},
		{name: "pattern 2, local base", shape: gemma3Shape,
			kv:    map[string]any{"attention.sliding_window_pattern": uint32(2), "rope.freq_base_swa": float32(20000)},
			local: []bool{true, false, true, false, true, false, true}, localBase: 20000},
		{name: "no window", shape: func() synth.Shape { s := gemma3Shape; s.Window = 0; return s }(),
			local: make([]bool, 7)},
		{name: "softcapping", shape: gemma3Shape, kv: map[string]any{"final_logit_softcapping": float32(30)},
			err: "final logit softcapping (30) is not supported"},
		{name: "pattern as flags", shape: gemma3Shape, kv: map[string]any{"attention.sliding_window_pattern": []bool{true, false}},
			err: "sliding_window_pattern"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := model.ReadConfig(gemma3File(t, c.shape, c.kv))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for l, want := range c.local {
				if cfg.IsLocal(l) != want {
					t.Errorf("layer %d: local %v, want %v", l, !want, want)
				}
			}
			if c.shape.Window > 0 && (cfg.RoPELocal.FreqBase != c.localBase || cfg.RoPELocal.FreqScale != 1 || cfg.RoPE.FreqBase != 1000000) {
				t.Errorf("RoPE bases: local %+v, global %+v", cfg.RoPELocal, cfg.RoPE)
			}
			if cfg.RoPE.Mode != backend.RoPENeox {
				t.Errorf("RoPE mode %v, want NeoX", cfg.RoPE.Mode)
			}
			if want := float32(math.Sqrt(64)); cfg.EmbedScale != want {
				t.Errorf("embedding scale %g, want %g", cfg.EmbedScale, want)
			}
			if want := float32(1) / float32(math.Sqrt(32)); cfg.QueryScale != want {
				t.Errorf("query scale %g, want %g (1/sqrtf(head dim))", cfg.QueryScale, want)
			}
		})
	}
}

// TestGemma3ForwardNoAlloc: a gemma3 decode step past the window, alone or
// batched, allocates nothing on the CPU backend once warm.
func TestGemma3ForwardNoAlloc(t *testing.T) {
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := model.Load(gemma3File(t, gemma3Shape, nil), b, model.Options{MaxSeqs: 3})
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
			t.Errorf("%d sequences: %v allocations per decode step", seqs, n)
		}
	}
}
