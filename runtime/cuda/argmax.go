package cuda

import (
	"encoding/binary"
	"fmt"

	"gpurun/runtime/backend"
)

// Argmax returns the index of the first maximum of x[0:n]; it waits for
// pending ops. Kernel argmax_f32 (kernels/argmax.cu): one block; only the
// 4-byte index is copied to the host.
func (b *Backend) Argmax(x backend.Buffer, n int) (int32, error) {
	if b.err != nil {
		return 0, b.err
	}
	if n < 1 {
		b.fail(backend.Shapef("argmax", "n = %d", n))
		return 0, b.err
	}
	if err := backend.CheckElementwise("argmax", n, []string{"x"}, x); err != nil {
		b.fail(err)
		return 0, err
	}
	xb := b.asBuf("argmax", "x", x)
	if xb == nil {
		return 0, b.err
	}
	out := b.scratchInt("argmax")
	bs := b.blockSize("argmax_f32", 1024)
	b.launch("argmax", func() string { return fmt.Sprintf("n=%d", n) }, "argmax_f32", dim(1, 1, 1), dim(bs, 1, 1), 0, xb.dev(), n, out)
	b.flush()
	if b.err != nil {
		return 0, b.err
	}
	// into the backend's own 4 bytes: a local would escape through the
	// Device interface (an allocation per token)
	if err := b.dev.CopyDtoH(b.idx[:], uintptr(out)); err != nil {
		b.fail(fmt.Errorf("argmax: %w", err))
		return 0, b.err
	}
	return int32(binary.LittleEndian.Uint32(b.idx[:])), nil
}
