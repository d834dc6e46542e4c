package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// dotTypes are the weight types Dot supports, with the row lengths tested:
// several blocks, plus single-element tails for the plain float types.
var dotTypes = []struct {
	t  Type
	ns []int
}{
	{F32, []int{1, 7, 33, 576, 1536}},
	{F16, []int{1, 7, 33, 576, 1536}},
	{BF16, []int{1, 7, 33, 576}},
	{Q4_0, []int{32, 96, 576, 1536}},
	{Q4_1, []int{32, 96, 576, 1536}},
	{Q5_0, []int{32, 96, 576}},
	{Q5_1, []int{32, 96, 576}},
	{Q8_0, []int{32, 96, 576, 1536}},
	{Q2_K, []int{256, 768}},
	{Q3_K, []int{256, 768}},
	{Q4_K, []int{256, 768, 1536}},
	{Q5_K, []int{256, 768}},
	{Q6_K, []int{256, 768, 1536}},
}

// randomFloats returns n values in blocks of 32 of varied magnitude, with an
// occasional outlier, as activations and weights look in practice.
func randomFloats(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	scale := 1.0
	for i := range x {
		if i%32 == 0 {
			scale = math.Exp(rng.NormFloat64())
		}
		v := rng.NormFloat64() * scale
		if rng.IntN(64) == 0 {
			v *= 8
		}
		x[i] = float32(v)
	}
	return x
}

func quantize(tb testing.TB, t Type, x []float32) []byte {
	tb.Helper()
	rs, err := t.RowSize(len(x))
	if err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, rs)
	if err := QuantizeRow(t, x, b); err != nil {
		tb.Fatal(err)
	}
	return b
}

func dequantize(tb testing.TB, t Type, b []byte, n int) []float32 {
	tb.Helper()
	y := make([]float32, n)
	if err := DequantizeRow(t, b, y); err != nil {
		tb.Fatal(err)
	}
	return y
}

// scaleFields lists the f16 block fields of a type that scale its values
// (offset of d, and of m/dmin or -1), and whether the second one is a min.
func scaleFields(t Type) (d, m int) {
	switch t {
	case Q4_0, Q5_0, Q8_0:
		return 0, -1
	case Q4_1, Q5_1:
		return 0, 2
	case Q2_K:
		return q2_KD, q2_KDmin
	case Q3_K:
		return q3_KD, -1
	case Q4_K, Q5_K:
		return 0, 2
	case Q6_K:
		return q6_KD, -1
	}
	return -1, -1
}

// randomBlocks fills n elements of a block type with random bytes, then sets
// the f16 scales to sensible values: every quant, nibble, high-bit and scale
// pattern can occur. Plain float types are quantized from randomFloats.
func randomBlocks(rng *rand.Rand, tb testing.TB, t Type, n int) []byte {
	if t.BlockSize() == 1 {
		return quantize(tb, t, randomFloats(rng, n))
	}
	rs, _ := t.RowSize(n)
	b := make([]byte, rs)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	df, mf := scaleFields(t)
	for off := 0; off < rs; off += t.TypeSize() {
		binary.LittleEndian.PutUint16(b[off+df:], F32ToF16(float32(0.002+0.01*rng.Float64())))
		if mf >= 0 {
			binary.LittleEndian.PutUint16(b[off+mf:], F32ToF16(float32(0.01*rng.NormFloat64())))
		}
	}
	return b
}

