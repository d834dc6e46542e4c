// Package emu is a CUDA device emulated on the host: device memory is host
// memory, and a kernel launch runs the real kernels/*.cu sources, compiled
// with the host C++ compiler through the kernels/emu header (one fiber per
// CUDA thread, barriers and warp shuffles emulated; see kernels/emu/emu.h).
//
// Device implements runtime/cuda's Device interface, so the CUDA backend —
// launchers, argument marshalling, buffer arithmetic and the kernels
// themselves — runs unchanged in tests on machines without a GPU.
package emu

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

typedef int (*emu_launch_fn)(const char*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             void**, char*, int);
typedef int (*emu_count_fn)(void);
typedef const char* (*emu_name_fn)(int);

static void* emu_open(const char* path, char* err, int n) {
	void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) snprintf(err, n, "%s", dlerror());
	return h;
}
static void* emu_sym(void* h, const char* name) { return dlsym(h, name); }
static int emu_call_launch(void* f, const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                           unsigned bz, unsigned sh, void** args, char* err, int n) {
	return ((emu_launch_fn)f)(name, gx, gy, gz, bx, by, bz, sh, args, err, n);
}
static int emu_call_count(void* f) { return ((emu_count_fn)f)(); }
static const char* emu_call_name(void* f, int i) { return ((emu_name_fn)f)(i); }
#include <stdint.h>
// Device addresses stay uintptr_t on the Go side (go vet rightly rejects
// uintptr -> unsafe.Pointer conversions there); these do the casts.
static uintptr_t emu_alloc(size_t n) {
	void* p = aligned_alloc(256, (n + 255) / 256 * 256);
	if (p) memset(p, 0xff, n);
	return (uintptr_t)p;
}
static void emu_free(uintptr_t p) { free((void*)p); }
static void emu_memset(uintptr_t p, int b, size_t n) { memset((void*)p, b, n); }
static void emu_htod(uintptr_t dst, const void* src, size_t n) { memcpy((void*)dst, src, n); }
static void emu_dtoh(void* dst, uintptr_t src, size_t n) { memcpy(dst, (const void*)src, n); }
static void emu_dtod(uintptr_t dst, uintptr_t src, size_t n) { memmove((void*)dst, (const void*)src, n); }
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
	"unsafe"

	"gpurun/runtime/cuda/fatbin"
)

// Options configure Open.
type Options struct {
	// KernelDir is the kernels/ directory holding the .cu sources (required).
	KernelDir string
	// CacheDir holds compiled objects and libraries; default
	// $GPURUN_EMU_CACHE, else <user cache dir>/gpurun-emu.
	CacheDir string
	// CXX is the C++20 compiler; default $CXX, else g++.
	CXX string
	// Log, if set, receives a line per kernel file compiled.
	Log func(string)
	// Limits, if set, are the kernels' launch limits on the GPU, read from
	// the fatbin nvcc built from the same sources (fatbin.Read): a launch
	// beyond them fails here as it would there. Without them a kernel may
	// take 1,024 threads and 48 KiB of dynamic shared memory.
	Limits map[string]fatbin.Limit
}

// Device is the emulated device.
type Device struct {
	mu      sync.Mutex
	handle  unsafe.Pointer
	launch  unsafe.Pointer
	lib     string
	kernels map[string]bool
	limits  map[string]fatbin.Limit
	allocs  map[uintptr]int
	counts  map[string]int
	prof    map[string]kernelTime // per-kernel host time while profiling (nil: off)
	argv    unsafe.Pointer        // C memory: 64 values of 8 bytes
	argp    unsafe.Pointer        // C memory: 64 pointers into argv
	errbuf  *C.char
	closed  bool
}

const maxArgs = 64

func defaultCacheDir() string {
	if d := os.Getenv("GPURUN_EMU_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "gpurun-emu")
	}
	return filepath.Join(os.TempDir(), "gpurun-emu")
}

