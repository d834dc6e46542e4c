// Package cpu is the pure-Go backend: the reference every other backend is
// checked against, and the path CI and GPU-less machines run.
//
// Weights are used in place from the memory-mapped GGUF file (never copied
// or dequantized ahead of time); matrix products quantize the activations
// once per call to the weight type's dot-product partner (Q8_0, Q8_1, Q8_K,
// as ggml does) and run row ranges on a fixed pool of goroutines, applying
// each unpacked weight block to all the call's activation rows (up to 8 at
// a time, see quant.MatMul), which is what makes a forward pass over
// several sequences' decode steps cheaper per token than one sequence's.
// Steady-state decoding allocates nothing: scratch space grows to the
// largest call and stays.
//
// The ops on a transformer's hot path reproduce llama.cpp's x86 CPU build
// (AVX2 + FMA) bit for bit with an F32 KV cache, so that greedy decoding
// gives llama.cpp's tokens: the activation quantizers and Q4_1/Q8_0 dot
// products (package quant), RMSNorm, RoPE (glibc's sincosf, GCC's fused
// rotation), attention (ggml_vec_dot_f32 / tinyBLAS lane order, ggml's soft_max
// and vector expf) and SwiGLU (ggml_v_silu). ggmlmath.go explains why and how.
//
// A Backend is not safe for concurrent use; one goroutine drives it.
package cpu

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/quant"
)

// Options configure a CPU backend.
type Options struct {
	// Threads is the number of goroutines that run ops (0: one per CPU).
	Threads int
}

// Backend implements backend.Backend on the host CPU.
type Backend struct {
	threads int
	pool    *pool
	err     error

	// memLeft is the memory new buffers may still take (memoryBudget at
	// start, less each buffer since), when memKnown.
	memLeft  int64
	memKnown bool

	// Scratch reused across calls (grown, never shrunk).
	act               quant.Batch // activations quantized (and packed) for matmul
	act2              quant.Batch // the up projection's, when its type differs from gate's
	swiG              []float32   // fused SwiGLU: gate and up products [T, ffn]
	swiU              []float32
	scores            [][]float32     // per worker: attention scores over the cache
	rowTmp            [][]float32     // per worker: dequantized K and V rows (f16 caches)
	kvWide            [][]float32     // per worker: a KV head's rows widened from f16 (attention)
	grpScores, grpAcc []float32       // grouped decode attention: score rows, slot sums
	grpQ              [][]float32     // per worker: a set's four query rows
	ropeCS            [][]float32     // per worker: cos, sin per rotated pair
	mmScratch         []quant.Scratch // per worker: quant.MatMulScratch's working memory
	mm                matmulTask
	swi               swigluTask
	att               attentionTask
	grp               groupTask
	softmax           softmaxTask
	gelu              geluTask
	geglu             gegluTask
	softcap           softcapTask
	norm              normTask
	bias              addBiasTask
	add               addTask
	rope              ropeTask
	quant             quantizeTask
	moe               moeScratch // the expert ops' working memory
	mmID              matmulIDTask
	quantID           quantizeIDTask
	geluTab           []float32 // gelu at every float16 input (GELU builds it on first use)
}

var _ backend.Backend = (*Backend)(nil)
var _ backend.MatMulSwiGLUer = (*Backend)(nil)
var _ backend.MemoryReporter = (*Backend)(nil)
var _ backend.Experts = (*Backend)(nil)

// New starts a CPU backend and its worker goroutines.
func New(o Options) (*Backend, error) {
	n := o.Threads
	if n < 0 {
		return nil, fmt.Errorf("cpu: threads must be >= 0, got %d", n)
	}
	if n == 0 {
		n = runtime.NumCPU()
	}
	b := &Backend{threads: n, pool: newPool(n)}
	b.memLeft, b.memKnown = memoryBudget()
	b.scores = make([][]float32, n)
	b.rowTmp = make([][]float32, n)
	b.kvWide = make([][]float32, n)
	b.grpQ = make([][]float32, n)
	b.ropeCS = make([][]float32, n)
	b.mmScratch = make([]quant.Scratch, n)
	return b, nil
}

// Name is "cpu".
func (b *Backend) Name() string { return "cpu" }

// Threads is the number of worker goroutines.
func (b *Backend) Threads() int { return b.threads }

// Kernels names the matrix kernel set in use (quant.MatMulImplementation):
// avx512vnni, avx2 or generic.
func (b *Backend) Kernels() string { return quant.MatMulImplementation() }

// Err returns the first error an op recorded.
func (b *Backend) Err() error { return b.err }

// Sync returns the first error an op recorded (CPU ops are synchronous).
func (b *Backend) Sync() error { return b.err }

