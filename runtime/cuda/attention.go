package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// attentionKernels: kernel name by cache type and head-dim bound.
var attentionKernels = map[backend.DType]map[int]string{
	backend.F32: {32: "attention_f32_d32", 64: "attention_f32_d64", 128: "attention_f32_d128", 256: "attention_f32_d256"},
	backend.F16: {32: "attention_f16_d32", 64: "attention_f16_d64", 128: "attention_f16_d128", 256: "attention_f16_d256"},
}

// Attention: causal grouped-query attention of q[T, Heads, D] over the
// cache rows [a.First(t), Pos+t] of kc, vc [CacheLen, KVHeads*D] (F32 or
// F16) into dst[T, Heads, D]. With a sliding window, the blocks start at
// their first row's First: a decode step reads Window rows, not Pos+1. The
// kernel scales the queries as it loads them, so a soft cap reaches it as
// Scale*Softcap (the same function of q·k).
//
// Kernels (kernels/attention.cu): attention_<f32|f16>_d<32|64|128|256>, a
// flash-attention tile kernel (online softmax over K/V tiles in shared
// memory; one block serves the query heads sharing a KV head), grid
// (KVHeads * head chunks, row tiles, splits) x 128 threads. When that grid
// is small — decode: T = 1 — the keys are split into chunks of
// Options.AttnSplitKeys rows processed by separate blocks (split-K, "flash
// decoding"), and the last block of each group to finish merges the partial
// results (blocks counted in device memory: Backend.counters).
func (b *Backend) Attention(dst, q, kc, vc backend.Buffer, a backend.AttentionArgs) {
	if b.err != nil {
		return
	}
	if err := backend.CheckAttention(dst, q, kc, vc, a); err != nil {
		b.fail(err)
		return
	}
	d, qb, kb, vb := b.asBuf("attention", "dst", dst), b.asBuf("attention", "q", q), b.asBuf("attention", "K cache", kc), b.asBuf("attention", "V cache", vc)
	if d == nil || qb == nil || kb == nil || vb == nil {
		return
	}
	D := a.HeadDim
	var dmax, qvw int
	switch {
	case D <= 32:
		dmax, qvw = 32, 4
	case D <= 64:
		dmax, qvw = 64, 4
	case D <= 128:
		dmax, qvw = 128, 4
	case D <= 256:
		dmax, qvw = 256, 2
	default:
		b.fail(backend.Shapef("attention", "head dim %d > 256 is not supported by the CUDA kernels", D))
		return
	}
	const warps = 4
	G := a.Heads / a.KVHeads
	gb := min(G, warps*qvw)    // query heads per block
	br := max(1, warps*qvw/gb) // query rows per block
	hchunks := ceilDiv(G, gb)
	rowTiles := ceilDiv(a.T, br)
	splitKeys := b.opts.AttnSplitKeys
	keys := a.Pos + a.T - a.First(0) // the most keys one row tile spans
	nsplit := 1
	if a.KVHeads*hchunks*rowTiles < 128 {
		nsplit = ceilDiv(keys, splitKeys)
	}
	if rowTiles > 65535 || nsplit > 65535 {
		b.fail(backend.Shapef("attention", "T = %d, %d keys: grid too large", a.T, keys))
		return
	}
	shape := func() string {
		return fmt.Sprintf("%s T=%d pos=%d heads=%d/%d D=%d window=%d splits=%d", kb.dt, a.T, a.Pos, a.Heads, a.KVHeads, D, a.Window, nsplit)
	}
	part, counters := devPtr(0), devPtr(0)
	if nsplit > 1 {
		part = b.scratchBytes("attention", nsplit*a.T*a.Heads*(D+2)*4)
		counters = b.counters("attention", a.KVHeads*hchunks*rowTiles)
	}
	kernel := attentionKernels[kb.dt][dmax]
	b.launch("attention", shape, kernel, dim(a.KVHeads*hchunks, rowTiles, nsplit), dim(32*warps, 1, 1), 0,
		d.dev(), part, counters, qb.dev(), kb.dev(), vb.dev(), a.T, b.stepScalar("attention", int32(a.Pos)),
		a.Heads, a.KVHeads, D, a.Scale, splitKeys, br, gb, a.Window, a.Scale*a.Softcap)
}
