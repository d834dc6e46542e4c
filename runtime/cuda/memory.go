package cuda

import (
	"fmt"
	"unsafe"

	"gpurun/runtime/backend"
)

// chunk is one device allocation of the activation arena; buffers are
// carved from it by bumping used.
type chunk struct {
	ptr        uintptr
	size, used int
}

const align = 256

func alignUp(n int) int { return (n + align - 1) / align * align }

// buffer is a backend.Buffer in device memory.
type buffer struct {
	b   *Backend
	ptr uintptr
	n   int
	dt  backend.DType
}

func (x *buffer) Len() int             { return x.n }
func (x *buffer) DType() backend.DType { return x.dt }
func (x *buffer) bytes() int           { return x.n * x.dt.Size() }
func (x *buffer) dev() devPtr          { return devPtr(x.ptr) }
func (x *buffer) String() string       { return fmt.Sprintf("%s[%d]@%#x", x.dt, x.n, x.ptr) }
func (x *buffer) Slice(off, n int) backend.Buffer {
	if off < 0 || n < 0 || off+n > x.n {
		panic(fmt.Sprintf("cuda: Slice(%d, %d) of a buffer of %d elements", off, n, x.n))
	}
	return &buffer{b: x.b, ptr: x.ptr + uintptr(off*x.dt.Size()), n: n, dt: x.dt}
}

// NewBuffer carves n zeroed elements from the arena, allocating a new chunk
// when the current ones are full. Model code allocates its activations and
// KV caches once, so the device sees a few large allocations at start-up
// and none per token.
func (b *Backend) NewBuffer(dt backend.DType, n int) (backend.Buffer, error) {
	if b.err != nil {
		return nil, b.err
	}
	if n <= 0 || (dt != backend.F32 && dt != backend.F16) {
		return nil, fmt.Errorf("cuda: NewBuffer(%s, %d)", dt, n)
	}
	size := alignUp(n * dt.Size())
	var c *chunk
	for i := range b.arena {
		if b.arena[i].size-b.arena[i].used >= size {
			c = &b.arena[i]
			break
		}
	}
	if c == nil {
		cs := max(b.opts.ArenaBytes, size)
		p, err := b.dev.Alloc(cs)
		if err != nil {
			return nil, fmt.Errorf("cuda: buffer of %d %s elements: %w", n, dt, err)
		}
		b.arena = append(b.arena, chunk{ptr: p, size: cs})
		c = &b.arena[len(b.arena)-1]
	}
	buf := &buffer{b: b, ptr: c.ptr + uintptr(c.used), n: n, dt: dt}
	c.used += size
	b.flush()
	if err := b.dev.Memset(buf.ptr, 0, n*dt.Size()); err != nil {
		return nil, err
	}
	return buf, nil
}

// asBuf converts a backend.Buffer of this backend, or records an error.
func (b *Backend) asBuf(op, what string, x backend.Buffer) *buffer {
	bb, ok := x.(*buffer)
	if !ok || bb.b != b {
		b.fail(backend.Shapef(op, "%s is not a buffer of this %s backend (%T)", what, b.Name(), x))
		return nil
	}
	return bb
}

// Write copies src into dst, converting to f16 on the host for F16 buffers.
func (b *Backend) Write(dst backend.Buffer, src []float32) error {
	if b.err != nil {
		return b.err
	}
	d := b.asBuf("write", "dst", dst)
	if d == nil {
		return b.err
	}
	if len(src) > d.n {
		return fmt.Errorf("cuda: write of %d elements into a buffer of %d", len(src), d.n)
	}
	if len(src) == 0 {
		return nil
	}
	b.flush() // queued kernels may read dst before this write
	var raw []byte
	if d.dt == backend.F16 {
		h := make([]uint16, len(src))
		for i, v := range src {
			h[i] = f32ToF16(v)
		}
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&h[0])), 2*len(h))
	} else {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), 4*len(src))
	}
	if err := b.dev.CopyHtoD(d.ptr, raw); err != nil {
		b.fail(fmt.Errorf("cuda: write %d elements: %w", len(src), err))
	}
	return b.err
}