// Open compiles (or finds in the cache) the kernel library and loads it.
func Open(o Options) (*Device, error) {
	if o.KernelDir == "" {
		return nil, fmt.Errorf("emu: Options.KernelDir is empty")
	}
	if o.CacheDir == "" {
		o.CacheDir = defaultCacheDir()
	}
	if o.CXX == "" {
		o.CXX = os.Getenv("CXX")
	}
	if o.CXX == "" {
		o.CXX = "g++"
	}
	lib, syms, err := buildLibrary(o.KernelDir, o.CacheDir, o.CXX, o.Log)
	if err != nil {
		return nil, err
	}
	d := &Device{lib: lib, kernels: map[string]bool{}, limits: o.Limits, allocs: map[uintptr]int{}, counts: map[string]int{}}
	cpath := C.CString(lib)
	defer C.free(unsafe.Pointer(cpath))
	d.errbuf = (*C.char)(C.malloc(1024))
	d.handle = C.emu_open(cpath, d.errbuf, 1024)
	if d.handle == nil {
		err := fmt.Errorf("emu: dlopen %s: %s", lib, C.GoString(d.errbuf))
		C.free(unsafe.Pointer(d.errbuf))
		return nil, err
	}
	sym := func(name string) unsafe.Pointer {
		c := C.CString(name)
		defer C.free(unsafe.Pointer(c))
		return C.emu_sym(d.handle, c)
	}
	d.launch = sym("emu_launch")
	count, name := sym("emu_num_kernels"), sym("emu_kernel_name")
	if d.launch == nil || count == nil || name == nil {
		return nil, fmt.Errorf("emu: %s lacks the emu_* entry points", lib)
	}
	for i := 0; i < int(C.emu_call_count(count)); i++ {
		d.kernels[C.GoString(C.emu_call_name(name, C.int(i)))] = true
	}
	for _, s := range syms {
		if !d.kernels[s.Name] {
			return nil, fmt.Errorf("emu: kernel %s (%s) is missing from the compiled registry", s.Name, s.File)
		}
	}
	d.argv = C.malloc(maxArgs * 8)
	d.argp = C.malloc(maxArgs * 8)
	return d, nil
}

// Name is "emu".
func (d *Device) Name() string { return "emu" }

// Library is the path of the loaded kernel library.
func (d *Device) Library() string { return d.lib }

// Kernels lists the kernel symbols the library registered, sorted.
func (d *Device) Kernels() []string {
	var ks []string
	for k := range d.kernels {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Launches returns how many times each kernel has been launched.
func (d *Device) Launches() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[string]int, len(d.counts))
	for k, v := range d.counts {
		m[k] = v
	}
	return m
}

// Alloc returns bytes of uninitialised memory (filled with 0xff bytes, a NaN
// pattern, so that a read of never-written memory shows in results).
func (d *Device) Alloc(bytes int) (uintptr, error) {
	if bytes <= 0 {
		return 0, fmt.Errorf("emu: alloc of %d bytes", bytes)
	}
	p := uintptr(C.emu_alloc(C.size_t(bytes)))
	if p == 0 {
		return 0, fmt.Errorf("emu: out of memory allocating %d bytes", bytes)
	}
	d.mu.Lock()
	d.allocs[p] = bytes
	d.mu.Unlock()
	return p, nil
}

// Free releases an allocation.
func (d *Device) Free(p uintptr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.allocs[p]; !ok {
		return fmt.Errorf("emu: free of %#x, which is not an allocation", p)
	}
	delete(d.allocs, p)
	C.emu_free(C.uintptr_t(p))
	return nil
}

// check verifies that [p, p+n) lies inside one allocation.
func (d *Device) check(op string, p uintptr, n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for base, size := range d.allocs {
		if p >= base && p+uintptr(n) <= base+uintptr(size) {
			return nil
		}
	}
	return fmt.Errorf("emu: %s of %d bytes at %#x is outside every allocation", op, n, p)
}

// Memset sets bytes bytes at p to b.
func (d *Device) Memset(p uintptr, b byte, bytes int) error {
	if err := d.check("memset", p, bytes); err != nil {
		return err
	}
	C.emu_memset(C.uintptr_t(p), C.int(b), C.size_t(bytes))
	return nil
}

// CopyHtoD copies src to device memory at dst.
func (d *Device) CopyHtoD(dst uintptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	if err := d.check("copy to device", dst, len(src)); err != nil {
		return err
	}
	C.emu_htod(C.uintptr_t(dst), unsafe.Pointer(&src[0]), C.size_t(len(src)))
	return nil
}

// CopyDtoH copies device memory at src into dst.
func (d *Device) CopyDtoH(dst []byte, src uintptr) error {
	if len(dst) == 0 {
		return nil
	}
	if err := d.check("copy to host", src, len(dst)); err != nil {
		return err
	}
	C.emu_dtoh(unsafe.Pointer(&dst[0]), C.uintptr_t(src), C.size_t(len(dst)))
	return nil
}

