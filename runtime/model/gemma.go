package model

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
)

// Gemma is the gemma2 and gemma3 architectures (Gemma 2 2B/9B/27B; Gemma 3
// 270M, 1B, 4B, ... as text models), as llama.cpp's llama_model_gemma2 and
// llama_model_gemma3 run them. Next to Llama:
//   - the token embeddings are scaled by sqrt(dim) and double as the
//     classifier;
//   - the queries are scaled after RoPE (Config.QueryScale; attention
//     scales by 1); Gemma 3 first RMS-normalises each query and key head;
//   - some layers are local: they attend to the last Config.SlidingWindow
//     positions only (Gemma 2: every other layer, window 4096; Gemma 3: five
//     of six, window 512) and rotate with their own RoPE (Config.RoPELocal);
//   - the attention and feed-forward outputs pass through an RMSNorm of their
//     own before joining the residual stream;
//   - the feed-forward is gated by GELU (GeGLU) instead of SiLU;
//   - Gemma 2 soft-caps the attention scores (Config.AttnSoftcap) and the
//     logits (Config.FinalSoftcap): c * tanh(x / c).
//
// The norm weights in a GGUF file already hold Gemma's 1 + w (llama.cpp's
// converter adds the 1).
//
// Shapes as in Llama: (rows, cols) with cols contiguous.
type Gemma struct {
	base

	TokEmbd backend.Weight `gguf:"token_embd.weight" shape:"dim,vocab"`      // (vocab, dim)
	OutNorm backend.Weight `gguf:"output_norm.weight" shape:"dim"`           // (dim)
	Output  backend.Weight `gguf:"output.weight,optional" shape:"dim,vocab"` // (vocab, dim); absent: tied to TokEmbd
	Layers  []GemmaLayer

	s llamaScratch
}

// GemmaLayer is one transformer block.
type GemmaLayer struct {
	AttnNorm     backend.Weight `gguf:"attn_norm.weight" shape:"dim"`                // (dim)
	Wq           backend.Weight `gguf:"attn_q.weight" shape:"dim,qdim"`              // (heads*head_dim, dim)
	Wk           backend.Weight `gguf:"attn_k.weight" shape:"dim,kvdim"`             // (kv_heads*head_dim, dim)
	Wv           backend.Weight `gguf:"attn_v.weight" shape:"dim,kvdim"`             // (kv_heads*head_dim, dim)
	QNorm        backend.Weight `gguf:"attn_q_norm.weight,optional" shape:"headdim"` // (head_dim), Gemma 3
	KNorm        backend.Weight `gguf:"attn_k_norm.weight,optional" shape:"headdim"` // (head_dim), Gemma 3
	Wo           backend.Weight `gguf:"attn_output.weight" shape:"qdim,dim"`         // (dim, heads*head_dim)
	AttnPostNorm backend.Weight `gguf:"post_attention_norm.weight" shape:"dim"`      // (dim)
	FFNNorm      backend.Weight `gguf:"ffn_norm.weight" shape:"dim"`                 // (dim)
	Gate         backend.Weight `gguf:"ffn_gate.weight" shape:"dim,ffn"`             // (ffn, dim)
	Up           backend.Weight `gguf:"ffn_up.weight" shape:"dim,ffn"`               // (ffn, dim)
	Down         backend.Weight `gguf:"ffn_down.weight" shape:"ffn,dim"`             // (dim, ffn)
	FFNPostNorm  backend.Weight `gguf:"post_ffw_norm.weight" shape:"dim"`            // (dim)
}

func loadGemma(f *gguf.File, b backend.Backend, o Options) (*Gemma, error) {
	cfg, err := readConfigVocab(f)
	if err != nil {
		return nil, err
	}
	dims := map[string]int{
		"dim": cfg.Dim, "vocab": cfg.Vocab, "qdim": cfg.QDim(), "kvdim": cfg.KVDim(), "ffn": cfg.FFN, "headdim": cfg.HeadDim,
	}
	m := &Gemma{base: base{cfg, o, b}, Layers: make([]GemmaLayer, cfg.Layers)}
	if err := loadWeights(f, b, "", dims, m); err != nil {
		return nil, err
	}
	if m.Output == nil || cfg.Arch == "gemma2" { // llama.cpp's gemma2 always classifies with the embedding
		m.Output = m.TokEmbd
		m.cfg.TiedEmbed = true
	}
	for l := range m.Layers {
		L := &m.Layers[l]
		if err := loadWeights(f, b, fmt.Sprintf("blk.%d.", l), dims, L); err != nil {
			return nil, err
		}
		if cfg.Arch == "gemma3" && (L.QNorm == nil || L.KNorm == nil) {
			return nil, fmt.Errorf("model: gemma3 block %d lacks attn_q_norm.weight or attn_k_norm.weight", l)
		}
	}
	if err := m.s.alloc(b, m.cfg, o, true); err != nil {
		return nil, err
	}
	return m, nil
}

