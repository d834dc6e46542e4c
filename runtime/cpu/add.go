package cpu

import "gpurun/runtime/backend"

// Add: dst[i] = a[i] + b[i] for n elements, split among the workers.
func (b *Backend) Add(dst, x, y backend.Buffer, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("add", n, []string{"dst", "a", "b"}, dst, x, y)) {
		return
	}
	b.add = addTask{dst: f32s(dst)[:n], x: f32s(x)[:n], y: f32s(y)[:n]}
	b.pool.run(&b.add, n, max(16<<10, b.pool.grainFor(n)))
}

// addTask adds elements [lo, hi).
type addTask struct{ dst, x, y []float32 }

func (t *addTask) do(_, lo, hi int) { addF32(t.dst[lo:hi], t.x[lo:hi], t.y[lo:hi]) }

// addF32: dst[i] = x[i] + y[i] (the slices have one length).
func addF32(dst, x, y []float32) {
	if n := len(dst) &^ 7; useAsm && n > 0 {
		addAVX2(&dst[0], &x[0], &y[0], n)
		dst, x, y = dst[n:], x[n:], y[n:]
	}
	for i := range dst {
		dst[i] = x[i] + y[i]
	}
}