// CopyDtoD copies bytes bytes between device buffers.
func (d *Device) CopyDtoD(dst, src uintptr, bytes int) error {
	if err := d.check("copy on device", dst, bytes); err != nil {
		return err
	}
	if err := d.check("copy on device", src, bytes); err != nil {
		return err
	}
	C.emu_dtod(C.uintptr_t(dst), C.uintptr_t(src), C.size_t(bytes))
	return nil
}

// Limits returns the most threads per block and bytes of dynamic shared
// memory a launch of kernel may ask for: Options.Limits' entry, else 1,024
// and 48 KiB.
func (d *Device) Limits(kernel string) (maxThreads, maxShared int, err error) {
	if !d.kernels[kernel] {
		return 0, 0, fmt.Errorf("emu: no kernel named %q in %s", kernel, d.lib)
	}
	l, ok := d.limits[kernel]
	if !ok {
		return fatbin.ThreadsPerBlock, fatbin.SharedPerBlock, nil
	}
	return l.MaxThreads, l.MaxShared, nil
}

// Launch runs kernel like cuLaunchKernel: params[i] points at parameter i
// (8 readable bytes; a 4-byte parameter is taken from the low-order bytes).
// It returns when the kernel has finished.
func (d *Device) Launch(kernel string, grid, block [3]uint32, sharedBytes int, params []unsafe.Pointer) error {
	if !d.kernels[kernel] {
		return fmt.Errorf("emu: no kernel named %q in %s", kernel, d.lib)
	}
	if len(params) > maxArgs {
		return fmt.Errorf("emu: %s: %d parameters (at most %d)", kernel, len(params), maxArgs)
	}
	// the GPU's checks, with its error names
	maxShared := fatbin.SharedPerBlock
	if l, ok := d.limits[kernel]; ok {
		if n := int(block[0]) * int(block[1]) * int(block[2]); n > l.MaxThreads {
			return fmt.Errorf("emu: launch %s: CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: %d threads per block; its registers allow %d", kernel, n, l.MaxThreads)
		}
		maxShared = l.MaxShared
	}
	if sharedBytes > maxShared {
		return fmt.Errorf("emu: launch %s: CUDA_ERROR_INVALID_VALUE: %d bytes of dynamic shared memory; at most %d without opting in", kernel, sharedBytes, maxShared)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("emu: device closed")
	}
	for i, p := range params {
		*(*unsafe.Pointer)(unsafe.Add(d.argp, 8*i)) = unsafe.Add(d.argv, 8*i)
		*(*uint64)(unsafe.Add(d.argv, 8*i)) = *(*uint64)(p)
	}
	cname := C.CString(kernel)
	defer C.free(unsafe.Pointer(cname))
	start := time.Now()
	rc := C.emu_call_launch(d.launch, cname, C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]),
		C.uint(block[0]), C.uint(block[1]), C.uint(block[2]), C.uint(sharedBytes),
		(*unsafe.Pointer)(d.argp), d.errbuf, 1024)
	d.counts[kernel]++
	if d.prof != nil {
		t := d.prof[kernel]
		t.calls++
		t.seconds += time.Since(start).Seconds()
		d.prof[kernel] = t
	}
	if rc != 0 {
		return fmt.Errorf("emu: launch %s: %s", kernel, C.GoString(d.errbuf))
	}
	return nil
}

type kernelTime struct {
	calls   int
	seconds float64
}

// StartProfile makes later launches record their host time (the emulator's
// stand-in for device time) by kernel.
func (d *Device) StartProfile() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prof = map[string]kernelTime{}
	return nil
}

// KernelTimes reports the launches since StartProfile, by kernel.
func (d *Device) KernelTimes(visit func(kernel string, calls int, seconds float64)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, t := range d.prof {
		visit(k, t.calls, t.seconds)
	}
	return nil
}

// Synchronize returns at once: emulated launches are synchronous.
func (d *Device) Synchronize() error { return nil }

// Close frees every allocation. The library stays loaded (its worker threads
// are shared by every Device of the process).
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	for p := range d.allocs {
		C.emu_free(C.uintptr_t(p))
	}
	d.allocs = nil
	C.free(d.argv)
	C.free(d.argp)
	C.free(unsafe.Pointer(d.errbuf))
	return nil
}
