package cpu

import (
	"math"

	"gpurun/runtime/backend"
)

// GELU with the tanh approximation ggml uses:
// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
func (b *Backend) GELU(dst, x backend.Buffer, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("gelu", n, []string{"dst", "x"}, dst, x)) {
		return
	}
	ds, xs := f32s(dst)[:n], f32s(x)[:n]
	for i, v := range xs {
		ds[i] = gelu(v)
	}
}

const sqrt2OverPi = 0.79788456080286535587989211986876

func gelu(x float32) float32 {
	return 0.5 * x * (1 + float32(math.Tanh(float64(sqrt2OverPi*x*(1+0.044715*x*x)))))
}
