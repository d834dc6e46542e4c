package attention

import (
	"bytes"
	"strings"
	"testing"

	"gpurun/bench/report"
)

const sdpaJSON = `{
  "study": "sdpa", "torch": "2.5.1", "cuda": "12.4", "device": "NVIDIA H200", "dtype": "float16",
  "backend": "default", "gqa": "enable_gqa", "shape": {"heads": 9, "kv_heads": 3, "head_dim": 64},
  "date": "2026-01-02T03:04:05Z",
  "points": [
    {"method": "fused", "n": 1024, "seconds": 2.62e-4, "seconds_std": 1e-6, "samples": 5, "iters": 80, "flops": 1.2e9, "tflops": 4.6},
    {"method": "decode-cache", "n": 1024, "seconds": 5.12e-6, "seconds_std": 1e-7, "samples": 5, "iters": 4000, "flops": 2.36e6, "tflops": 0.46},
    {"method": "fused", "n": 16384, "seconds": 1, "flops": 1, "tflops": 1}
  ]
}`

func TestSDPAComparison(t *testing.T) {
	s, err := ReadSDPA(strings.NewReader(sdpaJSON))
	if err != nil {
		t.Fatal(err)
	}
	if s.Device != "NVIDIA H200" || len(s.Points) != 3 || s.Points[1].Method != DecodeCache || s.Shape != SmolLM2 {
		t.Fatalf("parsed %+v", s)
	}
	r := synthetic() // fused at 1024: 5e-10·1024² = 524 µs; decode-cache: 1e-8·1024 = 10.2 µs
	var b bytes.Buffer
	if err := r.WriteSDPAComparison(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "PyTorch 2.5.1 (CUDA 12.4) on NVIDIA H200: float16, SDPA kernel default, grouped-query attention by enable_gqa") {
		t.Errorf("header:\n%s", out)
	}
	for _, row := range [][]string{
		{"fused", "1024", "524 µs", "2.31", "262 µs", "4.60", "0.500"},
		{"decode-cache", "1024", "10.2 µs", "0.23", "5.12 µs", "0.46", "0.500"},
	} {
		if !report.HasRow(out, row...) {
			t.Errorf("no row %q in\n%s", row, out)
		}
	}
	if strings.Contains(out, "16384") {
		t.Errorf("a length gpurun did not measure was compared:\n%s", out)
	}

	s.Shape.Heads = 32
	if err := r.WriteSDPAComparison(&b, s); err == nil {
		t.Error("different shapes were compared")
	}
	s.Shape = SmolLM2
	s.Points = s.Points[2:]
	if err := r.WriteSDPAComparison(&b, s); err == nil {
		t.Error("nothing in common, but no error")
	}
	if _, err := ReadSDPA(strings.NewReader(`{"study":"attention"}`)); err == nil {
		t.Error("ReadSDPA accepted another study")
	}
}
