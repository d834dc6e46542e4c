package emu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

// The emulator's own semantics, checked with a kernel written for it.
const selftestCU = `// selftest.cu — emulator self-test kernels (runtime/cuda/emu tests only).
#include "common.cuh"

// out[k*n + t] for n = blockDim.x threads, k = 0..6
extern "C" __global__ void collectives(int* out, int* counter) {
    const int t = threadIdx.x, n = blockDim.x, lane = t & 31;
    out[0 * n + t] = __shfl_sync(FULL_MASK, t, 3);
    out[1 * n + t] = __shfl_xor_sync(FULL_MASK, t, 5);
    out[2 * n + t] = __shfl_down_sync(FULL_MASK, t, 4);
    out[3 * n + t] = __shfl_up_sync(FULL_MASK, t, 4);
    out[4 * n + t] = __shfl_xor_sync(FULL_MASK, t, 2, 8);
    out[5 * n + t] = (int)__ballot_sync(FULL_MASK, lane % 3 == 0);
    atomicAdd(counter, t);
    __shared__ int s[1024];
    s[t] = t * t;
    __syncthreads();
    out[6 * n + t] = s[n - 1 - t];  // written by another thread, before the barrier
}

// Every thread reads dynamic shared memory no thread wrote: NaN (0xff bytes).
extern "C" __global__ void dyn_poison(float* out) {
    EXTERN_SHARED(float, sm);
    out[threadIdx.x] = sm[threadIdx.x];
}

extern "C" __global__ void early_return(int* out) {
    if (threadIdx.x == 5) return;
    __syncthreads();
    out[threadIdx.x] = 1;
}

// A missing barrier: thread t reads what thread n-1-t wrote, with no
// __syncthreads between (out[t] = n-1-t only if that thread ran first).
extern "C" __global__ void racy(int* out, int seed) {
    __shared__ int s[1024];
    const int t = threadIdx.x, n = blockDim.x;
    s[t] = seed + t;
    out[t] = s[n - 1 - t] - seed;
}

extern "C" __global__ void misaligned(const float* x, float* out) {
    const float4 v = *(const float4*)(x + 1);
    out[0] = v.x;
}
`

func openSelftest(t *testing.T) *Device {
	t.Helper()
	kdir, cache := addOnly(t)
	if err := os.WriteFile(filepath.Join(kdir, "selftest.cu"), []byte(selftestCU), 0o644); err != nil {
		t.Fatal(err)
	}
	dev, err := Open(Options{KernelDir: kdir, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func launch(dev *Device, k string, grid, block uint32, shared int, args ...uint64) error {
	params := make([]unsafe.Pointer, len(args))
	for i := range args {
		params[i] = unsafe.Pointer(&args[i])
	}
	return dev.Launch(k, [3]uint32{grid, 1, 1}, [3]uint32{block, 1, 1}, shared, params)
}

func TestEmulatorSemantics(t *testing.T) {
	dev := openSelftest(t)
	const n = 64
	out, _ := dev.Alloc(7 * n * 4)
	ctr, _ := dev.Alloc(4)
	dev.Memset(ctr, 0, 4)
	if err := launch(dev, "collectives", 1, n, 0, uint64(out), uint64(ctr)); err != nil {
		t.Fatal(err)
	}
	got := make([]int32, 7*n)
	dev.CopyDtoH(unsafe.Slice((*byte)(unsafe.Pointer(&got[0])), 4*len(got)), out)
	var c int32
	dev.CopyDtoH(unsafe.Slice((*byte)(unsafe.Pointer(&c)), 4), ctr)
	for tid := 0; tid < n; tid++ {
		lane, base := tid%32, tid/32*32
		ballot := uint32(0)
		for l := 0; l < 32; l += 3 {
			ballot |= 1 << l
		}
		down, up := base+lane+4, base+lane-4
		if lane+4 >= 32 {
			down = tid
		}
		if lane < 4 {
			up = tid
		}
		want := []int32{int32(base + 3), int32(base + lane ^ 5), int32(down), int32(up),
			int32(base + (lane/8)*8 + (lane % 8) ^ 2), int32(ballot), int32((n - 1 - tid) * (n - 1 - tid))}
		for k, w := range want {
			if got[k*n+tid] != w {
				t.Errorf("collective %d, thread %d: got %d want %d", k, tid, got[k*n+tid], w)
			}
		}
	}
	if c != n*(n-1)/2 {
		t.Errorf("atomicAdd total %d, want %d", c, n*(n-1)/2)
	}
}

// TestRaceShowsInOneBlock: a one-block kernel runs its threads in both
// orders over two launches, so a missing barrier shows in one of them.
func TestRaceShowsInOneBlock(t *testing.T) {
	dev := openSelftest(t)
	const n = 64
	out, _ := dev.Alloc(n * 4)
	wrong := [2][2]bool{} // [launch][thread 0, thread n-1]
	for k, seed := range []uint64{1000, 2000} {
		if err := launch(dev, "racy", 1, n, 0, uint64(out), seed); err != nil {
			t.Fatal(err)
		}
		got := make([]int32, n)
		dev.CopyDtoH(unsafe.Slice((*byte)(unsafe.Pointer(&got[0])), 4*n), out)
		wrong[k] = [2]bool{got[0] != n-1, got[n-1] != 0}
	}
	// forward order: thread n-1 reads what thread 0 wrote, thread 0 a stale
	// value; reverse order the other way round
	if wrong[0] == wrong[1] || wrong[0][0] == wrong[0][1] {
		t.Fatalf("threads 0 and %d read a stale value in launches 1, 2: %v; want each stale in exactly one launch", n-1, wrong)
	}
}

func TestEmulatorFaults(t *testing.T) {
	dev := openSelftest(t)
	buf, _ := dev.Alloc(4096)

	if err := launch(dev, "dyn_poison", 2, 48, 48*4, uint64(buf)); err != nil {
		t.Fatal(err)
	}
	f := make([]float32, 48)
	dev.CopyDtoH(unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f)), buf)
	for i, v := range f {
		if v == v {
			t.Fatalf("dynamic shared memory not poisoned: [%d] = %v", i, v)
		}
	}

	err := launch(dev, "early_return", 1, 48, 0, uint64(buf))
	if err == nil || !strings.Contains(err.Error(), "deadlock") {
		t.Errorf("a thread returning before __syncthreads: got %v, want a deadlock error", err)
	}
	err = launch(dev, "misaligned", 1, 32, 0, uint64(buf), uint64(buf))
	if err == nil || !strings.Contains(err.Error(), "misaligned") {
		t.Errorf("a misaligned float4 load: got %v, want a misaligned-address error", err)
	}
	if err := launch(dev, "dyn_poison", 1, 2048, 0, uint64(buf)); err == nil {
		t.Error("a block of 2048 threads was accepted")
	}
	// the device still works after failed launches
	if err := launch(dev, "dyn_poison", 1, 32, 32*4, uint64(buf)); err != nil {
		t.Fatal(err)
	}
}
