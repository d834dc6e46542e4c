package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// MoESum: dst[t, :n] = Σ_j y[t*k+j, :n] * wts[t*k+j] (see
// backend.Experts). Kernel moe_sum_f32 (kernels/moe_sum.cu): 1-D
// grid-stride over T*n.
func (b *Backend) MoESum(dst, y, wts backend.Buffer, T, k, n int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckMoESum(dst, y, wts, T, k, n); err != nil {
		b.fail(err)
		return
	}
	d, yb, wb := b.asBuf("moe_sum", "dst", dst), b.asBuf("moe_sum", "y", y), b.asBuf("moe_sum", "wts", wts)
	if d == nil || yb == nil || wb == nil {
		return
	}
	bs := b.blockSize("moe_sum_f32", 256)
	b.launch("moe_sum", func() string { return fmt.Sprintf("T=%d k=%d n=%d", T, k, n) }, "moe_sum_f32",
		dim(gridFor(T*n, bs), 1, 1), dim(bs, 1, 1), 0, d.dev(), yb.dev(), wb.dev(), T, k, n)
}
