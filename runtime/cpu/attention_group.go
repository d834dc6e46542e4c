package cpu

import "gpurun/runtime/backend"

// decodeGroupMin is the shortest context (positions) for which a decode
// step's attention takes the grouped path; below it the per-head path's
// single pass over the workers costs less than four. A variable so that
// tests can force either path.
var decodeGroupMin = 1024

// groupScoreChunk is how many positions one score work item takes.
const groupScoreChunk = 256

// attentionGrouped is Attention for one query row (a decode step) with the
// query heads that share a KV head taken together, in sets of up to four,
// so that each key and value row is read once per set instead of once per
// head (long contexts: the cache no longer fits in cache, and every head of
// a group used to stream it again). Four passes over the workers:
//
//  1. scores: per set and chunk of positions, scores4ZMM;
//  2. softmax: per score row;
//  3. values: per set and range of eight of vec_dot_f32's 32 slots, axpy4ZMM;
//  4. fold: per head, foldVecDotAVX2.
//
// Every output keeps the per-head path's bits: the same dot per (head,
// position), the same softmax, the same FMA chain per slot and column, the
// same fold. F32 caches, head dims that are multiples of 64, 512-bit
// kernels (the caller checks).
func (b *Backend) attentionGrouped(dst, q backend.Buffer, kc, vc *Buf, a backend.AttentionArgs) {
	D := a.HeadDim
	group := a.Heads / a.KVHeads
	sets := (group + 3) / 4
	n := a.Pos + 1
	rows := a.KVHeads * sets * 4 // score rows and acc blocks, padded to four per set
	stride := a.CacheLen + 8
	if len(b.grpScores) < rows*stride {
		b.grpScores = make([]float32, rows*stride)
	}
	if len(b.grpAcc) < rows*vecDotSlots*D {
		b.grpAcc = make([]float32, rows*vecDotSlots*D)
	}
	for w := range b.grpQ {
		if len(b.grpQ[w]) < 4*D {
			b.grpQ[w] = make([]float32, 4*D)
		}
	}
	chunks := (n + groupScoreChunk - 1) / groupScoreChunk
	b.grp = groupTask{a: a, q: f32s(q), out: f32s(dst), k: kc.f32, v: vc.f32, n: n, group: group, sets: sets, chunks: chunks,
		s: b.grpScores, stride: stride, acc: b.grpAcc, qs: b.grpQ}
	for _, ph := range []struct{ phase, items int }{
		{groupScores, a.KVHeads * sets * chunks},
		{groupSoftmax, rows},
		{groupValues, a.KVHeads * sets * 4},
		{groupFold, a.Heads},
	} {
		b.grp.phase = ph.phase
		b.pool.run(&b.grp, ph.items, 1)
	}
}

// The passes of attentionGrouped.
const (
	groupScores = iota
	groupSoftmax
	groupValues
	groupFold
)

// groupTask is one pass of attentionGrouped. Set gs (= KV head g * sets +
// set) holds query heads g*group + 4*set + i, i < 4 (fewer in a last set:
// its other rows are padding, computed and never read); its score rows and
// slot sums are rows 4*gs + i.
type groupTask struct {
	a                   backend.AttentionArgs
	q, out, k, v        []float32
	n                   int // positions
	group, sets, chunks int
	s                   []float32 // score rows of stride
	stride              int
	acc                 []float32   // slot sums: blocks of 32 x HeadDim
	qs                  [][]float32 // per worker: a set's four query rows
	phase               int
}

func (gt *groupTask) do(w, lo, hi int) {
	a := gt.a
	D, kvDim := a.HeadDim, a.KVHeads*a.HeadDim
	for it := lo; it < hi; it++ {
		switch gt.phase {
		case groupScores:
			gs, c := it/gt.chunks, it%gt.chunks
			g, set := gs/gt.sets, gs%gt.sets
			h0 := g*gt.group + 4*set
			heads := min(4, gt.group-4*set)
			qs := gt.qs[w][:4*D]
			for i := range 4 {
				copy(qs[i*D:(i+1)*D], gt.q[(h0+min(i, heads-1))*D:][:D])
			}
			j0 := c * groupScoreChunk
			j1 := min(gt.n, j0+groupScoreChunk)
			_ = gt.k[(j1-1)*kvDim+g*D+D-1]
			_ = gt.s[(4*gs+3)*gt.stride+j1-1]
			scores4ZMM(&gt.k[j0*kvDim+g*D], kvDim, &qs[0], D, D, j1-j0, a.Scale, &gt.s[4*gs*gt.stride+j0], gt.stride)
		case groupSoftmax:
			softmaxGGML(gt.s[it*gt.stride:][:(gt.n+7)&^7], gt.n)
		case groupValues:
			gs, r := it/4, it%4
			g := gs / gt.sets
			_ = gt.v[(gt.n-1)*kvDim+g*D+D-1]
			blk := vecDotSlots * D
			_ = gt.acc[(4*gs+4)*blk-1]
			axpy4ZMM(&gt.s[4*gs*gt.stride], gt.stride, &gt.v[g*D], kvDim, D, gt.n, &gt.acc[4*gs*blk], blk, vecDotSlots, 8*r, 8*r+8)
		case groupFold:
			g, k := it/gt.group, it%gt.group
			row := 4*(g*gt.sets+k/4) + k%4
			foldVecDotAVX2(&gt.out[it*D], &gt.acc[row*vecDotSlots*D], D)
		}
	}
}
