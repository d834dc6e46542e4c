package attention

import (
	"context"
	"testing"
	"time"

	"gpurun/bench/sysinfo"
	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
)

func TestModelCostOf(t *testing.T) {
	// A toy model small enough to count by hand: L=1, D=2, one head of 2
	// dims (Q = KV = 2), FFN 3, vocab 5, 100 weight bytes, batches of 2.
	s := ModelShape{Layers: 1, Dim: 2, Heads: 1, KVHeads: 1, HeadDim: 2, FFN: 3, Vocab: 5, Batch: 2, WeightBytes: 100}
	// Forward(T=1, P=2): matmuls 2·1·1·(4+8+4+18) = 68, logits 2·2·5 = 20,
	// attention 4·2·1·(1·2 + 1) = 24; bytes 100 + 2·2·4·3 (read) + 2·2·4·1 (written).
	// Forward(T=2, P=0): 136 + 20 + 4·2·(0 + 3) = 180; bytes 100 + 16·2 + 16·2.
	tests := []struct {
		name              string
		m                 Method
		n                 int
		flops, bytes, mem float64
	}{
		{"cached step at n=3", ModelDecodeCache, 3, 112, 164, 48},
		{"cached step at n=1", ModelDecodeCache, 1, 68 + 20 + 8, 100 + 16 + 16, 16},
		{"uncached step at n=3 in two chunks", ModelDecodeNoCache, 3, 180 + 112, 164 + 164, 48},
	}
	for _, tt := range tests {
		c, err := ModelCostOf(tt.m, s, tt.n, 4)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if c.FLOPs != tt.flops || c.Bytes != tt.bytes || c.Memory != tt.mem {
			t.Errorf("%s: %+v, want FLOPs %g bytes %g memory %g", tt.name, c, tt.flops, tt.bytes, tt.mem)
		}
	}
	for _, bad := range []struct {
		m Method
		n int
		s ModelShape
	}{{Fused, 3, s}, {ModelDecodeCache, 0, s}, {ModelDecodeCache, 3, ModelShape{}}} {
		if _, err := ModelCostOf(bad.m, bad.s, bad.n, 4); err == nil {
			t.Errorf("ModelCostOf(%s, n=%d, %+v) gave no error", bad.m, bad.n, bad.s)
		}
	}
}

// The whole-model methods run end to end on the stories260K fixture
// (structure only; nothing about speed is asserted).
func TestRunWholeModel(t *testing.T) {
	f, err := gguf.Open(fixtures.Path(t, "stories260K/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := model.Load(f, b, model.Options{MaxBatch: 8})
	if err != nil {
		t.Fatal(err)
	}
	shape := NewModelShape("stories260K.gguf", "", m, 1000)
	if shape.Layers != 5 || shape.Dim != 64 || shape.Batch != 8 || shape.Vocab != 512 {
		t.Fatalf("shape %+v", shape)
	}
	cfg := Config{Shape: Shape{Heads: 8, KVHeads: 4, HeadDim: 8}, Lengths: []int{4, 8, 16}, KVType: backend.F32,
		Reps: 2, Passes: 2, MinSample: time.Microsecond, Model: m, ModelShape: shape, ModelMaxLen: 8,
		Methods: []Method{ModelDecodeCache, ModelDecodeNoCache}}
	r, err := Run(context.Background(), b, cfg, sysinfo.Machine{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Points) != 4 || r.Model == nil || r.ModelMaxLen != 8 {
		t.Fatalf("points %+v, model %+v", r.Points, r.Model)
	}
	for _, p := range r.Points {
		c, _ := ModelCostOf(p.Method, shape, p.N, 4)
		if p.Cost != c || !(p.Seconds > 0) || p.N > 8 || p.Samples != 4 {
			t.Errorf("point %+v, want cost %+v", p, c)
		}
	}

	// Whole-model methods need the model, on the measured backend.
	cfg.Model = nil
	if _, err := Run(context.Background(), b, cfg, sysinfo.Machine{}, nil); err == nil {
		t.Error("whole-model methods ran without a model")
	}
	other, _ := cpu.New(cpu.Options{Threads: 1})
	defer other.Close()
	cfg.Model = m
	if _, err := Run(context.Background(), other, cfg, sysinfo.Machine{}, nil); err == nil {
		t.Error("a model on another backend was accepted")
	}
}
