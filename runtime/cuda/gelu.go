package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// GELU (tanh approximation): dst[i] = gelu(x[i]) for n elements.
// Kernel gelu_f32 (kernels/gelu.cu): 1-D grid-stride.
func (b *Backend) GELU(dst, x backend.Buffer, n int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckElementwise("gelu", n, []string{"dst", "x"}, dst, x); err != nil {
		b.fail(err)
		return
	}
	d, xb := b.asBuf("gelu", "dst", dst), b.asBuf("gelu", "x", x)
	if d == nil || xb == nil {
		return
	}
	bs := b.blockSize("gelu_f32", 256)
	b.launch("gelu", func() string { return fmt.Sprintf("n=%d", n) }, "gelu_f32", dim(gridFor(n, bs), 1, 1), dim(bs, 1, 1), 0, d.dev(), xb.dev(), n)
}
