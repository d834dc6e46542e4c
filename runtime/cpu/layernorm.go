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
	n := w.Cols()
	wv := weight(w).f32
	var bv []float32
	if bias != nil {
		bv = weight(bias).f32
	}
	xs, ds := f32s(x), f32s(dst)
	for t := 0; t < T; t++ {
		row, out := xs[t*n:(t+1)*n], ds[t*n:(t+1)*n]
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
}
