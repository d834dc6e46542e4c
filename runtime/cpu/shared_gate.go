package cpu

import "gpurun/runtime/backend"

// SharedGate: dst[t, :n] = y[t, :n] * (silu(g[t]) / g[t]), as llama.cpp's
// qwen2moe graph scales its shared expert: ggml_silu of the one gate value
// per token (ggml_silu_f32, x / (1 + expf(-x)) with the C library's expf:
// a lone value takes no vector code), ggml_div by the gate, ggml_mul.
//
// Shapes: y and dst [T, n], g [T].
func (b *Backend) SharedGate(dst, y, g backend.Buffer, T, n int) {
	if b.err != nil || b.fail(backend.CheckSharedGate(dst, y, g, T, n)) {
		return
	}
	d, ys, gs := f32s(dst), f32s(y), f32s(g)
	for t := 0; t < T; t++ {
		x := gs[t]
		silu := x / (1 + libmExpf(-x))
		s := silu / x
		out, in := d[t*n:(t+1)*n], ys[t*n:(t+1)*n]
		for i := range out {
			out[i] = in[i] * s
		}
	}
}
