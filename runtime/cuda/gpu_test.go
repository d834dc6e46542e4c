//go:build cuda

package cuda

import (
	"testing"
)

// The same parity cases on the real GPU (go test -tags cuda; run
// bin/cuda.test on a GPU machine). The default config queues launches and
// replays them as CUDA graphs; "nographs" launches directly.

func openGPU(t testing.TB) Device {
	t.Helper()
	g, err := OpenDevice(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GPU: %s", g.Describe())
	return g
}

func TestGPUParity(t *testing.T) {
	cfgs := append([]config{{name: "nographs", opts: Options{NoGraphs: true}}}, configs...)
	for _, cfg := range cfgs {
		t.Run(cfg.name, func(t *testing.T) { runParity(t, cfg, allCases(), openGPU, false) })
	}
}

// TestGPUDecodeGraphs runs decode steps whose launch sequence repeats with
// new positions, checks each step against the CPU, and checks that the
// later steps replayed an instantiated graph.
func TestGPUDecodeGraphs(t *testing.T) {
	g, err := OpenDevice(0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	runDecodeSteps(t, b, 6)
	built, replayed, plain := g.GraphStats()
	t.Logf("graphs built %d, replayed %d, small batches %d", built, replayed, plain)
	if replayed < 3 {
		t.Fatalf("only %d of the decode steps replayed a graph", replayed)
	}
}

// TestGPUGPT2: the gpt2 architecture on the GPU against the CPU (see
// gpt2VersusCPU).
func TestGPUGPT2(t *testing.T) { gpt2VersusCPU(t, openGPU(t), 48) }

// TestGPUArchitectures: TestEmuArchitectures' tiny models (Qwen2/3,
// SmolLM3, Gemma 2/3, Phi-3, Granite, OLMo 2, EXAONE, the mixtures of
// experts) on the GPU against the CPU.
func TestGPUArchitectures(t *testing.T) { architecturesVersusCPU(t, openGPU) }
