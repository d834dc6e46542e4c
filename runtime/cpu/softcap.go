package cpu

import "gpurun/runtime/backend"

// Softcap: dst[i] = tanh(x[i] * (1/c)) * c, as llama.cpp's Gemma 2 graph
// computes its final logit soft-capping (ggml_scale, ggml_tanh with the C
// library's tanhf — see tanhf — and ggml_scale), each step rounded.
func (b *Backend) Softcap(dst, x backend.Buffer, c float32, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("softcap", n, []string{"dst", "x"}, dst, x)) {
		return
	}
	if !(c > 0) {
		b.fail(backend.Shapef("softcap", "cap %g is not positive", c))
		return
	}
	d, xs := f32s(dst)[:n], f32s(x)[:n]
	inv := 1 / c
	for i, v := range xs {
		d[i] = softcap(v, inv, c)
	}
}

// softcap is one capped value: tanhf(v * inv) * c.
func softcap(v, inv, c float32) float32 {
	return float32(tanhf(float32(v*inv)) * c)
}
