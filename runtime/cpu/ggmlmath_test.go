package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/quant"
)

// These tests pin the float arithmetic that must equal llama.cpp's x86 CPU
// build bit for bit (see ggmlmath.go), against outputs of that build's own
// kernels and of glibc (testdata/ggml_x86_math.bin, written by
// scripts/goldens/ggml_cpu_vectors.py), for the assembly and the portable
// code alike.

// bothImpls runs f with the 512-bit and AVX2 assembly kernels (where this machine has them)
// and with the portable ones.
func bothImpls(t *testing.T, f func(t *testing.T)) {
	saved, savedZMM := useAsm, useZMM
	defer func() { useAsm, useZMM = saved, savedZMM }()
	if savedZMM {
		t.Run("zmm", f)
	}
	useZMM = false
	if saved {
		t.Run("avx2", f)
	}
	useAsm = false
	t.Run("generic", f)
}

func same(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

func TestGGMLVecDotF32(t *testing.T) {
	v := fixtures.ReadGGV1(t, "testdata/ggml_x86_math.bin")
	x, y, want := fixtures.F32s(v["dot_x"]), fixtures.F32s(v["dot_y"]), fixtures.F32s(v["dot"])
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
	v := fixtures.ReadGGV1(t, "testdata/ggml_x86_math.bin")
	x, want := fixtures.F32s(v["exp_x"]), fixtures.F32s(v["exp_y"])
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
	v := fixtures.ReadGGV1(t, "testdata/ggml_x86_math.bin")
	g, u, want := fixtures.F32s(v["swiglu_g"]), fixtures.F32s(v["swiglu_u"]), fixtures.F32s(v["swiglu"])
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
	v := fixtures.ReadGGV1(t, "testdata/ggml_x86_math.bin")
	x, ws, wc := fixtures.F32s(v["sincos_x"]), fixtures.F32s(v["sin"]), fixtures.F32s(v["cos"])
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
	v := fixtures.ReadGGV1(t, "testdata/ggml_x86_math.bin")
	base, dims, want := fixtures.F32s(v["pow_base"]), fixtures.F32s(v["pow_dims"]), fixtures.F32s(v["pow"])
	for i := range want {
		if got := powf(base[i], -2/dims[i]); !same(got, want[i]) {
			t.Errorf("powf(%g, -2/%g) = %.9g, glibc %.9g", base[i], dims[i], got, want[i])
		}
	}
}

// TestAttentionImplementationsAgree: the assembly and portable attention
// give the same bits, for decode (one query row: vec_dot_f32's 32 lanes) and
// prefill (tinyBLAS's 8 lanes), across positions that cross lane groups, on
// f32 and f16 caches; and so does grouped decoding (attentionGrouped,
// forced here below its usual context length), for groups of three, four
// and five query heads per KV head and contexts over several score chunks.
func TestAttentionImplementationsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const ctx = 600
	// Head dims: 64 and 128 (SmolLM2, Llama) and 96 take the one-call
	// assembly (multiples of 32); 40 runs the per-position kernels.
	for _, hd := range []struct{ heads, kvHeads, D int }{{6, 2, 64}, {6, 2, 128}, {6, 2, 96}, {6, 2, 40}, {8, 2, 64}, {10, 2, 64}, {4, 4, 64}} {
		heads, kvHeads, D := hd.heads, hd.kvHeads, hd.D
		kvDim := kvHeads * D
		k, v := make([]float32, ctx*kvDim), make([]float32, ctx*kvDim)
		for i := range k {
			k[i], v[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		// f16 caches: the assembly reads rows widened into scratch, the
		// portable loops widen row by row.
		k16, v16 := make([]uint16, len(k)), make([]uint16, len(v))
		for i := range k {
			k16[i], v16[i] = quant.F32ToF16(k[i]), quant.F32ToF16(v[i])
		}
		caches := []struct{ k, v *Buf }{{&Buf{f32: k}, &Buf{f32: v}}, {&Buf{f16: k16, isF16: true}, &Buf{f16: v16, isF16: true}}}
		for _, c := range []struct{ T, pos int }{{1, 0}, {1, 5}, {1, 31}, {1, 32}, {1, 37}, {1, 79}, {1, 255}, {1, 256}, {1, 599},
			{5, 0}, {17, 40}, {8, 592}} {
			for _, kv := range caches {
				q := make([]float32, c.T*heads*D)
				for i := range q {
					q[i] = float32(rng.NormFloat64()) * 2
				}
				run := func(t *testing.T) []float32 {
					b, err := New(Options{Threads: 2})
					if err != nil {
						t.Fatal(err)
					}
					defer b.Close()
					dst := &Buf{f32: make([]float32, len(q))}
					b.Attention(dst, &Buf{f32: q}, kv.k, kv.v, backend.AttentionArgs{
						T: c.T, Pos: c.pos, Heads: heads, KVHeads: kvHeads, HeadDim: D, Scale: 0.125, CacheLen: ctx})
					if err := b.Err(); err != nil {
						t.Fatal(err)
					}
					return dst.f32
				}
				var outs [][]float32
				bothImpls(t, func(t *testing.T) { outs = append(outs, run(t)) })
				if useZMM {
					saved := decodeGroupMin
					decodeGroupMin = 1
					outs = append(outs, run(t))
					decodeGroupMin = saved
				}
				for _, o := range outs[1:] {
					for i := range o {
						if !same(o[i], outs[0][i]) {
							t.Fatalf("heads %d/%d D=%d T=%d pos=%d f16=%v: element %d: %g vs %g", heads, kvHeads, D, c.T, c.pos, kv.k.isF16, i, o[i], outs[0][i])
						}
					}
				}
			}
		}
	}
}

// TestGELUOpEqualsGelu: the GELU op (the table gathered eight at a time in
// assembly, or looked up one by one) gives gelu's bits for float32 inputs
// spread over every exponent — float16 subnormals, the rounding to even,
// the clamps at ±10 and values past float16's range — plus the specials,
// in a length that leaves a scalar tail.
func TestGELUOpEqualsGelu(t *testing.T) {
	x := []float32{0, float32(math.Copysign(0, -1)), -10, 10, float32(math.Nextafter32(-10, 0)), float32(math.Nextafter32(10, 0)),
		float32(math.Inf(1)), float32(math.Inf(-1)), 65504, 65520, -65520, 1e-8, 5.96e-8, 2.98e-8}
	for bits := uint32(0); bits < 1<<32-4093; bits += 4093 { // every 4093rd bit pattern
		if v := math.Float32frombits(bits); !math.IsNaN(float64(v)) {
			x = append(x, v)
		}
	}
	x = x[:len(x)&^7+5]
	bothImpls(t, func(t *testing.T) {
		b, err := New(Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		dst := &Buf{f32: make([]float32, len(x))}
		b.GELU(dst, &Buf{f32: x}, len(x))
		if err := b.Err(); err != nil {
			t.Fatal(err)
		}
		bad := 0
		for i, v := range x {
			if want := gelu(v); !same(dst.f32[i], want) {
				if bad++; bad <= 5 {
					t.Errorf("GELU(%g) = %g (%#x), gelu %g (%#x)", v, dst.f32[i], math.Float32bits(dst.f32[i]), want, math.Float32bits(want))
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d differ", bad, len(x))
		}
	})
}

// TestGGMLGELU checks gelu against ggml_table_gelu_f16, the table llama.cpp's
// ggml_vec_gelu_f32 reads, and the clamps around it.
func TestGGMLGELU(t *testing.T) {
	v := fixtures.ReadGGV1(t, "testdata/ggml_x86_math.bin")
	x, want := fixtures.F32s(v["gelu_x"]), fixtures.F32s(v["gelu"])
	if len(x) < 8000 || len(x) != len(want) {
		t.Fatalf("gelu vectors: %d inputs, %d outputs", len(x), len(want))
	}
	bad := 0
	for i, xi := range x {
		if got := gelu(xi); !same(got, want[i]) {
			if bad++; bad <= 5 {
				t.Errorf("gelu(%g) = %g (%#x), ggml table %g (%#x)", xi, got, math.Float32bits(got), want[i], math.Float32bits(want[i]))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d table entries differ", bad, len(x))
	}
	for _, c := range []struct{ x, want float32 }{{-10, 0}, {-1e6, 0}, {10, 10}, {123.5, 123.5}} {
		if got := gelu(c.x); got != c.want {
			t.Errorf("gelu(%g) = %g, want %g (ggml clamps outside (-10, 10))", c.x, got, c.want)
		}
	}
}
