package cpu

import "gpurun/runtime/backend"

// AddBias: x[t, :] += bias for T rows of n = bias.Cols().
func (b *Backend) AddBias(x backend.Buffer, bias backend.Weight, T int) {
	if b.err != nil || b.fail(backend.CheckAddBias(x, bias, T)) {
		return
	}
	n := bias.Cols()
	bv := weight(bias).f32
	xs := f32s(x)
	for t := 0; t < T; t++ {
		row := xs[t*n : (t+1)*n]
		for i, v := range bv {
			row[i] += v
		}
	}
}
