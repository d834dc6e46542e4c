package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// Scale: dst[i] = x[i] * s for n elements. Kernel scale_f32
// (kernels/scale.cu): 1-D grid-stride.
func (b *Backend) Scale(dst, x backend.Buffer, s float32, n int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckElementwise("scale", n, []string{"dst", "x"}, dst, x); err != nil {
		b.fail(err)
		return
	}
	d, xb := b.asBuf("scale", "dst", dst), b.asBuf("scale", "x", x)
	if d == nil || xb == nil {
		return
	}
	bs := b.blockSize("scale_f32", 256)
	b.launch("scale", func() string { return fmt.Sprintf("n=%d", n) }, "scale_f32", dim(gridFor(n, bs), 1, 1), dim(bs, 1, 1), 0,
		d.dev(), xb.dev(), s, n)
}
