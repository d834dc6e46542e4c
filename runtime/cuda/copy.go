package cuda

import (
	"fmt"

	"gpurun/runtime/backend"
)

var copyKernels = map[backend.DType]string{backend.F32: "copy_f32", backend.F16: "copy_f16"}

// Copy: dst[i] = src[i] for n elements of one dtype; dst and src do not
// overlap. Kernels copy_f32 / copy_f16 (kernels/copy.cu): 1-D grid-stride.
func (b *Backend) Copy(dst, src backend.Buffer, n int) {
	if b.err != nil {
		return
	}
	if err := backend.CheckCopy(dst, src, n); err != nil {
		b.fail(err)
		return
	}
	d, s := b.asBuf("copy", "dst", dst), b.asBuf("copy", "src", src)
	if d == nil || s == nil || n == 0 {
		return
	}
	kernel := copyKernels[d.dt]
	bs := b.blockSize(kernel, 256)
	b.launch("copy", func() string { return fmt.Sprintf("%s n=%d", d.dt, n) }, kernel, dim(gridFor(n, bs), 1, 1), dim(bs, 1, 1), 0,
		d.dev(), s.dev(), n)
}
