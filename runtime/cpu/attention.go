package cpu

import (
	"math"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// Attention: for each query row t and head h,
//
//	dst[t, h, :] = softmax(scale * q[t, h, :] · K[0..Pos+t, g, :]ᵀ) · V[0..Pos+t, g, :]
//
// with g = h / (Heads/KVHeads) (grouped-query attention) and causal masking
// (row t sees cache rows up to its own position). Caches are [CacheLen, KVHeads*HeadDim].
// The (t, h) pairs are spread over the workers; each uses its own scratch.
//
// The arithmetic is llama.cpp's non-flash attention with an F32 cache, bit
// for bit (see ggmlmath.go for why that matters):
//   - kq = ggml_vec_dot_f32(k_j, q) (mul_mat over F32 never takes the
//     llamafile path here: the permuted q is not contiguous, or T is 1);
//   - ggml_soft_max_ext: kq*scale (+ a zero mask), max, ggml_v_expf of
//     kq - max stored and summed in groups of eight positions (hsum of each
//     group in float32, the groups in float64), then times float32(1/sum);
//   - kqv = V·p: for one query row (decode), ggml_vec_dot_f32 over the
//     positions of each V^T row (four 8-lane accumulators); for several
//     (prefill), llamafile's tinyBLAS sgemm (one 8-lane accumulator per
//     output). Positions past Pos+t are masked to exactly 0 in llama.cpp,
//     which leaves every lane sum unchanged, so they are skipped here.
//
// Soft-capping (a.Softcap) scores with scale 1, caps each score as
// llama.cpp's graph does (times 1/Softcap, tanhf, times Softcap), then
// applies a.Scale (the softmax's scale).
//
// A sliding window (a.Window) masks the positions before a.First(t) to -inf
// before the softmax, as llama.cpp's mask does, and the work starts at the
// first row's First rounded down to a multiple of 32: the positions skipped
// would have added exact zeros to the same lanes and groups of eight.
//
// Choosing by a.T assumes each call is one llama.cpp ubatch of one sequence
// (llama.cpp picks tinyBLAS by the ubatch's token count, so a decode step
// that batches several sequences would take it too). An F16 cache is
// widened to float32 here, whereas llama.cpp rounds q to f16 and uses
// ggml_vec_dot_f16: F16 caches are close to llama.cpp, not bit-exact.
func (b *Backend) Attention(dst, q, kc, vc backend.Buffer, a backend.AttentionArgs) {
	if b.err != nil || b.fail(backend.CheckAttention(dst, q, kc, vc, a)) {
		return
	}
	if kb, vb := kc.(*Buf), vc.(*Buf); a.T == 1 && useZMM && a.HeadDim%64 == 0 && !kb.isF16 &&
		a.Heads > a.KVHeads && a.Pos+1 >= decodeGroupMin && a.First(0) == 0 && a.Softcap == 0 {
		b.attentionGrouped(dst, q, kb, vb, a)
		return
	}
	slots := vecDotSlots // decode: ggml_vec_dot_f32's 32 lanes
	if a.T > 1 {
		slots = 8 // prefill: tinyBLAS's 8 lanes
	}
	// Prefill on 512-bit registers scores four query rows of a head per
	// pass over its keys (scores4ZMM); otherwise one.
	quad := a.T > 1 && useZMM && a.HeadDim%32 == 0
	rows := 1
	if quad {
		rows = 4
	}
	stride := a.CacheLen + 8 // a score row: Pos+t+1 positions, rounded up to 8 (+3 for quads)
	for w := range b.scores {
		if len(b.scores[w]) < rows*stride {
			b.scores[w] = make([]float32, rows*stride)
		}
		if need := 2*a.HeadDim + vecDotSlots*a.HeadDim; cap(b.rowTmp[w]) < need {
			b.rowTmp[w] = make([]float32, need)
		}
		if need := 2 * a.CacheLen * a.HeadDim; kc.(*Buf).isF16 && len(b.kvWide[w]) < need {
			b.kvWide[w] = make([]float32, need)
		}
	}
	b.att = attentionTask{a: a, q: f32s(q), out: f32s(dst), k: kc.(*Buf), v: vc.(*Buf), scores: b.scores, stride: stride,
		tmp: b.rowTmp, wide: b.kvWide, slots: slots, quad: quad}
	blocks := a.T
	if quad {
		blocks = (a.T + 3) / 4
	}
	b.pool.run(&b.att, blocks*a.Heads, 1)
}

// vecDotSlots is the number of float32 lanes ggml_vec_dot_f32 accumulates
// in on AVX2 (GGML_F32_STEP).
const vecDotSlots = 32

type attentionTask struct {
	a      backend.AttentionArgs
	q, out []float32
	k, v   *Buf
	scores [][]float32 // per worker: score rows of stride elements
	stride int
	tmp    [][]float32
	wide   [][]float32 // per worker: one KV head's K and V rows widened from f16
	slots  int         // lanes of the kqv product: 32 (vec_dot_f32) or 8 (tinyBLAS)
	quad   bool        // work items are four query rows of a head (scores4ZMM)
}

// kvView is one KV head's rows as the assembly reads them: row j of K at
// k[j*stride:][:HeadDim], of V likewise.
type kvView struct {
	k, v   []float32
	stride int
}

// view returns KV head g's rows [base, n) for the assembly: the cache
// itself when it holds float32, else those rows widened from f16 into the
// worker's scratch (exact, with F16C), so that f16 caches run the same
// kernels (llama.cpp multiplies f16 K and V in f16 instead: f16 caches are
// close to it, not bit-exact).
func (at *attentionTask) view(w, g, base, n int) kvView {
	a := at.a
	D, kvDim := a.HeadDim, a.KVHeads*a.HeadDim
	off := base*kvDim + g*D
	if !at.k.isF16 {
		_, _ = at.k.f32[(n-1)*kvDim+g*D+D-1], at.v.f32[(n-1)*kvDim+g*D+D-1] // the assembly reads up to row n-1
		return kvView{k: at.k.f32[off:], v: at.v.f32[off:], stride: kvDim}
	}
	_, _ = at.k.f16[(n-1)*kvDim+g*D+D-1], at.v.f16[(n-1)*kvDim+g*D+D-1]
	m := n - base
	kf, vf := at.wide[w][:m*D], at.wide[w][a.CacheLen*D:][:m*D]
	widenRowsF16(&kf[0], &at.k.f16[off], kvDim, D, m)
	widenRowsF16(&vf[0], &at.v.f16[off], kvDim, D, m)
	return kvView{k: kf, v: vf, stride: D}
}

// base is the first position the work item starting at query row t0
// computes: its First, rounded down to a multiple of 32 so that every
// position keeps its lane (position % 8 or % 32) and its group of eight.
func (at *attentionTask) base(t0 int) int { return at.a.First(t0) &^ 31 }

// maskBefore sets the scores of the positions from base up to query row
// t's First (s[0] is position base) to -inf, as llama.cpp's sliding-window
// mask does.
func (at *attentionTask) maskBefore(s []float32, t, base int) {
	for j := range at.a.First(t) - base {
		s[j] = float32(math.Inf(-1))
	}
}

// do runs work items [lo, hi): one (query row, head) pair each, or with
// quad four consecutive query rows of a head (fewer for the last block).
// Head dims that are multiples of 32 (64, 128) take the assembly, which
// runs all positions of the head in one call, over view's rows; row's
// loops are its portable twin.
func (at *attentionTask) do(w, lo, hi int) {
	a := at.a
	per := 1
	if at.quad {
		per = 4
	}
	fast := useAsm && a.HeadDim%32 == 0
	for idx := lo; idx < hi; idx++ {
		t0, h := idx/a.Heads*per, idx%a.Heads
		rows := min(per, a.T-t0)
		base := at.base(t0)
		var kv kvView
		if fast {
			kv = at.view(w, h/(a.Heads/a.KVHeads), base, a.Pos+t0+rows)
		}
		if rows == 4 && a.HeadDim%64 == 0 {
			at.quadRows(w, t0, h, base, kv)
			continue
		}
		scored := false
		if rows == 4 {
			at.scoreQuad(w, t0, h, base, kv)
			scored = true
		}
		for i := range rows {
			at.row(w, t0+i, h, base, at.scores[w][i*at.stride:(i+1)*at.stride], scored, fast, kv)
		}
	}
}

// scoreQuad fills the score rows of query rows t0..t0+3, head h, from
// position base on. The four rows share the keys of the last (up to
// n = Pos+t0+4); the earlier rows' extra scores lie past their n, where
// softmaxGGML masks them.
func (at *attentionTask) scoreQuad(w, t0, h, base int, kv kvView) {
	a := at.a
	D := a.HeadDim
	n := a.Pos + t0 + 4
	_ = at.q[((t0+3)*a.Heads+h)*D+D-1]
	scores4ZMM(&kv.k[0], kv.stride, &at.q[(t0*a.Heads+h)*D], a.Heads*D, D, n-base, at.dotScale(), &at.scores[w][0], at.stride)
	for i := range 4 {
		at.capScores(at.scores[w][i*at.stride:][:n-base])
	}
}

// dotScale is the scale the score kernels apply to q·k: a.Scale, or 1
// when capScores applies it after the cap.
func (at *attentionTask) dotScale() float32 {
	if at.a.Softcap > 0 {
		return 1
	}
	return at.a.Scale
}

// capScores soft-caps raw scores q·k and scales them (a.Softcap > 0; a
// no-op otherwise).
func (at *attentionTask) capScores(s []float32) {
	c := at.a.Softcap
	if c <= 0 {
		return
	}
	inv, scale := 1/c, at.a.Scale
	for j, v := range s {
		s[j] = softcap(v, inv, c) * scale
	}
}

// quadRows is the attention of query rows t0..t0+3, head h, with each pass
// over the keys and values shared by the four rows (head dims that are
// multiples of 64): scoreQuad, the softmax of each row, axpy4ZMM into the
// four rows' slot sums, and each row's fold. A row's probabilities past
// its own positions are zeroed, so its sums are the ones row would form.
func (at *attentionTask) quadRows(w, t0, h, base int, kv kvView) {
	a := at.a
	D := a.HeadDim
	last := a.Pos + t0 + 4 - base // positions base..: s[j] is position base+j
	at.scoreQuad(w, t0, h, base, kv)
	for i := range 4 {
		s := at.scores[w][i*at.stride : (i+1)*at.stride]
		at.maskBefore(s, t0+i, base)
		n := a.Pos + t0 + i + 1 - base
		softmaxGGML(s[:(n+7)&^7], n)
		if m := (n + 7) &^ 7; m < last {
			clear(s[m:last])
		}
	}
	acc := at.tmp[w][2*D : 2*D+4*8*D] // four rows of 8 slot sums
	axpy4ZMM(&at.scores[w][0], at.stride, &kv.v[0], kv.stride, D, last, &acc[0], 8*D, 8, 0, 8)
	for i := range 4 {
		idx := (t0+i)*a.Heads + h
		foldTinyAVX2(&at.out[idx*D], &acc[i*8*D], D)
	}
}

// row is the attention of query row t, head h, with s as its score row
// from position base on (already holding the scores when scored): with
// fast, the assembly over kv; otherwise the portable loops over the cache
// (f32 or f16).
func (at *attentionTask) row(w, t, h, base int, s []float32, scored, fast bool, kv kvView) {
	a := at.a
	D := a.HeadDim
	g := h / (a.Heads / a.KVHeads)
	kvDim := a.KVHeads * D
	idx := t*a.Heads + h
	q := at.q[idx*D : (idx+1)*D]
	out := at.out[idx*D : (idx+1)*D]
	n := a.Pos + t + 1 - base // positions base..Pos+t: s[j] is position base+j
	tmp := at.tmp[w]
	krow := tmp[:D]
	switch {
	case scored:
	case fast:
		scoresF32AVX2(&kv.k[0], kv.stride, &q[0], D, n, at.dotScale(), &s[0])
		at.capScores(s[:n])
	default:
		for j := range n {
			k := cacheRow(at.k, (base+j)*kvDim+g*D, krow)
			s[j] = vecDotF32(k, q) * at.dotScale()
		}
		at.capScores(s[:n])
	}
	at.maskBefore(s, t, base)
	softmaxGGML(s[:(n+7)&^7], n)
	s = s[:n]

	// acc[slot*D+i] accumulates position j's term p_j*v_j[i] in lane
	// slot = j % slots, in order of j, with one FMA each (base is a
	// multiple of 32: the lanes are the positions' own).
	acc := tmp[2*D : 2*D+at.slots*D]
	if fast {
		axpySlotsAVX2(&s[0], &kv.v[0], kv.stride, D, n, &acc[0], at.slots)
	} else {
		clear(acc)
		vrow := tmp[D : 2*D]
		for j, p := range s {
			v := cacheRow(at.v, (base+j)*kvDim+g*D, vrow)
			axpyFMA(p, v, acc[(j%at.slots)*D:][:D])
		}
	}
	switch {
	case at.slots == vecDotSlots && fast:
		foldVecDotAVX2(&out[0], &acc[0], D)
	case at.slots == vecDotSlots:
		foldVecDot(out, acc)
	case fast:
		foldTinyAVX2(&out[0], &acc[0], D)
	default:
		foldTiny(out, acc)
	}
}

// softmaxGGML is ggml_soft_max_f32 on one row whose first n scores are
// live and the rest masked: x[:n] becomes the probabilities and x[n:] (the
// rest of the last group of eight; len(x) is a multiple of 8) zeros. As in
// llama.cpp the masked lanes are -inf going into expf, which gives exactly 0.
func softmaxGGML(x []float32, n int) {
	for i := n; i < len(x); i++ {
		x[i] = float32(math.Inf(-1))
	}
	softmaxRowGGML(x)
}

// softmaxRowGGML is ggml_soft_max_f32 on one unmasked row of any length:
// the max, expf of x - max in groups of eight (expSum), the last len(x)%8
// one at a time, each added to the float64 sum alone (ggml_vec_soft_max_f32's
// scalar tail, with the C library's expf: libmExpf), then everything times
// float32(1/sum).
func softmaxRowGGML(x []float32) {
	n8 := len(x) &^ 7
	mx := float32(math.Inf(-1))
	if useAsm && n8 > 0 {
		mx = maxAVX2(&x[0], n8)
	} else {
		for _, v := range x[:n8] {
			mx = max(mx, v)
		}
	}
	for _, v := range x[n8:] {
		mx = max(mx, v)
	}
	var sum float64
	if n8 > 0 {
		sum = expSum(x[:n8], mx)
	}
	for i := n8; i < len(x); i++ {
		x[i] = libmExpf(x[i] - mx)
		sum += float64(x[i])
	}
	inv := float32(1 / sum)
	if useAsm && n8 > 0 {
		scaleAVX2(&x[0], n8, inv)
	} else {
		for i := range x[:n8] {
			x[i] *= inv
		}
	}
	for i := n8; i < len(x); i++ {
		x[i] *= inv
	}
}

// expSum is the exp-and-sum loop of ggml_vec_soft_max_f32 (AVX2): x[i] =
// expf(x[i] - mx), summed per group of eight in float32 (hsum8 order) and
// over the groups in float64. len(x) is a multiple of 8.
func expSum(x []float32, mx float32) float64 {
	if useAsm && len(x) > 0 {
		return expSumAVX2(&x[0], len(x), mx)
	}
	var sum float64
	for i := 0; i < len(x); i += 8 {
		g := (*[8]float32)(x[i:])
		for j := range g {
			g[j] = expf(g[j] - mx)
		}
		sum += float64(hsum8(g))
	}
	return sum
}

// axpyFMA: y[i] = fma(a, x[i], y[i]).
func axpyFMA(a float32, x, y []float32) {
	y = y[:len(x)]
	if useAsm && len(x)%8 == 0 {
		axpyFMAAVX2(a, &x[0], &y[0], len(x))
		return
	}
	for i, v := range x {
		y[i] = quant.FMA32(a, v, y[i])
	}
}

// foldVecDot reduces 32 lane rows (acc[s*D:], D = len(out)) into out the way
// ggml_vec_dot_f32 reduces its accumulators: lane s = 8k+l is accumulator k,
// lane l.
func foldVecDot(out, acc []float32) {
	D := len(out)
	var l [32]float32
	for i := range out {
		for s := range l {
			l[s] = acc[s*D+i]
		}
		out[i] = reduce4x8(&l)
	}
}

// foldTiny reduces 8 lane rows as llamafile's hsum(__m256) (= hsum8).
func foldTiny(out, acc []float32) {
	D := len(out)
	var l [8]float32
	for i := range out {
		for s := range l {
			l[s] = acc[s*D+i]
		}
		out[i] = hsum8(&l)
	}
}

// cacheRow returns len(tmp) elements of the cache at off as float32,
// converting an f16 cache into tmp.
func cacheRow(c *Buf, off int, tmp []float32) []float32 {
	if !c.isF16 {
		return c.f32[off : off+len(tmp)]
	}
	for i := range tmp {
		tmp[i] = quant.F16ToF32(c.f16[off+i])
	}
	return tmp
}
