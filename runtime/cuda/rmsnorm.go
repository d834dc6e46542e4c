package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// normBlock is the block size for a row of n elements: enough threads for
// ~4 elements each, a multiple of 32, at most 1024.
func (b *Backend) normBlock(kernel string, n int) int {
	return b.blockSize(kernel, min(1024, max(32, ceilDiv(n, 4*32)*32)))
}

// RMSNorm: dst[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * w, T rows of
// n = w.Cols(). Kernel rmsnorm_f32 (kernels/rmsnorm.cu): one block per row.
func (b *Backend) RMSNorm(dst, x backend.Buffer, w backend.Weight, T int, eps float32) {
	if b.err != nil {
		return
	}
	if err := backend.CheckNorm("rmsnorm", dst, x, w, nil, T); err != nil {
		b.fail(err)
		return
	}
	d, xb, wb := b.asBuf("rmsnorm", "dst", dst), b.asBuf("rmsnorm", "x", x), b.asWeight("rmsnorm", w)
	if d == nil || xb == nil || wb == nil || T == 0 {
		return
	}
	n := wb.cols
	b.launch("rmsnorm", func() string { return fmt.Sprintf("T=%d n=%d", T, n) }, "rmsnorm_f32", dim(T, 1, 1), dim(b.normBlock("rmsnorm_f32", n), 1, 1), 0,
		d.dev(), xb.dev(), wb.f32(), n, eps)
}
