package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

// matmulIDKernels: one matmul_id_<type> per weight format, and the
// grouped prefill's matmul_id_grouped_<type>.
var (
	matmulIDKernels        = namesFor("matmul_id", "")
	matmulIDGroupedKernels = namesFor("matmul_id_grouped", "")
)

// MatMulID: dst[r, R] = x[xr] · W_eᵀ, e = ids[r], for the rows r of
// a.T*a.Used (see backend.Experts). Kernel matmul_id_<type>
// (kernels/matmul_id.cu): grid (ceil(R / rows per block), T*k), one x row
// per block, the expert's weight rows found on the device from ids, so the
// routing never crosses to the host. Each region of the stacked weight
// holds the experts one after another; the kernel is given each region's
// bytes per expert.
//
// A prompt (T > 1) first groups its rows by expert on the device
// (moe_group_f32: offsets and row order in temporary memory), then
// matmul_id_grouped_<type> runs one block row per tile of up to 8 rows of
// one expert, reading the expert's weights once per tile: the numbers are
// those of a tile of one (matvec_rows_of), only the reads are fewer.
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
	perSlot := 0
	if a.PerSlot {
		perSlot = 1
	}
	if a.T > 1 {
		b.matmulIDGrouped(d, xb, wb, ib, a, shape, vec, slot, perSlot)
		return
	}
	var args argList
	args.ptrs(d.dev(), xb.dev())
	wb.addRegions(&args)
	args.ptrs(ib.dev())
	expertStrides(&args, wb, R)
	bs := b.blockSize(kernel, 256)
	args.ints(R, K, 1, vec, a.Used, perSlot)
	b.launchList("matmul_id", shape, kernel, dim(ceilDiv(R, bs/32), rows, 1), dim(bs, 1, 1), slot, &args)
}

// expertStrides adds the bytes one expert of R rows takes in each of w's
// four regions (0 for unused ones).
func expertStrides(args *argList, w *weight, R int) {
	nb := w.cols / w.typ.BlockSize() // blocks per row
	for i := 0; i < 4; i++ {
		size := 0
		if f := layouts[w.typ]; i < len(f) {
			size = f[i].size
		}
		args.i64s(int64(R) * int64(nb) * int64(size))
	}
}

// matmulIDGrouped is MatMulID's prompt path (see MatMulID).
func (b *Backend) matmulIDGrouped(d, xb *buffer, wb *weight, ib *buffer, a backend.MatMulIDArgs, shape func() string, vec, slot, perSlot int) {
	E, rows, R, K := a.Experts, a.T*a.Used, wb.rows/a.Experts, wb.cols
	kernel := matmulIDGroupedKernels[wb.typ]
	tile := matvecTile(rows, slot, b.limitsOf(kernel).shared)
	tiles := ceilDiv(rows, tile) + E // at most: every expert's last tile may be partial
	if tiles > 65535 {
		b.fail(backend.Shapef("matmul_id", "%s: %d tiles of experts' rows in one call, at most 65535", shape(), tiles))
		return
	}
	tmp := b.temp("matmul_id", E+1+rows) // off [E+1] and order [rows], int32
	off, order := tmp.dev(), tmp.dev()+devPtr(4*(E+1))
	gs := b.blockSize("moe_group_f32", 256)
	b.launch("matmul_id", shape, "moe_group_f32", dim(1, 1, 1), dim(gs, 1, 1), 4*(E+1), off, order, ib.dev(), rows, E)
	var args argList
	args.ptrs(d.dev(), xb.dev())
	wb.addRegions(&args)
	args.ptrs(off, order)
	expertStrides(&args, wb, R)
	bs := b.blockSize(kernel, 256)
	args.ints(R, K, 1, vec, a.Used, perSlot, E, tile)
	b.launchList("matmul_id", shape, kernel, dim(ceilDiv(R, bs/32), tiles, 1), dim(bs, 1, 1), tile*slot, &args)
}

var _ backend.Experts = (*Backend)(nil)
