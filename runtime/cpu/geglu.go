package cpu

import (
	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// GeGLU: dst[i] = gelu(gate[i]) * up[i], as ggml_vec_geglu_f32 computes it
// (GGML_GELU_FP16): a gate at or below -10 gives 0, at or above 10 gives
// gate * up, and any other is looked up in GELU's float16 table, then
// multiplied by up. The elements are split among the workers.
func (b *Backend) GeGLU(dst, gate, up backend.Buffer, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("geglu", n, []string{"dst", "gate", "up"}, dst, gate, up)) {
		return
	}
	b.geglu = gegluTask{dst: f32s(dst)[:n], gate: f32s(gate)[:n], up: f32s(up)[:n], tab: b.geluTable()}
	b.pool.run(&b.geglu, n, max(4096, b.pool.grainFor(n)))
}

type gegluTask struct {
	dst, gate, up, tab []float32
}

func (g *gegluTask) do(_, lo, hi int) {
	tab := g.tab[:1<<16]
	up, dst := g.up[lo:hi], g.dst[lo:hi]
	for i, x := range g.gate[lo:hi] {
		switch {
		case x <= -10:
			dst[i] = 0
		case x < 10:
			dst[i] = tab[quant.F32ToF16(x)] * up[i]
		default:
			dst[i] = x * up[i]
		}
	}
}
