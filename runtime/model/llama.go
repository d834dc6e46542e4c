package model

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
)

// Llama is the llama architecture: SmolLM2, TinyLlama, Llama 2/3, Mistral,
// and, with NeoX RoPE, Qwen2 (attention biases), Qwen3 (an RMSNorm of each
// query and key head before RoPE) and EXAONE 3.5; ERNIE 4.5 (dense) as it
// is; SmolLM3 leaves RoPE out
// of every fourth layer; Granite 3 scales embeddings, attention, residuals
// and logits.
//
// Shapes are written (rows, cols) with cols contiguous, as the weights are
// used: y = W·x takes x of length cols to y of length rows.
type Llama struct {
	base

	TokEmbd backend.Weight `gguf:"token_embd.weight" shape:"dim,vocab"`      // (vocab, dim)
	OutNorm backend.Weight `gguf:"output_norm.weight" shape:"dim"`           // (dim)
	Output  backend.Weight `gguf:"output.weight,optional" shape:"dim,vocab"` // (vocab, dim); absent: tied to TokEmbd
	// RoPEFreqs divides each rotary pair's angle (rope_dims/2): what
	// llama.cpp's converter writes for Llama 3.1's "llama3" RoPE scaling.
	RoPEFreqs backend.Weight `gguf:"rope_freqs.weight,optional" shape:"ropehalf"`
	Layers    []LlamaLayer

	s llamaScratch
}

// LlamaLayer is one transformer block.
type LlamaLayer struct {
	AttnNorm backend.Weight `gguf:"attn_norm.weight" shape:"dim"`              // (dim)
	Wq       backend.Weight `gguf:"attn_q.weight" shape:"dim,qdim"`            // (heads*head_dim, dim)
	Wk       backend.Weight `gguf:"attn_k.weight" shape:"dim,kvdim"`           // (kv_heads*head_dim, dim)
	Wv       backend.Weight `gguf:"attn_v.weight" shape:"dim,kvdim"`           // (kv_heads*head_dim, dim)
	Bq       backend.Weight `gguf:"attn_q.bias,optional" shape:"qdim"`         // (heads*head_dim), Qwen2
	Bk       backend.Weight `gguf:"attn_k.bias,optional" shape:"kvdim"`        // (kv_heads*head_dim)
	Bv       backend.Weight `gguf:"attn_v.bias,optional" shape:"kvdim"`        // (kv_heads*head_dim)
	QNorm    backend.Weight `gguf:"attn_q_norm.weight,optional" shape:"qnorm"` // (head_dim), Qwen3; (heads*head_dim), OLMoE
	KNorm    backend.Weight `gguf:"attn_k_norm.weight,optional" shape:"knorm"` // (head_dim); (kv_heads*head_dim)
	Wo       backend.Weight `gguf:"attn_output.weight" shape:"qdim,dim"`       // (dim, heads*head_dim)
	FFNNorm  backend.Weight `gguf:"ffn_norm.weight" shape:"dim"`               // (dim)
	Gate     backend.Weight `gguf:"ffn_gate.weight,optional" shape:"dim,ffn"`  // (ffn, dim); dense layers
	Up       backend.Weight `gguf:"ffn_up.weight,optional" shape:"dim,ffn"`    // (ffn, dim)
	Down     backend.Weight `gguf:"ffn_down.weight,optional" shape:"ffn,dim"`  // (dim, ffn)

	// A mixture-of-experts layer's feed-forward (Qwen3-MoE, Mixtral)
	// instead: the router and each expert's gate, up and down, stacked.
	GateInp   backend.Weight `gguf:"ffn_gate_inp.weight,optional" shape:"dim,experts"`         // (experts, dim)
	ExpProbsB backend.Weight `gguf:"exp_probs_b.bias,optional" shape:"experts"`                // (experts) ERNIE 4.5: a selection bias
	GateExps  backend.Weight `gguf:"ffn_gate_exps.weight,optional" shape:"dim,expffn,experts"` // (experts*expffn, dim)
	UpExps    backend.Weight `gguf:"ffn_up_exps.weight,optional" shape:"dim,expffn,experts"`   // (experts*expffn, dim)
	DownExps  backend.Weight `gguf:"ffn_down_exps.weight,optional" shape:"expffn,dim,experts"` // (experts*dim, expffn)
	// Granite MoE Shared, Qwen2-MoE: an expert every token runs, added to
	// the mixture; Qwen2-MoE scales it by sigmoid(GateInpShexp·h).
	GateInpShexp backend.Weight `gguf:"ffn_gate_inp_shexp.weight,optional" shape:"dim"`   // (1, dim)
	GateShexp    backend.Weight `gguf:"ffn_gate_shexp.weight,optional" shape:"dim,shffn"` // (shffn, dim)
	UpShexp      backend.Weight `gguf:"ffn_up_shexp.weight,optional" shape:"dim,shffn"`   // (shffn, dim)
	DownShexp    backend.Weight `gguf:"ffn_down_shexp.weight,optional" shape:"shffn,dim"` // (dim, shffn)
}

