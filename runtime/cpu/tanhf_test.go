package cpu

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
)

// TestTanhfMatchesGlibc: tanhf returns glibc's tanhf bits on the inputs of
// testdata/glibc_tanhf.bin (scripts/goldens/glibc_tanhf.py, glibc 2.36),
// where rounding math.Tanh to float32 misses about a quarter of them.
func TestTanhfMatchesGlibc(t *testing.T) {
	raw, err := os.ReadFile("testdata/glibc_tanhf.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) == 0 || len(raw)%8 != 0 {
		t.Fatalf("testdata/glibc_tanhf.bin: %d bytes, want pairs of uint32", len(raw))
	}
	differ, rounded := 0, 0
	for i := 0; i < len(raw); i += 8 {
		x := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
		want := binary.LittleEndian.Uint32(raw[i+4:])
		if got := math.Float32bits(tanhf(x)); got != want {
			if differ < 5 {
				t.Errorf("tanhf(%g) = %g, glibc %g", x, tanhf(x), math.Float32frombits(want))
			}
			differ++
		}
		if math.Float32bits(float32(math.Tanh(float64(x)))) != want {
			rounded++
		}
	}
	if differ > 0 {
		t.Fatalf("%d of %d values differ from glibc's", differ, len(raw)/8)
	}
	t.Logf("%d values equal glibc's; math.Tanh rounded to float32 differs on %d", len(raw)/8, rounded)
}

// BenchmarkTanhf: one tanhf over inputs from -5.12 to 5.11 (the soft-caps
// of Gemma 2 call it once per attention score and per logit).
func BenchmarkTanhf(b *testing.B) {
	xs := make([]float32, 1024)
	for i := range xs {
		xs[i] = float32(i-512) / 100
	}
	var s float32
	for b.Loop() {
		for _, x := range xs {
			s += tanhf(x)
		}
	}
	_ = s
}
