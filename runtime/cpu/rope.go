package cpu

import (
	"math"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// RoPE rotates, in place, the first r.Dims dims of each head of x[T, heads*headDim];
// row t is at position pos[t].
//   - RoPENormal rotates adjacent pairs (x[2i], x[2i+1]).
//   - RoPENeox rotates (x[i], x[i + Dims/2]).
//
// The arithmetic is ggml_compute_forward_rope_flt's, bit for bit (see
// ggmlmath.go for why): theta_0 = float32(pos), theta_{i+1} = theta_i *
// theta_scale in float32 with theta_scale = powf(FreqBase, -2/Dims); the
// angle is FreqScale * theta_i (with Factors, FreqScale * (theta_i /
// factor_i), as ggml_rope_cache_init divides); cos and sin come from glibc's sincosf
// (sincosf in ggmlmath.go), each times AttnFactor when set (ggml's mscale). The rotation is what GCC made of
//
//	x0' = x0*cos - x1*sin   x1' = x0*sin + x1*cos
//
// in llama.cpp's x86 build: x1*sin and x1*cos rounded, then each output one
// fused multiply-add with x0 (vfmaddsub231ps in the vectorised loop over
// adjacent pairs, vfmsub231ss/vfmadd132ss in the NeoX loop). GCC's loop
// takes four adjacent pairs at a time and its remainder code differs (the
// last odd pair unfused); that only matters for a rotary dim that is not a
// multiple of 8, which no supported model has.
func (b *Backend) RoPE(x backend.Buffer, pos []int32, heads, headDim int, r backend.RoPE) {
	if b.err != nil || b.fail(backend.CheckRoPE(x, pos, heads, headDim, r)) {
		return
	}
	for w := range b.ropeCS {
		if cap(b.ropeCS[w]) < r.Dims {
			b.ropeCS[w] = make([]float32, r.Dims)
		}
	}
	scale := r.FreqScale
	if scale == 0 {
		scale = 1
	}
	var factors []float32
	if r.Factors != nil {
		factors = weight(r.Factors).f32
	}
	mscale := r.AttnFactor
	if mscale == 0 {
		mscale = 1
	}
	b.rope = ropeTask{x: f32s(x), pos: pos, heads: heads, headDim: headDim, r: r, scale: scale, mscale: mscale,
		thetaScale: powf(r.FreqBase, -2/float32(r.Dims)), factors: factors, cs: b.ropeCS}
	b.pool.run(&b.rope, len(pos), normGrain(heads*headDim))
}

// ropeTask rotates rows [lo, hi); each worker keeps its cos and sin in
// cs[w].
type ropeTask struct {
	x                 []float32
	pos               []int32
	heads, headDim    int
	r                 backend.RoPE
	scale, thetaScale float32
	mscale            float32   // times cos and sin
	factors           []float32 // nil: none
	cs                [][]float32
}

func (rt *ropeTask) do(w, lo, hi int) {
	r := rt.r
	half := r.Dims / 2
	cs := rt.cs[w][:r.Dims] // cos, sin per pair
	for t := lo; t < hi; t++ {
		theta := float32(rt.pos[t])
		for i := 0; i < half; i++ {
			if rt.factors != nil {
				cs[2*i+1], cs[2*i] = sincosf(rt.scale * (theta / rt.factors[i]))
			} else {
				cs[2*i+1], cs[2*i] = sincosf(rt.scale * theta)
			}
			cs[2*i], cs[2*i+1] = cs[2*i]*rt.mscale, cs[2*i+1]*rt.mscale
			theta *= rt.thetaScale
		}
		for h := 0; h < rt.heads; h++ {
			v := rt.x[(t*rt.heads+h)*rt.headDim:][:rt.headDim]
			for i := 0; i < half; i++ {
				c, s := cs[2*i], cs[2*i+1]
				a, bi := 2*i, 2*i+1
				if r.Mode == backend.RoPENeox {
					a, bi = i, i+half
				}
				x0, x1 := v[a], v[bi]
				v[a] = quant.FMA32(x0, c, -(x1 * s))
				v[bi] = quant.FMA32(x0, s, x1*c)
			}
		}
	}
}

// powf stands in for libm's powf, which ggml uses once per RoPE call for
// theta_scale: the float32 rounding of the float64 power. glibc's powf is
// not always correctly rounded, but for theta_scale with the usual bases
// (8000 to 10^7) and rotary dims (32 to 256) the two agree (TestGlibcPowf).
func powf(x, y float32) float32 {
	return float32(math.Pow(float64(x), float64(y)))
}
