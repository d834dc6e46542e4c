package cuda

import (
	"math"
	"testing"
)

// TestF16RoundTrip checks every half value survives f16 -> f32 -> f16, and
// that rounding is to nearest even at the midpoints between halves.
func TestF16RoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := f16ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if got := f32ToF16(f); got != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, got)
		}
		if h&0x7fff < 0x7bff { // midpoint to the next half rounds to the even one
			next := f16ToF32(uint16(h + 1))
			mid := float32((float64(f) + float64(next)) / 2)
			want := uint16(h)
			if h&1 == 1 {
				want = uint16(h + 1)
			}
			if got := f32ToF16(mid); got != want {
				t.Fatalf("midpoint of %#04x and next: got %#04x want %#04x", h, got, want)
			}
		}
	}
}
