package attention

import (
	"math"
	"math/rand/v2"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
)

// The textbook reference and the backend's fused op must compute the same
// attention (this is a correctness check, not a timing).
func TestNaiveMatchesFused(t *testing.T) {
	tests := []struct {
		name string
		s    Shape
		n    int
		kv   backend.DType
	}{
		{"smollm2 layout", SmolLM2, 33, backend.F32},
		{"mha", Shape{Heads: 2, KVHeads: 2, HeadDim: 8}, 17, backend.F32},
		{"gqa f16 cache", Shape{Heads: 4, KVHeads: 1, HeadDim: 16}, 9, backend.F16},
		{"one token", Shape{Heads: 3, KVHeads: 3, HeadDim: 4}, 1, backend.F32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			D := tt.s.HeadDim
			q := random(rng, tt.n*tt.s.Heads*D)
			k := random(rng, tt.n*tt.s.KVHeads*D)
			v := random(rng, tt.n*tt.s.KVHeads*D)
			scale := float32(1 / math.Sqrt(float64(D)))
			nv, err := newNaive(tt.s, tt.n, scale, q, k, v)
			if err != nil {
				t.Fatal(err)
			}
			if err := nv.run(); err != nil {
				t.Fatal(err)
			}
			got := nv.output()

			b, err := cpu.New(cpu.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			buf := func(dt backend.DType, x []float32, n int) backend.Buffer {
				bb, err := b.NewBuffer(dt, n)
				if err != nil {
					t.Fatal(err)
				}
				if x != nil {
					if err := b.Write(bb, x); err != nil {
						t.Fatal(err)
					}
				}
				return bb
			}
			qb, ob := buf(backend.F32, q, len(q)), buf(backend.F32, nil, len(q))
			kb, vb := buf(backend.F32, k, len(k)), buf(backend.F32, v, len(v))
			kc, vc := buf(tt.kv, nil, len(k)), buf(tt.kv, nil, len(v))
			b.StoreKV(kc, vc, kb, vb, 0, tt.n, tt.s.KVHeads*D)
			b.Attention(ob, qb, kc, vc, backend.AttentionArgs{T: tt.n, Heads: tt.s.Heads, KVHeads: tt.s.KVHeads, HeadDim: D, Scale: scale, CacheLen: tt.n})
			want := make([]float32, len(q))
			if err := b.Read(want, ob); err != nil {
				t.Fatal(err)
			}
			tol := 1e-10
			if tt.kv == backend.F16 {
				tol = 1e-5 // the cache rounds K and V to f16
			}
			if e := nmse(got, want); e > tol {
				t.Errorf("normalised MSE between naive and fused = %g, want <= %g", e, tol)
			}
		})
	}
}

func TestNaiveRejectsBadInputs(t *testing.T) {
	if _, err := newNaive(SmolLM2, 4, 1, make([]float32, 3), nil, nil); err == nil {
		t.Fatal("newNaive accepted inputs of the wrong size")
	}
}

func nmse(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	if den == 0 {
		return num
	}
	return num / den
}
