package model_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
	"gpurun/runtime/model"
	"gpurun/runtime/model/synth"
	"gpurun/runtime/quant"
)

// gemma3Shape is a Gemma 3 small enough for unit tests: 7 layers, so that
// the default pattern makes layer 5 global and layer 6 local again;
// gemma2Shape the same as a Gemma 2 (whose synth file has the soft-caps
// 50 and 30, and no window key: llama.cpp's default is 4096).
var (
	gemma3Shape = synth.Shape{Arch: "gemma3", Layers: 7, Dim: 64, Heads: 4, KVHeads: 1, HeadDim: 32, FFN: 128,
		Vocab: 300, Ctx: 64, RopeBase: 1000000, Window: 3, Tied: true}
	gemma2Shape = synth.Shape{Arch: "gemma2", Layers: 7, Dim: 64, Heads: 4, KVHeads: 1, HeadDim: 32, FFN: 128,
		Vocab: 300, Ctx: 64, RopeBase: 10000, Tied: true}
)

// synthFile builds shape s with the extra metadata kv (key suffix after
// the architecture's prefix, value).
func synthFile(t *testing.T, s synth.Shape, kv map[string]any) *gguf.File {
	t.Helper()
	w, err := synth.Build("gemma test", s, quant.Q8_0, quant.Q8_0, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		w.AddKV(s.Arch+"."+k, v)
	}
	f, err := gguf.Parse(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestGemmaConfig: the metadata llama.cpp's llama_model_gemma2 and
// llama_model_gemma3 read, with their defaults, and what gpurun refuses.
func TestGemmaConfig(t *testing.T) {
	sixth := []bool{true, true, true, true, true, false, true}
	other := []bool{true, false, true, false, true, false, true}
	for _, c := range []struct {
		name                  string
		shape                 synth.Shape
		kv                    map[string]any
		window                int
		local                 []bool // IsLocal of each layer
		localBase, localScale float32
		attnCap, finalCap     float32
		err                   string
	}{
		{name: "gemma3 default pattern", shape: gemma3Shape, window: 3, local: sixth, localBase: 10000, localScale: 1},
		{name: "gemma3 pattern 2, local base", shape: gemma3Shape,
			kv:     map[string]any{"attention.sliding_window_pattern": uint32(2), "rope.freq_base_swa": float32(20000)},
			window: 3, local: other, localBase: 20000, localScale: 1},
		{name: "gemma3 no window", shape: func() synth.Shape { s := gemma3Shape; s.Window = 0; return s }(),
			local: make([]bool, 7)},
		{name: "gemma3 final soft-cap", shape: gemma3Shape, kv: map[string]any{"final_logit_softcapping": float32(30)},
			window: 3, local: sixth, localBase: 10000, localScale: 1, finalCap: 30},
		{name: "gemma3 negative soft-cap", shape: gemma3Shape, kv: map[string]any{"final_logit_softcapping": float32(-1)},
			err: "must not be negative"},
		{name: "gemma3 pattern as flags", shape: gemma3Shape, kv: map[string]any{"attention.sliding_window_pattern": []bool{true, false}},
			err: "sliding_window_pattern"},
		// Gemma 2: the window defaults to 4096 in every other layer, the
		// local layers rotate as the global ones, both soft-caps apply
		{name: "gemma2 defaults", shape: gemma2Shape, window: 4096, local: other, localBase: 10000, localScale: 1, attnCap: 50, finalCap: 30},
		{name: "gemma2 window, scaling", shape: gemma2Shape,
			kv:     map[string]any{"attention.sliding_window": uint32(5), "rope.scaling.type": "linear", "rope.scaling.factor": float32(4)},
			window: 5, local: other, localBase: 10000, localScale: 0.25, attnCap: 50, finalCap: 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := model.ReadConfig(synthFile(t, c.shape, c.kv))
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
			if cfg.SlidingWindow != c.window {
				t.Errorf("sliding window %d, want %d", cfg.SlidingWindow, c.window)
			}
			for l, want := range c.local {
				if cfg.IsLocal(l) != want {
					t.Errorf("layer %d: local %v, want %v", l, !want, want)
				}
			}
			if c.window > 0 && (cfg.RoPELocal.FreqBase != c.localBase || cfg.RoPELocal.FreqScale != c.localScale ||
				cfg.RoPE.FreqBase != c.shape.RopeBase || cfg.RoPELocal.Mode != backend.RoPENeox) {
				t.Errorf("RoPE: local %+v, global %+v", cfg.RoPELocal, cfg.RoPE)
			}
			if cfg.FinalSoftcap != c.finalCap || cfg.AttnSoftcap != c.attnCap {
				t.Errorf("soft-caps %g (attention), %g (logits), want %g, %g", cfg.AttnSoftcap, cfg.FinalSoftcap, c.attnCap, c.finalCap)
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

// tinyModel opens the tiny model of runtime/engine/testdata whose logits
// TestQuantModels* hold to llama.cpp's (name: gemma2, gemma3, phi3, ...).
func tinyModel(t *testing.T, name string) *gguf.File {
	t.Helper()
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(filepath.Join(root, "runtime/engine/testdata/llama-tiny-"+name+".gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestGemmaWindowCacheBitExact: with local layers that keep only their
// window's rows (which move 3 times here), every logit equals the one a
// cache of every position gives, bit for bit: over a prompt fed in chunks
// of 1 to 4 tokens and 200 decode steps, on the tiny Gemma 3 and Gemma 2.
func TestGemmaWindowCacheBitExact(t *testing.T) {
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, name := range []string{"gemma3", "gemma2"} {
		t.Run(name, func(t *testing.T) {
			f := tinyModel(t, name)
			var ms [2]model.Model
			var cs [2]*kvcache.Cache
			for i, full := range []bool{false, true} {
				if ms[i], err = model.Load(f, b, model.Options{MaxBatch: 4, FullCache: full}); err != nil {
					t.Fatal(err)
				}
				if cs[i], err = ms[i].NewCache(256, backend.F32); err != nil {
					t.Fatal(err)
				}
			}
			if cs[0].Bytes() >= cs[1].Bytes() {
				t.Fatalf("window cache %d bytes, full %d", cs[0].Bytes(), cs[1].Bytes())
			}
			vocab := ms[0].Config().Vocab
			got := [2][]float32{make([]float32, vocab), make([]float32, vocab)}
			next, moves, last := int32(7), 0, 0
			for step := 0; cs[0].Pos() < 250; step++ {
				toks := []int32{next}
				if step < 12 { // a prompt in chunks of 1 to 4
					toks = make([]int32, 1+step%4)
					for i := range toks {
						toks[i] = int32((step*31 + i*7) % vocab)
					}
				}
				for i := range 2 {
					logits, err := ms[i].Forward([]model.Segment{{Cache: cs[i], Tokens: toks}})
					if err != nil {
						t.Fatal(err)
					}
					if err := b.Read(got[i], logits); err != nil {
						t.Fatal(err)
					}
				}
				for j := range got[0] {
					if math.Float32bits(got[0][j]) != math.Float32bits(got[1][j]) {
						t.Fatalf("position %d, logit %d: %g with the window cache, %g with the full one", cs[0].Pos(), j, got[0][j], got[1][j])
					}
				}
				if off := cs[0].Offset(0); off != last {
					moves, last = moves+1, off
				}
				next = int32(argmax(got[0]))
			}
			if moves < 3 {
				t.Errorf("the window's rows moved %d times", moves)
			}
			t.Logf("250 positions, the window's rows moved %d times; cache %d bytes against %d", moves, cs[0].Bytes(), cs[1].Bytes())
		})
	}
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
