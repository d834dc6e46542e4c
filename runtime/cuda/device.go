package cuda

import (
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

// Device is what the backend needs from a CUDA device: memory, copies and
// kernel launches by symbol name. The real one (device_cu.go, -tags cuda)
// goes through gorgonia.org/cu; runtime/cuda/emu runs the same kernels on the
// host. Device pointers are plain uintptrs; host memory is a []byte.
type Device interface {
	// Name is "cuda" or "emu".
	Name() string
	// Alloc returns bytes of uninitialised device memory (256-byte aligned).
	Alloc(bytes int) (uintptr, error)
	Free(p uintptr) error
	// Memset sets bytes bytes at p to b (stream-ordered).
	Memset(p uintptr, b byte, bytes int) error
	// CopyHtoD copies src into device memory at dst, stream-ordered; src may
	// be reused as soon as it returns.
	CopyHtoD(dst uintptr, src []byte) error
	// CopyDtoH waits for queued work, then copies device memory at src into dst.
	CopyDtoH(dst []byte, src uintptr) error
	// CopyDtoD copies bytes bytes between device buffers (stream-ordered).
	CopyDtoD(dst, src uintptr, bytes int) error
	// Launch queues kernel with cuLaunchKernel's arguments: params[i] points
	// at the value of parameter i, in 8 readable bytes (a 4-byte parameter
	// is read from the low-order bytes).
	Launch(kernel string, grid, block [3]uint32, sharedBytes int, params []unsafe.Pointer) error
	// Limits returns the most a launch of kernel may ask for on this
	// device: maxThreads threads per block (what its registers leave room
	// for: cuFuncGetAttribute's MAX_THREADS_PER_BLOCK) and maxShared bytes
	// of dynamic shared memory (48 KiB without opting in, less the kernel's
	// static shared memory). A launch asking for more fails.
	Limits(kernel string) (maxThreads, maxShared int, err error)
	// Synchronize waits for all queued work.
	Synchronize() error
	Close() error
}

// Batcher is an optional Device capability: run a recorded sequence of
// launches at once (the CUDA device replays it as a CUDA graph).
type Batcher interface {
	RunBatch(launches []Launch) error
}

// Profiler is an optional Device capability: the device time of each
// kernel launch, summed by kernel (CUDA events on the GPU, host time in the
// emulator). A backend made with Options.Profile launches kernel by kernel
// (no CUDA graphs) so that every launch can be timed.
type Profiler interface {
	// StartProfile makes the launches that follow record their times.
	StartProfile() error
	// KernelTimes waits for the device and calls visit once per kernel
	// launched since StartProfile: its launch count and total seconds.
	KernelTimes(visit func(kernel string, calls int, seconds float64)) error
}

// Launch is one recorded kernel launch.
type Launch struct {
	Kernel      string
	Grid, Block [3]uint32
	Shared      int
	Args        []uint64 // each parameter in 8 bytes, little-endian
}

// sameTopology reports whether two batches can be the same CUDA graph: the
// same kernels with the same blocks, shared memory and argument counts, so
// that only grids and argument values differ (graph_cu.go updates those).
func sameTopology(a, b []Launch) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kernel != b[i].Kernel || a[i].Block != b[i].Block || a[i].Shared != b[i].Shared || len(a[i].Args) != len(b[i].Args) {
			return false
		}
	}
	return true
}

// devPtr is a device address as a kernel parameter.
type devPtr uintptr

// packArgs turns kernel parameters into 8-byte slots. Accepted types are
// the ones the kernels take: device pointers, int32/uint32 (C int/unsigned),
// int (checked to fit an int32) and float32.
func packArgs(dst []uint64, args []any) ([]uint64, error) {
	dst = dst[:0]
	for i, a := range args {
		var v uint64
		switch x := a.(type) {
		case devPtr:
			v = uint64(x)
		case int32:
			v = uint64(uint32(x))
		case uint32:
			v = uint64(x)
		case int:
			if x < math.MinInt32 || x > math.MaxInt32 {
				return nil, fmt.Errorf("kernel parameter %d = %d does not fit a 32-bit int", i, x)
			}
			v = uint64(uint32(int32(x)))
		case float32:
			v = uint64(math.Float32bits(x))
		default:
			// reflect.TypeOf, not %T of a: the error must not make the
			// boxed arguments escape (launches allocate nothing)
			return nil, fmt.Errorf("kernel parameter %d has unsupported type %s", i, reflect.TypeOf(a))
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// argList collects a kernel's parameters as 8-byte slots for launchList,
// for launchers whose parameter count varies (weights in several regions).
// Unlike launch's ...any, adding to it boxes nothing: a launch allocates
// nothing.
type argList struct {
	slots [32]uint64
	n     int
	err   error
}

func (l *argList) put(v uint64) {
	if l.n == len(l.slots) {
		l.err = fmt.Errorf("more than %d kernel parameters", len(l.slots))
		return
	}
	l.slots[l.n] = v
	l.n++
}

// ptrs adds device pointers.
func (l *argList) ptrs(ps ...devPtr) {
	for _, p := range ps {
		l.put(uint64(p))
	}
}

// ints adds C ints (each checked to fit 32 bits).
func (l *argList) ints(xs ...int) {
	for _, x := range xs {
		if x < math.MinInt32 || x > math.MaxInt32 {
			l.err = fmt.Errorf("kernel parameter %d = %d does not fit a 32-bit int", l.n, x)
		}
		l.put(uint64(uint32(int32(x))))
	}
}

// i64s adds C long longs (64-bit byte offsets).
func (l *argList) i64s(xs ...int64) {
	for _, x := range xs {
		l.put(uint64(x))
	}
}

// f32s adds C floats.
func (l *argList) f32s(xs ...float32) {
	for _, x := range xs {
		l.put(uint64(math.Float32bits(x)))
	}
}

// dim builds a [3]uint32 grid or block.
func dim(x, y, z int) [3]uint32 { return [3]uint32{uint32(x), uint32(y), uint32(z)} }

func ceilDiv(a, b int) int { return (a + b - 1) / b }
