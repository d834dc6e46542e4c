package cpu

import "gpurun/runtime/backend"

// Scale: dst[i] = x[i] * s, one rounded product each, as ggml_vec_scale_f32
// (ggml_scale with no bias): Gemma's embedding scale and query scale.
func (b *Backend) Scale(dst, x backend.Buffer, s float32, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("scale", n, []string{"dst", "x"}, dst, x)) {
		return
	}
	d, xs := f32s(dst)[:n], f32s(x)[:n]
	for i, v := range xs {
		d[i] = v * s
	}
}