// refDot is the float64 dot product of the dequantized weight row and the
// dequantized activation row. For Q8_1 activations it applies ggml's
// definition of the min term: m·s with the block's stored s = f16(d·Σq)
// instead of m·d·Σq. It also returns Σ|terms|, the scale against which
// float32 rounding is measured.
func refDot(tb testing.TB, t Type, w, a []byte, n int) (ref, abs float64) {
	vt := VecDotType(t)
	dw := dequantize(tb, t, w, n)
	da := dequantize(tb, vt, a, n)
	for j := range dw {
		p := float64(dw[j]) * float64(da[j])
		ref += p
		abs += math.Abs(p)
	}
	if vt == Q8_1 {
		for b := 0; b < n/32; b++ {
			bw := w[b*t.TypeSize():]
			ba := a[b*q8_1Bytes:]
			var sum int64
			for j := 0; j < 32; j++ {
				sum += int64(int8(ba[4+j]))
			}
			m := float64(half(bw, 2))
			ref += m * (float64(half(ba, 2)) - float64(half(ba, 0))*float64(sum))
			abs += math.Abs(m * float64(half(ba, 2)))
		}
	}
	return ref, abs
}

// activationError bounds |x_j - dequantized activation_j| for the element j
// of x, from the activation format's construction:
//   - Q8_0/Q8_1: q = round(x/d) with d = amax/127 of the 32-block, stored as
//     f16: |x - q·f16(d)| <= d/2 + 127·|d - f16(d)| <= d·(0.5 + 127·2^-11),
//     under 0.57·d with float32 slack;
//   - Q8_K: the same with d kept in float32 over 256-blocks: 0.51·d;
//   - F16 / BF16: relative rounding 2^-11 / 2^-8 (plus half the smallest
//     F16 subnormal); F32: exact.
func activationError(vt Type, x []float32, j int) float64 {
	blockAmax := func(bs int) float64 {
		var m float32
		for _, v := range x[j/bs*bs : j/bs*bs+bs] {
			m = max(m, abs32(v))
		}
		return float64(m)
	}
	switch vt {
	case Q8_0, Q8_1:
		return 0.57 * blockAmax(32) / 127
	case Q8_K:
		return 0.51 * blockAmax(QK_K) / 127
	case F16:
		return math.Abs(float64(x[j]))*0x1p-11 + 0x1p-25
	case BF16:
		return math.Abs(float64(x[j])) * 0x1p-8
	}
	return 0
}

// TestDotMatchesFloat compares Dot with the float64 dot product of the
// dequantized weights and the *unquantized* activations. The tolerance is
// derived, not tuned: Σ_j |w_j|·activationError_j (the activation
// quantization error, the dominant term: about 0.45% of each block's largest
// activation for Q8 formats) plus 1e-5·Σ|w_j·x_j| for float32 rounding.
func TestDotMatchesFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, dt := range dotTypes {
		vt := VecDotType(dt.t)
		for _, n := range dt.ns {
			t.Run(fmt.Sprintf("%s/n=%d", dt.t, n), func(t *testing.T) {
				worst := 0.0
				for trial := 0; trial < 4; trial++ {
					var w []byte
					if trial%2 == 0 && dt.t.BlockSize() > 1 && dt.t.BlockSize() == 32 {
						w = quantize(t, dt.t, randomFloats(rng, n)) // ggml's quantizer
					} else {
						w = randomBlocks(rng, t, dt.t, n)
					}
					x := randomFloats(rng, n)
					a := quantize(t, vt, x)
					got := float64(Dot(dt.t, w, a, n))
					dw := dequantize(t, dt.t, w, n)
					var ref, tol, scale float64
					for j := range dw {
						ref += float64(dw[j]) * float64(x[j])
						scale += math.Abs(float64(dw[j]) * float64(x[j]))
						tol += math.Abs(float64(dw[j])) * activationError(vt, x, j)
					}
					tol += 1e-5 * scale
					if math.Abs(got-ref) > tol {
						t.Fatalf("trial %d: Dot = %g, float64 reference %g, |diff| %g > tolerance %g",
							trial, got, ref, math.Abs(got-ref), tol)
					}
					worst = max(worst, math.Abs(got-ref)/scale)
				}
				t.Logf("worst |Dot - exact| / Σ|w·x| = %.2e", worst)
			})
		}
	}
}

