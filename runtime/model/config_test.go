package model_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gpurun/runtime/model"
)

// TestAttentionScaleIsLlamaCpps: the default attention scale is llama.cpp's
// 1.0f/sqrtf(head_dim) to the bit for every head dim up to 512, as numpy's
// float32 operations computed it (scripts/goldens/kq_scale.py). Rounding
// 1/sqrt once in float64 differs at 96 (Phi-3's heads) and 112, among others.
func TestAttentionScaleIsLlamaCpps(t *testing.T) {
	raw, err := os.ReadFile("testdata/kq_scale.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		HeadDim []int    `json:"head_dim"`
		Bits    []uint32 `json:"scale_f32_bits"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.HeadDim) == 0 || len(g.HeadDim) != len(g.Bits) {
		t.Fatalf("testdata/kq_scale.json: %d head dims, %d scales", len(g.HeadDim), len(g.Bits))
	}
	for i, d := range g.HeadDim {
		got := model.Config{HeadDim: d}.AttentionScale()
		if want := math.Float32frombits(g.Bits[i]); got != want {
			t.Errorf("head dim %d: scale %.9g, llama.cpp %.9g", d, got, want)
		}
	}
}
