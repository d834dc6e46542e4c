package cuda

import (
	"fmt"
	"math"

	"gpurun/runtime/backend"
)

// RoPE rotates, in place, heads heads of T = len(pos) rows of x[T, heads*headDim].
// Kernels rope_f32 (normal: adjacent pairs) and rope_neox_f32 (pairs half a
// rotation apart), kernels/rope.cu: grid (T, heads). Consecutive positions
// (the usual case) are passed as a scalar; others are uploaded.
func (b *Backend) RoPE(x backend.Buffer, pos []int32, heads, headDim int, r backend.RoPE) {
	if b.err != nil {
		return
	}
	if err := backend.CheckRoPE(x, pos, heads, headDim, r); err != nil {
		b.fail(err)
		return
	}
	xb := b.asBuf("rope", "x", x)
	if xb == nil || len(pos) == 0 || heads < 1 {
		return
	}
	neox, thetaScale, scale, err := ropeParams("rope", r)
	if err != nil {
		b.fail(err)
		return
	}
	kernel := "rope_f32"
	if neox == 1 {
		kernel = "rope_neox_f32"
	}
	posPtr := devPtr(0)
	for i, p := range pos {
		if p != pos[0]+int32(i) {
			posPtr = b.upload("rope", pos)
			break
		}
	}
	factors := b.ropeFactors("rope", r)
	bs := b.blockSize(kernel, min(1024, max(32, ceilDiv(r.Dims/2, 32)*32)))
	b.launch("rope", func() string {
		return fmt.Sprintf("T=%d heads=%d headDim=%d dims=%d", len(pos), heads, headDim, r.Dims)
	}, kernel,
		dim(len(pos), heads, 1), dim(bs, 1, 1), 0,
		xb.dev(), posPtr, int(pos[0]), headDim, r.Dims, thetaScale, scale, factors, ropeMscale(r))
}

// ropeMscale is r's attention factor, 1 when unset.
func ropeMscale(r backend.RoPE) float32 {
	if r.AttnFactor == 0 {
		return 1
	}
	return r.AttnFactor
}

// ropeFactors is the device address of r's frequency factors, or null.
func (b *Backend) ropeFactors(op string, r backend.RoPE) devPtr {
	if r.Factors == nil {
		return 0
	}
	return b.asWeight(op, r.Factors).f32OrNull()
}

// ropeParams gives a RoPE's kernel parameters: neox (0: adjacent pairs, 1:
// pairs half a rotation apart), theta_scale = FreqBase^(-2/Dims) rounded to
// float exactly as runtime/cpu and ggml do, and the frequency scale (1 when
// unset). Shared by rope and rope_store_kv.
func ropeParams(op string, r backend.RoPE) (neox int, thetaScale, freqScale float32, err error) {
	switch r.Mode {
	case backend.RoPENormal:
	case backend.RoPENeox:
		neox = 1
	default:
		return 0, 0, 0, backend.Shapef(op, "unknown RoPE mode %d", r.Mode)
	}
	freqScale = r.FreqScale
	if freqScale == 0 {
		freqScale = 1
	}
	return neox, float32(math.Pow(float64(r.FreqBase), -2/float64(r.Dims))), freqScale, nil
}
