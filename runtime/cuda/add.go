package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// Add: dst[i] = a[i] + b[i] for n elements (dst may alias a or b).
// Kernel add_f32 (kernels/add.cu): 1-D grid-stride.
func (b *Backend) Add(dst, x, y backend.Buffer, n int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckElementwise("add", n, []string{"dst", "a", "b"}, dst, x, y); err != nil {
		b.fail(err)
		return
	}
	d, a, c := b.asBuf("add", "dst", dst), b.asBuf("add", "a", x), b.asBuf("add", "b", y)
	if d == nil || a == nil || c == nil {
		return
	}
	bs := b.blockSize("add_f32", 256)
	b.launch("add", func() string { return fmt.Sprintf("n=%d", n) }, "add_f32", dim(gridFor(n, bs), 1, 1), dim(bs, 1, 1), 0,
		d.dev(), a.dev(), c.dev(), n)
}
