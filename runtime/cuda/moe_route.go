package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// MoERoute: each token's a.Used experts and their weights from its router
// logits (see backend.Experts). Kernel moe_route_f32
// (kernels/moe_route.cu): grid = T, one warp per token, the row's
// probabilities in E floats of dynamic shared memory; a.Bias (ERNIE 4.5's
// selection bias) by its device address, or null.
func (b *Backend) MoERoute(ids, wts, logits backend.Buffer, a backend.MoERouteArgs) {
	if b.err != nil {
		return
	}
	if err := backend.CheckMoERoute(ids, wts, logits, a); err != nil {
		b.fail(err)
		return
	}
	ib, wb, lb := b.asBuf("moe_route", "ids", ids), b.asBuf("moe_route", "wts", wts), b.asBuf("moe_route", "logits", logits)
	if ib == nil || wb == nil || lb == nil {
		return
	}
	norm := 0
	if a.Norm {
		norm = 1
	}
	var bias devPtr
	if a.Bias != nil {
		bw := b.asWeight("moe_route", a.Bias)
		if bw == nil {
			return
		}
		bias = bw.f32()
	}
	b.launch("moe_route", func() string { return fmt.Sprintf("T=%d experts=%d k=%d", a.T, a.Experts, a.Used) },
		"moe_route_f32", dim(a.T, 1, 1), dim(32, 1, 1), 4*a.Experts, ib.dev(), wb.dev(), lb.dev(), bias, a.Experts, a.Used, norm, a.Scale)
}
