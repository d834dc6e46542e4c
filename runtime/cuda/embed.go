package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// typeSuffix is the kernel-name suffix of a weight format.
func typeSuffix(t quant.Type) string {
	switch t {
	case quant.F32:
		return "f32"
	case quant.F16:
		return "f16"
	case quant.Q4_0:
		return "q4_0"
	case quant.Q4_1:
		return "q4_1"
	case quant.Q8_0:
		return "q8_0"
	case quant.Q4_K:
		return "q4_k"
	case quant.Q6_K:
		return "q6_k"
	}
	return ""
}

// Embed gathers and dequantizes rows of table: dst[T, cols] = table[ids[t], :].
// Kernels embed_<type> (kernels/embed.cu): one block per token. Several ids
// are uploaded; a single one (decode) goes in a step scalar (memory.go).
func (b *Backend) Embed(dst backend.Buffer, table backend.Weight, ids []int32) {
	if b.err != nil {
		return
	}
	if err := backend.CheckEmbed(dst, table, ids); err != nil {
		b.fail(err)
		return
	}
	d, w := b.asBuf("embed", "dst", dst), b.asWeight("embed", table)
	if d == nil || w == nil || len(ids) == 0 {
		return
	}
	if w.cols%8 != 0 {
		b.fail(backend.Shapef("embed", "table %q has %d columns; the kernels need a multiple of 8", w.name, w.cols))
		return
	}
	var idPtr devPtr
	if len(ids) > 1 {
		idPtr = b.upload("embed", ids)
	} else {
		idPtr = b.stepScalar("embed", ids[0])
	}
	kernel := embedKernels[w.typ]
	bs := b.blockSize(kernel, min(256, max(32, ceilDiv(w.cols/8, 32)*32)))
	var args argList
	args.ptrs(d.dev())
	w.addRegions(&args)
	args.ptrs(idPtr)
	args.ints(0, w.cols) // id0 unused (ids is set): a constant, so a graph replays the launch as it is
	b.launchList("embed", func() string { return fmt.Sprintf("%s T=%d cols=%d", w.typ, len(ids), w.cols) }, kernel,
		dim(len(ids), 1, 1), dim(bs, 1, 1), 0, &args)
}
