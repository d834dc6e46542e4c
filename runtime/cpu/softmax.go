package cpu

import (
	"math"

	"gpurun/runtime/backend"
)

// Softmax in place over each of rows rows of n elements.
func (b *Backend) Softmax(x backend.Buffer, rows, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("softmax", rows*n, []string{"x"}, x)) {
		return
	}
	b.softmax = softmaxTask{x: f32s(x), n: n}
	b.pool.run(&b.softmax, rows, 1)
}

type softmaxTask struct {
	x []float32
	n int
}

func (s *softmaxTask) do(_, lo, hi int) {
	for r := lo; r < hi; r++ {
		softmaxRow(s.x[r*s.n : (r+1)*s.n])
	}
}

// softmaxRow normalises x in place: exp(x - max) / sum, the sum in float64.
func softmaxRow(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}
