package cuda

import (
	"fmt"
	"unsafe"

	"gpurun/runtime/backend"
)

// TopK writes the k largest of x[0:n] (larger value first; among equal
// values the smaller index) to ids[:k] and vals[:k], in no particular order;
// it waits for pending ops. Kernel topk_f32 (kernels/topk.cu): one block of
// radix select; only the 2k results are copied to the host, into the
// caller's slices (no allocation per token).
func (b *Backend) TopK(x backend.Buffer, n, k int, ids []int32, vals []float32) error {
	if b.err != nil {
		return b.err
	}
	if k < 1 || k > n || k > backend.MaxTopK || len(ids) < k || len(vals) < k {
		b.fail(backend.Shapef("topk", "k = %d of n = %d (at most %d), %d ids and %d values", k, n, backend.MaxTopK, len(ids), len(vals)))
		return b.err
	}
	if err := backend.CheckElementwise("topk", n, []string{"x"}, x); err != nil {
		b.fail(err)
		return err
	}
	xb := b.asBuf("topk", "x", x)
	if xb == nil {
		return b.err
	}
	base := b.scratchInt("topk")
	if b.err != nil {
		return b.err
	}
	dIDs, dVals := base+256, base+256+4*backend.MaxTopK
	bs := b.blockSize("topk_f32", 1024)
	b.launch("topk", func() string { return fmt.Sprintf("n=%d k=%d", n, k) }, "topk_f32", dim(1, 1, 1), dim(bs, 1, 1), 0, xb.dev(), n, k, dIDs, dVals)
	b.flush()
	if b.err != nil {
		return b.err
	}
	if err := b.dev.CopyDtoH(unsafe.Slice((*byte)(unsafe.Pointer(&ids[0])), 4*k), uintptr(dIDs)); err != nil {
		b.fail(fmt.Errorf("topk: %w", err))
		return b.err
	}
	if err := b.dev.CopyDtoH(unsafe.Slice((*byte)(unsafe.Pointer(&vals[0])), 4*k), uintptr(dVals)); err != nil {
		b.fail(fmt.Errorf("topk: %w", err))
		return b.err
	}
	return nil
}

var _ backend.TopKer = (*Backend)(nil)
