package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// GeGLU: dst[i] = gelu(gate[i]) * up[i] for n elements, GELU rounded as on
// the CPU. Kernel geglu_f32 (kernels/geglu.cu): 1-D grid-stride.
func (b *Backend) GeGLU(dst, gate, up backend.Buffer, n int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckElementwise("geglu", n, []string{"dst", "gate", "up"}, dst, gate, up); err != nil {
		b.fail(err)
		return
	}
	d, g, u := b.asBuf("geglu", "dst", dst), b.asBuf("geglu", "gate", gate), b.asBuf("geglu", "up", up)
	if d == nil || g == nil || u == nil {
		return
	}
	bs := b.blockSize("geglu_f32", 256)
	b.launch("geglu", func() string { return fmt.Sprintf("n=%d", n) }, "geglu_f32", dim(gridFor(n, bs), 1, 1), dim(bs, 1, 1), 0,
		d.dev(), g.dev(), u.dev(), n)
}