// llamaScratch is allocated once for MaxBatch rows (R) and MaxSeqs logit rows (S).
type llamaScratch struct {
	x      backend.Buffer // (R, dim) residual stream
	h      backend.Buffer // (R, dim) normalised input of a sub-block (unfused norms only)
	q      backend.Buffer // (R, qdim)
	k, v   backend.Buffer // (R, kvdim)
	att    backend.Buffer // (R, qdim) attention output
	o      backend.Buffer // (R, dim) attention projection / ffn output (unfused adds only)
	g, u   backend.Buffer // (R, ffn) gate and up (unfused SwiGLU only)
	ffn    backend.Buffer // (R, ffn) silu(gate) * up
	logits backend.Buffer // (S, vocab)

	// Mixture of experts only (k = experts used per token):
	router   backend.Buffer // (R, experts) router logits
	ids, wts backend.Buffer // (R, k) chosen experts (as float32) and their weights
	eg, eu   backend.Buffer // (R*k, expffn) each chosen expert's gate and up
	ea       backend.Buffer // (R*k, expffn) silu(gate) * up
	ey       backend.Buffer // (R*k, dim) each chosen expert's output
	sh       backend.Buffer // (R, shffn) the shared expert's silu(gate) * up
	shG, shU backend.Buffer // (R, shffn) its gate and up (unfused SwiGLU only)
	o2       backend.Buffer // (R, dim) the shared expert's output
	shGate   backend.Buffer // (R) Qwen2-MoE: the shared expert's gate
	pos      []int32        // (R) position of each row

	// One-row views of x, q, k, v, att for batched decoding (row i = segment i),
	// made once so that decoding many sequences allocates nothing.
	xRow, qRow, kRow, vRow, attRow []backend.Buffer
}

