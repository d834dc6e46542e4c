package cpu

import (
	"fmt"

	"gpurun/runtime/backend"
)

// Buf is host memory holding either float32 or f16 (as raw uint16) elements.
type Buf struct {
	f32   []float32
	f16   []uint16
	isF16 bool
}

// Len is the number of elements.
func (b *Buf) Len() int {
	if b.isF16 {
		return len(b.f16)
	}
	return len(b.f32)
}

// DType is F32 or F16.
func (b *Buf) DType() backend.DType {
	if b.isF16 {
		return backend.F16
	}
	return backend.F32
}

// Slice returns elements [off, off+n) sharing the memory.
func (b *Buf) Slice(off, n int) backend.Buffer {
	if off < 0 || n < 0 || off+n > b.Len() {
		panic(fmt.Sprintf("cpu: slice [%d, %d) of a buffer of %d elements", off, off+n, b.Len()))
	}
	if b.isF16 {
		return &Buf{f16: b.f16[off : off+n : off+n], isF16: true}
	}
	return &Buf{f32: b.f32[off : off+n : off+n]}
}

// F32 exposes the elements of an F32 buffer (for tests and host-side code).
func (b *Buf) F32() []float32 { return b.f32 }

func buf(x backend.Buffer) (*Buf, error) {
	b, ok := x.(*Buf)
	if !ok || b == nil {
		return nil, errForeign
	}
	return b, nil
}

// f32s returns the float32 slices of F32 buffers; the checks in
// runtime/backend have already verified dtypes and sizes.
func f32s(x backend.Buffer) []float32 {
	b, _ := x.(*Buf)
	if b == nil {
		return nil
	}
	return b.f32
}
