package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// SharedGate: dst[t, :n] = y[t, :n] * (silu(g[t]) / g[t]) (see
// backend.Experts). Kernel shared_gate_f32 (kernels/shared_gate.cu): 1-D
// grid-stride over T*n.
func (b *Backend) SharedGate(dst, y, g backend.Buffer, T, n int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckSharedGate(dst, y, g, T, n); err != nil {
		b.fail(err)
		return
	}
	d, yb, gb := b.asBuf("shared_gate", "dst", dst), b.asBuf("shared_gate", "y", y), b.asBuf("shared_gate", "g", g)
	if d == nil || yb == nil || gb == nil {
		return
	}
	bs := b.blockSize("shared_gate_f32", 256)
	b.launch("shared_gate", func() string { return fmt.Sprintf("T=%d n=%d", T, n) }, "shared_gate_f32",
		dim(gridFor(T*n, bs), 1, 1), dim(bs, 1, 1), 0, d.dev(), yb.dev(), gb.dev(), T, n)
}
