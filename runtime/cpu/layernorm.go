package cpu

import (
	"math"

	"gpurun/runtime/backend"
)

// LayerNorm: dst[t, :] = (x[t, :] - mean) / sqrt(var + eps) * w + b, for T
// rows of n = w.Cols(); b may be nil. Mean and variance in float64, as ggml.
func (b *Backend) LayerNorm(dst, x backend.Buffer, w, bias backend.Weight, T int, eps float32) {
	if b.err != nil || b.fail(backend.CheckNorm("layernorm", dst, x, w, bias, T)) {
		return
	}
	var bv []float32
	if bias != nil {
		bv = weight(bias).f32
	}
	b.norm = normTask{dst: f32s(dst), x: f32s(x), w: weight(w).f32, b: bv, eps: eps, layer: true}
	b.pool.run(&b.norm, T, normGrain(w.Cols()))
}

// layernormRow normalises one row: dst = (x - mean) / sqrt(var + eps) * w
// (+ b when b is not nil).
func layernormRow(out, row, wv, bv []float32, eps float32) {
	n := len(row)
	var sum float64
	for _, v := range row {
		sum += float64(v)
	}
	mean := float32(sum / float64(n))
	var sq float64
	for i, v := range row {
		d := v - mean
		out[i] = d
		sq += float64(d * d)
	}
	scale := 1 / float32(math.Sqrt(float64(float32(sq/float64(n))+eps)))
	for i := range out {
		out[i] = (out[i] * scale) * wv[i]
		if bv != nil {
			out[i] += bv[i]
		}
	}
}
