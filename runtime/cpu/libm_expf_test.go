package cpu

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
)

// TestLibmExpfMatchesGlibc: libmExpf returns glibc's expf bit for bit on
// the values scripts/goldens/glibc_expf.py recorded (among them the two
// inputs whose results need glibc's fused reduction), where float32 of
// math.Exp differs on some.
func TestLibmExpfMatchesGlibc(t *testing.T) {
	raw, err := os.ReadFile("testdata/glibc_expf.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) == 0 || len(raw)%8 != 0 {
		t.Fatalf("testdata/glibc_expf.bin: %d bytes, want pairs of uint32", len(raw))
	}
	differ, rounded := 0, 0
	for i := 0; i < len(raw); i += 8 {
		x := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
		want := binary.LittleEndian.Uint32(raw[i+4:])
		if got := math.Float32bits(libmExpf(x)); got != want {
			if differ < 5 {
				t.Errorf("libmExpf(%g) = %g, glibc %g", x, libmExpf(x), math.Float32frombits(want))
			}
			differ++
		}
		if math.Float32bits(float32(math.Exp(float64(x)))) != want {
			rounded++
		}
	}
	if differ > 0 {
		t.Fatalf("%d of %d values differ from glibc's", differ, len(raw)/8)
	}
	t.Logf("%d values equal glibc's; math.Exp rounded to float32 differs on %d", len(raw)/8, rounded)
}
