package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// matmulIDKernels: one matmul_id_<type> per weight format.
var matmulIDKernels = namesFor("matmul_id", "")

// MatMulID: dst[r, R] = x[xr] · W_eᵀ, e = ids[r], for the rows r of
// a.T*a.Used (see backend.Experts). Kernel matmul_id_<type>
// (kernels/matmul_id.cu): grid (ceil(R / rows per block), T*k), one x row
// per block, the expert's weight rows found on the device from ids, so the
// routing never crosses to the host. Each region of the stacked weight
// holds the experts one after another; the kernel is given each region's
// bytes per expert.
func (b *Backend) MatMulID(dst, x backend.Buffer, w backend.Weight, ids backend.Buffer, a backend.MatMulIDArgs) {
	if b.err != nil {
		return
	}
	if err := backend.CheckMatMulID(dst, x, w, ids, a); err != nil {
		b.fail(err)
		return
	}
	d, xb, ib, wb := b.asBuf("matmul_id", "dst", dst), b.asBuf("matmul_id", "x", x), b.asBuf("matmul_id", "ids", ids), b.asWeight("matmul_id", w)
	if d == nil || xb == nil || ib == nil || wb == nil {
		return
	}
	R, K, rows := wb.rows/a.Experts, wb.cols, a.T*a.Used
	shape := func() string {
		return fmt.Sprintf("%s %d experts x %dx%d T=%d k=%d", wb.typ, a.Experts, R, K, a.T, a.Used)
	}
	if rows > 65535 { // the grid's y dimension
		b.fail(backend.Shapef("matmul_id", "%s: %d rows of experts in one call, at most 65535", shape(), rows))
		return
	}
	kernel := matmulIDKernels[wb.typ]
	maxShared := b.limitsOf(kernel).shared
	slot, vec, err := matvecInput(wb.typ, K, xb, maxShared)
	if err != nil {
		b.fail(backend.Shapef("matmul_id", "%s: %v", shape(), err))
		return
	}
	nb := K / wb.typ.BlockSize() // blocks per row
	var args argList
	args.ptrs(d.dev(), xb.dev())
	wb.addRegions(&args)
	args.ptrs(ib.dev())
	for i := 0; i < 4; i++ { // bytes per expert in each region
		size := 0
		if f := layouts[wb.typ]; i < len(f) {
			size = f[i].size
		}
		args.i64s(int64(R) * int64(nb) * int64(size))
	}
	perSlot := 0
	if a.PerSlot {
		perSlot = 1
	}
	bs := b.blockSize(kernel, 256)
	args.ints(R, K, 1, vec, a.Used, perSlot)
	b.launchList("matmul_id", shape, kernel, dim(ceilDiv(R, bs/32), rows, 1), dim(bs, 1, 1), slot, &args)
}

var _ backend.Experts = (*Backend)(nil)
