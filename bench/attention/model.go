package attention

import (
	"fmt"
	"math/rand/v2"

	"gpurun/runtime/model"
)

// ModelShape is what the whole-model decode methods' costs depend on.
type ModelShape struct {
	Path        string `json:"path"`
	Name        string `json:"name,omitempty"`
	Layers      int    `json:"layers"`
	Dim         int    `json:"dim"`
	Heads       int    `json:"heads"`
	KVHeads     int    `json:"kv_heads"`
	HeadDim     int    `json:"head_dim"`
	FFN         int    `json:"ffn"`
	Vocab       int    `json:"vocab"`
	Batch       int    `json:"n_batch"` // most tokens per Forward call
	WeightBytes int64  `json:"weight_bytes"`
}

// NewModelShape describes a loaded model.
func NewModelShape(path, name string, m model.Model, weightBytes int64) ModelShape {
	c := m.Config()
	return ModelShape{Path: path, Name: name, Layers: c.Layers, Dim: c.Dim, Heads: c.Heads, KVHeads: c.KVHeads,
		HeadDim: c.HeadDim, FFN: c.FFN, Vocab: c.Vocab, Batch: m.Options().MaxBatch, WeightBytes: weightBytes}
}

// forwardCost is one Forward call of T tokens at positions [P, P+T) of a
// Llama-style model:
//
//	FLOPs  2·T·L·(D·Q + 2·D·KV + Q·D + 3·D·F) (projections and gated MLP)
//	       + 2·D·V (logits of the last row) + L·4·hd·H·(T·P + T(T+1)/2) (attention)
//	bytes  every weight once + each layer's K, V cache rows [0, P+T) read and T rows written
//
// Norms, RoPE and activations' traffic are left out (they are O(T·D)).
func (s ModelShape) forwardCost(T, P int, kvElem int) (flops, bytes float64) {
	t, p := float64(T), float64(P)
	L, D, F, V := float64(s.Layers), float64(s.Dim), float64(s.FFN), float64(s.Vocab)
	Q, KV := float64(s.Heads*s.HeadDim), float64(s.KVHeads*s.HeadDim)
	flops = 2*t*L*(D*Q+2*D*KV+Q*D+3*D*F) + 2*D*V + L*4*float64(s.HeadDim)*float64(s.Heads)*(t*p+t*(t+1)/2)
	bytes = float64(s.WeightBytes) + L*2*KV*float64(kvElem)*(p+t) + L*2*KV*float64(kvElem)*t
	return flops, bytes
}

// ModelCostOf is the work of one whole-model decode step at position n:
// model-decode-cache is one Forward of 1 token after n-1 cached positions;
// model-decode-nocache is the Forward of all n tokens from an empty cache,
// in chunks of Batch. Memory is the KV cache of n positions (the weights,
// WeightBytes, are the same at every n and left out).
func ModelCostOf(m Method, s ModelShape, n, kvElem int) (Cost, error) {
	if n < 1 {
		return Cost{}, fmt.Errorf("context length %d < 1", n)
	}
	if s.Layers < 1 || s.Batch < 1 {
		return Cost{}, fmt.Errorf("model shape %+v: want layers and batch >= 1", s)
	}
	mem := float64(s.Layers) * 2 * float64(s.KVHeads*s.HeadDim) * float64(kvElem) * float64(n)
	switch m {
	case ModelDecodeCache:
		f, b := s.forwardCost(1, n-1, kvElem)
		return Cost{FLOPs: f, Bytes: b, Memory: mem}, nil
	case ModelDecodeNoCache:
		var c Cost
		for p := 0; p < n; p += s.Batch {
			f, b := s.forwardCost(min(s.Batch, n-p), p, kvElem)
			c.FLOPs += f
			c.Bytes += b
		}
		c.Memory = mem
		return c, nil
	}
	return Cost{}, fmt.Errorf("method %q is not a whole-model method", m)
}

// setupModel prepares a whole-model decode step at position n on cfg.Model.
func setupModel(cfg Config, m Method, n int, rng *rand.Rand) (runner, any, error) {
	md := cfg.Model
	b := md.Backend()
	cache, err := md.NewCache(n, cfg.KVType)
	if err != nil {
		return runner{}, nil, err
	}
	vocab := md.Config().Vocab
	tokens := make([]int32, n)
	for i := range tokens {
		tokens[i] = int32(rng.IntN(vocab))
	}
	segs := make([]model.Segment, 1)
	forward := func(toks []int32) error {
		segs[0] = model.Segment{Cache: cache, Tokens: toks}
		_, err := md.Forward(segs)
		return err
	}
	switch m {
	case ModelDecodeCache:
		// The n-1 earlier positions hold random keys and values: their
		// values do not change the work, and filling them by a prefill
		// would cost more than the whole measurement.
		if n > 1 {
			kv := random(rng, (n-1)*cache.KVDim)
			for l := range cache.K {
				if err := b.Write(cache.K[l], kv); err != nil {
					return runner{}, nil, fmt.Errorf("filling the KV cache: %w", err)
				}
				if err := b.Write(cache.V[l], kv); err != nil {
					return runner{}, nil, fmt.Errorf("filling the KV cache: %w", err)
				}
			}
		}
		step := tokens[n-1:]
		return runner{run: func() error {
			cache.Truncate(0)
			if err := cache.Advance(n - 1); err != nil {
				return err
			}
			return forward(step)
		}, sync: b.Sync}, cache, nil
	case ModelDecodeNoCache:
		chunk := md.Options().MaxBatch
		return runner{run: func() error {
			cache.Reset()
			for p := 0; p < n; p += chunk {
				if err := forward(tokens[p:min(p+chunk, n)]); err != nil {
					return err
				}
			}
			return nil
		}, sync: b.Sync}, cache, nil
	}
	return runner{}, nil, fmt.Errorf("method %q is not a whole-model method", m)
}
