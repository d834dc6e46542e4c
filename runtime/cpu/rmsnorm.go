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
	b.norm = normTask{dst: f32s(dst), x: f32s(x), w: weight(w).f32, eps: eps}
	b.pool.run(&b.norm, T, normGrain(w.Cols()))
}

// normTask normalises rows [lo, hi) of x into dst: RMSNorm, or LayerNorm
// when layer is set (with the bias b when it is not nil). Rows are
// independent, so the workers split them; each row's arithmetic is the same
// whoever runs it.
type normTask struct {
	dst, x, w, b []float32
	eps          float32
	layer        bool
}

func (t *normTask) do(_, lo, hi int) {
	n := len(t.w)
	for r := lo; r < hi; r++ {
		dst, x := t.dst[r*n:(r+1)*n], t.x[r*n:(r+1)*n]
		if t.layer {
			layernormRow(dst, x, t.w, t.b, t.eps)
		} else {
			rmsnormRow(dst, x, t.w, t.eps)
		}
	}
}

// normGrain gives each range about 16K elements (some microseconds of
// work), so that one or a few rows (decode) stay on the calling goroutine.
func normGrain(n int) int {
	return max(1, (16<<10)/max(n, 1))
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
