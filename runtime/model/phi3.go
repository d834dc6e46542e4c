package model

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
)

// Phi3 is the phi3 architecture (Phi-3, Phi-3.5, Phi-4-mini), as llama.cpp's
// llama_model_phi3 runs it. Next to Llama:
//   - q, k and v come from one fused projection (attn_qkv.weight, q rows
//     first; separate attn_q/k/v tensors are read too), and the gate and up
//     products from one (ffn_up.weight: the gate's ffn rows, then up's); the
//     fused tensors are loaded as views of their row ranges;
//   - the queries are scaled after RoPE (Config.QueryScale; attention then
//     scales by 1);
//   - LongRoPE: per-pair frequency factors, rope_factors_short.weight for a
//     sequence whose context is up to Config.OrigCtx and
//     rope_factors_long.weight beyond, with cos and sin times
//     RoPE.AttnFactor;
//   - a rotary dim that may cover part of each head (Phi-4-mini: 96 of 128).
//
// Shapes as in Llama: (rows, cols) with cols contiguous.
type Phi3 struct {
	base

	TokEmbd   backend.Weight `gguf:"token_embd.weight" shape:"dim,vocab"`                 // (vocab, dim)
	OutNorm   backend.Weight `gguf:"output_norm.weight" shape:"dim"`                      // (dim)
	Output    backend.Weight `gguf:"output.weight,optional" shape:"dim,vocab"`            // (vocab, dim); absent: tied to TokEmbd
	RoPELong  backend.Weight `gguf:"rope_factors_long.weight,optional" shape:"ropehalf"`  // (rope_dims/2)
	RoPEShort backend.Weight `gguf:"rope_factors_short.weight,optional" shape:"ropehalf"` // (rope_dims/2)
	Layers    []Phi3Layer

	s llamaScratch
}

// Phi3Layer is one transformer block. Wq, Wk, Wv and Gate, Up are views of
// the fused tensors (or separate tensors for q, k and v).
type Phi3Layer struct {
	AttnNorm   backend.Weight `gguf:"attn_norm.weight" shape:"dim"` // (dim)
	Wq, Wk, Wv backend.Weight // (dim, dim), (kvdim, dim), (kvdim, dim)
	Wo         backend.Weight `gguf:"attn_output.weight" shape:"dim,dim"` // (dim, dim)
	FFNNorm    backend.Weight `gguf:"ffn_norm.weight" shape:"dim"`        // (dim)
	Gate, Up   backend.Weight // (ffn, dim) each
	Down       backend.Weight `gguf:"ffn_down.weight" shape:"ffn,dim"` // (dim, ffn)
}

func loadPhi3(f *gguf.File, b backend.Backend, o Options) (*Phi3, error) {
	cfg, err := readConfigVocab(f)
	if err != nil {
		return nil, err
	}
	dims := map[string]int{
		"dim": cfg.Dim, "vocab": cfg.Vocab, "kvdim": cfg.KVDim(), "ffn": cfg.FFN, "ffn2": 2 * cfg.FFN,
		"qkv": cfg.Dim + 2*cfg.KVDim(), "ropehalf": cfg.RoPE.Dims / 2,
	}
	m := &Phi3{base: base{cfg, o, b}, Layers: make([]Phi3Layer, cfg.Layers)}
	if err := loadWeights(f, b, "", dims, m); err != nil {
		return nil, err
	}
	if m.Output == nil {
		m.Output = m.TokEmbd
		m.cfg.TiedEmbed = true
	}
	if (m.RoPELong == nil) != (m.RoPEShort == nil) {
		return nil, fmt.Errorf("model: phi3 has only one of rope_factors_long.weight and rope_factors_short.weight")
	}
	for l := range m.Layers {
		L, p := &m.Layers[l], fmt.Sprintf("blk.%d.", l)
		if err := loadWeights(f, b, p, dims, L); err != nil {
			return nil, err
		}
		if f.Tensor(p+"attn_qkv.weight") != nil {
			qkv, err := loadParts(f, b, p+"attn_qkv.weight", "dim,qkv", dims, []int{cfg.Dim, cfg.KVDim(), cfg.KVDim()}, "qkv")
			if err != nil {
				return nil, err
			}
			L.Wq, L.Wk, L.Wv = qkv[0], qkv[1], qkv[2]
		} else {
			var sep struct {
				Wq backend.Weight `gguf:"attn_q.weight" shape:"dim,dim"`
				Wk backend.Weight `gguf:"attn_k.weight" shape:"dim,kvdim"`
				Wv backend.Weight `gguf:"attn_v.weight" shape:"dim,kvdim"`
			}
			if err := loadWeights(f, b, p, dims, &sep); err != nil {
				return nil, err
			}
			L.Wq, L.Wk, L.Wv = sep.Wq, sep.Wk, sep.Wv
		}
		gu, err := loadParts(f, b, p+"ffn_up.weight", "dim,ffn2", dims, []int{cfg.FFN, cfg.FFN}, "gu")
		if err != nil {
			return nil, err
		}
		L.Gate, L.Up = gu[0], gu[1]
	}
	_, fused := b.(backend.MatMulSwiGLUer)
	if err := m.s.alloc(b, m.cfg, o, !fused); err != nil {
		return nil, err
	}
	return m, nil
}

