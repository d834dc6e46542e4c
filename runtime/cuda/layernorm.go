package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// LayerNorm: dst[t, :] = (x[t, :] - mean) / sqrt(var + eps) * w + bias
// (bias may be nil). Kernel layernorm_f32 (kernels/layernorm.cu): one block per row.
func (b *Backend) LayerNorm(dst, x backend.Buffer, w, bias backend.Weight, T int, eps float32) {
	if b.err != nil {
		return
	}
	if err := backend.CheckNorm("layernorm", dst, x, w, bias, T); err != nil {
		b.fail(err)
		return
	}
	d, xb, wb := b.asBuf("layernorm", "dst", dst), b.asBuf("layernorm", "x", x), b.asWeight("layernorm", w)
	if d == nil || xb == nil || wb == nil || T == 0 {
		return
	}
	bias_ := devPtr(0)
	if bias != nil {
		bw := b.asWeight("layernorm", bias)
		if bw == nil {
			return
		}
		bias_ = bw.f32()
	}
	n := wb.cols
	b.launch("layernorm", func() string { return fmt.Sprintf("T=%d n=%d", T, n) }, "layernorm_f32", dim(T, 1, 1), dim(b.normBlock("layernorm_f32", n), 1, 1), 0,
		d.dev(), xb.dev(), wb.f32(), bias_, n, eps)
}
