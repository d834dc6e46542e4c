package model

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
)

// OLMo2 is the olmo2 architecture (AllenAI's OLMo 2), as llama.cpp's
// llama_model_olmo2 runs it. Its norms come after the sub-blocks, not
// before:
//
//	q, k, v = x·W (no norm); q and k RMS-normalised over all their heads
//	x += postnorm(attention(RoPE(q), RoPE(k), v)·Woᵀ)
//	x += postnorm(down · (silu(gate·x) * (up·x)))
//
// with NeoX RoPE and an untied classifier. OLMo 3's sliding-window layers
// (the same architecture name with attention.sliding_window) are refused.
//
// Shapes as in Llama: (rows, cols) with cols contiguous.
type OLMo2 struct {
	base

	TokEmbd backend.Weight `gguf:"token_embd.weight" shape:"dim,vocab"` // (vocab, dim)
	OutNorm backend.Weight `gguf:"output_norm.weight" shape:"dim"`      // (dim)
	Output  backend.Weight `gguf:"output.weight" shape:"dim,vocab"`     // (vocab, dim)
	Layers  []OLMo2Layer

	s llamaScratch
}

// OLMo2Layer is one transformer block.
type OLMo2Layer struct {
	Wq           backend.Weight `gguf:"attn_q.weight" shape:"dim,qdim"`         // (heads*head_dim, dim)
	Wk           backend.Weight `gguf:"attn_k.weight" shape:"dim,kvdim"`        // (kv_heads*head_dim, dim)
	Wv           backend.Weight `gguf:"attn_v.weight" shape:"dim,kvdim"`        // (kv_heads*head_dim, dim)
	QNorm        backend.Weight `gguf:"attn_q_norm.weight" shape:"qdim"`        // (heads*head_dim): all heads at once
	KNorm        backend.Weight `gguf:"attn_k_norm.weight" shape:"kvdim"`       // (kv_heads*head_dim)
	Wo           backend.Weight `gguf:"attn_output.weight" shape:"qdim,dim"`    // (dim, heads*head_dim)
	AttnPostNorm backend.Weight `gguf:"post_attention_norm.weight" shape:"dim"` // (dim)
	Gate         backend.Weight `gguf:"ffn_gate.weight" shape:"dim,ffn"`        // (ffn, dim)
	Up           backend.Weight `gguf:"ffn_up.weight" shape:"dim,ffn"`          // (ffn, dim)
	Down         backend.Weight `gguf:"ffn_down.weight" shape:"ffn,dim"`        // (dim, ffn)
	FFNPostNorm  backend.Weight `gguf:"post_ffw_norm.weight" shape:"dim"`       // (dim)
}

func loadOLMo2(f *gguf.File, b backend.Backend, o Options) (*OLMo2, error) {
	cfg, err := readConfigVocab(f)
	if err != nil {
		return nil, err
	}
	dims := map[string]int{"dim": cfg.Dim, "vocab": cfg.Vocab, "qdim": cfg.QDim(), "kvdim": cfg.KVDim(), "ffn": cfg.FFN}
	m := &OLMo2{base: base{cfg, o, b}, Layers: make([]OLMo2Layer, cfg.Layers)}
	if err := loadWeights(f, b, "", dims, m); err != nil {
		return nil, err
	}
	for l := range m.Layers {
		if err := loadWeights(f, b, fmt.Sprintf("blk.%d.", l), dims, &m.Layers[l]); err != nil {
			return nil, err
		}
	}
	_, fused := b.(backend.MatMulSwiGLUer)
	if err := m.s.alloc(b, m.cfg, o, !fused); err != nil {
		return nil, err
	}
	return m, nil
}

// NewCache allocates a KV cache for one sequence.
func (m *OLMo2) NewCache(ctxLen int, dt backend.DType) (*kvcache.Cache, error) {
	return kvcache.New(m.b, m.cfg.Layers, ctxLen, m.cfg.KVDim(), dt)
}

// Forward runs the segments through the model; see Model.Forward.
func (m *OLMo2) Forward(segs []Segment) (backend.Buffer, error) {
	R, err := m.begin(segs)
	if err != nil {
		return nil, err
	}
	b, c, s := m.b, m.cfg, &m.s

	pos := positions(segs, s.pos)                       // (R) positions of all rows, segment after segment
	embedTokens(b, s.x, s.xRow, m.TokEmbd, segs, c.Dim) // x (R, dim) = token embeddings

	ropeArgs := backend.RoPEStoreKVArgs{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, RoPE: c.RoPE}
	for l := range m.Layers {
		L := &m.Layers[l]
		// Attention: q, k, v = x·W; q and k normed whole; RoPE; cache;
		// attention; x += postnorm(att·Woᵀ).
		backend.NormMatMulQKV(b, s.q, s.k, s.v, s.x, backend.Norm{}, L.Wq, L.Wk, L.Wv, R, s.h) // (R, qdim), (R, kvdim), (R, kvdim)
		b.RMSNorm(s.q, s.q, L.QNorm, R, c.NormEps)                                             // (R, qdim)
		b.RMSNorm(s.k, s.k, L.KNorm, R, c.NormEps)                                             // (R, kvdim)
		row := 0
		for _, sg := range segs {
			T := len(sg.Tokens)
			q := rows(s.q, s.qRow, row, T, c.QDim())
			k, v := rows(s.k, s.kRow, row, T, c.KVDim()), rows(s.v, s.vRow, row, T, c.KVDim())
			backend.RoPEStoreKV(b, q, k, v, sg.Cache.K[l], sg.Cache.V[l], pos[row:row+T], ropeArgs)
			b.Attention(rows(s.att, s.attRow, row, T, c.QDim()), q,
				sg.Cache.K[l], sg.Cache.V[l], backend.AttentionArgs{
					T: T, Pos: sg.Cache.Pos(), Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
					Scale: c.AttentionScale(), CacheLen: sg.Cache.Len,
				})
			row += T
		}
		b.MatMul(s.o, s.att, L.Wo, R) // o (R, dim)

		if l == len(m.Layers)-1 && R > len(segs) { // llama.cpp takes its rows after the attention projection
			forLastRows(segs, func(r int) { m.residual(L, s.x.Slice(r*c.Dim, c.Dim), s.o.Slice(r*c.Dim, c.Dim), 1) })
			continue
		}
		m.residual(L, s.x, s.o, R)
	}

	// Logits of each segment's last row: norm(x)·Outputᵀ.
	outNorm := backend.Norm{W: m.OutNorm, Eps: c.NormEps}
	return finish(b, s.logits, s.x, s.h, outNorm, m.Output, segs, R, c.Dim, c.Vocab)
}

// residual is the rest of block L for T rows, from the attention
// projection o (T, dim) on (o is overwritten):
//
//	x += postnorm(o)
//	x += postnorm(down · (silu(gate·x) * (up·x)))
func (m *OLMo2) residual(L *OLMo2Layer, x, o backend.Buffer, T int) {
	b, c, s := m.b, m.cfg, &m.s
	b.RMSNorm(o, o, L.AttnPostNorm, T, c.NormEps)
	b.Add(x, x, o, T*c.Dim)
	backend.MatMulSwiGLU(b, s.ffn, x, L.Gate, L.Up, T, s.g, s.u) // (T, ffn)
	b.MatMul(o, s.ffn, L.Down, T)                                // (T, dim)
	b.RMSNorm(o, o, L.FFNPostNorm, T, c.NormEps)
	b.Add(x, x, o, T*c.Dim)
}
