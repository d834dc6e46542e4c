package model_test

import (
	"strings"
	"testing"

	"gpurun/runtime/model"
	"gpurun/runtime/model/synth"
)

// TestGraniteConfig: Granite's multipliers as llama.cpp reads them (the
// logits times 1/logit_scale), and Granite without RoPE refused.
func TestGraniteConfig(t *testing.T) {
	s := synth.Shape{Arch: "granite", Layers: 1, Dim: 64, Heads: 4, KVHeads: 2, FFN: 128, Vocab: 300, Ctx: 64, RopeBase: 10000, Tied: true}
	cfg, err := model.ReadConfig(synthFile(t, s, nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EmbedScale != 12 || cfg.ResidualScale != 0.22 || cfg.LogitScale != 0.125 || cfg.AttentionScale() != 0.015625 {
		t.Errorf("multipliers: embedding %g, residual %g, logits %g, attention %g", cfg.EmbedScale, cfg.ResidualScale, cfg.LogitScale, cfg.AttentionScale())
	}
	_, err = model.ReadConfig(synthFile(t, s, map[string]any{"rope.scaling.finetuned": false}))
	if err == nil || !strings.Contains(err.Error(), "granite without RoPE") {
		t.Errorf("granite without RoPE: %v", err)
	}
}
