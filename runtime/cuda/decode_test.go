package cuda

import (
	"math"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/quant"
)

// synthShape is a llama-shaped model with random weights: enough to run a
// decode step exactly as a real model does (the op sequence of
// runtime/model's llama), for tests and GPU benchmarks.
type synthShape struct {
	name                                     string
	layers, dim, heads, kvHeads, ffn, vocab  int
	ctx                                      int
	emb, out, wq, wk, wv, wo, gate, up, down quant.Type
	kvType                                   backend.DType
}

// tinyShape mixes formats so a decode step touches most kernels.
var tinyShape = synthShape{name: "tiny", layers: 2, dim: 256, heads: 4, kvHeads: 2, ffn: 256, vocab: 96, ctx: 16,
	emb: quant.Q4_1, out: quant.Q6_K, wq: quant.Q4_0, wk: quant.Q8_0, wv: quant.F16, wo: quant.Q4_1,
	gate: quant.Q4_1, up: quant.Q4_1, down: quant.Q4_K, kvType: backend.F16}

// smolShape is SmolLM2-135M (the default model): Q4_1, tied embeddings.
var smolShape = synthShape{name: "smollm2-135m", layers: 30, dim: 576, heads: 9, kvHeads: 3, ffn: 1536, vocab: 49152, ctx: 1024,
	emb: quant.Q4_1, out: quant.Q4_1, wq: quant.Q4_1, wk: quant.Q4_1, wv: quant.Q4_1, wo: quant.Q4_1,
	gate: quant.Q4_1, up: quant.Q4_1, down: quant.Q4_1, kvType: backend.F16}

type synthModel struct {
	s                                     synthShape
	be                                    backend.Backend
	emb, norm, out                        backend.Weight
	an, fn, wq, wk, wv, wo, g, u, d       []backend.Weight
	x, xb, q, k, v, att, o, hb, f, gs, us backend.Buffer
	logits                                backend.Buffer
	kc, vc                                []backend.Buffer
	pos                                   [1]int32
}

func newSynthModel(tb testing.TB, be backend.Backend, s synthShape) *synthModel {
	tb.Helper()
	m := &synthModel{s: s, be: be}
	hd := s.dim / s.heads
	w := func(name string, typ quant.Type, rows, cols int, seed uint64) backend.Weight {
		tt, err := backendtest.Tensor(name, typ, rows, cols, seed)
		if err != nil {
			tb.Fatal(err)
		}
		wt, err := be.LoadWeight(tt)
		if err != nil {
			tb.Fatal(err)
		}
		return wt
	}
	vec := func(name string, n int, seed uint64) backend.Weight {
		x := backendtest.Floats(backendtest.Rand(seed), n, 0.2)
		for i := range x {
			x[i] += 1
		}
		wt, err := be.LoadWeight(backendtest.Vector(name, x))
		if err != nil {
			tb.Fatal(err)
		}
		return wt
	}
	m.emb = w("emb", s.emb, s.vocab, s.dim, 1)
	m.norm = vec("norm", s.dim, 2)
	m.out = m.emb
	if s.out != s.emb {
		m.out = w("out", s.out, s.vocab, s.dim, 3)
	}
	for l := 0; l < s.layers; l++ {
		seed := uint64(10 * (l + 1))
		m.an = append(m.an, vec("an", s.dim, seed))
		m.fn = append(m.fn, vec("fn", s.dim, seed+1))
		m.wq = append(m.wq, w("wq", s.wq, s.heads*hd, s.dim, seed+2))
		m.wk = append(m.wk, w("wk", s.wk, s.kvHeads*hd, s.dim, seed+3))
		m.wv = append(m.wv, w("wv", s.wv, s.kvHeads*hd, s.dim, seed+4))
		m.wo = append(m.wo, w("wo", s.wo, s.dim, s.heads*hd, seed+5))
		m.g = append(m.g, w("g", s.gate, s.ffn, s.dim, seed+6))
		m.u = append(m.u, w("u", s.up, s.ffn, s.dim, seed+7))
		m.d = append(m.d, w("d", s.down, s.dim, s.ffn, seed+8))
	}
	buf := func(dt backend.DType, n int) backend.Buffer {
		x, err := be.NewBuffer(dt, n)
		if err != nil {
			tb.Fatal(err)
		}
		return x
	}
	m.x, m.xb, m.o, m.f = buf(backend.F32, s.dim), buf(backend.F32, s.dim), buf(backend.F32, s.dim), buf(backend.F32, s.dim)
	m.q, m.att = buf(backend.F32, s.heads*hd), buf(backend.F32, s.heads*hd)
	m.k, m.v = buf(backend.F32, s.kvHeads*hd), buf(backend.F32, s.kvHeads*hd)
	m.hb, m.gs, m.us = buf(backend.F32, s.ffn), buf(backend.F32, s.ffn), buf(backend.F32, s.ffn)
	m.logits = buf(backend.F32, s.vocab)
	for l := 0; l < s.layers; l++ {
		m.kc = append(m.kc, buf(s.kvType, s.ctx*s.kvHeads*hd))
		m.vc = append(m.vc, buf(s.kvType, s.ctx*s.kvHeads*hd))
	}
	return m
}

