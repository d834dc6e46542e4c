package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// dotImpl is one implementation of a row dot product.
type dotImpl struct {
	name string
	fn   func(w, a []byte, n int) float32
}

// genericDot is the portable Go kernel for weights of type t.
func genericDot(t Type) func(w, a []byte, n int) float32 {
	switch t {
	case F32:
		return dotF32Generic
	case F16:
		return dotF16Generic
	case BF16:
		return dotBF16Generic
	case Q4_0:
		return dotQ4_0Q8_0Generic
	case Q4_1:
		return dotQ4_1Q8_1Generic
	case Q5_0:
		return dotQ5_0Q8_0Generic
	case Q5_1:
		return dotQ5_1Q8_1Generic
	case Q8_0:
		return dotQ8_0Q8_0Generic
	case Q2_K:
		return dotQ2_KQ8_KGeneric
	case Q3_K:
		return dotQ3_KQ8_KGeneric
	case Q4_K:
		return dotQ4_KQ8_KGeneric
	case Q5_K:
		return dotQ5_KQ8_KGeneric
	case Q6_K:
		return dotQ6_KQ8_KGeneric
	}
	return nil
}

// dotImpls lists every implementation of t's dot product that this machine
// can run: the generic one first, then the assembly ones (asmDots).
func dotImpls(t Type) []dotImpl {
	return append([]dotImpl{{"generic", genericDot(t)}}, asmDots(t)...)
}

const f16One = 0x3c00

// integerRows builds a weight row and an activation row whose scales are all
// 1 (and mins small integers), so every product and partial sum is an integer
// below 2^24: any correct implementation must return the float64 reference
// exactly, whatever its summation order.
func integerRows(rng *rand.Rand, tb testing.TB, t Type, n int) (w, a []byte) {
	vt := VecDotType(t)
	switch t {
	case F32, F16, BF16:
		xw, xa := make([]float32, n), make([]float32, n)
		for i := range xw {
			xw[i] = float32(rng.IntN(129) - 64)
			xa[i] = float32(rng.IntN(129) - 64)
		}
		return quantize(tb, t, xw), quantize(tb, vt, xa)
	}
	rs, _ := t.RowSize(n)
	w = make([]byte, rs)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	df, mf := scaleFields(t)
	for off := 0; off < rs; off += t.TypeSize() {
		binary.LittleEndian.PutUint16(w[off+df:], f16One)
		if mf >= 0 {
			binary.LittleEndian.PutUint16(w[off+mf:], F32ToF16(float32(rng.IntN(17)-8)))
		}
		if t == Q8_0 {
			for j := 2; j < 34; j++ {
				w[off+j] = byte(int8(rng.IntN(127) - 63))
			}
		}
		if t == Q6_K {
			// |scale| <= 15 keeps Q6_K's integer sums below 2^24 for n <= 512.
			for j := q6_KScales; j < q6_KScales+16; j++ {
				w[off+j] = byte(int8(rng.IntN(31) - 15))
			}
		}
	}
	ars, _ := vt.RowSize(n)
	a = make([]byte, ars)
	switch vt {
	case Q8_0, Q8_1:
		qs := 2
		if vt == Q8_1 {
			qs = 4
		}
		for off := 0; off < ars; off += vt.TypeSize() {
			binary.LittleEndian.PutUint16(a[off:], f16One)
			var sum int
			for j := 0; j < 32; j++ {
				q := rng.IntN(255) - 127
				a[off+qs+j] = byte(int8(q))
				sum += q
			}
			if vt == Q8_1 {
				binary.LittleEndian.PutUint16(a[off+2:], F32ToF16(float32(sum)))
			}
		}
	case Q8_K:
		// |q| <= 15 keeps the k-quant integer sums below 2^24 for n <= 512.
		for off := 0; off < ars; off += q8_KBytes {
			binary.LittleEndian.PutUint32(a[off:], math.Float32bits(1))
			for g := 0; g < 16; g++ {
				var sum int
				for j := 0; j < 16; j++ {
					q := rng.IntN(31) - 15
					a[off+q8_KQs+16*g+j] = byte(int8(q))
					sum += q
				}
				binary.LittleEndian.PutUint16(a[off+q8_KBsums+2*g:], uint16(int16(sum)))
			}
		}
	}
	return w, a
}

