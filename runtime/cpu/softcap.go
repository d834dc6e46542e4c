package cpu

import "gpurun/runtime/backend"

// Softcap: dst[i] = tanh(x[i] * (1/c)) * c, as llama.cpp's Gemma 2 graph
// computes its final logit soft-capping (ggml_scale, ggml_tanh with the C
// library's tanhf — see tanhf — and ggml_scale), each step rounded. The
// elements are split among the workers (a vocabulary's logits: 256,000 of
// Gemma 2's, ~15 ns each).
func (b *Backend) Softcap(dst, x backend.Buffer, c float32, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("softcap", n, []string{"dst", "x"}, dst, x)) {
		return
	}
	if !(c > 0) {
		b.fail(backend.Shapef("softcap", "cap %g is not positive", c))
		return
	}
	b.softcap = softcapTask{dst: f32s(dst)[:n], x: f32s(x)[:n], c: c, inv: 1 / c}
	b.pool.run(&b.softcap, n, max(4096, b.pool.grainFor(n)))
}

type softcapTask struct {
	dst, x []float32
	c, inv float32
}

func (t *softcapTask) do(_, lo, hi int) {
	dst := t.dst[lo:hi]
	for i, v := range t.x[lo:hi] {
		dst[i] = softcap(v, t.inv, t.c)
	}
}

// softcap is one capped value: tanhf(v * inv) * c.
func softcap(v, inv, c float32) float32 {
	return float32(tanhf(float32(v*inv)) * c)
}