// NewCache allocates a KV cache for one sequence.
func (m *Phi3) NewCache(ctxLen int, dt backend.DType) (*kvcache.Cache, error) {
	return kvcache.New(m.b, m.cfg.Layers, ctxLen, m.cfg.KVDim(), dt)
}

// ropeFor is the RoPE of a sequence whose cache holds ctx positions:
// LongRoPE's long factors past the original context, the short ones up to
// it (llama.cpp's choice by n_ctx_seq).
func (m *Phi3) ropeFor(ctx int) backend.RoPE {
	r := m.cfg.RoPE
	r.Factors = m.RoPEShort
	if ctx > m.cfg.OrigCtx {
		r.Factors = m.RoPELong
	}
	return r
}

// Forward runs the segments through the model; see Model.Forward.
func (m *Phi3) Forward(segs []Segment) (backend.Buffer, error) {
	R, err := m.begin(segs)
	if err != nil {
		return nil, err
	}
	b, c, s := m.b, m.cfg, &m.s

	pos := positions(segs, s.pos)                       // (R) positions of all rows, segment after segment
	embedTokens(b, s.x, s.xRow, m.TokEmbd, segs, c.Dim) // x (R, dim) = token embeddings

	for l := range m.Layers {
		L := &m.Layers[l]
		// Attention: q, k, v = norm(x)·W; RoPE; cache; q scaled; attention;
		// x += att·Woᵀ.
		attnNorm := backend.Norm{W: L.AttnNorm, Eps: c.NormEps}
		backend.NormMatMulQKV(b, s.q, s.k, s.v, s.x, attnNorm, L.Wq, L.Wk, L.Wv, R, s.h) // (R, dim), (R, kvdim), (R, kvdim)
		row := 0
		for _, sg := range segs {
			T := len(sg.Tokens)
			q := rows(s.q, s.qRow, row, T, c.QDim())
			k, v := rows(s.k, s.kRow, row, T, c.KVDim()), rows(s.v, s.vRow, row, T, c.KVDim())
			backend.RoPEStoreKV(b, q, k, v, sg.Cache.K[l], sg.Cache.V[l], pos[row:row+T], backend.RoPEStoreKVArgs{
				Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, RoPE: m.ropeFor(sg.Cache.Len)})
			b.Scale(q, q, c.QueryScale, T*c.QDim())
			b.Attention(rows(s.att, s.attRow, row, T, c.QDim()), q,
				sg.Cache.K[l], sg.Cache.V[l], backend.AttentionArgs{
					T: T, Pos: sg.Cache.Pos(), Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
					Scale: 1, CacheLen: sg.Cache.Len,
				})
			row += T
		}
		backend.MatMulAdd(b, s.x, s.att, L.Wo, R, s.o) // x (R, dim) += att·Woᵀ

		// Feed-forward: x += silu(gate·norm(x)) * (up·norm(x)) · Downᵀ.
		ffnNorm := backend.Norm{W: L.FFNNorm, Eps: c.NormEps}
		if l == len(m.Layers)-1 && R > len(segs) {
			forLastRows(segs, func(r int) { s.swigluFFN(b, s.x.Slice(r*c.Dim, c.Dim), ffnNorm, L.Gate, L.Up, L.Down, 1, 0) })
			continue
		}
		s.swigluFFN(b, s.x, ffnNorm, L.Gate, L.Up, L.Down, R, 0)
	}

	// Logits of each segment's last row: norm(x)·Outputᵀ.
	outNorm := backend.Norm{W: m.OutNorm, Eps: c.NormEps}
	return finish(b, s.logits, s.x, s.h, outNorm, m.Output, segs, R, c.Dim, c.Vocab)
}
