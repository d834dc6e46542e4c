package cpu

import "gpurun/runtime/backend"

// AddBias: x[t, :] += bias for T rows of n = bias.Cols().
func (b *Backend) AddBias(x backend.Buffer, bias backend.Weight, T int) {
	if b.err != nil || b.fail(backend.CheckAddBias(x, bias, T)) {
		return
	}
	b.bias = addBiasTask{x: f32s(x), b: weight(bias).f32}
	b.pool.run(&b.bias, T, normGrain(bias.Cols()))
}

// addBiasTask adds b to rows [lo, hi) of x.
type addBiasTask struct{ x, b []float32 }

func (t *addBiasTask) do(_, lo, hi int) {
	n := len(t.b)
	for r := lo; r < hi; r++ {
		row := t.x[r*n : (r+1)*n]
		addF32(row, row, t.b)
	}
}
