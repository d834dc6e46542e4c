//go:build cuda

package cuda

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"gorgonia.org/cu"
)

// kernels.fatbin is built by `make kernels` (nvcc, sm_80 + sm_90 SASS and
// compute_90 PTX) from kernels/all.cu.
//
//go:embed kernels.fatbin
var kernelsFatbin string

const builtWithCUDA = true

// Available reports whether a CUDA device can be used.
func Available() bool {
	n, err := cu.NumDevices()
	return err == nil && n > 0
}

// Open makes a backend on GPU o.Ordinal. $GPURUN_CUDA_PROFILE=FILE turns on
// Options.Profile and writes the kernel-time table to FILE at Close;
// $GPURUN_CUDA_GEMM_PREFILL=1 turns on Options.GEMMPrefill.
func Open(o Options) (*Backend, error) {
	if f := os.Getenv("GPURUN_CUDA_PROFILE"); f != "" && o.ProfileFile == "" {
		o.Profile, o.ProfileFile = true, f
	}
	if os.Getenv("GPURUN_CUDA_GEMM_PREFILL") == "1" {
		o.GEMMPrefill = true
	}
	dev, err := OpenDevice(o.Ordinal)
	if err != nil {
		return nil, err
	}
	b, err := New(dev, o)
	if err != nil {
		dev.Close()
		return nil, err
	}
	return b, nil
}

// GPU is the real Device: one CUDA context (the device's primary context),
// the kernel module loaded from the embedded fatbin, one non-blocking stream.
//
// A CUDA context is current per OS thread, and goroutines move between
// threads; every method therefore locks its goroutine to its thread and
// makes the context current there for the duration of the call (a cheap
// cuCtxSetCurrent), instead of funnelling calls through a dedicated thread
// (cu.Ctx), which would add a channel round trip to every launch.
type GPU struct {
	mu      sync.Mutex
	dev     cu.Device
	ctx     cu.CUContext
	mod     cu.Module
	stream  cu.Stream
	fns     map[string]cu.Function
	name    string
	sms     int
	ccMajor int
	ccMinor int
	graphs  graphCache
	closed  bool
	prof    *profile // per-launch CUDA events (nil: not profiling)
}

// profile times launches with a pair of CUDA events each; the times are
// read (and the events reused) when the stream has passed them.
type profile struct {
	pending []timedLaunch
	free    []cu.Event
	times   map[string]kernelTime
}

type timedLaunch struct {
	kernel     string
	start, end cu.Event
}

type kernelTime struct {
	calls   int
	seconds float64
}

// maxPending bounds the timed launches in flight between reads.
const maxPending = 4096

// StartProfile makes later launches record CUDA events around them.
func (g *GPU) StartProfile() error {
	defer g.enter()()
	g.prof = &profile{times: map[string]kernelTime{}}
	return nil
}

// KernelTimes waits for the stream and reports the timed launches by kernel.
func (g *GPU) KernelTimes(visit func(kernel string, calls int, seconds float64)) error {
	defer g.enter()()
	if g.prof == nil {
		return nil
	}
	if err := g.collect(); err != nil {
		return err
	}
	for k, t := range g.prof.times {
		visit(k, t.calls, t.seconds)
	}
	return nil
}

// collect waits for the stream and adds up the pending launches' times;
// the caller holds enter().
func (g *GPU) collect() error {
	p := g.prof
	if len(p.pending) == 0 {
		return nil
	}
	if err := g.stream.Synchronize(); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	for _, l := range p.pending {
		ms, err := l.start.Elapsed(l.end)
		if err != nil {
			return fmt.Errorf("cuda: timing %s: %w", l.kernel, err)
		}
		t := p.times[l.kernel]
		t.calls++
		t.seconds += ms / 1e3
		p.times[l.kernel] = t
		p.free = append(p.free, l.start, l.end)
	}
	p.pending = p.pending[:0]
	return nil
}

// event returns a timing event from the pool; the caller holds enter().
func (g *GPU) event() (cu.Event, error) {
	p := g.prof
	if n := len(p.free); n > 0 {
		e := p.free[n-1]
		p.free = p.free[:n-1]
		return e, nil
	}
	e, err := cu.MakeEvent(cu.DefaultEvent)
	if err != nil {
		return e, fmt.Errorf("cuda: profiling event: %w", err)
	}
	return e, nil
}

var (
	_ Batcher  = (*GPU)(nil)
	_ Profiler = (*GPU)(nil)
)