// TestDotImplementationsAgree runs every implementation on the same inputs.
// Integer inputs (unit scales): all must equal the exact reference. Random
// scales: all must agree with the generic kernel within the float32
// summation bound (n/32 + 8)·2^-24 of Σ|terms| (the assembly kernels keep
// float32 lanes that each sum at most n/32 block or element terms; the
// generic ones sum in float64).
func TestDotImplementationsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	for _, dt := range dotTypes {
		impls := dotImpls(dt.t)
		t.Run(dt.t.String(), func(t *testing.T) {
			names := ""
			for _, im := range impls {
				names += " " + im.name
			}
			t.Logf("implementations:%s", names)
			for _, n := range dt.ns {
				exactN := n <= 512 || dt.t.BlockSize() == 32 || dt.t.BlockSize() == 1
				if exactN {
					w, a := integerRows(rng, t, dt.t, n)
					ref, _ := refDot(t, dt.t, w, a, n)
					for _, im := range impls {
						if got := im.fn(w, a, n); float64(got) != ref {
							t.Errorf("%s n=%d integer inputs: %s = %.1f, exact %.1f", dt.t, n, im.name, got, ref)
						}
					}
				}
				for trial := 0; trial < 3; trial++ {
					w := randomBlocks(rng, t, dt.t, n)
					a := quantize(t, VecDotType(dt.t), randomFloats(rng, n))
					_, abs := refDot(t, dt.t, w, a, n)
					tol := float64(n/32+8) * 0x1p-24 * abs
					want := impls[0].fn(w, a, n)
					for _, im := range impls[1:] {
						if got := im.fn(w, a, n); math.Abs(float64(got)-float64(want)) > tol {
							t.Errorf("%s n=%d: %s = %.9g, generic %.9g (tolerance %.3g)", dt.t, n, im.name, got, want, tol)
						}
					}
				}
			}
		})
	}
}

// TestDotImplementationsEdgeValues: extreme int8 activations (±127), all-15
// nibbles, and -128 weights where the format allows it.
func TestDotImplementationsEdgeValues(t *testing.T) {
	for _, typ := range []Type{Q4_0, Q4_1, Q8_0} {
		for _, fill := range []byte{0x00, 0xff, 0x80, 0x81, 0x7f} {
			t.Run(fmt.Sprintf("%s/%#02x", typ, fill), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(22, uint64(fill)))
				const n = 96
				w, a := integerRows(rng, t, typ, n)
				df, mf := scaleFields(typ)
				for off := 0; off < len(w); off += typ.TypeSize() {
					for j := off; j < off+typ.TypeSize(); j++ {
						if j-off != df && j-off != df+1 && (mf < 0 || (j-off != mf && j-off != mf+1)) {
							w[j] = fill
						}
					}
				}
				vt := VecDotType(typ)
				qs := 2
				if vt == Q8_1 {
					qs = 4
				}
				for off := 0; off < len(a); off += vt.TypeSize() {
					for j := 0; j < 32; j++ {
						if j%2 == 0 {
							a[off+qs+j] = byte(127)
						} else {
							a[off+qs+j] = byte(0x81) // -127
						}
					}
				}
				ref, _ := refDot(t, typ, w, a, n)
				for _, im := range dotImpls(typ) {
					if got := im.fn(w, a, n); float64(got) != ref {
						t.Errorf("%s: %.1f, exact %.1f", im.name, got, ref)
					}
				}
			})
		}
	}
}

// TestCanQuantize: CanQuantize says exactly which types QuantizeRow encodes.
func TestCanQuantize(t *testing.T) {
	for t0 := Type(0); t0 < 64; t0++ {
		if !t0.Known() {
			continue
		}
		n := t0.BlockSize()
		rs, err := t0.RowSize(n)
		if err != nil {
			t.Fatal(err)
		}
		err = QuantizeRow(t0, make([]float32, n), make([]byte, rs))
		if got := CanQuantize(t0); got != (err == nil) {
			t.Errorf("%s: CanQuantize %v, QuantizeRow error %v", t0, got, err)
		}
	}
}
