package cpu

import (
	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// StoreKV copies k[T, kvDim] and v[T, kvDim] into cache rows [pos, pos+T)
// of kc and vc, converting to f16 for f16 caches.
func (b *Backend) StoreKV(kc, vc, k, v backend.Buffer, pos, T, kvDim int) {
	if b.err != nil || b.fail(backend.CheckStoreKV(kc, vc, k, v, pos, T, kvDim)) {
		return
	}
	n := T * kvDim
	storeRows(kc.(*Buf), f32s(k)[:n], pos*kvDim)
	storeRows(vc.(*Buf), f32s(v)[:n], pos*kvDim)
}

func storeRows(c *Buf, src []float32, off int) {
	if !c.isF16 {
		copy(c.f32[off:], src)
		return
	}
	dst := c.f16[off : off+len(src)]
	for i, x := range src {
		dst[i] = quant.F32ToF16(x)
	}
}
