package cpu

import (
	"math"

	"gpurun/runtime/backend"
)

// SwiGLU: dst[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + e^-x).
func (b *Backend) SwiGLU(dst, gate, up backend.Buffer, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("swiglu", n, []string{"dst", "gate", "up"}, dst, gate, up)) {
		return
	}
	ds, gs, us := f32s(dst)[:n], f32s(gate)[:n], f32s(up)[:n]
	for i := range ds {
		ds[i] = silu(gs[i]) * us[i]
	}
}

func silu(x float32) float32 {
	return x / (1 + float32(math.Exp(float64(-x))))
}