// TestDotMatchesDequantized compares Dot with the float64 dot product of the
// dequantized weights and the dequantized activations: the same numbers, so
// only float32 rounding separates them (<= 1e-5 of Σ|terms|). This pins the
// integer arithmetic: nibble order, high bits, scales, mins and sums.
func TestDotMatchesDequantized(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, dt := range dotTypes {
		vt := VecDotType(dt.t)
		for _, n := range dt.ns {
			t.Run(fmt.Sprintf("%s/n=%d", dt.t, n), func(t *testing.T) {
				for trial := 0; trial < 4; trial++ {
					w := randomBlocks(rng, t, dt.t, n)
					a := quantize(t, vt, randomFloats(rng, n))
					got := float64(Dot(dt.t, w, a, n))
					ref, abs := refDot(t, dt.t, w, a, n)
					if d := math.Abs(got - ref); d > 1e-5*abs {
						t.Fatalf("trial %d: Dot = %.9g, dequantized reference %.9g: |diff| = %.3g of Σ|terms| %.3g",
							trial, got, ref, d/abs, abs)
					}
				}
			})
		}
	}
}

// TestDotFixtureBlocks runs Dot on ggml's own quantized rows.
func TestDotFixtureBlocks(t *testing.T) {
	x := readF32s(t, "quant-vectors/input_f32.bin")
	for _, ft := range fixtureTypes {
		t.Run(ft.t.String(), func(t *testing.T) {
			blocks, rs := fixtureBlocks(t, ft.t, ft.name)
			vt := VecDotType(ft.t)
			for r := 0; r < fixtureRows; r++ {
				// Each weight row against each input row as activations.
				for ar := 0; ar < fixtureRows; ar++ {
					a := quantize(t, vt, x[ar*fixtureCols:(ar+1)*fixtureCols])
					w := blocks[r*rs : (r+1)*rs]
					got := float64(Dot(ft.t, w, a, fixtureCols))
					ref, abs := refDot(t, ft.t, w, a, fixtureCols)
					if d := math.Abs(got - ref); d > 1e-5*abs {
						t.Fatalf("w row %d · a row %d: Dot = %g, reference %g (|diff| %g of %g)", r, ar, got, ref, d, abs)
					}
				}
			}
		})
	}
}

// TestMatVec: MatVec gives Dot's bits for every row, with each kernel set
// this machine has (the VNNI set runs two rows per 512-bit register, and
// float rows four at a time).
func TestMatVec(t *testing.T) { matMulModes(t, testMatVec) }

func testMatVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	for _, dt := range dotTypes {
		ns := []int{dt.ns[0], dt.ns[len(dt.ns)-1]} // the shortest has an odd block count (the two-row kernels' tail)
		if dt.t == F32 || dt.t == F16 || dt.t == BF16 {
			ns = append(ns, 33, 100) // 32-element steps with 1 and 4 left over
		}
		for _, n := range ns {
			for _, rows := range []int{1, 3, 7, 9} {
				t.Run(fmt.Sprintf("%s/%dx%d", dt.t, rows, n), func(t *testing.T) {
					rs, _ := dt.t.RowSize(n)
					w := make([]byte, 0, rows*rs)
					for r := 0; r < rows; r++ {
						w = append(w, randomBlocks(rng, t, dt.t, n)...)
					}
					a := quantize(t, VecDotType(dt.t), randomFloats(rng, n))
					out := make([]float32, rows+1)
					out[rows] = 42 // must stay untouched
					MatVec(dt.t, w, rows, n, a, out)
					for r := 0; r < rows; r++ {
						want := Dot(dt.t, w[r*rs:(r+1)*rs], a, n)
						if out[r] != want {
							t.Fatalf("row %d: MatVec %g, Dot %g", r, out[r], want)
						}
						ref, abs := refDot(t, dt.t, w[r*rs:(r+1)*rs], a, n)
						if math.Abs(float64(out[r])-ref) > 1e-5*abs {
							t.Fatalf("row %d: MatVec %g, reference %g", r, out[r], ref)
						}
					}
					if out[rows] != 42 {
						t.Fatalf("MatVec wrote past rows")
					}
				})
			}
		}
	}
}

