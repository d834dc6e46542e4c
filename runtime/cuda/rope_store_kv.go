package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

var ropeStoreKVKernels = map[backend.DType]string{backend.F32: "rope_store_kv_f32", backend.F16: "rope_store_kv_f16"}

// RoPEStoreKV rotates q[T, Heads, HeadDim] and k[T, KVHeads, HeadDim] in
// place and stores k and v into cache rows [pos[0], pos[0]+T) - a.Offset of kc, vc:
// RoPE, RoPE and StoreKV in one launch. Kernels rope_store_kv_f32 /
// rope_store_kv_f16 (kernels/rope_store_kv.cu, by the cache's element type):
// grid (T, Heads + KVHeads).
func (b *Backend) RoPEStoreKV(q, k, v, kc, vc backend.Buffer, pos []int32, a backend.RoPEStoreKVArgs) {
	if b.err != nil {
		return
	}
	if err := backend.CheckRoPEStoreKV(q, k, v, kc, vc, pos, a); err != nil {
		b.fail(err)
		return
	}
	const op = "rope_store_kv"
	qb, kb, vb := b.asBuf(op, "q", q), b.asBuf(op, "k", k), b.asBuf(op, "v", v)
	kcb, vcb := b.asBuf(op, "K cache", kc), b.asBuf(op, "V cache", vc)
	if qb == nil || kb == nil || vb == nil || kcb == nil || vcb == nil {
		return
	}
	neox, thetaScale, scale, err := ropeParams(op, a.RoPE)
	if err != nil {
		b.fail(err)
		return
	}
	kernel := ropeStoreKVKernels[kcb.dt]
	factors := b.ropeFactors(op, a.RoPE)
	bs := b.blockSize(kernel, min(1024, max(32, ceilDiv(a.HeadDim, 32)*32)))
	b.launch(op, func() string {
		return fmt.Sprintf("%s pos=%d T=%d heads=%d/%d headDim=%d", kcb.dt, pos[0], len(pos), a.Heads, a.KVHeads, a.HeadDim)
	},
		kernel, dim(len(pos), a.Heads+a.KVHeads, 1), dim(bs, 1, 1), 0,
		qb.dev(), kb.dev(), vb.dev(), kcb.dev(), vcb.dev(), b.stepScalar(op, pos[0]), a.Offset, a.Heads, a.HeadDim, a.RoPE.Dims, thetaScale, scale, neox, factors, ropeMscale(a.RoPE))
}
