package cpu

import (
	"math"

	"gpurun/runtime/backend"
)

// RMSNorm: dst[t, :] = x[t, :] * (1 / sqrt(mean(x[t, :]^2) + eps)) * w,
// for T rows of n = w.Cols(). The sum of squares is accumulated in float64,
// as ggml does.
func (b *Backend) RMSNorm(dst, x backend.Buffer, w backend.Weight, T int, eps float32) {
	if b.err != nil || b.fail(backend.CheckNorm("rmsnorm", dst, x, w, nil, T)) {
		return
	}
	n := w.Cols()
	wv := weight(w).f32
	xs, ds := f32s(x), f32s(dst)
	for t := 0; t < T; t++ {
		rmsnormRow(ds[t*n:(t+1)*n], xs[t*n:(t+1)*n], wv, eps)
	}
}

// rmsnormRow normalises one row: dst = x * scale * w.
func rmsnormRow(dst, x, w []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		dst[i] = (v * scale) * w[i]
	}
}
