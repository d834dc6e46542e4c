package cpu

import "gpurun/runtime/backend"

// SwiGLU: dst[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + e^-x), as
// ggml_vec_swiglu_f32 computes it on AVX2: ggml_v_silu with ggml's own
// vector expf (see expf in ggmlmath.go), then one multiply by up. (ggml runs
// a trailing n%8 elements through libm's expf instead; gpurun uses the
// vector formula for them too, which can differ in the last ulp for sizes
// that are not a multiple of 8.)
func (b *Backend) SwiGLU(dst, gate, up backend.Buffer, n int) {
	if b.err != nil || b.fail(backend.CheckElementwise("swiglu", n, []string{"dst", "gate", "up"}, dst, gate, up)) {
		return
	}
	ds, gs, us := f32s(dst)[:n], f32s(gate)[:n], f32s(up)[:n]
	i := 0
	if useAsm && n >= 8 {
		i = n &^ 7
		swigluAVX2(&ds[0], &gs[0], &us[0], i)
	}
	for ; i < n; i++ {
		ds[i] = silu(gs[i]) * us[i]
	}
}
