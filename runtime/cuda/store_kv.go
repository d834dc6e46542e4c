package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// StoreKV copies k[T, kvDim] and v[T, kvDim] into rows [pos, pos+T) of the
// caches kc, vc [CacheLen, kvDim] (F32 or F16).
// Kernels store_kv_f32 / store_kv_f16 (kernels/store_kv.cu): 1-D grid-stride,
// pos a step value in device memory.
func (b *Backend) StoreKV(kc, vc, k, v backend.Buffer, pos, T, kvDim int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckStoreKV(kc, vc, k, v, pos, T, kvDim); err != nil {
		b.fail(err)
		return
	}
	kcb, vcb, kb, vb := b.asBuf("store_kv", "K cache", kc), b.asBuf("store_kv", "V cache", vc), b.asBuf("store_kv", "k", k), b.asBuf("store_kv", "v", v)
	if kcb == nil || vcb == nil || kb == nil || vb == nil {
		return
	}
	kernel := "store_kv_f32"
	if kcb.dt == backend.F16 {
		kernel = "store_kv_f16"
	}
	n := T * kvDim
	bs := b.blockSize(kernel, 256)
	b.launch("store_kv", func() string { return fmt.Sprintf("pos=%d T=%d kvDim=%d", pos, T, kvDim) }, kernel, dim(gridFor(n, bs), 1, 1), dim(bs, 1, 1), 0,
		kcb.dev(), vcb.dev(), kb.dev(), vb.dev(), b.stepScalar("store_kv", int32(pos)), kvDim, n)
}