func loadLlama(f *gguf.File, b backend.Backend, o Options) (*Llama, error) {
	cfg, err := readConfigVocab(f)
	if err != nil {
		return nil, err
	}
	dims := map[string]int{
		"dim": cfg.Dim, "vocab": cfg.Vocab, "qdim": cfg.QDim(), "kvdim": cfg.KVDim(), "ffn": cfg.FFN,
		"headdim": cfg.HeadDim, "ropehalf": cfg.RoPE.Dims / 2, "experts": cfg.Experts, "expffn": cfg.ExpertFFN,
		"shffn": cfg.SharedFFN, "qnorm": cfg.HeadDim, "knorm": cfg.HeadDim,
	}
	if cfg.Arch == "olmoe" { // q and k normed over all their heads at once
		dims["qnorm"], dims["knorm"] = cfg.QDim(), cfg.KVDim()
	}
	if cfg.Experts > 0 {
		if _, ok := b.(backend.Experts); !ok {
			return nil, fmt.Errorf("model: %s is a mixture-of-experts model (%d experts), which the %s backend cannot run yet; use --device cpu", cfg.Arch, cfg.Experts, b.Name())
		}
	}
	m := &Llama{base: base{cfg, o, b}, Layers: make([]LlamaLayer, cfg.Layers)}
	if err := loadWeights(f, b, "", dims, m); err != nil {
		return nil, err
	}
	if m.Output == nil {
		m.Output = m.TokEmbd
		m.cfg.TiedEmbed = true
	}
	m.cfg.RoPE.Factors = m.RoPEFreqs // nil when absent
	for l := range m.Layers {
		L := &m.Layers[l]
		if err := loadWeights(f, b, fmt.Sprintf("blk.%d.", l), dims, L); err != nil {
			return nil, err
		}
		if (L.QNorm == nil) != (L.KNorm == nil) {
			return nil, fmt.Errorf("model: block %d has only one of attn_q_norm.weight and attn_k_norm.weight", l)
		}
		if (L.Bq == nil) != (L.Bk == nil) || (L.Bq == nil) != (L.Bv == nil) {
			return nil, fmt.Errorf("model: block %d has some of the attention biases attn_q/k/v.bias but not all", l)
		}
		if err := L.checkFFN(l, cfg); err != nil {
			return nil, err
		}
	}
	if err := m.allocScratch(); err != nil {
		return nil, err
	}
	return m, nil
}

// checkFFN checks layer l's feed-forward tensors against c: a dense layer
// has ffn_gate, ffn_up and ffn_down; an expert layer (c.IsMoE(l)) has the
// router and the three stacked expert tensors instead, the shared expert's
// three when c.SharedFFN is set, Qwen2-MoE's shared-expert gate, and only in
// ERNIE 4.5 MoE a selection bias.
func (L *LlamaLayer) checkFFN(l int, c Config) error {
	moe := c.IsMoE(l)
	dense := []backend.Weight{L.Gate, L.Up, L.Down}
	experts := []backend.Weight{L.GateInp, L.GateExps, L.UpExps, L.DownExps}
	want, other, what := dense, experts, "ffn_gate, ffn_up and ffn_down"
	if moe {
		want, other, what = experts, dense, "ffn_gate_inp, ffn_gate_exps, ffn_up_exps and ffn_down_exps"
	}
	for _, w := range want {
		if w == nil {
			return fmt.Errorf("model: block %d lacks some of %s", l, what)
		}
	}
	for _, w := range other {
		if w != nil {
			return fmt.Errorf("model: block %d has %q, which %s does not use", l, w.Name(), map[bool]string{true: "an expert layer", false: "a dense layer"}[moe])
		}
	}
	if L.ExpProbsB != nil && c.Arch != "ernie4_5-moe" {
		return fmt.Errorf("model: block %d has exp_probs_b.bias, ERNIE 4.5 MoE's selection bias, which %s does not use", l, c.Arch)
	}
	if (L.GateInpShexp != nil) != (c.Arch == "qwen2moe" && moe) {
		return fmt.Errorf("model: block %d: ffn_gate_inp_shexp.weight is Qwen2-MoE's shared-expert gate: present exactly in qwen2moe files", l)
	}
	for _, w := range []backend.Weight{L.GateShexp, L.UpShexp, L.DownShexp} {
		if (w != nil) != (c.SharedFFN > 0 && moe) {
			return fmt.Errorf("model: block %d: the shared expert's ffn_{gate,up,down}_shexp must all be present exactly in the expert layers when %s is set", l, "expert_shared_feed_forward_length")
		}
	}
	return nil
}

func (m *Llama) allocScratch() error {
	_, fused := m.b.(backend.MatMulSwiGLUer)
	return m.s.alloc(m.b, m.cfg, m.opts, !fused)
}

