package cpu

import (
	"math"

	"gpurun/runtime/backend"
)

// RoPE rotates, in place, the first r.Dims dims of each head of x[T, heads*headDim];
// row t is at position pos[t].
//
// Angles follow ggml exactly: theta_0 = pos * FreqScale and theta_{i+1} =
// theta_i * FreqBase^(-2/Dims), multiplied in float32, so positions far into
// the context round the way llama.cpp's do.
//   - RoPENormal rotates adjacent pairs (x[2i], x[2i+1]).
//   - RoPENeox rotates (x[i], x[i + Dims/2]).
func (b *Backend) RoPE(x backend.Buffer, pos []int32, heads, headDim int, r backend.RoPE) {
	if b.err != nil || b.fail(backend.CheckRoPE(x, pos, heads, headDim, r)) {
		return
	}
	xs := f32s(x)
	half := r.Dims / 2
	if cap(b.ropeCS) < r.Dims {
		b.ropeCS = make([]float32, r.Dims)
	}
	cs := b.ropeCS[:r.Dims] // cos, sin per pair
	scale := r.FreqScale
	if scale == 0 {
		scale = 1
	}
	thetaScale := float32(math.Pow(float64(r.FreqBase), -2/float64(r.Dims)))
	for t, p := range pos {
		theta := float32(p) * scale
		for i := 0; i < half; i++ {
			cs[2*i] = float32(math.Cos(float64(theta)))
			cs[2*i+1] = float32(math.Sin(float64(theta)))
			theta *= thetaScale
		}
		for h := 0; h < heads; h++ {
			v := xs[(t*heads+h)*headDim:][:headDim]
			for i := 0; i < half; i++ {
				c, s := cs[2*i], cs[2*i+1]
				a, bi := 2*i, 2*i+1
				if r.Mode == backend.RoPENeox {
					a, bi = i, i+half
				}
				x0, x1 := v[a], v[bi]
				v[a] = x0*c - x1*s
				v[bi] = x0*s + x1*c
			}
		}
	}
}
