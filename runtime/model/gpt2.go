package model

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
)

// GPT2 is the gpt2 architecture: learned position embeddings, LayerNorm
// with biases before each sub-block, one fused QKV projection with a bias,
// and a GELU feed-forward with biases. It computes what llama.cpp's gpt2
// graph computes, in the same order.
//
// Shapes are written (rows, cols) with cols contiguous, as in Llama.
type GPT2 struct {
	base

	TokEmbd  backend.Weight `gguf:"token_embd.weight" shape:"dim,vocab"`      // (vocab, dim)
	PosEmbd  backend.Weight `gguf:"position_embd.weight" shape:"dim,ctx"`     // (ctx_train, dim)
	OutNorm  backend.Weight `gguf:"output_norm.weight" shape:"dim"`           // (dim)
	OutNormB backend.Weight `gguf:"output_norm.bias" shape:"dim"`             // (dim)
	Output   backend.Weight `gguf:"output.weight,optional" shape:"dim,vocab"` // (vocab, dim); absent: tied to TokEmbd
	Layers   []GPT2Layer

	s gpt2Scratch
}

// GPT2Layer is one transformer block. The file stores q, k and v as one
// matrix attn_qkv (3*dim, dim) with one bias (3*dim); Wq, Wk, Wv and Bq,
// Bk, Bv are its three row blocks, in place (no copy), so that the
// projections run as the same fused op as Llama's.
type GPT2Layer struct {
	AttnNorm   backend.Weight `gguf:"attn_norm.weight" shape:"dim"` // (dim)
	AttnNormB  backend.Weight `gguf:"attn_norm.bias" shape:"dim"`   // (dim)
	Wq, Wk, Wv backend.Weight // (dim, dim) each: rows [0,dim), [dim,2dim), [2dim,3dim) of attn_qkv.weight
	Bq, Bk, Bv backend.Weight // (dim) each: the same parts of attn_qkv.bias
	Wo         backend.Weight `gguf:"attn_output.weight" shape:"dim,dim"` // (dim, dim)
	Bo         backend.Weight `gguf:"attn_output.bias" shape:"dim"`       // (dim)
	FFNNorm    backend.Weight `gguf:"ffn_norm.weight" shape:"dim"`        // (dim)
	FFNNormB   backend.Weight `gguf:"ffn_norm.bias" shape:"dim"`          // (dim)
	Up         backend.Weight `gguf:"ffn_up.weight" shape:"dim,ffn"`      // (ffn, dim)
	BUp        backend.Weight `gguf:"ffn_up.bias" shape:"ffn"`            // (ffn)
	Down       backend.Weight `gguf:"ffn_down.weight" shape:"ffn,dim"`    // (dim, ffn)
	BDown      backend.Weight `gguf:"ffn_down.bias" shape:"dim"`          // (dim)
}

// gpt2Scratch is allocated once for MaxBatch rows (R) and MaxSeqs logit rows (S).
type gpt2Scratch struct {
	x      backend.Buffer // (R, dim) residual stream
	h      backend.Buffer // (R, dim) LayerNorm output (unfused norms only)
	pe     backend.Buffer // (R, dim) position embeddings
	q      backend.Buffer // (R, dim)
	k, v   backend.Buffer // (R, dim)
	att    backend.Buffer // (R, dim) attention output
	o      backend.Buffer // (R, dim) attention projection / ffn output
	ffn    backend.Buffer // (R, ffn) gelu(up·h + b)
	logits backend.Buffer // (S, vocab)
	pos    []int32        // (R) position of each row

	// One-row views for batched decoding (row i = segment i).
	xRow, qRow, kRow, vRow, attRow []backend.Buffer
}

