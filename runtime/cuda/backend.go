// Package cuda is the GPU backend: backend.Backend implemented by launching
// the kernels of kernels/*.cu on a Device.
//
// The backend is written once against the small Device interface (memory,
// copies, launch by symbol name). Open (built with -tags cuda) gives it the
// real GPU through gorgonia.org/cu; runtime/cuda/emu gives it an emulated
// device that runs the same kernel sources on the host, which is how the
// parity tests run this package in CI without a GPU. Without -tags cuda, Open
// returns an error saying how to build with CUDA.
//
// One launcher file per op, named like its kernel file: rmsnorm.go launches
// rmsnorm_f32 from kernels/rmsnorm.cu. Weights are uploaded once, quantized
// (some formats repacked: weight.go); activations come from a preallocated
// arena; nothing is allocated on the device per token.
package cuda

import (
	"fmt"
	"unsafe"

	"gpurun/runtime/backend"
)

// Options tune the backend. The zero value is the tuned default.
type Options struct {
	// Ordinal is the GPU to use (Open only).
	Ordinal int
	// ArenaBytes is the size of each arena chunk that NewBuffer carves
	// buffers from (default 64 MiB; a larger buffer gets a chunk of its own).
	ArenaBytes int
	// BlockSize, if set, overrides the block size of every kernel that works
	// with any multiple of 32 threads (norms, softmax, argmax, element-wise,
	// embed, rope, the matrix-vector products), each capped at what the
	// kernel's registers allow on the device (Device.Limits: 608 threads for
	// a kernel of 103 registers). Tests run several.
	BlockSize int
	// MatVecMaxT is the largest T for which products with F32 or F16
	// weights (and block formats with GEMMPrefill) use the matrix-vector
	// kernels; above it the tiled GEMMs run (f16 tensor cores). Default 4.
	MatVecMaxT int
	// GEMMPrefill sends block-format products of more than MatVecMaxT rows
	// to the tensor-core GEMM (x and the dequantized weights in f16) instead
	// of the matrix-vector kernels, which quantize x to 8-bit blocks as the
	// CPU backend and llama.cpp's CPU do and take it in tiles of up to 8
	// rows per block (each weight row read once per tile). Off by default:
	// then any number of rows — a prompt, a batch of sequences — gets, row
	// by row, exactly the arithmetic of a decode step, so prefill equals
	// stepwise decoding and batching never changes a sequence's tokens. On
	// (or $GPURUN_CUDA_GEMM_PREFILL=1) prefill of large models should be
	// faster; its logits differ from the CPU's by f16 rounding.
	GEMMPrefill bool
	// MatVecRowsPerWarp is the number of weight rows each warp of a
	// matrix-vector block computes (0: 2 for matrices of >= 16384 rows, else 1).
	MatVecRowsPerWarp int
	// NoTensorCores makes T > MatVecMaxT use the portable tiled GEMM (v2)
	// instead of the WMMA tensor-core one (v3) for F16 and quantized weights.
	NoTensorCores bool
	// AttnSplitKeys is the number of cache rows one block of split-K
	// attention covers (default 256; a multiple of 32).
	AttnSplitKeys int
	// NoGraphs disables recording queued launches into CUDA graphs (only
	// devices that implement Batcher record).
	NoGraphs bool
	// Profile times every kernel launch on the device (kernel by kernel, no
	// graphs: slower, but each kernel's own time shows); Profile() reports
	// it, and Close writes the table to ProfileFile if set. Open turns it on
	// when $GPURUN_CUDA_PROFILE names a file.
	Profile     bool
	ProfileFile string
}

func (o *Options) defaults() error {
	if o.ArenaBytes <= 0 {
		o.ArenaBytes = 64 << 20
	}
	if o.BlockSize != 0 && (o.BlockSize < 32 || o.BlockSize > 1024 || o.BlockSize%32 != 0) {
		return fmt.Errorf("cuda: BlockSize %d must be a multiple of 32 in [32, 1024]", o.BlockSize)
	}
	if o.MatVecMaxT <= 0 {
		o.MatVecMaxT = 4
	}
	if o.AttnSplitKeys <= 0 {
		o.AttnSplitKeys = 256
	}
	if o.AttnSplitKeys%32 != 0 {
		return fmt.Errorf("cuda: AttnSplitKeys %d is not a multiple of 32", o.AttnSplitKeys)
	}
	return nil
}

