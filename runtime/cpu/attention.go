package cpu

import (
	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// Attention: for each query row t and head h,
//
//	dst[t, h, :] = softmax(scale * q[t, h, :] · K[0..Pos+t, g, :]ᵀ) · V[0..Pos+t, g, :]
//
// with g = h / (Heads/KVHeads) (grouped-query attention) and causal masking
// (row t sees cache rows up to its own position). Caches are [CacheLen, KVHeads*HeadDim].
// The (t, h) pairs are spread over the workers; each uses its own score row.
func (b *Backend) Attention(dst, q, kc, vc backend.Buffer, a backend.AttentionArgs) {
	if b.err != nil || b.fail(backend.CheckAttention(dst, q, kc, vc, a)) {
		return
	}
	for w := range b.scores {
		if cap(b.scores[w]) < a.Pos+a.T {
			b.scores[w] = make([]float32, a.CacheLen)
		}
		if cap(b.rowTmp[w]) < 2*a.HeadDim {
			b.rowTmp[w] = make([]float32, 2*a.HeadDim)
		}
	}
	b.att = attentionTask{a: a, q: f32s(q), out: f32s(dst), k: kc.(*Buf), v: vc.(*Buf), scores: b.scores, tmp: b.rowTmp}
	b.pool.run(&b.att, a.T*a.Heads, 1)
}

type attentionTask struct {
	a      backend.AttentionArgs
	q, out []float32
	k, v   *Buf
	scores [][]float32
	tmp    [][]float32
}

func (at *attentionTask) do(w, lo, hi int) {
	a := at.a
	D := a.HeadDim
	group := a.Heads / a.KVHeads
	kvDim := a.KVHeads * D
	for idx := lo; idx < hi; idx++ {
		t, h := idx/a.Heads, idx%a.Heads
		g := h / group
		q := at.q[idx*D : (idx+1)*D]
		out := at.out[idx*D : (idx+1)*D]
		n := a.Pos + t + 1
		s := at.scores[w][:n]
		krow := at.tmp[w][:D]
		for j := 0; j < n; j++ {
			k := cacheRow(at.k, j*kvDim+g*D, krow)
			var dot float32
			for i, qv := range q {
				dot += qv * k[i]
			}
			s[j] = dot * a.Scale
		}
		softmaxRow(s)
		clear(out)
		vrow := at.tmp[w][D : 2*D]
		for j, p := range s {
			v := cacheRow(at.v, j*kvDim+g*D, vrow)
			for i, vv := range v {
				out[i] += p * vv
			}
		}
	}
}

// cacheRow returns D elements of the cache at off as float32, converting an
// f16 cache into tmp.
func cacheRow(c *Buf, off int, tmp []float32) []float32 {
	if !c.isF16 {
		return c.f32[off : off+len(tmp)]
	}
	for i := range tmp {
		tmp[i] = quant.F16ToF32(c.f16[off+i])
	}
	return tmp
}