// OpenDevice opens GPU ordinal and loads the kernels.
func OpenDevice(ordinal int) (*GPU, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: no usable NVIDIA driver: %w", err)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda: GPU %d requested, %d present", ordinal, n)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, fmt.Errorf("cuda: GPU %d: %w", ordinal, err)
	}
	g := &GPU{dev: dev, fns: map[string]cu.Function{}}
	g.name, _ = dev.Name()
	g.sms, _ = dev.Attribute(cu.MultiprocessorCount)
	g.ccMajor, _ = dev.Attribute(cu.ComputeCapabilityMajor)
	g.ccMinor, _ = dev.Attribute(cu.ComputeCapabilityMinor)
	if g.ccMajor < 8 {
		return nil, fmt.Errorf("cuda: %s has compute capability %d.%d; the kernels are built for 8.0 and newer", g.name, g.ccMajor, g.ccMinor)
	}
	if g.ctx, err = dev.RetainPrimaryCtx(); err != nil {
		return nil, fmt.Errorf("cuda: %s: context: %w", g.name, err)
	}
	if err := cu.SetCurrentContext(g.ctx); err != nil {
		return nil, fmt.Errorf("cuda: %s: context: %w", g.name, err)
	}
	if len(kernelsFatbin) == 0 {
		return nil, errors.New("cuda: the embedded kernels.fatbin is empty; run `make kernels`")
	}
	if g.mod, err = cu.LoadData(kernelsFatbin); err != nil {
		return nil, fmt.Errorf("cuda: loading the kernel fatbin on %s (sm_%d%d): %w", g.name, g.ccMajor, g.ccMinor, err)
	}
	if g.stream, err = cu.MakeStream(cu.NonBlocking); err != nil {
		return nil, fmt.Errorf("cuda: stream: %w", err)
	}
	return g, nil
}

// enter locks the goroutine to its thread and makes the context current;
// the returned function undoes the lock.
func (g *GPU) enter() func() {
	g.mu.Lock()
	runtime.LockOSThread()
	if err := cu.SetCurrentContext(g.ctx); err != nil {
		panic(fmt.Sprintf("cuda: cuCtxSetCurrent: %v", err))
	}
	return func() {
		runtime.UnlockOSThread()
		g.mu.Unlock()
	}
}

// Name is "cuda".
func (g *GPU) Name() string { return "cuda" }

// Describe names the GPU: "NVIDIA H200 (sm_90, 132 SMs)".
func (g *GPU) Describe() string {
	return fmt.Sprintf("%s (sm_%d%d, %d SMs)", g.name, g.ccMajor, g.ccMinor, g.sms)
}

// Alloc allocates device memory; out of memory names what was asked and
// what is free.
func (g *GPU) Alloc(bytes int) (uintptr, error) {
	defer g.enter()()
	p, err := cu.MemAlloc(int64(bytes))
	if err != nil {
		if errors.Is(err, cu.OutOfMemory) || err == cu.OutOfMemory {
			free, total, _ := cu.MemInfo()
			return 0, fmt.Errorf("cuda: out of GPU memory: need %s more, %s of %s free on %s; try a smaller --ctx (the KV cache grows with it) or a smaller model",
				human(bytes), human(int(free)), human(int(total)), g.name)
		}
		return 0, fmt.Errorf("cuda: cuMemAlloc(%d): %w", bytes, err)
	}
	return uintptr(p), nil
}

func human(n int) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Free releases device memory.
func (g *GPU) Free(p uintptr) error {
	defer g.enter()()
	return cu.MemFree(cu.DevicePtr(p))
}

// Memset is stream-ordered.
func (g *GPU) Memset(p uintptr, b byte, bytes int) error {
	defer g.enter()()
	return cu.MemsetD8Async(cu.DevicePtr(p), b, int64(bytes), g.stream)
}

// CopyHtoD is stream-ordered; from pageable memory the driver stages src
// before returning, so src may be reused at once.
func (g *GPU) CopyHtoD(dst uintptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	defer g.enter()()
	return cu.MemcpyHtoDAsync(cu.DevicePtr(dst), unsafe.Pointer(&src[0]), int64(len(src)), g.stream)
}

// CopyDtoH waits for the stream's work and copies.
func (g *GPU) CopyDtoH(dst []byte, src uintptr) error {
	if len(dst) == 0 {
		return nil
	}
	defer g.enter()()
	if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&dst[0]), cu.DevicePtr(src), int64(len(dst)), g.stream); err != nil {
		return fmt.Errorf("cuda: copy to host: %w", err)
	}
	if err := g.stream.Synchronize(); err != nil {
		return fmt.Errorf("cuda: copy to host (or an earlier kernel): %w", err)
	}
	return nil
}

// CopyDtoD is stream-ordered.
func (g *GPU) CopyDtoD(dst, src uintptr, bytes int) error {
	defer g.enter()()
	return cu.MemcpyDtoDAsync(cu.DevicePtr(dst), cu.DevicePtr(src), int64(bytes), g.stream)
}