// Backend implements backend.Backend and the fused ops of FusedMatMuler,
// MatMulSwiGLUer and RoPEStoreKVer.
type Backend struct {
	dev  Device
	opts Options
	err  error

	arena   []chunk   // activation buffers
	weights []uintptr // one allocation per weight
	ring    ring      // small per-call uploads (token ids, positions)
	scratch scratch   // attention partials
	tmp     scratch   // fused ops' intermediate results (temp)
	count   scratch   // block counters (counters)
	tmpBuf  buffer
	small   uintptr // smallBytes: the argmax and TopK results
	idx     [4]byte // the argmax result on the host
	step    stepScalars
	limits  map[string]kernelLimits // Device.Limits, by kernel

	batch Batcher  // non-nil when launches are queued
	queue []Launch // queued launches (batch mode)
	// argArena holds the queued launches' arguments (reused every batch).
	argArena []uint64
	slots    [64]uint64
	params   [64]unsafe.Pointer
	closed   bool
}

var (
	_ backend.Backend        = (*Backend)(nil)
	_ backend.FusedMatMuler  = (*Backend)(nil)
	_ backend.MatMulSwiGLUer = (*Backend)(nil)
	_ backend.RoPEStoreKVer  = (*Backend)(nil)
)

// New makes a backend on dev. The backend owns dev and closes it.
func New(dev Device, o Options) (*Backend, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	b := &Backend{dev: dev, opts: o, limits: map[string]kernelLimits{}}
	if o.Profile {
		p, ok := dev.(Profiler)
		if !ok {
			return nil, fmt.Errorf("cuda: the %s device cannot time kernels", dev.Name())
		}
		if err := p.StartProfile(); err != nil {
			return nil, err
		}
		return b, nil // launches go one by one, each timed
	}
	if bt, ok := dev.(Batcher); ok && !o.NoGraphs {
		b.batch = bt
	}
	return b, nil
}

// Name is the device's name: "cuda", or "emu" for the emulator.
func (b *Backend) Name() string { return b.dev.Name() }

// Device returns the device the backend runs on.
func (b *Backend) Device() Device { return b.dev }

// Err returns the first recorded error.
func (b *Backend) Err() error { return b.err }

// fail records the first error.
func (b *Backend) fail(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

// Sync runs queued launches, waits for the device and returns the first error.
func (b *Backend) Sync() error {
	if b.err != nil {
		return b.err
	}
	b.flush()
	if b.err == nil {
		b.fail(b.dev.Synchronize())
	}
	return b.err
}

// Close frees all device memory and closes the device.
func (b *Backend) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	b.flush()
	_ = b.dev.Synchronize()
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	if b.opts.Profile && b.opts.ProfileFile != "" {
		keep(b.writeProfileFile(b.opts.ProfileFile))
	}
	for _, c := range b.arena {
		keep(b.dev.Free(c.ptr))
	}
	for _, w := range b.weights {
		keep(b.dev.Free(w))
	}
	keep(b.ring.free(b.dev))
	keep(b.scratch.free(b.dev))
	keep(b.tmp.free(b.dev))
	keep(b.count.free(b.dev))
	if b.step.dev != 0 {
		keep(b.dev.Free(b.step.dev))
	}
	if b.small != 0 {
		keep(b.dev.Free(b.small))
	}
	keep(b.dev.Close())
	b.arena, b.weights = nil, nil
	return first
}

