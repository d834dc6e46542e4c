package attention

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// naive is textbook attention: for each head, the full n×n score matrix
// S = Q·Kᵀ is materialised (gorgonia.org/tensor, float32, on the host),
// scaled, causally masked with -Inf, soft-maxed row by row, and multiplied
// by V. One score matrix is reused head after head, so its memory is n²
// floats, not Heads·n².
type naive struct {
	s     Shape
	n     int
	scale float32
	q, o  []*tensor.Dense // per query head: [n, D]
	kT, v []*tensor.Dense // per KV head: Kᵀ as a transposed view of [n, D], and V [n, D]
	score *tensor.Dense   // [n, n]
}

// newNaive lays out q[n, Heads·D], k and v [n, KVHeads·D] (the backend's
// row-major layout) head by head, as the textbook formula reads them.
func newNaive(s Shape, n int, scale float32, q, k, v []float32) (*naive, error) {
	D := s.HeadDim
	if len(q) != n*s.Heads*D || len(k) != n*s.KVHeads*D || len(v) != len(k) {
		return nil, fmt.Errorf("naive attention: inputs of %d, %d, %d elements do not fit n=%d, %+v", len(q), len(k), len(v), n, s)
	}
	nv := &naive{s: s, n: n, scale: scale,
		score: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n, n))}
	perHead := func(src []float32, heads, h int) []float32 {
		out := make([]float32, n*D)
		for t := 0; t < n; t++ {
			copy(out[t*D:(t+1)*D], src[(t*heads+h)*D:(t*heads+h+1)*D])
		}
		return out
	}
	for h := 0; h < s.Heads; h++ {
		nv.q = append(nv.q, tensor.New(tensor.WithShape(n, D), tensor.WithBacking(perHead(q, s.Heads, h))))
		nv.o = append(nv.o, tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n, D)))
	}
	for g := 0; g < s.KVHeads; g++ {
		kt := tensor.New(tensor.WithShape(n, D), tensor.WithBacking(perHead(k, s.KVHeads, g)))
		if err := kt.T(); err != nil { // a view: Sgemm reads K with its transpose flag
			return nil, fmt.Errorf("naive attention: transposing K: %w", err)
		}
		nv.kT = append(nv.kT, kt)
		nv.v = append(nv.v, tensor.New(tensor.WithShape(n, D), tensor.WithBacking(perHead(v, s.KVHeads, g))))
	}
	return nv, nil
}

// run computes every head's output into nv.o.
func (nv *naive) run() error {
	group := nv.s.Heads / nv.s.KVHeads
	n := nv.n
	for h := 0; h < nv.s.Heads; h++ {
		g := h / group
		if _, err := tensor.MatMul(nv.q[h], nv.kT[g], tensor.WithReuse(nv.score)); err != nil {
			return fmt.Errorf("naive attention: S = Q·Kᵀ for head %d: %w", h, err)
		}
		s := nv.score.Float32s()
		for i := 0; i < n; i++ {
			row := s[i*n : (i+1)*n]
			for j := range row {
				row[j] *= nv.scale
			}
			for j := i + 1; j < n; j++ { // causal mask
				row[j] = float32(math.Inf(-1))
			}
			softmax(row)
		}
		if _, err := tensor.MatMul(nv.score, nv.v[g], tensor.WithReuse(nv.o[h])); err != nil {
			return fmt.Errorf("naive attention: O = P·V for head %d: %w", h, err)
		}
	}
	return nil
}

// output returns the result in the backend's layout [n, Heads·D].
func (nv *naive) output() []float32 {
	D, H := nv.s.HeadDim, nv.s.Heads
	out := make([]float32, nv.n*H*D)
	for h, o := range nv.o {
		src := o.Float32s()
		for t := 0; t < nv.n; t++ {
			copy(out[(t*H+h)*D:(t*H+h+1)*D], src[t*D:(t+1)*D])
		}
	}
	return out
}

// softmax normalises x in place over its whole length (-Inf entries become 0).
func softmax(x []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] *= inv
	}
}