// step runs one decode step (token tok at position pos) and returns the
// greedy next token.
func (m *synthModel) step(tb testing.TB, tok int32, pos int) int32 {
	s, be := m.s, m.be
	hd := s.dim / s.heads
	rope := backend.RoPEStoreKVArgs{Heads: s.heads, KVHeads: s.kvHeads, HeadDim: hd,
		RoPE: backend.RoPE{Mode: backend.RoPENormal, Dims: hd, FreqBase: 10000, FreqScale: 1}}
	m.pos[0] = int32(pos)
	be.Embed(m.x, m.emb, []int32{tok})
	norm := func(w backend.Weight) backend.Norm { return backend.Norm{W: w, Eps: 1e-5} }
	for l := 0; l < s.layers; l++ {
		backend.NormMatMulQKV(be, m.q, m.k, m.v, m.x, norm(m.an[l]), m.wq[l], m.wk[l], m.wv[l], 1, m.xb)
		backend.RoPEStoreKV(be, m.q, m.k, m.v, m.kc[l], m.vc[l], m.pos[:], rope)
		be.Attention(m.att, m.q, m.kc[l], m.vc[l], backend.AttentionArgs{T: 1, Pos: pos, Heads: s.heads, KVHeads: s.kvHeads,
			HeadDim: hd, Scale: float32(1 / math.Sqrt(float64(hd))), CacheLen: s.ctx})
		backend.MatMulAdd(be, m.x, m.att, m.wo[l], 1, m.o) // x += attention out
		backend.NormMatMulSwiGLU(be, m.hb, m.x, norm(m.fn[l]), m.g[l], m.u[l], 1, m.xb, m.gs, m.us)
		backend.MatMulAdd(be, m.x, m.hb, m.d[l], 1, m.f) // x += FFN out
	}
	backend.NormMatMul(be, m.logits, m.x, norm(m.norm), m.out, 1, m.xb)
	id, err := be.Argmax(m.logits, s.vocab)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// runDecodeSteps runs steps decode steps of the tiny model on b and on the
// CPU, feeding each argmax back as the next token, and fails if the logits
// drift. Each step's launch sequence is the previous one's with new
// positions: the shape CUDA graphs replay.
func runDecodeSteps(t *testing.T, b backend.Backend, steps int) {
	t.Helper()
	ref := cpuRef(t)
	defer ref.Close()
	mb, mr := newSynthModel(t, b, tinyShape), newSynthModel(t, ref, tinyShape)
	tb, tr := int32(7), int32(7)
	for s := 0; s < steps; s++ {
		tb, tr = mb.step(t, tb, s), mr.step(t, tr, s)
		lb, lr := make([]float32, tinyShape.vocab), make([]float32, tinyShape.vocab)
		if err := b.Read(lb, mb.logits); err != nil {
			t.Fatal(err)
		}
		if err := ref.Read(lr, mr.logits); err != nil {
			t.Fatal(err)
		}
		nmse := backendtest.NMSE(lr, lb)
		t.Logf("step %d: token %d (cpu %d), logits NMSE %.3g", s, tb, tr, nmse)
		if nmse > 1e-3 {
			t.Fatalf("step %d: logits NMSE %.3g", s, nmse)
		}
		if tb != tr {
			t.Logf("step %d: tokens differ (%d vs %d); continuing from the CPU's", s, tb, tr)
			tb = tr
		}
	}
}

// TestEmuDecodeSteps runs the decode loop on the emulator with queued
// launches, the path CUDA graphs take on the GPU.
func TestEmuDecodeSteps(t *testing.T) {
	rec := &recorder{Device: openEmu(t)}
	b, err := New(rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	runDecodeSteps(t, b, 4)
}
