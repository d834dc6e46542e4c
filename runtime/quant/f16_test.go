package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// halfValue is the value of a finite half in float64, with the infinity
// 0x7c00 standing for 65536 (the next step after 65504), which is how
// round-to-nearest decides overflow.
func halfValue(h uint16) float64 {
	if h&0x7fff == 0x7c00 {
		return math.Copysign(65536, float64(F16ToF32(h)))
	}
	return float64(F16ToF32(h))
}

// checkNearestHalf requires h = F32ToF16(f) to be the nearest half to f, ties
// to the even encoding.
func checkNearestHalf(t *testing.T, f float32) {
	t.Helper()
	h := F32ToF16(f)
	x := float64(f)
	if math.Abs(x) >= 65536 {
		if h&0x7fff != 0x7c00 || (h&0x8000 != 0) != math.Signbit(x) {
			t.Fatalf("F32ToF16(%g) = %#04x, want ±Inf", f, h)
		}
		return
	}
	if math.Signbit(float64(F16ToF32(h))) != math.Signbit(x) {
		t.Fatalf("F32ToF16(%g) = %#04x: sign lost", f, h)
	}
	err := math.Abs(halfValue(h) - x)
	for _, nb := range []uint16{h - 1, h + 1} {
		if nb&0x7fff > 0x7c00 || (nb^h)&0x8000 != 0 {
			continue // past infinity or across the sign
		}
		e := math.Abs(halfValue(nb) - x)
		if e < err || (e == err && h&1 == 1) {
			t.Fatalf("F32ToF16(%g) = %#04x (%g), but %#04x (%g) is nearer or the even tie",
				f, h, halfValue(h), nb, halfValue(nb))
		}
	}
}

func TestF16RoundTripAllHalves(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := F16ToF32(h)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if !math.IsNaN(float64(f)) || F32ToF16(f)&0x7e00 != 0x7e00 {
				t.Fatalf("NaN %#04x -> %g -> %#04x", h, f, F32ToF16(f))
			}
			continue
		}
		if back := F32ToF16(f); back != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
		// Exactness: the float32 holds sign*mant*2^exp of the half.
		e, m := int(h>>10&0x1f), float64(h&0x3ff)
		want := math.Ldexp(m, -24)
		if e != 0 && e != 31 {
			want = math.Ldexp(1024+m, e-25)
		}
		if e == 31 {
			want = math.Inf(1)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want {
			t.Fatalf("F16ToF32(%#04x) = %g, want %g", h, f, want)
		}
	}
}

// TestF32ToF16Rounding checks round-to-nearest-even at every midpoint
// between consecutive halves (normal, subnormal, and the overflow edge),
// just beside each midpoint, and on random float32 values.
func TestF32ToF16Rounding(t *testing.T) {
	for i := 0; i < 0x7c00; i++ {
		for _, sign := range []uint16{0, 0x8000} {
			lo, hi := halfValue(uint16(i)|sign), halfValue(uint16(i+1)|sign)
			mid := float32((lo + hi) / 2) // exact: needs 12 significant bits
			if float64(mid) != (lo+hi)/2 {
				t.Fatalf("midpoint of %#04x not exact", i)
			}
			checkNearestHalf(t, mid)
			checkNearestHalf(t, math.Nextafter32(mid, 0))
			checkNearestHalf(t, math.Nextafter32(mid, float32(math.Inf(1))))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		f := math.Float32frombits(rng.Uint32())
		if math.IsNaN(float64(f)) {
			continue
		}
		checkNearestHalf(t, f)
	}
	for _, f := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e-30, 7e4} {
		checkNearestHalf(t, f)
	}
}

// TestF32ToBF16Rounding: the result is the nearest bfloat16, ties to even,
// and NaN stays NaN.
func TestF32ToBF16Rounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200000; i++ {
		u := rng.Uint32()
		if i%2 == 0 {
			u = u&^0xffff | 0x8000 // exact midpoints
		}
		f := math.Float32frombits(u)
		h := F32ToBF16(f)
		if math.IsNaN(float64(f)) {
			if !math.IsNaN(float64(BF16ToF32(h))) {
				t.Fatalf("NaN %#08x -> %#04x", u, h)
			}
			continue
		}
		x := float64(f)
		err := math.Abs(float64(BF16ToF32(h)) - x)
		if math.IsInf(float64(BF16ToF32(h)), 0) && !math.IsInf(x, 0) {
			// overflowed: the float must be at least halfway to 2^128
			if math.Abs(x) < 0x1.ffp127 {
				t.Fatalf("F32ToBF16(%g) overflowed", f)
			}
			continue
		}
		for _, nb := range []uint16{h - 1, h + 1} {
			v := float64(BF16ToF32(nb))
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Signbit(v) != math.Signbit(float64(BF16ToF32(h))) {
				continue
			}
			e := math.Abs(v - x)
			if e < err || (e == err && h&1 == 1) {
				t.Fatalf("F32ToBF16(%g) = %#04x, but %#04x is nearer or the even tie", f, h, nb)
			}
		}
	}
}

// TestRoundHalfAway compares the Q8 rounding with math.Round (C's roundf) on
// every float32 in [-127.5, 127.5] near a half-integer and on random values.
func TestRoundHalfAway(t *testing.T) {
	check := func(v float32) {
		if got, want := roundHalfAway(v), int8(math.Round(float64(v))); got != want {
			t.Fatalf("roundHalfAway(%g) = %d, math.Round gives %d", v, got, want)
		}
	}
	for k := -127; k < 127; k++ {
		mid := float32(k) + 0.5
		for _, v := range []float32{mid, math.Nextafter32(mid, -200), math.Nextafter32(mid, 200), float32(k)} {
			check(v)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100000; i++ {
		check(float32(rng.Float64()*254 - 127))
	}
}

// TestQuantizeF16AsmMatchesScalar: the F16C row conversion gives
// F32ToF16's bits for every kind of value (ties, subnormal halves, values
// that round to zero or overflow to infinity, infinities, NaNs) and for
// rows whose length leaves a scalar tail.
func TestQuantizeF16AsmMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(70, 71))
	edge := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 65504, 65520, 65519.99, 1e9, -1e9,
		0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 6.1e-5, 5.96e-8, 1 + 0x1p-11, 1 + 0x3p-11,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.Float32frombits(0x7f800001), math.Float32frombits(0xffc12345)}
	for _, n := range []int{8, 16, 37, 1000} {
		x := make([]float32, n)
		for i := range x {
			if i < len(edge) {
				x[i] = edge[i]
			} else {
				x[i] = math.Float32frombits(rng.Uint32())
			}
		}
		got := make([]byte, 2*n)
		quantizeF16(x, got)
		for i, v := range x {
			if h := binary.LittleEndian.Uint16(got[2*i:]); h != F32ToF16(v) {
				t.Fatalf("n=%d: %g (%#08x) -> %#04x, F32ToF16 %#04x", n, v, math.Float32bits(v), h, F32ToF16(v))
			}
		}
	}
}
