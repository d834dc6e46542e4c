package cuda

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/cpu"
	"gpurun/runtime/cuda/emu"
	"gpurun/runtime/fixtures"
)

// The parity tests run backendtest.Cases() (plus the extra cases below) on
// this package's Backend over the emulated device (runtime/cuda/emu), which
// runs the real kernels/*.cu on the host, against the CPU reference backend.
// Subtest names end with the kernels the case launched, e.g.
// TestEmuParity/default/rmsnorm/n=576/T=3/rmsnorm_f32.

func kernelDir(t testing.TB) string {
	t.Helper()
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "kernels")
}

var (
	emuOnce sync.Once
	emuErr  error
	emuLib  *emu.Device // the first device opened; compiles the library
)

// openEmu opens an emulated device (compiling the kernels the first time).
// A -tags cuda test binary copied to a GPU machine without the sources
// skips the emulated tests.
func openEmu(t testing.TB) Device {
	t.Helper()
	if builtWithCUDA {
		if _, err := fixtures.RepoRoot(); err != nil {
			t.Skip("no kernels/ sources here; the emulated tests run in the default build")
		}
	}
	emuOnce.Do(func() {
		emuLib, emuErr = emu.Open(emu.Options{KernelDir: kernelDir(t), Log: func(s string) { fmt.Fprintln(os.Stderr, s) }})
	})
	if emuErr != nil {
		t.Fatal(emuErr)
	}
	d, err := emu.Open(emu.Options{KernelDir: kernelDir(t), Limits: fatbinLimits(t)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// recorder wraps a Device, records the kernels launched, and queues like
// the CUDA device does for graphs (it is a Batcher): a batch goes to the
// wrapped device's RunBatch if it has one (the GPU: graphs), else it is
// launched kernel by kernel (the emulator), which tests the queueing.
type recorder struct {
	Device
	mu       sync.Mutex
	launched []string
}

func (r *recorder) Launch(kernel string, grid, block [3]uint32, shared int, params []unsafe.Pointer) error {
	r.mu.Lock()
	r.launched = append(r.launched, kernel)
	r.mu.Unlock()
	return r.Device.Launch(kernel, grid, block, shared, params)
}

func (r *recorder) RunBatch(ls []Launch) error {
	if bt, ok := r.Device.(Batcher); ok {
		r.mu.Lock()
		for _, l := range ls {
			r.launched = append(r.launched, l.Kernel)
		}
		r.mu.Unlock()
		return bt.RunBatch(ls)
	}
	for _, l := range ls {
		params := make([]unsafe.Pointer, len(l.Args))
		for i := range l.Args {
			params[i] = unsafe.Pointer(&l.Args[i])
		}
		if err := r.Launch(l.Kernel, l.Grid, l.Block, l.Shared, params); err != nil {
			return err
		}
	}
	return nil
}

// take returns the distinct kernels launched since the last take, sorted.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ks := slices.Clone(r.launched)
	r.launched = r.launched[:0]
	sort.Strings(ks)
	return slices.Compact(ks)
}

// config is one way of running the backend: the tests cover the block-size
// choices, both matmul paths for every T (the matrix-vector tiles, and with
// GEMMPrefill both GEMMs), split-K attention with several splits, and queued
// (graph) launches.
type config struct {
	name string
	opts Options
}

var configs = []config{
	{name: "default"}, // queued launches (graphs on the GPU)
	{name: "bs32-matvec-simt-split32", opts: Options{BlockSize: 32, MatVecMaxT: 64, NoTensorCores: true, AttnSplitKeys: 32, NoGraphs: true}},
	{name: "bs1024-split64-gemm", opts: Options{BlockSize: 1024, AttnSplitKeys: 64, NoGraphs: true, GEMMPrefill: true}},
	{name: "bs96-simt-rpw3-gemm", opts: Options{BlockSize: 96, NoTensorCores: true, MatVecRowsPerWarp: 3, NoGraphs: true, GEMMPrefill: true}},
}

var (
	launchedMu  sync.Mutex
	launchedAll = map[string]bool{} // every kernel an emulated case launched
	parityRan   bool                // TestEmuParity ran unfiltered
)

func cpuRef(t testing.TB) backend.Backend {
	t.Helper()
	ref, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// runParity runs cases on a backend over a device from open, configured by
// cfg, against the CPU.
// cpuArithNMSE bounds, on the emulator, the products with block-format
// weights that run the matrix-vector kernels (every T, unless GEMMPrefill):
// they quantize x exactly as the CPU twin does, so only the order of float
// sums differs (measured: NMSE up to 6e-14).
const cpuArithNMSE = 1e-10

// cpuArith reports whether c is a block-format product that, under cfg,
// quantizes x as the CPU does.
func cpuArith(c backendtest.Case, cfg config) bool {
	switch c.Op {
	case "matmul", "matmul_qkv", "matmul_swiglu":
	default:
		return false
	}
	typ, _, _ := strings.Cut(c.Name, "/")
	return !cfg.opts.GEMMPrefill && typ != "F32" && typ != "F16" && typ != "BF16"
}

// runParity runs cases against the CPU; tight (the emulator, whose float
// functions are the host's) holds cpuArith cases to cpuArithNMSE.
func runParity(t *testing.T, cfg config, cases []backendtest.Case, open func(testing.TB) Device, tight bool) {
	ref := cpuRef(t)
	defer ref.Close()
	rec := &recorder{Device: open(t)}
	var dev Device = rec
	b, err := New(dev, cfg.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, c := range cases {
		rec.take()
		nmse, err := backendtest.Compare(c, ref, b)
		ks := rec.take()
		launchedMu.Lock()
		for _, k := range ks {
			launchedAll[k] = true
		}
		launchedMu.Unlock()
		name := c.FullName() + "/" + strings.Join(ks, "+")
		if os.Getenv("PARITY_NMSE") != "" {
			fmt.Printf("%-70s %.3g / %.3g\n", cfg.name+"/"+name, nmse, c.MaxNMSE)
		}
		t.Run(name, func(t *testing.T) {
			if err != nil {
				t.Fatal(err)
			}
			bound := c.MaxNMSE
			if tight && cpuArith(c, cfg) {
				bound = min(bound, cpuArithNMSE)
			}
			if nmse > bound || math.IsNaN(nmse) {
				t.Fatalf("NMSE %.3g > %.3g", nmse, bound)
			}
			t.Logf("NMSE %.3g (max %.3g)", nmse, bound)
		})
		if b.Err() != nil { // a sticky error would fail every later case: start over
			b.Close()
			rec = &recorder{Device: open(t)}
			dev = rec
			if b, err = New(dev, cfg.opts); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func allCases() []backendtest.Case {
	return append(backendtest.Cases(), extraCases()...)
}

// TestEmuParity: every parity case, in every config, on the emulated GPU.
func TestEmuParity(t *testing.T) {
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) { runParity(t, cfg, allCases(), openEmu, true) })
	}
	parityRan = !t.Failed() && runFilterEmpty()
}

func runFilterEmpty() bool {
	f := flagValue("test.run")
	return f == "" || f == "TestEmuParity" || f == "^TestEmuParity$"
}

// TestKernelCoverage fails when a __global__ in kernels/*.cu is never
// launched by an emulated case. It reuses TestEmuParity's record when that
// ran in full, and runs the cases itself otherwise.
func TestKernelCoverage(t *testing.T) {
	if !parityRan {
		for _, cfg := range configs {
			t.Run(cfg.name, func(t *testing.T) { runParity(t, cfg, allCases(), openEmu, true) })
		}
	}
	syms, err := emu.KernelSymbols(kernelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, s := range syms {
		if !launchedAll[s.Name] {
			missing = append(missing, s.Name+" ("+s.File+")")
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d kernels never launched by an emulated parity case:\n  %s", len(missing), len(syms), strings.Join(missing, "\n  "))
	}
	t.Logf("all %d kernels launched", len(syms))
}

// TestAllCuIncludesEveryKernel: nvcc builds the fatbin from kernels/all.cu,
// so a kernel file missing there would be absent on the GPU.
func TestAllCuIncludesEveryKernel(t *testing.T) {
	dir := kernelDir(t)
	src, err := os.ReadFile(filepath.Join(dir, "all.cu"))
	if err != nil {
		t.Fatal(err)
	}
	inc := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#include "([^"]+\.cu)"`).FindAllStringSubmatch(string(src), -1) {
		inc[m[1]] = true
	}
	files, err := emu.KernelFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !inc[filepath.Base(f)] {
			t.Errorf("kernels/all.cu does not #include %q", filepath.Base(f))
		}
	}
}
