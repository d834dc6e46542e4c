package cpu

import "gpurun/runtime/backend"

// MoESum: dst[t, :n] = Σ_j y[t*k+j, :n] * wts[t*k+j], as llama.cpp's MoE
// graph computes it: ggml_mul of each expert's output by its weight (one
// float32 rounding), then ggml_add of the k weighted rows left to right.
//
// Shapes: y [T*k, n], wts [T*k], dst [T, n].
func (b *Backend) MoESum(dst, y, wts backend.Buffer, T, k, n int) {
	if b.err != nil || b.fail(backend.CheckMoESum(dst, y, wts, T, k, n)) {
		return
	}
	d, ys, w := f32s(dst), f32s(y), f32s(wts)
	for t := 0; t < T; t++ {
		out := d[t*n : (t+1)*n]
		w0, y0 := w[t*k], ys[t*k*n:]
		for i := range out {
			out[i] = y0[i] * w0
		}
		for j := 1; j < k; j++ {
			wj, yj := w[t*k+j], ys[(t*k+j)*n:]
			for i := range out {
				out[i] += float32(yj[i] * wj) // the product rounded, never fused
			}
		}
	}
}
