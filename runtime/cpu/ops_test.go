package cpu_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/cpu"
	"gpurun/runtime/quant"
)

// These tests check the CPU ops against textbook formulas in float64, so the
// reference every other backend is compared with is itself checked.

func newCPU(t *testing.T) *cpu.Backend {
	t.Helper()
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func upload(t *testing.T, b backend.Backend, x []float32) backend.Buffer {
	t.Helper()
	buf, err := backendtest.Input(b, x)
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

func read(t *testing.T, b backend.Backend, buf backend.Buffer) []float32 {
	t.Helper()
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, buf.Len())
	if err := b.Read(out, buf); err != nil {
		t.Fatal(err)
	}
	return out
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestNorms(t *testing.T) {
	b := newCPU(t)
	const T, n = 3, 40
	x := backendtest.Floats(backendtest.Rand(1), T*n, 3)
	w := backendtest.Floats(backendtest.Rand(2), n, 1)
	bias := backendtest.Floats(backendtest.Rand(3), n, 1)
	ww, _ := b.LoadWeight(backendtest.Vector("w", w))
	bw, _ := b.LoadWeight(backendtest.Vector("b", bias))
	xb := upload(t, b, x)
	dst, _ := b.NewBuffer(backend.F32, T*n)

	b.RMSNorm(dst, xb, ww, T, 1e-5)
	got := read(t, b, dst)
	want := make([]float64, T*n)
	for r := 0; r < T; r++ {
		var ss float64
		for i := 0; i < n; i++ {
			ss += float64(x[r*n+i]) * float64(x[r*n+i])
		}
		s := 1 / math.Sqrt(ss/n+1e-5)
		for i := 0; i < n; i++ {
			want[r*n+i] = float64(x[r*n+i]) * s * float64(w[i])
		}
	}
	closeTo(t, "rmsnorm", got, want, 1e-5)

	b.LayerNorm(dst, xb, ww, bw, T, 1e-5)
	got = read(t, b, dst)
	for r := 0; r < T; r++ {
		var mean, v float64
		for i := 0; i < n; i++ {
			mean += float64(x[r*n+i]) / n
		}
		for i := 0; i < n; i++ {
			d := float64(x[r*n+i]) - mean
			v += d * d / n
		}
		for i := 0; i < n; i++ {
			want[r*n+i] = (float64(x[r*n+i])-mean)/math.Sqrt(v+1e-5)*float64(w[i]) + float64(bias[i])
		}
	}
	closeTo(t, "layernorm", got, want, 1e-5)
}

func TestElementwise(t *testing.T) {
	b := newCPU(t)
	const n = 300
	x := backendtest.Floats(backendtest.Rand(4), n, 6)
	y := backendtest.Floats(backendtest.Rand(5), n, 2)
	xb, yb := upload(t, b, x), upload(t, b, y)
	dst, _ := b.NewBuffer(backend.F32, n)
	want := make([]float64, n)

	b.Add(dst, xb, yb, n) // 300: eight at a time, then a tail of four
	for i, v := range read(t, b, dst) {
		if v != x[i]+y[i] {
			t.Fatalf("add: element %d: %g, want %g", i, v, x[i]+y[i])
		}
	}

	b.SwiGLU(dst, xb, yb, n)
	for i := range want {
		g := float64(x[i])
		want[i] = g / (1 + math.Exp(-g)) * float64(y[i])
	}
	closeTo(t, "swiglu", read(t, b, dst), want, 1e-6)

	b.GELU(dst, xb, n)
	for i := range want {
		v := float64(x[i])
		want[i] = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
	}
	// input and output rounded to float16, as ggml does (TestGGMLGELU
	// pins the exact values)
	closeTo(t, "gelu", read(t, b, dst), want, 2e-3)

	b.GeGLU(dst, xb, yb, n)
	for i := range want {
		want[i] *= float64(y[i]) // gelu(x) from above
	}
	closeTo(t, "geglu", read(t, b, dst), want, 4e-3)

	b.Softcap(dst, xb, 2.5, n)
	for i := range want {
		want[i] = 2.5 * math.Tanh(float64(x[i])/2.5)
	}
	closeTo(t, "softcap", read(t, b, dst), want, 1e-6)

	b.Scale(dst, xb, 0.3, n)
	for i, v := range read(t, b, dst) {
		if v != x[i]*0.3 {
			t.Fatalf("scale: element %d: %g, want %g", i, v, x[i]*0.3)
		}
	}

	b.Softmax(xb, 3, 100)
	got := read(t, b, xb)
	for r := 0; r < 3; r++ {
		var sum float64
		for i := 0; i < 100; i++ {
			sum += math.Exp(float64(x[r*100+i]))
		}
		for i := 0; i < 100; i++ {
			want[r*100+i] = math.Exp(float64(x[r*100+i])) / sum
		}
	}
	closeTo(t, "softmax", got, want[:300], 1e-6)
}

func TestRoPE(t *testing.T) {
	b := newCPU(t)
	const heads, D, dims = 2, 16, 12
	pos := []int32{0, 3, 1000}
	x := backendtest.Floats(backendtest.Rand(6), len(pos)*heads*D, 1)
	for _, mode := range []backend.RoPEMode{backend.RoPENormal, backend.RoPENeox} {
		xb := upload(t, b, x)
		b.RoPE(xb, pos, heads, D, backend.RoPE{Mode: mode, Dims: dims, FreqBase: 10000, FreqScale: 1})
		got := read(t, b, xb)
		want := make([]float64, len(x))
		for i := range x {
			want[i] = float64(x[i])
		}
		for ti, p := range pos {
			for h := 0; h < heads; h++ {
				base := (ti*heads + h) * D
				for i := 0; i < dims/2; i++ {
					theta := float64(p) * math.Pow(10000, -2*float64(i)/dims)
					a, c := base+2*i, base+2*i+1
					if mode == backend.RoPENeox {
						a, c = base+i, base+i+dims/2
					}
					x0, x1 := float64(x[a]), float64(x[c])
					want[a] = x0*math.Cos(theta) - x1*math.Sin(theta)
					want[c] = x0*math.Sin(theta) + x1*math.Cos(theta)
				}
			}
		}
		// float32 angles at position 1000 carry ~1e-4 absolute error.
		closeTo(t, "rope", got, want, 2e-4)
	}
}

// TestAttention checks causal grouped-query attention with f32 and f16
// caches against a float64 computation, with and without a sliding window,
// on each of the paths: head dims 64 (the assembly; prefill in quads of
// rows), 32 (quads scored together) and 8 (the portable loops).
func TestAttention(t *testing.T) {
	b := newCPU(t)
	for _, a := range []backend.AttentionArgs{
		{T: 3, Pos: 4, Heads: 4, KVHeads: 2, HeadDim: 8, CacheLen: 10, Scale: 0.35},
		{T: 3, Pos: 4, Heads: 4, KVHeads: 2, HeadDim: 8, CacheLen: 10, Scale: 0.35, Window: 3},
		{T: 1, Pos: 70, Heads: 2, KVHeads: 1, HeadDim: 64, CacheLen: 80, Scale: 0.125, Window: 5},
		{T: 45, Pos: 30, Heads: 2, KVHeads: 1, HeadDim: 64, CacheLen: 80, Scale: 0.125, Window: 37},
		{T: 45, Pos: 30, Heads: 4, KVHeads: 2, HeadDim: 32, CacheLen: 80, Scale: 0.2, Window: 9},
		{T: 45, Pos: 30, Heads: 4, KVHeads: 2, HeadDim: 32, CacheLen: 80, Scale: 0.2, Window: 1000},
		// soft-capped scores (Gemma 2), alone and with a window
		{T: 3, Pos: 4, Heads: 4, KVHeads: 2, HeadDim: 8, CacheLen: 10, Scale: 0.35, Softcap: 2},
		{T: 1, Pos: 70, Heads: 2, KVHeads: 1, HeadDim: 64, CacheLen: 80, Scale: 1, Softcap: 5},
		{T: 45, Pos: 30, Heads: 2, KVHeads: 1, HeadDim: 64, CacheLen: 80, Scale: 0.125, Window: 37, Softcap: 3},
		{T: 45, Pos: 30, Heads: 4, KVHeads: 2, HeadDim: 32, CacheLen: 80, Scale: 0.2, Softcap: 1.5},
	} {
		kvDim := a.KVHeads * a.HeadDim
		rows := a.Pos + a.T
		k := backendtest.Floats(backendtest.Rand(7), rows*kvDim, 2)
		v := backendtest.Floats(backendtest.Rand(8), rows*kvDim, 2)
		q := backendtest.Floats(backendtest.Rand(9), a.T*a.Heads*a.HeadDim, 2)
		want := make([]float64, len(q))
		for ti := 0; ti < a.T; ti++ {
			first := 0
			if a.Window > 0 {
				first = max(0, a.Pos+ti+1-a.Window)
			}
			for h := 0; h < a.Heads; h++ {
				g := h / (a.Heads / a.KVHeads)
				n := a.Pos + ti + 1
				s := make([]float64, n)
				var mx, sum float64 = math.Inf(-1), 0
				for j := first; j < n; j++ {
					for d := 0; d < a.HeadDim; d++ {
						s[j] += float64(q[(ti*a.Heads+h)*a.HeadDim+d]) * float64(k[j*kvDim+g*a.HeadDim+d])
					}
					if a.Softcap > 0 {
						s[j] = float64(a.Softcap) * math.Tanh(s[j]/float64(a.Softcap))
					}
					s[j] *= float64(a.Scale)
					mx = math.Max(mx, s[j])
				}
				for j := first; j < n; j++ {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for j := first; j < n; j++ {
					for d := 0; d < a.HeadDim; d++ {
						want[(ti*a.Heads+h)*a.HeadDim+d] += s[j] / sum * float64(v[j*kvDim+g*a.HeadDim+d])
					}
				}
			}
		}
		for _, c := range []struct {
			dt  backend.DType
			tol float64
		}{{backend.F32, 1e-5}, {backend.F16, 3e-3}} {
			kc, _ := b.NewBuffer(c.dt, a.CacheLen*kvDim)
			vc, _ := b.NewBuffer(c.dt, a.CacheLen*kvDim)
			b.StoreKV(kc, vc, upload(t, b, k), upload(t, b, v), 0, rows, kvDim)
			dst, _ := b.NewBuffer(backend.F32, len(q))
			b.Attention(dst, upload(t, b, q), kc, vc, a)
			closeTo(t, fmt.Sprintf("attention %s %+v", c.dt, a), read(t, b, dst), want, c.tol)
		}
	}
}

// TestMatMulAgainstDequantized checks the quantized matmul against a float64
// product with the dequantized weights, within the error that quantizing the
// activations to 8 bits allows.
func TestMatMulAgainstDequantized(t *testing.T) {
	b := newCPU(t)
	for _, typ := range backendtest.WeightTypes {
		const rows, T = 19, 3
		cols := 256
		tt, err := backendtest.Tensor("w", typ, rows, cols, 5)
		if err != nil {
			t.Fatal(err)
		}
		wf := make([]float32, rows*cols)
		rb, _ := typ.RowSize(cols)
		for r := 0; r < rows; r++ {
			if err := quant.DequantizeRow(typ, tt.Data[r*rb:(r+1)*rb], wf[r*cols:(r+1)*cols]); err != nil {
				t.Fatal(err)
			}
		}
		w, err := b.LoadWeight(tt)
		if err != nil {
			t.Fatal(err)
		}
		x := backendtest.Floats(backendtest.Rand(10), T*cols, 1)
		dst, _ := b.NewBuffer(backend.F32, T*rows)
		b.MatMul(dst, upload(t, b, x), w, T)
		got := read(t, b, dst)
		want := make([]float32, T*rows)
		for ti := 0; ti < T; ti++ {
			for r := 0; r < rows; r++ {
				var s float64
				for c := 0; c < cols; c++ {
					s += float64(wf[r*cols+c]) * float64(x[ti*cols+c])
				}
				want[ti*rows+r] = float32(s)
			}
		}
		limit := 1e-10
		switch typ {
		case quant.F16:
			limit = 1e-6 // activations rounded to f16
		case quant.F32:
		default:
			limit = 1e-4 // activations quantized to 8 bits
		}
		if e := backendtest.NMSE(want, got); e > limit {
			t.Errorf("%s: NMSE %.3g > %.g", typ, e, limit)
		}
	}
}

// TestAttentionWindowOffset: windowed attention over a cache whose rows
// start at position off (a sliding-window cache that moved its rows) gives
// the bits of the same attention over a cache of every position when off
// is a multiple of 32 (every position keeps its lane and group of eight),
// and not when it moves positions to other lanes (odd offsets here) — what
// kvcache.Cache.Slide relies on.
func TestAttentionWindowOffset(t *testing.T) {
	b := newCPU(t)
	const P, W, heads, kvHeads, D = 300, 40, 4, 2, 64
	kvDim := kvHeads * D
	k := backendtest.Floats(backendtest.Rand(17), P*kvDim, 2)
	v := backendtest.Floats(backendtest.Rand(18), P*kvDim, 2)
	q := backendtest.Floats(backendtest.Rand(19), 9*heads*D, 2)
	run := func(off, pos, T int) []float32 {
		kc, _ := b.NewBuffer(backend.F32, (P-off)*kvDim)
		vc, _ := b.NewBuffer(backend.F32, (P-off)*kvDim)
		b.StoreKV(kc, vc, upload(t, b, k[off*kvDim:]), upload(t, b, v[off*kvDim:]), 0, P-off, kvDim)
		dst, _ := b.NewBuffer(backend.F32, T*heads*D)
		b.Attention(dst, upload(t, b, q[:T*heads*D]), kc, vc, backend.AttentionArgs{T: T, Pos: pos - off, Heads: heads,
			KVHeads: kvHeads, HeadDim: D, Scale: 0.125, CacheLen: P - off, Window: W})
		return read(t, b, dst)
	}
	for _, c := range []struct{ pos, T int }{{P - 1, 1}, {P - 9, 9}, {200, 4}} {
		full := run(0, c.pos, c.T)
		for _, off := range []int{32, 128, 160} {
			if got := run(off, c.pos, c.T); !slices.Equal(got, full) {
				t.Errorf("pos %d, T %d: rows from %d differ from the full cache's", c.pos, c.T, off)
			}
		}
		differ := false
		for _, off := range []int{1, 3, 17, 99} {
			differ = differ || !slices.Equal(run(off, c.pos, c.T), full)
		}
		if !differ {
			t.Errorf("pos %d, T %d: odd offsets gave the same bits too; the test shows nothing", c.pos, c.T)
		}
	}
}