// Close stops the worker goroutines.
func (b *Backend) Close() error {
	if b.pool != nil {
		b.pool.close()
		b.pool = nil
	}
	return nil
}

// fail records err if it is the first; it reports whether an error is recorded.
func (b *Backend) fail(err error) bool {
	if b.err == nil && err != nil {
		b.err = err
	}
	return b.err != nil
}

// MemoryLeft is the memory new buffers may still take: what the kernel
// reported available when the backend started (memoryBudget), less the
// buffers allocated since.
func (b *Backend) MemoryLeft() (int64, bool) { return b.memLeft, b.memKnown }

// NewBuffer allocates n zeroed elements; one larger than MemoryLeft is
// refused with an error wrapping backend.ErrOutOfMemory.
func (b *Backend) NewBuffer(dt backend.DType, n int) (backend.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cpu: buffer of %d elements", n)
	}
	if size := int64(n) * int64(dt.Size()); b.memKnown {
		if size > b.memLeft {
			return nil, fmt.Errorf("cpu: %w: a buffer of %d %s elements needs %d bytes, %d are left",
				backend.ErrOutOfMemory, n, dt, size, max(b.memLeft, 0))
		}
		b.memLeft -= size
	}
	switch dt {
	case backend.F32:
		return &Buf{f32: make([]float32, n)}, nil
	case backend.F16:
		return &Buf{f16: make([]uint16, n), isF16: true}, nil
	}
	return nil, fmt.Errorf("cpu: unsupported buffer dtype %s", dt)
}

// Write copies src into dst.
func (b *Backend) Write(dst backend.Buffer, src []float32) error {
	d, err := buf(dst)
	if err != nil {
		return err
	}
	if len(src) > d.Len() {
		return fmt.Errorf("cpu: write of %d elements into a buffer of %d", len(src), d.Len())
	}
	if d.isF16 {
		for i, v := range src {
			d.f16[i] = quant.F32ToF16(v)
		}
		return nil
	}
	copy(d.f32, src)
	return nil
}

// Read copies src into dst, converting f16 to f32.
func (b *Backend) Read(dst []float32, src backend.Buffer) error {
	s, err := buf(src)
	if err != nil {
		return err
	}
	if len(dst) > s.Len() {
		return fmt.Errorf("cpu: read of %d elements from a buffer of %d", len(dst), s.Len())
	}
	if s.isF16 {
		for i := range dst {
			dst[i] = quant.F16ToF32(s.f16[i])
		}
		return nil
	}
	copy(dst, s.f32)
	return nil
}

// Weight is a GGUF tensor used in place.
type Weight struct {
	name     string
	typ      quant.Type
	rows     int
	cols     int
	rowBytes int
	data     []byte
	f32      []float32 // the data as float32 when typ == F32
}

func (w *Weight) Name() string     { return w.name }
func (w *Weight) Type() quant.Type { return w.typ }
func (w *Weight) Rows() int        { return w.rows }
func (w *Weight) Cols() int        { return w.cols }

// row returns the bytes of row r.
func (w *Weight) row(r int) []byte { return w.data[r*w.rowBytes : (r+1)*w.rowBytes] }

// LoadWeight wraps a tensor's mapped bytes; nothing is copied (except an F32
// tensor whose bytes are not 4-byte aligned, which only synthetic tests make).
func (b *Backend) LoadWeight(t *gguf.Tensor) (backend.Weight, error) {
	if len(t.Dims) == 0 || len(t.Dims) > 2 {
		return nil, fmt.Errorf("cpu: tensor %q has %d dims, want 1 or 2", t.Name, len(t.Dims))
	}
	w := &Weight{name: t.Name, typ: t.Type, cols: int(t.Dims[0]), rows: 1, data: t.Data}
	if len(t.Dims) == 2 {
		w.rows = int(t.Dims[1])
	}
	rb, err := t.Type.RowSize(w.cols)
	if err != nil {
		return nil, fmt.Errorf("cpu: tensor %q: %w", t.Name, err)
	}
	w.rowBytes = rb
	if len(t.Data) != rb*w.rows {
		return nil, fmt.Errorf("cpu: tensor %q has %d bytes, want %d", t.Name, len(t.Data), rb*w.rows)
	}
	if t.Type == quant.F32 && len(t.Data) > 0 {
		if uintptr(unsafe.Pointer(&t.Data[0]))%4 != 0 {
			w.data = append([]byte(nil), t.Data...)
		}
		w.f32 = unsafe.Slice((*float32)(unsafe.Pointer(&w.data[0])), w.rows*w.cols)
	}
	return w, nil
}

func weight(w backend.Weight) *Weight {
	cw, _ := w.(*Weight)
	return cw
}

var errForeign = errors.New("cpu: buffer or weight belongs to another backend")
