package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gpurun/runtime/backend"
)

// These tests pin the float arithmetic that must equal llama.cpp's x86 CPU
// build bit for bit (see ggmlmath.go), against outputs of that build's own
// kernels and of glibc (testdata/ggml_x86_math.bin, written by
// scripts/goldens/ggml_cpu_vectors.py), for the assembly and the portable
// code alike.

// readVectors reads a GGV1 file (see scripts/goldens/ggml_cpu_vectors.py).
func readVectors(tb testing.TB, path string) map[string][]byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) < 8 || string(b[:4]) != "GGV1" {
		tb.Fatalf("%s: not a GGV1 file", path)
	}
	out := map[string][]byte{}
	n, off := int(binary.LittleEndian.Uint32(b[4:])), 8
	for range n {
		nl := int(binary.LittleEndian.Uint16(b[off:]))
		name := string(b[off+2 : off+2+nl])
		off += 2 + nl
		kind, cnt := b[off], int(binary.LittleEndian.Uint32(b[off+1:]))
		off += 5
		size := map[byte]int{0: 4, 1: 1, 2: 4, 3: 8}[kind]
		out[name] = b[off : off+cnt*size]
		off += cnt * size
	}
	return out
}

func f32sOf(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// bothImpls runs f with the assembly kernels (where this machine has them)
// and with the portable ones.
func bothImpls(t *testing.T, f func(t *testing.T)) {
	saved := useAsm
	defer func() { useAsm = saved }()
	if saved {
		t.Run("avx2", f)
	}
	useAsm = false
	t.Run("generic", f)
}

func same(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

func TestGGMLVecDotF32(t *testing.T) {
	v := readVectors(t, "testdata/ggml_x86_math.bin")
	x, y, want := f32sOf(v["dot_x"]), f32sOf(v["dot_y"]), f32sOf(v["dot"])
	bothImpls(t, func(t *testing.T) {
		off := 0
		for i := range want {
			n := int(binary.LittleEndian.Uint32(v["dot_len"][4*i:]))
			if got := vecDotF32(x[off:off+n], y[off:off+n]); !same(got, want[i]) {
				t.Errorf("n=%d: vecDotF32 = %.9g, ggml_vec_dot_f32 %.9g", n, got, want[i])
			}
			off += n
		}
	})
}

func TestGGMLExpAndSoftmaxSum(t *testing.T) {
	v := readVectors(t, "testdata/ggml_x86_math.bin")
	x, want := f32sOf(v["exp_x"]), f32sOf(v["exp_y"])
	wantSum := math.Float64frombits(binary.LittleEndian.Uint64(v["exp_sum"]))
	for i, xi := range x {
		if got := expf(xi); !same(got, want[i]) {
			t.Fatalf("expf(%g) = %g (%#x), ggml_v_expf %g (%#x)", xi, got, math.Float32bits(got), want[i], math.Float32bits(want[i]))
		}
	}
	bothImpls(t, func(t *testing.T) {
		y := append([]float32(nil), x...)
		sum := expSum(y, 0)
		for i := range y {
			if !same(y[i], want[i]) {
				t.Fatalf("expSum: element %d (x = %g) = %g, ggml %g", i, x[i], y[i], want[i])
			}
		}
		if sum != wantSum {
			t.Errorf("expSum sum = %.17g, ggml_vec_soft_max_f32 %.17g", sum, wantSum)
		}
	})
}

func TestGGMLSwiGLU(t *testing.T) {
	v := readVectors(t, "testdata/ggml_x86_math.bin")
	g, u, want := f32sOf(v["swiglu_g"]), f32sOf(v["swiglu_u"]), f32sOf(v["swiglu"])
	bothImpls(t, func(t *testing.T) {
		b, err := New(Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		n := len(g)
		gb, ub := &Buf{f32: g}, &Buf{f32: u}
		db := &Buf{f32: make([]float32, n)}
		b.SwiGLU(db, gb, ub, n)
		for i := range want {
			if !same(db.f32[i], want[i]) {
				t.Fatalf("swiglu(%g, %g) = %g, ggml %g", g[i], u[i], db.f32[i], want[i])
			}
		}
	})
}

func TestGlibcSincosf(t *testing.T) {
	v := readVectors(t, "testdata/ggml_x86_math.bin")
	x, ws, wc := f32sOf(v["sincos_x"]), f32sOf(v["sin"]), f32sOf(v["cos"])
	bad := 0
	for i, xi := range x {
		s, c := sincosf(xi)
		if !same(s, ws[i]) || !same(c, wc[i]) {
			if bad++; bad <= 5 {
				t.Errorf("sincosf(%g) = %g, %g; glibc %g, %g", xi, s, c, ws[i], wc[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d differ", bad, len(x))
	}
}

func TestGlibcPowf(t *testing.T) {
	v := readVectors(t, "testdata/ggml_x86_math.bin")
	base, dims, want := f32sOf(v["pow_base"]), f32sOf(v["pow_dims"]), f32sOf(v["pow"])
	for i := range want {
		if got := powf(base[i], -2/dims[i]); !same(got, want[i]) {
			t.Errorf("powf(%g, -2/%g) = %.9g, glibc %.9g", base[i], dims[i], got, want[i])
		}
	}
}

// TestAttentionImplementationsAgree: the assembly and portable attention
// give the same bits, for decode (one query row: vec_dot_f32's 32 lanes) and
// prefill (tinyBLAS's 8 lanes), across positions that cross lane groups.
func TestAttentionImplementationsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const heads, kvHeads, ctx = 6, 2, 80
	// Head dims: 64 and 128 (SmolLM2, Llama) and 96 take the one-call
	// assembly (multiples of 32); 40 runs the per-position kernels.
	for _, D := range []int{64, 128, 96, 40} {
		kvDim := kvHeads * D
		k, v := make([]float32, ctx*kvDim), make([]float32, ctx*kvDim)
		for i := range k {
			k[i], v[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		for _, c := range []struct{ T, pos int }{{1, 0}, {1, 5}, {1, 31}, {1, 32}, {1, 37}, {1, 79}, {5, 0}, {17, 40}} {
			q := make([]float32, c.T*heads*D)
			for i := range q {
				q[i] = float32(rng.NormFloat64()) * 2
			}
			var outs [][]float32
			bothImpls(t, func(t *testing.T) {
				b, err := New(Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				dst := &Buf{f32: make([]float32, len(q))}
				b.Attention(dst, &Buf{f32: q}, &Buf{f32: k}, &Buf{f32: v}, backend.AttentionArgs{
					T: c.T, Pos: c.pos, Heads: heads, KVHeads: kvHeads, HeadDim: D, Scale: 0.125, CacheLen: ctx})
				if err := b.Err(); err != nil {
					t.Fatal(err)
				}
				outs = append(outs, dst.f32)
			})
			for _, o := range outs[1:] {
				for i := range o {
					if !same(o[i], outs[0][i]) {
						t.Fatalf("D=%d T=%d pos=%d: element %d: %g vs %g", D, c.T, c.pos, i, o[i], outs[0][i])
					}
				}
			}
		}
	}
}
