package emu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"gpurun/runtime/cuda/fatbin"
	"gpurun/runtime/fixtures"
)

func kernelDir(t *testing.T) string {
	t.Helper()
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "kernels")
}

// runAdd launches add_f32 on dev over n elements and returns dst.
func runAdd(t *testing.T, dev *Device, a, b []float32) []float32 {
	t.Helper()
	n := len(a)
	bytes := 4 * n
	var ptrs [3]uintptr
	for i := range ptrs {
		p, err := dev.Alloc(bytes)
		if err != nil {
			t.Fatal(err)
		}
		ptrs[i] = p
	}
	f2b := func(x []float32) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x)) }
	if err := dev.CopyHtoD(ptrs[1], f2b(a)); err != nil {
		t.Fatal(err)
	}
	if err := dev.CopyHtoD(ptrs[2], f2b(b)); err != nil {
		t.Fatal(err)
	}
	args := []uint64{uint64(ptrs[0]), uint64(ptrs[1]), uint64(ptrs[2]), uint64(n)}
	params := make([]unsafe.Pointer, len(args))
	for i := range args {
		params[i] = unsafe.Pointer(&args[i])
	}
	if err := dev.Launch("add_f32", [3]uint32{3, 1, 1}, [3]uint32{64, 1, 1}, 0, params); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, n)
	if err := dev.CopyDtoH(f2b(out), ptrs[0]); err != nil {
		t.Fatal(err)
	}
	return out
}

// addOnly copies the add kernel, the headers and the emulator into a
// temporary kernels/ directory: these tests need no other kernel, and
// runtime/cuda's tests compile the full set (in parallel with these, when
// the cache is cold).
func addOnly(t *testing.T) (kdir, cache string) {
	dir := t.TempDir()
	kdir = filepath.Join(dir, "kernels")
	copyTree(t, kernelDir(t), kdir, func(name string) bool {
		return name == "add.cu" || strings.HasSuffix(name, ".cuh") || filepath.Dir(name) == "emu"
	})
	return kdir, filepath.Join(dir, "cache")
}

func TestAddEndToEnd(t *testing.T) {
	kdir, cache := addOnly(t)
	dev, err := Open(Options{KernelDir: kdir, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	a := make([]float32, 1000)
	b := make([]float32, 1000)
	for i := range a {
		a[i], b[i] = float32(i), float32(2*i)+0.5
	}
	out := runAdd(t, dev, a, b)
	for i := range out {
		if out[i] != a[i]+b[i] {
			t.Fatalf("out[%d] = %v, want %v", i, out[i], a[i]+b[i])
		}
	}
	if err := dev.Launch("no_such_kernel", [3]uint32{1, 1, 1}, [3]uint32{1, 1, 1}, 0, nil); err == nil {
		t.Fatal("launch of an unknown kernel succeeded")
	}
}

// TestLimits: with a kernel's launch limits (as read from the fatbin), a
// launch beyond them fails with the GPU's error; without, 1,024 threads and
// 48 KiB of dynamic shared memory.
func TestLimits(t *testing.T) {
	kdir, cache := addOnly(t)
	dev, err := Open(Options{KernelDir: kdir, CacheDir: cache, Limits: map[string]fatbin.Limit{"add_f32": {MaxThreads: 64, MaxShared: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if th, sh, err := dev.Limits("add_f32"); err != nil || th != 64 || sh != 100 {
		t.Fatalf("Limits(add_f32) = %d, %d, %v; want 64, 100", th, sh, err)
	}
	if _, _, err := dev.Limits("no_such_kernel"); err == nil {
		t.Fatal("Limits of an unknown kernel: no error")
	}
	runAdd(t, dev, []float32{1, 2}, []float32{3, 4}) // 64 threads: fits
	for _, c := range []struct {
		threads uint32
		shared  int
		want    string
	}{
		{128, 0, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: 128 threads per block; its registers allow 64"},
		{32, 101, "CUDA_ERROR_INVALID_VALUE: 101 bytes of dynamic shared memory; at most 100"},
	} {
		err := dev.Launch("add_f32", [3]uint32{1, 1, 1}, [3]uint32{c.threads, 1, 1}, c.shared, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("launch with %d threads, %d bytes shared: %v, want %q", c.threads, c.shared, err, c.want)
		}
	}

	plain, err := Open(Options{KernelDir: kdir, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if th, sh, err := plain.Limits("add_f32"); err != nil || th != 1024 || sh != 48<<10 {
		t.Fatalf("Limits(add_f32) without limits = %d, %d, %v; want 1024, 49152", th, sh, err)
	}
	if err := plain.Launch("add_f32", [3]uint32{1, 1, 1}, [3]uint32{32, 1, 1}, 48<<10+1, nil); err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_INVALID_VALUE") {
		t.Errorf("launch with 48 KiB + 1 of shared memory: %v", err)
	}
}

// TestEditedKernelIsRebuilt edits a copy of the kernel sources and checks
// that the next Open runs the edited kernel, not a cached one.
func TestEditedKernelIsRebuilt(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the kernels twice")
	}
	kdir, cache := addOnly(t)
	a, b := []float32{1, 2, 3}, []float32{10, 20, 30}

	dev, err := Open(Options{KernelDir: kdir, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if got := runAdd(t, dev, a, b); got[2] != 33 {
		t.Fatalf("before the edit: %v", got)
	}
	dev.Close()

	path := filepath.Join(kdir, "add.cu")
	s, _ := os.ReadFile(path)
	edited := strings.ReplaceAll(string(s), "dst[i] = a[i] + b[i]", "dst[i] = a[i] - b[i]")
	if edited == string(s) {
		t.Fatal("add.cu no longer contains dst[i] = a[i] + b[i]; update this test")
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	dev, err = Open(Options{KernelDir: kdir, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if got := runAdd(t, dev, a, b); got[2] != -27 {
		t.Fatalf("after editing add.cu the emulator still ran the old kernel: %v", got)
	}

	// An edit to a header only (included, not named in the generated unit).
	hdr := filepath.Join(kdir, "common.cuh")
	hs, _ := os.ReadFile(hdr)
	if err := os.WriteFile(hdr, append(hs, []byte("\n#define EMU_HEADER_EDIT 1\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	var compiled []string
	dev2, err := Open(Options{KernelDir: kdir, CacheDir: cache, Log: func(s string) { compiled = append(compiled, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer dev2.Close()
	if strings.Join(compiled, ";") != "emu: compiling add.cu" {
		t.Fatalf("after editing common.cuh the emulator compiled %q, want add.cu only", compiled)
	}
}

func copyTree(t *testing.T, from, to string, keep func(rel string) bool) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if !keep(rel) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseSymbols(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.cu")
	os.WriteFile(p, []byte(`// a __global__ in a comment is fine
extern "C" __global__ void a_f32(float* x) {}
extern "C" __global__ __launch_bounds__(256, 2) void b_f16(int n) {}
/* __global__ */
`), 0o644)
	syms, err := ParseSymbols(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(syms) != 2 || syms[0].Name != "a_f32" || syms[1].Name != "b_f16" {
		t.Fatalf("got %v", syms)
	}
	os.WriteFile(p, []byte("template <int N> __global__ void k(float* x) {}\n"), 0o644)
	if _, err := ParseSymbols(p); err == nil {
		t.Fatal("a non-extern-C kernel was accepted")
	}
}
