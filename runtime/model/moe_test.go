package model_test

import (
	"strings"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/model"
	"gpurun/runtime/model/synth"
)

var moeShape = synth.Shape{Arch: "qwen3moe", Layers: 1, Dim: 64, Heads: 4, KVHeads: 2, HeadDim: 32, FFN: 256, Vocab: 300, Ctx: 64,
	RopeBase: 1000000, Experts: 8, ExpertsUsed: 2, ExpertFFN: 32}

// with is moeShape changed by f.
func with(f func(*synth.Shape)) synth.Shape {
	s := moeShape
	f(&s)
	return s
}

// TestMoEConfig: the expert keys as llama.cpp reads them (qwen3moe's
// expert_feed_forward_length defaulting to feed_forward_length / used;
// llama's experts always feed_forward_length rows), and what is refused,
// each with a one-line error naming the problem.
func TestMoEConfig(t *testing.T) {
	cfg, err := model.ReadConfig(synthFile(t, moeShape, nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Experts != 8 || cfg.ExpertsUsed != 2 || cfg.ExpertFFN != 32 || !cfg.ExpertNorm {
		t.Errorf("qwen3moe: experts %d, used %d, rows %d, norm %v", cfg.Experts, cfg.ExpertsUsed, cfg.ExpertFFN, cfg.ExpertNorm)
	}
	mixtral := synth.Shape{Arch: "llama", Layers: 1, Dim: 64, Heads: 4, KVHeads: 2, FFN: 128, Vocab: 300, Ctx: 64, RopeBase: 10000, Experts: 4, ExpertsUsed: 2}
	cfg, err = model.ReadConfig(synthFile(t, mixtral, map[string]any{"expert_feed_forward_length": uint32(32)}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Arch != "llama" || cfg.ExpertFFN != 128 {
		t.Errorf("llama with experts: arch %s, expert rows %d, want llama and feed_forward_length's 128", cfg.Arch, cfg.ExpertFFN)
	}
	for _, c := range []struct {
		name  string
		shape synth.Shape
		kv    map[string]any
		want  string
	}{
		{"used above count", with(func(s *synth.Shape) { s.ExpertsUsed = 9 }), nil, "want 1 <= used <= count"},
		{"no experts", with(func(s *synth.Shape) { s.Experts, s.ExpertsUsed = 0, 0 }), nil, "expert_count = 0"},
		{"too many", with(func(s *synth.Shape) { s.Experts = 513 }), nil, "<= 512"},
		{"gemma with experts", gemma3Shape, map[string]any{"expert_count": uint32(4), "expert_used_count": uint32(2)}, "llama (Mixtral) only"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := model.ReadConfig(synthFile(t, c.shape, c.kv))
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line containing %q", err, c.want)
			}
		})
	}
}

// noExperts hides the CPU backend's expert ops: a backend without them.
type noExperts struct{ backend.Backend }

// TestMoELoadErrors: a backend without the expert ops, and a block whose
// feed-forward tensors are not a mixture's, are refused at load with one
// line.
func TestMoELoadErrors(t *testing.T) {
	b, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = model.Load(synthFile(t, moeShape, nil), noExperts{b}, model.Options{})
	if err == nil || !strings.Contains(err.Error(), "mixture-of-experts") || !strings.Contains(err.Error(), "--device cpu") {
		t.Errorf("backend without expert ops: %v", err)
	}
	// llama metadata with experts but a dense file's tensors
	dense := synth.Shape{Arch: "llama", Layers: 1, Dim: 64, Heads: 4, KVHeads: 2, FFN: 128, Vocab: 300, Ctx: 64, RopeBase: 10000}
	_, err = model.Load(synthFile(t, dense, map[string]any{"expert_count": uint32(4), "expert_used_count": uint32(2)}), b, model.Options{})
	if err == nil || !strings.Contains(err.Error(), "lacks some of ffn_gate_inp") || strings.Contains(err.Error(), "\n") {
		t.Errorf("experts in the metadata, dense tensors: %v", err)
	}
	if _, err := model.Load(synthFile(t, moeShape, nil), b, model.Options{}); err != nil {
		t.Errorf("the mixture itself: %v", err)
	}
}

// TestDescribeActiveParameters: the tiny ERNIE 4.5 MoE of
// llama_tiny_quants.py has 2 expert layers of 3 stacked tensors of 8
// experts x 64 x 256, 3 used per token, so one token leaves 5/8 of
// 2*3*8*64*256 = 786,432 expert parameters out: 491,520.
func TestDescribeActiveParameters(t *testing.T) {
	in := model.Describe(tinyModel(t, "ernie4_5moe"))
	if in.Experts != 8 || in.ExpertsUsed != 3 || in.ExpertFFN != 64 || in.SharedFFN != 128 || in.DenseLead != 1 {
		t.Errorf("experts %d, used %d, rows %d, shared %d, dense lead %d", in.Experts, in.ExpertsUsed, in.ExpertFFN, in.SharedFFN, in.DenseLead)
	}
	if got := in.Parameters - in.ActiveParameters; got != 491520 {
		t.Errorf("parameters %d, active %d: %d left out per token, want 491520", in.Parameters, in.ActiveParameters, got)
	}
}
