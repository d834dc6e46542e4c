package cuda

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/model"
	"gpurun/runtime/sampler"
)

// topKRef is the k largest of x by (value descending, index ascending),
// sorted that way: what TopK must return, in some order.
func topKRef(x []float32, k int) []int32 {
	idx := make([]int32, len(x))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		if c := cmp.Compare(x[b], x[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return idx[:k]
}

// TestEmuTopK: topk_f32 returns exactly the k largest logits, ties broken
// by the smaller index as the host sampler breaks them, for vocabularies of
// odd sizes, values with many ties (few distinct values), negative values
// and ±Inf, and k from 1 to MaxTopK.
func TestEmuTopK(t *testing.T) {
	b, err := New(openEmu(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	ids, vals := make([]int32, backend.MaxTopK), make([]float32, backend.MaxTopK)
	for _, c := range []struct {
		n        int
		distinct int // 0: continuous values
	}{{37, 0}, {37, 3}, {1000, 0}, {1000, 7}, {5003, 50}, {49152, 0}, {49152, 400}} {
		x := make([]float32, c.n)
		for i := range x {
			if c.distinct > 0 {
				x[i] = float32(rng.IntN(c.distinct)) - float32(c.distinct)/2
			} else {
				x[i] = float32(rng.NormFloat64() * 4)
			}
		}
		if c.n > 100 {
			x[17], x[c.n-1] = float32(math.Inf(1)), float32(math.Inf(-1))
		}
		buf, err := b.NewBuffer(backend.F32, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Write(buf, x); err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{1, 2, 40, 41, 255, 256} {
			if k > c.n {
				continue
			}
			if err := b.TopK(buf, c.n, k, ids, vals); err != nil {
				t.Fatal(err)
			}
			got := slices.Clone(ids[:k])
			for i, id := range got {
				if id < 0 || int(id) >= c.n || math.Float32bits(vals[i]) != math.Float32bits(x[id]) {
					t.Fatalf("n=%d k=%d: candidate %d: id %d with value %g", c.n, k, i, id, vals[i])
				}
			}
			slices.SortFunc(got, func(a, b int32) int {
				if c := cmp.Compare(x[b], x[a]); c != 0 {
					return c
				}
				return cmp.Compare(a, b)
			})
			if want := topKRef(x, k); !slices.Equal(got, want) {
				t.Fatalf("n=%d distinct=%d k=%d: top k\n got %v\nwant %v", c.n, c.distinct, k, got, want)
			}
		}
	}
	if err := b.TopK(nil, 10, 0, ids, vals); err == nil {
		t.Error("TopK with k = 0: no error")
	}
}

// TestEmuStoriesSampledTopK: sampling with top-k on the CUDA backend the way
// the engine does (backend TopK, then sampler.SampleTopK on the k
// candidates) draws the same tokens as reading all the logits and
// sampler.Sample, step after step of the real stories260K model on the
// emulated kernels, for llama.cpp's default sampling and a wider top-k.
func TestEmuStoriesSampledTopK(t *testing.T) {
	_, m := twinModels(t, fixtures.Path(t, "stories260K/stories260K.gguf"), openEmu(t), Options{}, model.Options{MaxBatch: 16})
	b, vocab := m.Backend(), m.Config().Vocab
	tk := b.(backend.TopKer)
	ids, vals := make([]int32, backend.MaxTopK), make([]float32, backend.MaxTopK)
	host := make([]float32, vocab)
	for _, p := range []sampler.Params{sampler.Defaults(), {Temperature: 1.2, TopK: 200, TopP: 0.9, Seed: 9}} {
		full, top := sampler.New(p), sampler.New(p)
		c, err := m.NewCache(80, backend.F32)
		if err != nil {
			t.Fatal(err)
		}
		tokens := []int32{1, 403, 407, 261, 378}
		for step := 0; step < 60; step++ {
			logits, err := m.Forward([]model.Segment{{Cache: c, Tokens: tokens}})
			if err != nil {
				t.Fatal(err)
			}
			if err := tk.TopK(logits, vocab, p.TopK, ids, vals); err != nil {
				t.Fatal(err)
			}
			got := top.SampleTopK(ids[:p.TopK], vals[:p.TopK])
			if err := b.Read(host, logits); err != nil {
				t.Fatal(err)
			}
			want := full.Sample(host, nil)
			if got != want {
				t.Fatalf("%+v: step %d: TopK path drew %d, full logits %d", p, step, got, want)
			}
			tokens = []int32{want}
		}
	}
}

// topkCase is a parity case for TopK: the k largest of n logits (distinct
// values in a few dozen, so ties abound), as their ids sorted by (value
// descending, id ascending) followed by their values. A backend without
// TopK (the CPU reference) picks them on the host with topKRef.
func topkCase(n, k int) backendtest.Case {
	return backendtest.Case{Op: "topk", Name: fmt.Sprintf("n=%d/k=%d", n, k), MaxNMSE: 0,
		Run: func(b backend.Backend) ([]float32, error) {
			r := backendtest.Rand(uint64(n + k))
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = float32(r.IntN(40)) / 4
			}
			x, err := backendtest.Input(b, xs)
			if err != nil {
				return nil, err
			}
			var ids []int32
			if tk, ok := b.(backend.TopKer); ok {
				got, vals := make([]int32, k), make([]float32, k)
				if err := tk.TopK(x, n, k, got, vals); err != nil {
					return nil, err
				}
				for i, id := range got {
					if id < 0 || int(id) >= n || vals[i] != xs[id] {
						return nil, fmt.Errorf("candidate %d: id %d, value %g", i, id, vals[i])
					}
				}
				ids = got
				slices.SortFunc(ids, func(a, c int32) int {
					if d := cmp.Compare(xs[c], xs[a]); d != 0 {
						return d
					}
					return cmp.Compare(a, c)
				})
			} else {
				host := make([]float32, n)
				if err := b.Read(host, x); err != nil {
					return nil, err
				}
				ids = topKRef(host, k)
			}
			out := make([]float32, 0, 2*k)
			for _, id := range ids {
				out = append(out, float32(id))
			}
			for _, id := range ids {
				out = append(out, xs[id])
			}
			return out, nil
		}}
}