// launch queues one kernel. op and shape() name the call in an error; shape
// is called only then, so that a launch allocates nothing. Queued
// arguments live in argArena until the batch is flushed.
func (b *Backend) launch(op string, shape func() string, kernel string, grid, block [3]uint32, shared int, args ...any) {
	if b.err != nil {
		return
	}
	slots, err := packArgs(b.slots[:0], args)
	if err != nil {
		b.fail(fmt.Errorf("%s (%s): %s: %w", op, shape(), kernel, err))
		return
	}
	b.launchSlots(op, shape, kernel, grid, block, shared, slots)
}

// launchList is launch with parameters collected in an argList.
func (b *Backend) launchList(op string, shape func() string, kernel string, grid, block [3]uint32, shared int, l *argList) {
	if b.err != nil {
		return
	}
	if l.err != nil {
		b.fail(fmt.Errorf("%s (%s): %s: %w", op, shape(), kernel, l.err))
		return
	}
	b.launchSlots(op, shape, kernel, grid, block, shared, l.slots[:l.n])
}

func (b *Backend) launchSlots(op string, shape func() string, kernel string, grid, block [3]uint32, shared int, slots []uint64) {
	if b.batch != nil {
		start := len(b.argArena)
		b.argArena = append(b.argArena, slots...)
		end := len(b.argArena)
		b.queue = append(b.queue, Launch{Kernel: kernel, Grid: grid, Block: block, Shared: shared, Args: b.argArena[start:end:end]})
		if len(b.queue) >= maxQueue {
			b.flush()
		}
		return
	}
	n := copy(b.slots[:], slots)
	params := b.params[:n]
	for i := range params {
		params[i] = unsafe.Pointer(&b.slots[i])
	}
	if err := b.dev.Launch(kernel, grid, block, shared, params); err != nil {
		b.fail(fmt.Errorf("%s (%s): %w", op, shape(), err))
	}
}

// maxQueue bounds the launches queued between host interactions (a decode
// step of a 100-layer model is ~1,500).
const maxQueue = 4096

// flush hands queued launches to the device.
func (b *Backend) flush() {
	// the step values first: the batch reads them (and after a flush the
	// slots start over, so stepScalar always finds one free)
	b.uploadStepScalars()
	if len(b.queue) == 0 {
		return
	}
	q := b.queue
	b.queue = b.queue[:0]
	// q's arguments stay valid until the next launch reuses the arena:
	// RunBatch copies what it keeps.
	b.argArena = b.argArena[:0]
	if b.err != nil {
		return
	}
	if err := b.batch.RunBatch(q); err != nil {
		b.fail(err)
	}
}

// blockSize is the block size for kernel, which takes any multiple of 32
// threads: the Options override, else def; at most what the kernel's
// registers allow on the device, rounded down to whole warps.
func (b *Backend) blockSize(kernel string, def int) int {
	bs := def
	if b.opts.BlockSize != 0 {
		bs = b.opts.BlockSize
	}
	if most := b.limitsOf(kernel).threads &^ 31; most >= 32 && bs > most {
		bs = most
	}
	return bs
}

// kernelLimits is what one launch of a kernel may ask for (Device.Limits):
// threads per block and bytes of dynamic shared memory.
type kernelLimits struct{ threads, shared int }

// limitsOf returns kernel's launch limits, asked of the device once.
func (b *Backend) limitsOf(kernel string) kernelLimits {
	if l, ok := b.limits[kernel]; ok {
		return l
	}
	threads, shared, err := b.dev.Limits(kernel)
	if err != nil {
		b.fail(err)
		return kernelLimits{threads: 1024, shared: 48 << 10}
	}
	l := kernelLimits{threads: threads, shared: shared}
	b.limits[kernel] = l
	return l
}

// gridFor is the 1-D grid for n elements at bs threads, capped (the
// element-wise kernels loop).
func gridFor(n, bs int) int {
	g := ceilDiv(n, bs)
	if g > 8192 {
		g = 8192
	}
	if g < 1 {
		g = 1
	}
	return g
}

var (
	_ backend.FusedMatMuler  = (*Backend)(nil)
	_ backend.BiasMatMuler   = (*Backend)(nil)
	_ backend.RoPEStoreKVer  = (*Backend)(nil)
	_ backend.MatMulSwiGLUer = (*Backend)(nil)
)