// TestMatVecConcurrent splits a matrix over goroutines, as the CPU backend
// does, and requires the same result as one call.
func TestMatVecConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	const rows, cols = 101, 576
	for _, typ := range []Type{Q4_1, Q8_0, F32} {
		rs, _ := typ.RowSize(cols)
		w := make([]byte, 0, rows*rs)
		for r := 0; r < rows; r++ {
			w = append(w, randomBlocks(rng, t, typ, cols)...)
		}
		a := quantize(t, VecDotType(typ), randomFloats(rng, cols))
		want := make([]float32, rows)
		MatVec(typ, w, rows, cols, a, want)
		got := make([]float32, rows)
		var wg sync.WaitGroup
		for lo := 0; lo < rows; lo += 13 {
			hi := min(lo+13, rows)
			wg.Add(1)
			go func() {
				defer wg.Done()
				MatVec(typ, w[lo*rs:hi*rs], hi-lo, cols, a, got[lo:hi])
			}()
		}
		wg.Wait()
		for r := range want {
			if got[r] != want[r] {
				t.Fatalf("%s row %d: concurrent %g, single %g", typ, r, got[r], want[r])
			}
		}
	}
}

func TestDotPanics(t *testing.T) {
	a := make([]byte, 34*2)
	w := make([]byte, 18*2)
	cases := []struct {
		name string
		f    func()
	}{
		{"unsupported type", func() { Dot(Q8_1, a, a, 32) }},
		{"partial block", func() { Dot(Q4_0, w, a, 48) }},
		{"short weights", func() { Dot(Q4_0, w[:20], a, 64) }},
		{"short activations", func() { Dot(Q4_0, w, a[:40], 64) }},
		{"MatVec short out", func() { MatVec(Q4_0, w, 2, 32, a, make([]float32, 1)) }},
		{"MatVec short w", func() { MatVec(Q4_0, w, 3, 32, a, make([]float32, 3)) }},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			c.f()
		}()
	}
	if Dot(Q4_0, nil, nil, 0) != 0 {
		t.Error("empty Dot not 0")
	}
}

func TestVecDotType(t *testing.T) {
	for _, dt := range dotTypes {
		if !CanDot(dt.t) {
			t.Errorf("CanDot(%s) = false", dt.t)
		}
		vt := VecDotType(dt.t)
		// Every vec-dot type must be producible by QuantizeRow.
		n := QK_K
		rs, _ := vt.RowSize(n)
		if err := QuantizeRow(vt, make([]float32, n), make([]byte, rs)); err != nil {
			t.Errorf("%s: activations of %s cannot be quantized: %v", dt.t, vt, err)
		}
	}
	for _, typ := range []Type{Q8_1, Q8_K, IQ2_XXS, I8, Type(4)} {
		if CanDot(typ) || VecDotType(typ) != typ {
			t.Errorf("%s should be unsupported by Dot", typ)
		}
	}
}

// TestDotNoAlloc: the dot and quantize hot paths must not allocate.
func TestDotNoAlloc(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	for _, dt := range dotTypes {
		n := dt.ns[len(dt.ns)-1]
		w := randomBlocks(rng, t, dt.t, n)
		x := randomFloats(rng, n)
		a := quantize(t, VecDotType(dt.t), x)
		out := make([]float32, 1)
		allocs := testing.AllocsPerRun(20, func() {
			_ = QuantizeRow(VecDotType(dt.t), x, a)
			_ = Dot(dt.t, w, a, n)
			MatVec(dt.t, w, 1, n, a, out)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per quantize+dot", dt.t, allocs)
		}
	}
}