// NewCache allocates a KV cache for one sequence. The local layers keep
// only the rows their window can still see (kvcache.WindowRows of the
// window and MaxBatch: 1,600 rows for Gemma 3's 512 and a batch of 512,
// against 32,768 positions of context), unless Options.FullCache.
func (m *Gemma) NewCache(ctxLen int, dt backend.DType) (*kvcache.Cache, error) {
	c := m.cfg
	w := kvcache.Window{Size: c.SlidingWindow}
	if c.SlidingWindow > 0 && !m.opts.FullCache {
		w.Local = make([]bool, c.Layers)
		for l := range w.Local {
			w.Local[l] = c.IsLocal(l)
		}
		w.Rows = kvcache.WindowRows(c.SlidingWindow, m.opts.MaxBatch)
	}
	return kvcache.NewWindowed(m.b, c.Layers, ctxLen, c.KVDim(), dt, w)
}

// Forward runs the segments through the model; see Model.Forward.
func (m *Gemma) Forward(segs []Segment) (backend.Buffer, error) {
	R, err := m.begin(segs)
	if err != nil {
		return nil, err
	}
	b, c, s := m.b, m.cfg, &m.s

	for _, sg := range segs {
		if err := sg.Cache.Slide(len(sg.Tokens)); err != nil { // room in the local layers' rows
			return nil, err
		}
	}
	pos := positions(segs, s.pos)                       // (R) positions of all rows, segment after segment
	embedTokens(b, s.x, s.xRow, m.TokEmbd, segs, c.Dim) // x (R, dim) = token embeddings
	b.Scale(s.x, s.x, c.EmbedScale, R*c.Dim)            // x *= sqrt(dim)

	for l := range m.Layers {
		L := &m.Layers[l]
		// Attention: q, k, v = norm(x)·W; per-head norms of q and k (Gemma
		// 3); RoPE; cache; q scaled; attention (windowed in local layers,
		// soft-capped in Gemma 2); o = att·Woᵀ.
		attnNorm := backend.Norm{W: L.AttnNorm, Eps: c.NormEps}
		backend.NormMatMulQKV(b, s.q, s.k, s.v, s.x, attnNorm, L.Wq, L.Wk, L.Wv, R, s.h) // (R, qdim), (R, kvdim), (R, kvdim)
		if L.QNorm != nil {
			b.RMSNorm(s.q, s.q, L.QNorm, R*c.Heads, c.NormEps)   // (R*heads, head_dim)
			b.RMSNorm(s.k, s.k, L.KNorm, R*c.KVHeads, c.NormEps) // (R*kv_heads, head_dim)
		}
		ropeArgs := backend.RoPEStoreKVArgs{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, RoPE: c.RoPE}
		window := 0
		if c.IsLocal(l) {
			ropeArgs.RoPE, window = c.RoPELocal, c.SlidingWindow
		}
		row := 0
		for _, sg := range segs {
			// A local layer's cache may hold only the window's rows: row 0
			// is position off (a multiple of 32), and attention counts
			// positions from there (the same lanes and sums).
			T, off := len(sg.Tokens), sg.Cache.Offset(l)
			q := rows(s.q, s.qRow, row, T, c.QDim())
			k, v := rows(s.k, s.kRow, row, T, c.KVDim()), rows(s.v, s.vRow, row, T, c.KVDim())
			ropeArgs.Offset = off
			backend.RoPEStoreKV(b, q, k, v, sg.Cache.K[l], sg.Cache.V[l], pos[row:row+T], ropeArgs)
			b.Scale(q, q, c.QueryScale, T*c.QDim())
			b.Attention(rows(s.att, s.attRow, row, T, c.QDim()), q,
				sg.Cache.K[l], sg.Cache.V[l], backend.AttentionArgs{
					T: T, Pos: sg.Cache.Pos() - off, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
					Scale: 1, CacheLen: sg.Cache.Rows(l), Window: window, Softcap: c.AttnSoftcap,
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

	// Logits of each segment's last row: norm(x)·Outputᵀ, soft-capped in
	// Gemma 2.
	outNorm := backend.Norm{W: m.OutNorm, Eps: c.NormEps}
	logits, err := finish(b, s.logits, s.x, s.h, outNorm, m.Output, segs, R, c.Dim, c.Vocab)
	if err != nil || c.FinalSoftcap == 0 {
		return logits, err
	}
	b.Softcap(logits, logits, c.FinalSoftcap, len(segs)*c.Vocab)
	return logits, b.Err()
}

// residual is the rest of block L for T rows, from the attention
// projection o (T, dim) on (o is overwritten):
//
//	x += postnorm(o)
//	x += postnorm(down · (gelu(gate · norm(x)) * (up · norm(x))))
func (m *Gemma) residual(L *GemmaLayer, x, o backend.Buffer, T int) {
	b, c, s := m.b, m.cfg, &m.s
	b.RMSNorm(o, o, L.AttnPostNorm, T, c.NormEps)
	b.Add(x, x, o, T*c.Dim)
	b.RMSNorm(s.h, x, L.FFNNorm, T, c.NormEps) // h (T, dim)
	b.MatMul(s.g, s.h, L.Gate, T)              // (T, ffn)
	b.MatMul(s.u, s.h, L.Up, T)                // (T, ffn)
	b.GeGLU(s.ffn, s.g, s.u, T*c.FFN)          // (T, ffn)
	b.MatMul(o, s.ffn, L.Down, T)              // (T, dim)
	b.RMSNorm(o, o, L.FFNPostNorm, T, c.NormEps)
	b.Add(x, x, o, T*c.Dim)
}