func loadGPT2(f *gguf.File, b backend.Backend, o Options) (*GPT2, error) {
	cfg, err := readConfigVocab(f)
	if err != nil {
		return nil, err
	}
	dims := map[string]int{"dim": cfg.Dim, "vocab": cfg.Vocab, "ctx": cfg.CtxTrain, "ffn": cfg.FFN, "qkv": 3 * cfg.Dim}
	m := &GPT2{base: base{cfg, o, b}, Layers: make([]GPT2Layer, cfg.Layers)}
	if err := loadWeights(f, b, "", dims, m); err != nil {
		return nil, err
	}
	if m.Output == nil {
		m.Output = m.TokEmbd
		m.cfg.TiedEmbed = true
	}
	for l := range m.Layers {
		L, prefix := &m.Layers[l], fmt.Sprintf("blk.%d.", l)
		if err := loadWeights(f, b, prefix, dims, L); err != nil {
			return nil, err
		}
		ws, err := loadThirds(f, b, prefix+"attn_qkv.weight", "dim,qkv", dims)
		if err != nil {
			return nil, err
		}
		bs, err := loadThirds(f, b, prefix+"attn_qkv.bias", "qkv", dims)
		if err != nil {
			return nil, err
		}
		L.Wq, L.Wk, L.Wv = ws[0], ws[1], ws[2]
		L.Bq, L.Bk, L.Bv = bs[0], bs[1], bs[2]
	}
	if err := m.allocScratch(); err != nil {
		return nil, err
	}
	return m, nil
}

// loadThirds loads the tensor name, of shape spec, as three weights: its
// outermost dimension cut into equal parts (q, k and v).
func loadThirds(f *gguf.File, b backend.Backend, name, spec string, dims map[string]int) ([3]backend.Weight, error) {
	var ws [3]backend.Weight
	t := f.Tensor(name)
	if t == nil {
		return ws, fmt.Errorf("model: tensor %q is missing", name)
	}
	outer := t.Dims[len(t.Dims)-1]
	if outer%3 != 0 {
		return ws, fmt.Errorf("model: tensor %q (%v) does not split into q, k and v", name, t.Dims)
	}
	n := int(outer / 3)
	parts, err := loadParts(f, b, name, spec, dims, []int{n, n, n}, "qkv")
	if err == nil {
		copy(ws[:], parts)
	}
	return ws, err
}

// loadParts loads the tensor name, of shape spec, as len(sizes) weights:
// its outermost dimension (rows, for a matrix) cut into parts of those
// sizes, each a view of the file's bytes named "name[label]" (labels[i]).
func loadParts(f *gguf.File, b backend.Backend, name, spec string, dims map[string]int, sizes []int, labels string) ([]backend.Weight, error) {
	t := f.Tensor(name)
	if t == nil {
		return nil, fmt.Errorf("model: tensor %q is missing", name)
	}
	if err := checkShape(t, spec, dims); err != nil {
		return nil, err
	}
	if !computable[t.Type] {
		return nil, fmt.Errorf("model: tensor %q has type %s, which gpurun cannot compute with yet", name, t.Type)
	}
	outer := len(t.Dims) - 1
	total := 0
	for _, n := range sizes {
		total += n
	}
	if uint64(total) != t.Dims[outer] || int64(len(t.Data))%int64(total) != 0 {
		return nil, fmt.Errorf("model: tensor %q (%v) does not split into parts of %v", name, t.Dims, sizes)
	}
	unit := int64(len(t.Data)) / int64(total) // bytes per row
	ws := make([]backend.Weight, len(sizes))
	var off int64
	for i, n := range sizes {
		sub := *t
		sub.Name = fmt.Sprintf("%s[%c]", name, labels[i])
		sub.Dims = append([]uint64(nil), t.Dims...)
		sub.Dims[outer] = uint64(n)
		sub.Offset += uint64(off)
		sub.Size = int64(n) * unit
		sub.Data = t.Data[off : off+sub.Size]
		w, err := b.LoadWeight(&sub)
		if err != nil {
			return nil, fmt.Errorf("model: loading %q: %w", sub.Name, err)
		}
		ws[i] = w
		off += sub.Size
	}
	return ws, nil
}

func (m *GPT2) allocScratch() error {
	c, R, S := m.cfg, m.opts.MaxBatch, m.opts.MaxSeqs
	s := &m.s
	var err error
	alloc := func(n int) backend.Buffer {
		if err != nil {
			return nil
		}
		var buf backend.Buffer
		buf, err = m.b.NewBuffer(backend.F32, n)
		return buf
	}
	s.x, s.h, s.pe, s.o = alloc(R*c.Dim), alloc(R*c.Dim), alloc(R*c.Dim), alloc(R*c.Dim)
	s.q, s.k, s.v, s.att = alloc(R*c.Dim), alloc(R*c.Dim), alloc(R*c.Dim), alloc(R*c.Dim)
	s.ffn = alloc(R * c.FFN)
	s.logits = alloc(S * c.Vocab)
	if err != nil {
		return fmt.Errorf("model: allocating activations for %d tokens: %w", R, err)
	}
	s.pos = make([]int32, R)
	views := func(buf backend.Buffer) []backend.Buffer {
		v := make([]backend.Buffer, S)
		for i := range v {
			v[i] = buf.Slice(i*c.Dim, c.Dim)
		}
		return v
	}
	s.xRow, s.qRow, s.kRow, s.vRow, s.attRow = views(s.x), views(s.q), views(s.k), views(s.v), views(s.att)
	return nil
}

