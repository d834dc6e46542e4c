package cpu

import "gpurun/runtime/backend"

// Add: dst[i] = a[i] + b[i] for n elements.
func (b *Backend) Add(dst, x, y backend.Buffer, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("add", n, []string{"dst", "a", "b"}, dst, x, y)) {
		return
	}
	ds, xs, ys := f32s(dst)[:n], f32s(x)[:n], f32s(y)[:n]
	for i := range ds {
		ds[i] = xs[i] + ys[i]
	}
}