// Read waits for queued work and copies src into dst as float32.
func (b *Backend) Read(dst []float32, src backend.Buffer) error {
	if b.err != nil {
		return b.err
	}
	s := b.asBuf("read", "src", src)
	if s == nil {
		return b.err
	}
	if len(dst) > s.n {
		return fmt.Errorf("cuda: read of %d elements from a buffer of %d", len(dst), s.n)
	}
	if len(dst) == 0 {
		return b.Sync()
	}
	b.flush()
	if s.dt == backend.F16 {
		h := make([]uint16, len(dst))
		if err := b.dev.CopyDtoH(unsafe.Slice((*byte)(unsafe.Pointer(&h[0])), 2*len(h)), s.ptr); err != nil {
			b.fail(fmt.Errorf("cuda: read %d elements: %w", len(dst), err))
			return b.err
		}
		for i, v := range h {
			dst[i] = f16ToF32(v)
		}
		return nil
	}
	if err := b.dev.CopyDtoH(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst)), s.ptr); err != nil {
		b.fail(fmt.Errorf("cuda: read %d elements: %w", len(dst), err))
	}
	return b.err
}

// ring is device memory for small uploads made per call (token ids,
// positions). Uploads are stream-ordered, so a slot can be reused once the
// device has passed the kernels that read it: the ring synchronizes when it
// wraps, which happens rarely (it holds thousands of uploads).
type ring struct {
	ptr        uintptr
	size, used int
}

func (r *ring) free(d Device) error {
	if r.ptr == 0 {
		return nil
	}
	err := d.Free(r.ptr)
	*r = ring{}
	return err
}

// upload copies vals to the device and returns their address.
func (b *Backend) upload(op string, vals []int32) devPtr {
	if b.err != nil {
		return 0
	}
	need := alignUp(4 * len(vals))
	if b.ring.used+need > b.ring.size {
		b.flush()
		if err := b.dev.Synchronize(); err != nil {
			b.fail(err)
			return 0
		}
		b.ring.used = 0
		if need > b.ring.size {
			if err := b.ring.free(b.dev); err != nil {
				b.fail(err)
				return 0
			}
			// 1 MiB: 4,096 slots of 256 bytes. Without graphs every step
			// value takes a slot (~65 per token for an 8B shape), and a
			// wrap synchronizes: once per ~60 tokens, not every 4
			size := max(1<<20, 2*need)
			p, err := b.dev.Alloc(size)
			if err != nil {
				b.fail(fmt.Errorf("%s: %w", op, err))
				return 0
			}
			b.ring = ring{ptr: p, size: size}
		}
	}
	p := b.ring.ptr + uintptr(b.ring.used)
	b.ring.used += need
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&vals[0])), 4*len(vals))
	if err := b.dev.CopyHtoD(p, raw); err != nil {
		b.fail(fmt.Errorf("%s: upload: %w", op, err))
	}
	return devPtr(p)
}

// scratch is device memory an op needs for intermediate results (attention
// partials). It only grows: after the first calls at the largest shapes no
// allocation happens.
type scratch struct {
	ptr  uintptr
	size int
}

func (s *scratch) free(d Device) error {
	if s.ptr == 0 {
		return nil
	}
	err := d.Free(s.ptr)
	*s = scratch{}
	return err
}

// scratchBytes returns at least n bytes of scratch.
func (b *Backend) scratchBytes(op string, n int) devPtr {
	return b.grow(&b.scratch, op, n)
}

// temp returns n f32 of device memory for the intermediate result of a
// fused op that cannot fold on the device (a norm before a tiled GEMM, say).
// It is the same memory every call: each op uses it once, and the stream
// runs ops in order. The *buffer is the backend's own (no allocation).
func (b *Backend) temp(op string, n int) *buffer {
	b.tmpBuf = buffer{b: b, ptr: uintptr(b.grow(&b.tmp, op, 4*n)), n: n, dt: backend.F32}
	return &b.tmpBuf
}

