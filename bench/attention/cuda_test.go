package attention

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"gpurun/bench/sysinfo"
	"gpurun/runtime/backend"
	"gpurun/runtime/cuda"
	"gpurun/runtime/cuda/emu"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
)

// TestRunOnEmulatedCUDA runs the study as scripts/device-check.sh runs it on
// a GPU (the CUDA backend, an f16 cache, the layer methods and a whole
// model), with the kernels emulated on the host: the code path a device
// run depends on works before device time is spent on it.
func TestRunOnEmulatedCUDA(t *testing.T) {
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := emu.Open(emu.Options{KernelDir: filepath.Join(root, "kernels")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cuda.New(dev, cuda.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f, err := gguf.Open(fixtures.Path(t, "stories260K/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := model.Load(f, b, model.Options{MaxBatch: 8})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Shape: SmolLM2, Lengths: []int{16, 32}, KVType: backend.F16, Reps: 1, Passes: 1,
		MinSample: time.Microsecond, Model: m, ModelShape: NewModelShape("stories260K.gguf", "", m, 1000), ModelMaxLen: 16,
		Methods: []Method{Fused, DecodeCache, DecodeNoCache, ModelDecodeCache}}
	r, err := Run(context.Background(), b, cfg, sysinfo.Machine{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Device != "emu" || r.KVType != "f16" {
		t.Errorf("report device %q, kv %q", r.Device, r.KVType)
	}
	if len(r.Points) != 3*2+1 {
		t.Fatalf("%d points, want 7: %+v", len(r.Points), r.Points)
	}
	for _, p := range r.Points {
		if !(p.Seconds > 0) || p.Samples != 1 || !(p.FLOPs > 0) {
			t.Errorf("point %+v", p)
		}
	}
}
