package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpfGroupsAsmEqualsPortable: the assembly expf (softmax's expSum and
// SwiGLU) takes ggml's |n| > 126 code only for groups of eight that need
// it. Groups with none, one, or all lanes out there must all give the
// portable expf's bits (itself checked against ggml_v_expf), so the branch
// can never change a result.
func TestExpfGroupsAsmEqualsPortable(t *testing.T) {
	if !useAsm {
		t.Skip("no assembly on this machine")
	}
	rng := rand.New(rand.NewPCG(70, 71))
	const groups = 4096
	x := make([]float32, 8*groups)
	for g := 0; g < groups; g++ {
		far := 0 // lanes with |x| beyond 126*ln2
		switch g % 4 {
		case 1:
			far = 1
		case 2:
			far = 8
		}
		for l := 0; l < 8; l++ {
			v := float32(rng.NormFloat64() * 20)
			if l < far {
				v = float32(87 + rng.Float64()*40)
				if rng.IntN(2) == 0 {
					v = -v
				}
			}
			x[8*g+l] = v
		}
	}
	x[0], x[1], x[2] = float32(math.Inf(-1)), -104, 88.7
	y := append([]float32(nil), x...)
	expSum(y, 0)
	for i, v := range x {
		if want := expf(v); !same(y[i], want) {
			t.Fatalf("expSum element %d: expf(%g) = %g (%#x), portable %g (%#x)", i, v, y[i], math.Float32bits(y[i]), want, math.Float32bits(want))
		}
	}
	u := make([]float32, len(x))
	for i := range u {
		u[i] = float32(rng.NormFloat64())
	}
	d := make([]float32, len(x))
	swigluAVX2(&d[0], &x[0], &u[0], len(x))
	for i := range x {
		if want := silu(x[i]) * u[i]; !same(d[i], want) {
			t.Fatalf("swiglu element %d: silu(%g)*%g = %g, portable %g", i, x[i], u[i], d[i], want)
		}
	}
}
