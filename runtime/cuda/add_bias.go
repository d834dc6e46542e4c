package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// AddBias: x[t, :] += bias for T rows of n = bias.Cols().
// Kernel add_bias_f32 (kernels/add_bias.cu): 1-D grid-stride over T*n.
func (b *Backend) AddBias(x backend.Buffer, bias backend.Weight, T int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckAddBias(x, bias, T); err != nil {
		b.fail(err)
		return
	}
	xb, w := b.asBuf("add_bias", "x", x), b.asWeight("add_bias", bias)
	if xb == nil || w == nil {
		return
	}
	n := w.cols
	bs := b.blockSize("add_bias_f32", 256)
	b.launch("add_bias", func() string { return fmt.Sprintf("T=%d n=%d", T, n) }, "add_bias_f32", dim(gridFor(T*n, bs), 1, 1), dim(bs, 1, 1), 0,
		xb.dev(), w.f32(), n, T*n)
}
