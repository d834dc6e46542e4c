package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// Softcap: dst[i] = tanh(x[i] * (1/c)) * c for n elements. Kernel
// softcap_f32 (kernels/softcap.cu): 1-D grid-stride.
func (b *Backend) Softcap(dst, x backend.Buffer, c float32, n int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckElementwise("softcap", n, []string{"dst", "x"}, dst, x); err != nil {
		b.fail(err)
		return
	}
	if !(c > 0) {
		b.fail(backend.Shapef("softcap", "cap %g is not positive", c))
		return
	}
	d, xb := b.asBuf("softcap", "dst", dst), b.asBuf("softcap", "x", x)
	if d == nil || xb == nil {
		return
	}
	bs := b.blockSize("softcap_f32", 256)
	b.launch("softcap", func() string { return fmt.Sprintf("n=%d", n) }, "softcap_f32", dim(gridFor(n, bs), 1, 1), dim(bs, 1, 1), 0,
		d.dev(), xb.dev(), c, 1/c, n)
}
