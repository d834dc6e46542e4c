package cpu

import "gpurun/runtime/backend"

// Argmax returns the index of the first maximum of x[0:n].
func (b *Backend) Argmax(x backend.Buffer, n int) (int32, error) {
	if b.err != nil {
		return 0, b.err
	}
	if n < 1 {
		return 0, backend.Shapef("argmax", "n = %d", n)
	}
	if err := backend.CheckElementwise("argmax", n, []string{"x"}, x); err != nil {
		return 0, err
	}
	return argmax(f32s(x)[:n]), nil
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}
