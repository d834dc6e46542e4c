package cpu

import "gpurun/runtime/backend"

// Copy: dst[i] = src[i] for n elements of one dtype (f32, or f16 as stored).
func (b *Backend) Copy(dst, src backend.Buffer, n int) {
	if b.err != nil || b.fail(backend.CheckCopy(dst, src, n)) {
		return
	}
	d, s := dst.(*Buf), src.(*Buf)
	if d.isF16 {
		copy(d.f16[:n], s.f16[:n])
		return
	}
	copy(d.f32[:n], s.f32[:n])
}
