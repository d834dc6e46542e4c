package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// Softmax in place over each of rows rows of n elements.
// Kernel softmax_f32 (kernels/softmax.cu): grid = rows, one block per row.
func (b *Backend) Softmax(x backend.Buffer, rows, n int) {
	if b.err != nil {
		return
	}
	if rows < 1 || n < 1 {
		b.fail(backend.Shapef("softmax", "rows %d, n %d", rows, n))
		return
	}
	if err := backend.CheckElementwise("softmax", rows*n, []string{"x"}, x); err != nil {
		b.fail(err)
		return
	}
	xb := b.asBuf("softmax", "x", x)
	if xb == nil {
		return
	}
	bs := b.blockSize("softmax_f32", min(1024, max(32, ceilDiv(n, 8*32)*32)))
	b.launch("softmax", func() string { return fmt.Sprintf("rows=%d n=%d", rows, n) }, "softmax_f32", dim(rows, 1, 1), dim(bs, 1, 1), 0, xb.dev(), n)
}
