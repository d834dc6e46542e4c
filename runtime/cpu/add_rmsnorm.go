package cpu

import "gpurun/runtime/backend"

// AddRMSNorm is the fused residual add + norm: x += r, then
// dst = RMSNorm(x) * w, row by row (T rows of n = w.Cols()).
func (b *Backend) AddRMSNorm(dst, x, r backend.Buffer, w backend.Weight, T int, eps float32) {
	if b.err != nil || b.fail(backend.CheckNorm("add_rmsnorm", dst, x, w, nil, T)) ||
		b.fail(backend.CheckElementwise("add_rmsnorm", T*w.Cols(), []string{"r"}, r)) {
		return
	}
	n := w.Cols()
	wv := weight(w).f32
	xs, rs, ds := f32s(x), f32s(r), f32s(dst)
	for t := 0; t < T; t++ {
		row := xs[t*n : (t+1)*n]
		for i, v := range rs[t*n : (t+1)*n] {
			row[i] += v
		}
		rmsnormRow(ds[t*n:(t+1)*n], row, wv, eps)
	}
}