// NewCache allocates a KV cache for one sequence; ctxLen may not exceed the
// positions the model has embeddings for.
func (m *GPT2) NewCache(ctxLen int, dt backend.DType) (*kvcache.Cache, error) {
	if ctxLen > m.cfg.MaxPos {
		return nil, &ContextError{Ctx: ctxLen, MaxPos: m.cfg.MaxPos, Arch: m.cfg.Arch}
	}
	return kvcache.New(m.b, m.cfg.Layers, ctxLen, m.cfg.KVDim(), dt)
}

// Forward runs the segments through the model; see Model.Forward.
func (m *GPT2) Forward(segs []Segment) (backend.Buffer, error) {
	R, err := m.begin(segs)
	if err != nil {
		return nil, err
	}
	b, c, s := m.b, m.cfg, &m.s
	// x (R, dim) = token embeddings + position embeddings
	embedTokens(b, s.x, s.xRow, m.TokEmbd, segs, c.Dim)
	b.Embed(s.pe, m.PosEmbd, positions(segs, s.pos))
	b.Add(s.x, s.x, s.pe, R*c.Dim)

	for l := range m.Layers {
		L := &m.Layers[l]
		// Attention: q, k, v = LayerNorm(x)·W + b (h: the fallback's norm);
		// cache, attention; x += att·Woᵀ + bo.
		attnNorm := backend.Norm{W: L.AttnNorm, B: L.AttnNormB, Eps: c.NormEps, Layer: true}
		backend.NormMatMulQKVBias(b, s.q, s.k, s.v, s.x, attnNorm, L.Wq, L.Wk, L.Wv, L.Bq, L.Bk, L.Bv, R, s.h) // (R, dim) x3
		row := 0
		for _, sg := range segs {
			T, p := len(sg.Tokens), sg.Cache.Pos()
			b.StoreKV(sg.Cache.K[l], sg.Cache.V[l], rows(s.k, s.kRow, row, T, c.Dim), rows(s.v, s.vRow, row, T, c.Dim), p, T, c.Dim)
			b.Attention(rows(s.att, s.attRow, row, T, c.Dim), rows(s.q, s.qRow, row, T, c.Dim),
				sg.Cache.K[l], sg.Cache.V[l], backend.AttentionArgs{
					T: T, Pos: p, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
					Scale: c.AttentionScale(), CacheLen: sg.Cache.Len,
				})
			row += T
		}
		backend.MatMulBiasAdd(b, s.x, s.att, L.Wo, L.Bo, R, s.o) // x (R, dim) += att·Woᵀ + bo

		// Feed-forward: x += gelu(LayerNorm(x)·Upᵀ + bu)·Downᵀ + bd.
		ffnNorm := backend.Norm{W: L.FFNNorm, B: L.FFNNormB, Eps: c.NormEps, Layer: true}
		if l == len(m.Layers)-1 && R > len(segs) {
			forLastRows(segs, func(r int) {
				xr := s.x.Slice(r*c.Dim, c.Dim)
				backend.NormMatMulBias(b, s.ffn, xr, ffnNorm, L.Up, L.BUp, 1, true, s.h) // (1, ffn)
				backend.MatMulBiasAdd(b, xr, s.ffn, L.Down, L.BDown, 1, s.o)             // x row += ffn·Downᵀ + bd
			})
			continue
		}
		backend.NormMatMulBias(b, s.ffn, s.x, ffnNorm, L.Up, L.BUp, R, true, s.h) // (R, ffn) = gelu(LayerNorm(x)·Upᵀ + bu)
		backend.MatMulBiasAdd(b, s.x, s.ffn, L.Down, L.BDown, R, s.o)             // x (R, dim) += ffn·Downᵀ + bd
	}

	// Logits of each segment's last row: LayerNorm(x)·Outputᵀ.
	outNorm := backend.Norm{W: m.OutNorm, B: m.OutNormB, Eps: c.NormEps, Layer: true}
	return finish(b, s.logits, s.x, s.h, outNorm, m.Output, segs, R, c.Dim, c.Vocab)
}