// function returns the kernel, cached; the caller holds enter().
func (g *GPU) function(name string) (cu.Function, error) {
	if fn, ok := g.fns[name]; ok {
		return fn, nil
	}
	fn, err := g.mod.Function(name)
	if err != nil {
		return fn, fmt.Errorf("cuda: kernel %s is not in the fatbin (rebuild with `make kernels`): %w", name, err)
	}
	g.fns[name] = fn
	return fn, nil
}

// Limits asks the driver for kernel's MAX_THREADS_PER_BLOCK (which counts
// its registers) and its static shared memory; dynamic shared memory gets
// the rest of the 48 KiB a block has without opting in.
func (g *GPU) Limits(kernel string) (maxThreads, maxShared int, err error) {
	defer g.enter()()
	fn, err := g.function(kernel)
	if err != nil {
		return 0, 0, err
	}
	if maxThreads, err = fn.Attribute(cu.FnMaxThreadsPerBlock); err != nil {
		return 0, 0, fmt.Errorf("cuda: %s: max threads per block: %w", kernel, err)
	}
	static, err := fn.Attribute(cu.SharedSizeBytes)
	if err != nil {
		return 0, 0, fmt.Errorf("cuda: %s: static shared memory: %w", kernel, err)
	}
	return maxThreads, 48<<10 - static, nil
}

// Launch queues one kernel on the stream.
func (g *GPU) Launch(kernel string, grid, block [3]uint32, sharedBytes int, params []unsafe.Pointer) error {
	defer g.enter()()
	return g.launch(kernel, grid, block, sharedBytes, params)
}

func (g *GPU) launch(kernel string, grid, block [3]uint32, sharedBytes int, params []unsafe.Pointer) error {
	fn, err := g.function(kernel)
	if err != nil {
		return err
	}
	if g.prof != nil {
		return g.timedLaunch(fn, kernel, grid, block, sharedBytes, params)
	}
	if err := fn.Launch(int(grid[0]), int(grid[1]), int(grid[2]), int(block[0]), int(block[1]), int(block[2]),
		sharedBytes, g.stream, params); err != nil {
		return fmt.Errorf("cuda: launch %s grid %v block %v shared %d: %w", kernel, grid, block, sharedBytes, err)
	}
	return nil
}

// timedLaunch is launch between two recorded events; the caller holds enter().
func (g *GPU) timedLaunch(fn cu.Function, kernel string, grid, block [3]uint32, sharedBytes int, params []unsafe.Pointer) error {
	if len(g.prof.pending) >= maxPending {
		if err := g.collect(); err != nil {
			return err
		}
	}
	start, err := g.event()
	if err != nil {
		return err
	}
	end, err := g.event()
	if err != nil {
		return err
	}
	if err := start.Record(g.stream); err != nil {
		return fmt.Errorf("cuda: profiling event: %w", err)
	}
	if err := fn.Launch(int(grid[0]), int(grid[1]), int(grid[2]), int(block[0]), int(block[1]), int(block[2]),
		sharedBytes, g.stream, params); err != nil {
		return fmt.Errorf("cuda: launch %s grid %v block %v shared %d: %w", kernel, grid, block, sharedBytes, err)
	}
	if err := end.Record(g.stream); err != nil {
		return fmt.Errorf("cuda: profiling event: %w", err)
	}
	g.prof.pending = append(g.prof.pending, timedLaunch{kernel: kernel, start: start, end: end})
	return nil
}

// Synchronize waits for the stream.
func (g *GPU) Synchronize() error {
	defer g.enter()()
	if err := g.stream.Synchronize(); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	return nil
}

// Close releases the graphs, the stream, the module and the context.
func (g *GPU) Close() error {
	defer g.enter()()
	if g.closed {
		return nil
	}
	g.closed = true
	_ = g.stream.Synchronize()
	g.graphs.destroy()
	var errs []error
	if g.prof != nil {
		for _, l := range g.prof.pending {
			g.prof.free = append(g.prof.free, l.start, l.end)
		}
		for i := range g.prof.free {
			errs = append(errs, cu.DestroyEvent(&g.prof.free[i]))
		}
	}
	errs = append(errs, g.stream.Destroy())
	errs = append(errs, g.mod.Unload())
	errs = append(errs, g.dev.ReleasePrimaryCtx())
	return errors.Join(errs...)
}

// GraphStats reports how many batches ran as new graphs, as updated
// replays, and as plain launches.
func (g *GPU) GraphStats() (built, replayed, plain int) {
	return g.graphs.built, g.graphs.replayed, g.graphs.plain
}
