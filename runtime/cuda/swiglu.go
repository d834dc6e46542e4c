package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// SwiGLU: dst[i] = silu(gate[i]) * up[i] for n elements.
// Kernel swiglu_f32 (kernels/swiglu.cu): 1-D grid-stride.
func (b *Backend) SwiGLU(dst, gate, up backend.Buffer, n int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckElementwise("swiglu", n, []string{"dst", "gate", "up"}, dst, gate, up); err != nil {
		b.fail(err)
		return
	}
	d, g, u := b.asBuf("swiglu", "dst", dst), b.asBuf("swiglu", "gate", gate), b.asBuf("swiglu", "up", up)
	if d == nil || g == nil || u == nil {
		return
	}
	bs := b.blockSize("swiglu_f32", 256)
	b.launch("swiglu", func() string { return fmt.Sprintf("n=%d", n) }, "swiglu_f32", dim(gridFor(n, bs), 1, 1), dim(bs, 1, 1), 0,
		d.dev(), g.dev(), u.dev(), n)
}