// counters returns n int32 of zeroed device memory for kernels that count
// their finished blocks (attention's split-K merge); the kernels leave them
// zero again. It is the same memory every call.
func (b *Backend) counters(op string, n int) devPtr {
	if 4*n > b.count.size {
		p := b.grow(&b.count, op, 4*n)
		if p != 0 {
			if err := b.dev.Memset(uintptr(p), 0, b.count.size); err != nil {
				b.fail(fmt.Errorf("%s: %w", op, err))
				return 0
			}
		}
	}
	return devPtr(b.count.ptr)
}

// grow returns s's memory, reallocated first if it holds fewer than n bytes
// (waiting for queued work, which may still read the old memory).
func (b *Backend) grow(s *scratch, op string, n int) devPtr {
	if b.err != nil {
		return 0
	}
	if n > s.size {
		b.flush()
		if err := b.dev.Synchronize(); err != nil {
			b.fail(err)
			return 0
		}
		if err := s.free(b.dev); err != nil {
			b.fail(err)
			return 0
		}
		size := alignUp(max(n, 1<<20))
		p, err := b.dev.Alloc(size)
		if err != nil {
			b.fail(fmt.Errorf("%s: scratch: %w", op, err))
			return 0
		}
		*s = scratch{ptr: p, size: size}
	}
	return devPtr(s.ptr)
}

// smallBytes is the size of the results copied back to the host: the
// argmax's int32 at 0, then TopK's ids and values (backend.MaxTopK each).
const smallBytes = 256 + 8*backend.MaxTopK

// scratchInt returns a device int32 for a result copied back to the host.
func (b *Backend) scratchInt(op string) devPtr {
	if b.small == 0 && b.err == nil {
		p, err := b.dev.Alloc(smallBytes)
		if err != nil {
			b.fail(fmt.Errorf("%s: %w", op, err))
			return 0
		}
		b.small = p
	}
	return devPtr(b.small)
}

// stepScalars are the int32 values that change from one decode step to the
// next (token id, position), kept in device memory so that the kernels
// read them through pointers that do not change: the next step's batch then
// has the same arguments as this one, and its CUDA graph replays without a
// node update. Within one batch each distinct value gets a slot; the slots
// are uploaded, stream-ordered, just before the batch runs.
type stepScalars struct {
	dev  uintptr // maxStepScalars int32 slots
	vals [maxStepScalars]int32
	n    int
	one  [1]int32 // direct (unbatched) mode's upload
}

const maxStepScalars = 64

// stepScalar returns the device address of an int32 holding v when the
// queued kernels run.
func (b *Backend) stepScalar(op string, v int32) devPtr {
	if b.err != nil {
		return 0
	}
	if b.batch == nil { // launches run as they come: a fresh ring slot
		b.step.one[0] = v
		return b.upload(op, b.step.one[:])
	}
	s := &b.step
	if s.dev == 0 {
		b.flush()
		p, err := b.dev.Alloc(4 * maxStepScalars)
		if err != nil {
			b.fail(fmt.Errorf("%s: %w", op, err))
			return 0
		}
		s.dev = p
	}
	for i, x := range s.vals[:s.n] {
		if x == v {
			return devPtr(s.dev + uintptr(4*i))
		}
	}
	if s.n == maxStepScalars {
		b.flush() // uploads these and starts over
	}
	s.vals[s.n] = v
	s.n++
	return devPtr(s.dev + uintptr(4*(s.n-1)))
}

// uploadStepScalars copies this batch's step values to the device (flush).
func (b *Backend) uploadStepScalars() {
	s := &b.step
	if s.n == 0 || b.err != nil {
		s.n = 0
		return
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&s.vals[0])), 4*s.n)
	s.n = 0
	if err := b.dev.CopyHtoD(s.dev, raw); err != nil {
		b.fail(fmt.Errorf("uploading step values: %w", err))
	}
}