// alloc sizes the scratch for c and o; g and u (the gate and up
// products) only when the backend multiplies them separately (gu).
func (s *llamaScratch) alloc(b backend.Backend, c Config, o Options, gu bool) error {
	R, S := o.MaxBatch, o.MaxSeqs
	var err error
	alloc := func(n int) backend.Buffer {
		if err != nil {
			return nil
		}
		var buf backend.Buffer
		buf, err = b.NewBuffer(backend.F32, n)
		return buf
	}
	s.x, s.h, s.o = alloc(R*c.Dim), alloc(R*c.Dim), alloc(R*c.Dim)
	s.q, s.att = alloc(R*c.QDim()), alloc(R*c.QDim())
	s.k, s.v = alloc(R*c.KVDim()), alloc(R*c.KVDim())
	s.ffn = alloc(R * c.FFN)
	if gu {
		s.g, s.u = alloc(R*c.FFN), alloc(R*c.FFN)
	}
	s.logits = alloc(S * c.Vocab)
	if c.Experts > 0 {
		k := c.ExpertsUsed
		s.router, s.ids, s.wts = alloc(R*c.Experts), alloc(R*k), alloc(R*k)
		s.eg, s.eu, s.ea = alloc(R*k*c.ExpertFFN), alloc(R*k*c.ExpertFFN), alloc(R*k*c.ExpertFFN)
		s.ey = alloc(R * k * c.Dim)
		if c.SharedFFN > 0 {
			s.sh, s.o2, s.shGate = alloc(R*c.SharedFFN), alloc(R*c.Dim), alloc(R)
			if gu {
				s.shG, s.shU = alloc(R*c.SharedFFN), alloc(R*c.SharedFFN)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("model: allocating activations for %d tokens: %w", R, err)
	}
	s.pos = make([]int32, R)
	views := func(buf backend.Buffer, width int) []backend.Buffer {
		v := make([]backend.Buffer, S)
		for i := range v {
			v[i] = buf.Slice(i*width, width)
		}
		return v
	}
	s.xRow = views(s.x, c.Dim)
	s.qRow, s.attRow = views(s.q, c.QDim()), views(s.att, c.QDim())
	s.kRow, s.vRow = views(s.k, c.KVDim()), views(s.v, c.KVDim())
	return nil
}

// NewCache allocates a KV cache for one sequence.
func (m *Llama) NewCache(ctxLen int, dt backend.DType) (*kvcache.Cache, error) {
	return kvcache.New(m.b, m.cfg.Layers, ctxLen, m.cfg.KVDim(), dt)
}

// rows returns the part of buf holding rows [start, start+T) of width
// elements: the whole buffer when start is 0 (ops read only what they need),
// a premade one-row view for a decoding segment, or a new slice otherwise.
func rows(buf backend.Buffer, views []backend.Buffer, start, T, width int) backend.Buffer {
	switch {
	case start == 0:
		return buf
	case T == 1 && start < len(views):
		return views[start]
	}
	return buf.Slice(start*width, T*width)
}

// swigluFFN is the gated feed-forward on T rows of the residual stream x:
// x += silu(gate·norm(x)) * (up·norm(x)) · downᵀ (times rs when rs is not 0).
func (s *llamaScratch) swigluFFN(b backend.Backend, x backend.Buffer, n backend.Norm, gate, up, down backend.Weight, T int, rs float32) {
	backend.NormMatMulSwiGLU(b, s.ffn, x, n, gate, up, T, s.h, s.g, s.u) // (T, ffn)
	s.projectAdd(b, x, s.ffn, down, T, rs)                               // x (T, dim) += ffn·downᵀ
}

// ffn is layer L's feed-forward on T rows of x, dense or of experts.
func (m *Llama) ffn(L *LlamaLayer, x backend.Buffer, n backend.Norm, T int) {
	if L.GateInp != nil { // checkFFN: exactly the layers of cfg.IsMoE
		m.s.moeFFN(m.b, x, n, L, m.cfg, T)
		return
	}
	m.s.swigluFFN(m.b, x, n, L.Gate, L.Up, L.Down, T, m.cfg.ResidualScale)
}

// moeFFN is the mixture-of-experts feed-forward on T rows of x (see
// backend.Experts): x += Σ_j wts_j * down_j(silu(gate_j·h) * (up_j·h)),
// h = norm(x), over each row's chosen experts j.
func (s *llamaScratch) moeFFN(b backend.Backend, x backend.Buffer, n backend.Norm, L *LlamaLayer, c Config, T int) {
	ex := b.(backend.Experts) // checked at load
	E, k, F := c.Experts, c.ExpertsUsed, c.ExpertFFN
	b.RMSNorm(s.h, x, n.W, T, n.Eps)                                                                                            // h (T, dim)
	b.MatMul(s.router, s.h, L.GateInp, T)                                                                                       // (T, experts)
	ex.MoERoute(s.ids, s.wts, s.router, backend.MoERouteArgs{T: T, Experts: E, Used: k, Norm: c.ExpertNorm, Bias: L.ExpProbsB}) // (T, k)
	shared := backend.MatMulIDArgs{T: T, Used: k, Experts: E}
	ex.MatMulID(s.eg, s.h, L.GateExps, s.ids, shared) // (T*k, expffn)
	ex.MatMulID(s.eu, s.h, L.UpExps, s.ids, shared)   // (T*k, expffn)
	b.SwiGLU(s.ea, s.eg, s.eu, T*k*F)
	ex.MatMulID(s.ey, s.ea, L.DownExps, s.ids, backend.MatMulIDArgs{T: T, Used: k, Experts: E, PerSlot: true}) // (T*k, dim)
	ex.MoESum(s.o, s.ey, s.wts, T, k, c.Dim)                                                                   // (T, dim)
	if L.GateShexp != nil {                                                                                    // a shared expert (Granite MoE Shared, Qwen2-MoE): + down·(silu(gate·h) * (up·h))
		backend.MatMulSwiGLU(b, s.sh, s.h, L.GateShexp, L.UpShexp, T, s.shG, s.shU) // (T, shffn)
		b.MatMul(s.o2, s.sh, L.DownShexp, T)                                        // (T, dim)
		if L.GateInpShexp != nil {                                                  // Qwen2-MoE: times silu(g)/g, g = h·w
			b.MatMul(s.shGate, s.h, L.GateInpShexp, T)    // (T, 1)
			ex.SharedGate(s.o2, s.o2, s.shGate, T, c.Dim) // (T, dim)
		}
		b.Add(s.o, s.o, s.o2, T*c.Dim)
	}
	if c.ResidualScale != 0 { // Granite: the sub-block's output scaled before the add
		b.Scale(s.o, s.o, c.ResidualScale, T*c.Dim)
	}
	b.Add(x, x, s.o, T*c.Dim)
}

// projectAdd joins a sub-block's output to the residual stream: x[T, dim]
// += in·wᵀ, or with Granite's residual scale rs (not 0) x += (in·wᵀ) * rs,
// the product scaled before the add as llama.cpp's granite graph does (o:
// the scratch).
func (s *llamaScratch) projectAdd(b backend.Backend, x, in backend.Buffer, w backend.Weight, T int, rs float32) {
	if rs == 0 {
		backend.MatMulAdd(b, x, in, w, T, s.o)
		return
	}
	b.MatMul(s.o, in, w, T)
	b.Scale(s.o, s.o, rs, T*w.Rows())
	b.Add(x, x, s.o, T*w.Rows())
}

// Forward runs the segments through the model; see Model.Forward.
func (m *Llama) Forward(segs []Segment) (backend.Buffer, error) {
	R, err := m.begin(segs)
	if err != nil {
		return nil, err
	}
	b, c, s := m.b, m.cfg, &m.s

	pos := positions(segs, s.pos)                       // (R) positions of all rows, segment after segment
	embedTokens(b, s.x, s.xRow, m.TokEmbd, segs, c.Dim) // x (R, dim) = token embeddings
	if c.EmbedScale != 0 {
		b.Scale(s.x, s.x, c.EmbedScale, R*c.Dim) // Granite's embedding_scale
	}

	ropeArgs := backend.RoPEStoreKVArgs{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, RoPE: c.RoPE}
	for l := range m.Layers {
		L := &m.Layers[l]
		// Attention: q, k, v = norm(x)·W (h: the fallback's norm), rotary
		// positions, cache, attention; x += att·Woᵀ.
		attnNorm := backend.Norm{W: L.AttnNorm, Eps: c.NormEps}
		backend.NormMatMulQKV(b, s.q, s.k, s.v, s.x, attnNorm, L.Wq, L.Wk, L.Wv, R, s.h) // (R, qdim), (R, kvdim), (R, kvdim)
		if L.Bq != nil {
			b.AddBias(s.q, L.Bq, R)
			b.AddBias(s.k, L.Bk, R)
			b.AddBias(s.v, L.Bv, R)
		}
		switch {
		case L.QNorm != nil && L.QNorm.Cols() == c.HeadDim: // Qwen3: each head's q and k RMS-normalised, in place
			b.RMSNorm(s.q, s.q, L.QNorm, R*c.Heads, c.NormEps)   // (R*heads, head_dim)
			b.RMSNorm(s.k, s.k, L.KNorm, R*c.KVHeads, c.NormEps) // (R*kv_heads, head_dim)
		case L.QNorm != nil: // OLMoE: over all heads of a row at once
			b.RMSNorm(s.q, s.q, L.QNorm, R, c.NormEps) // (R, qdim)
			b.RMSNorm(s.k, s.k, L.KNorm, R, c.NormEps) // (R, kvdim)
		}
		row := 0
		for _, sg := range segs {
			T, p := len(sg.Tokens), sg.Cache.Pos()
			q := rows(s.q, s.qRow, row, T, c.QDim())
			k, v := rows(s.k, s.kRow, row, T, c.KVDim()), rows(s.v, s.vRow, row, T, c.KVDim())
			// rotate q and k, then store k and v at the segment's cache rows
			if c.UsesRoPE(l) {
				backend.RoPEStoreKV(b, q, k, v, sg.Cache.K[l], sg.Cache.V[l], pos[row:row+T], ropeArgs)
			} else {
				b.StoreKV(sg.Cache.K[l], sg.Cache.V[l], k, v, p, T, c.KVDim())
			}
			b.Attention(rows(s.att, s.attRow, row, T, c.QDim()), q,
				sg.Cache.K[l], sg.Cache.V[l], backend.AttentionArgs{
					T: T, Pos: p, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
					Scale: c.AttentionScale(), CacheLen: sg.Cache.Len,
				})
			row += T
		}
		s.projectAdd(b, s.x, s.att, L.Wo, R, c.ResidualScale) // x (R, dim) += att·Woᵀ

		// Feed-forward: x += silu(gate·norm(x)) * (up·norm(x)) · Downᵀ.
		ffnNorm := backend.Norm{W: L.FFNNorm, Eps: c.NormEps}
		if l == len(m.Layers)-1 && R > len(segs) {
			forLastRows(segs, func(r int) { m.ffn(L, s.x.Slice(r*c.Dim, c.Dim), ffnNorm, 1) })
			continue
		}
		m.ffn(L, s.x, ffnNorm, R)
	}

	// Logits of each segment's last row: norm(x)·Outputᵀ (times Granite's
	// 1/logit_scale).
	outNorm := backend.Norm{W: m.OutNorm, Eps: c.NormEps}
	logits, err := finish(b, s.logits, s.x, s.h, outNorm, m.Output, segs, R, c.Dim, c.Vocab)
	if err != nil || c.LogitScale == 0 {
		return logits, err
	}
	b.Scale(logits, logits, c.LogitScale, len(segs)*c.Vocab)
	return logits, b.Err()
}
