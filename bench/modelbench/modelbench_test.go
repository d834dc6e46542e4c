package modelbench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"gpurun/bench/report"
	"gpurun/bench/sysinfo"
	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
)

func TestSummarise(t *testing.T) {
	tt := Test{SamplesNs: []int64{1e9, 2e9, 3e9}, SamplesTS: []float64{512, 256, 512.0 / 3}}
	tt.summarise()
	if tt.AvgNs != 2e9 || tt.StdNs != 1e9 {
		t.Errorf("ns: avg %g std %g, want 2e9 1e9", tt.AvgNs, tt.StdNs)
	}
	wantAvg := (512 + 256 + 512.0/3) / 3
	if math.Abs(tt.AvgTS-wantAvg) > 1e-9 {
		t.Errorf("avg t/s %g, want %g", tt.AvgTS, wantAvg)
	}
	// llama-bench's t/s mean is the mean of per-run rates, not N / mean time.
	if math.Abs(tt.AvgTS-256) < 1 {
		t.Errorf("avg t/s %g is N / mean time", tt.AvgTS)
	}
}

// Run end to end on the stories260K fixture at tiny sizes (structure only;
// nothing about speed is asserted).
func TestRunStories(t *testing.T) {
	f, err := gguf.Open(fixtures.Path(t, "stories260K/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := model.Load(f, b, model.Options{MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	r, err := Run(context.Background(), m, Config{Prompt: 10, Gen: 5, Reps: 3, KVType: backend.F32, BOS: 1},
		ModelInfo{Path: "stories260K.gguf", Arch: "llama"}, sysinfo.Machine{Commit: "abc1234"}, func(t Test) { seen = append(seen, t.Name) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "pp10,tg5" || len(r.Tests) != 2 {
		t.Fatalf("tests %v", seen)
	}
	for _, tt := range r.Tests {
		if len(tt.SamplesNs) != 3 || len(tt.SamplesTS) != 3 || !(tt.AvgTS > 0) {
			t.Errorf("%s: %+v", tt.Name, tt)
		}
		for i, ns := range tt.SamplesNs {
			if want := float64(tt.Tokens()) / (float64(ns) / 1e9); math.Abs(tt.SamplesTS[i]/want-1) > 1e-9 {
				t.Errorf("%s sample %d: %g t/s from %d ns", tt.Name, i, tt.SamplesTS[i], ns)
			}
		}
	}
	if r.Batch != 4 || r.CtxLen != 15 || r.Device != "cpu" || r.Threads != 2 || r.KVType != "f32" {
		t.Errorf("report header %+v", r)
	}

	// At a depth: every run starts from a cache holding Depth tokens, the
	// first of them BOS, and the tests are named as llama-bench names them.
	rec := &recorder{Model: m}
	r, err = Run(context.Background(), rec, Config{Prompt: 4, Gen: 3, Depth: 6, Reps: 2, KVType: backend.F32, BOS: 1},
		ModelInfo{}, sysinfo.Machine{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Tests) != 2 || r.Tests[0].Name != "pp4 @ d6" || r.Tests[1].Name != "tg3 @ d6" || r.Tests[1].Depth != 6 || r.CtxLen != 13 {
		t.Fatalf("depth tests %+v, n_ctx %d", r.Tests, r.CtxLen)
	}
	// warm-up and 2 runs of each: fill 6 (batches of 4: 4+2), then pp4 or tg3 from position 6
	want := "0:1,4,6,0:1,4,6,0:1,4,6," + // pp: warm-up, run 1, run 2 (fill at 0 and 4, pp4 at 6)
		"0:1,4,6,0:1,4,6,7,8,0:1,4,6,7,8," // tg: warm-up (1 token), run 1, run 2
	if got := rec.String(); got != want {
		t.Errorf("forward calls (cache position[:first token]) %q, want %q", got, want)
	}

	// Only a tg test; a cancelled context; bad configurations.
	r, err = Run(context.Background(), m, Config{Gen: 3, Reps: 1, NoWarmup: true, BOS: -1}, ModelInfo{}, sysinfo.Machine{}, nil)
	if err != nil || len(r.Tests) != 1 || r.Tests[0].Name != "tg3" {
		t.Errorf("tg only: %v, %+v", err, r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, m, Config{Prompt: 4, Reps: 1}, ModelInfo{}, sysinfo.Machine{}, nil); err == nil {
		t.Error("Run ignored a cancelled context")
	}
	for _, c := range []Config{{Reps: 1}, {Prompt: 4}, {Prompt: -1, Reps: 1}, {Prompt: 8, Reps: 1, CtxLen: 4},
		{Gen: 4, Depth: -1, Reps: 1}, {Gen: 4, Depth: 8, Reps: 1, CtxLen: 10}} {
		if _, err := Run(context.Background(), m, c, ModelInfo{}, sysinfo.Machine{}, nil); err == nil {
			t.Errorf("Run accepted %+v", c)
		}
	}
}

// recorder notes, for every Forward call, the cache position it starts at
// (and the first token when the position is 0: BOS).
type recorder struct {
	model.Model
	b strings.Builder
}

func (r *recorder) Forward(segs []model.Segment) (backend.Buffer, error) {
	if p := segs[0].Cache.Pos(); p == 0 {
		fmt.Fprintf(&r.b, "0:%d,", segs[0].Tokens[0])
	} else {
		fmt.Fprintf(&r.b, "%d,", p)
	}
	return r.Model.Forward(segs)
}

func (r *recorder) String() string { return r.b.String() }

func synthetic() *Report {
	return &Report{
		Study:   "model",
		Machine: sysinfo.Machine{CPU: "Test CPU", Cores: 2, OS: "linux", Arch: "amd64", GoVersion: "go1.26.8", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"},
		Model: ModelInfo{Path: "models/SmolLM2-135M-Instruct.Q4_1.gguf", Name: "SmolLM2 135M Instruct", Arch: "llama", FileType: "Q4_1",
			Bytes: 90_000_000, Params: 134_515_008},
		Device: "cpu", Threads: 2, KVType: "f32", Batch: 512, CtxLen: 640, Reps: 2, Definitions: Definitions,
		Tests: []Test{
			{Name: "pp512", Prompt: 512, SamplesNs: []int64{2e9, 2e9}, SamplesTS: []float64{256, 256}, AvgNs: 2e9, AvgTS: 256},
			{Name: "tg128", Gen: 128, SamplesNs: []int64{1e9, 1e9}, SamplesTS: []float64{100, 156}, AvgNs: 1e9, AvgTS: 128, StdTS: 39.6},
		},
	}
}

// TestDeviceLabel: the device line names the CPU kernel set when the
// backend reports one (the AVX2 runs of scripts/bench-vs-llamacpp.sh -a
// avx2 must be told apart from native ones).
func TestDeviceLabel(t *testing.T) {
	for _, c := range []struct {
		threads int
		kernels string
		want    string
	}{
		{2, "avx2", "cpu (2 threads, avx2 kernels)"},
		{2, "", "cpu (2 threads)"},
		{0, "", "cpu"},
	} {
		r := Report{Device: "cpu", Threads: c.threads, Kernels: c.kernels}
		if got := r.deviceLabel(); got != c.want {
			t.Errorf("threads %d, kernels %q: %q, want %q", c.threads, c.kernels, got, c.want)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := synthetic().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- machine: Test CPU (2 logical CPUs)",
		"- device: cpu (2 threads); KV cache f32; n_batch 512; context 640; 2 repetitions",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
	for _, row := range [][]string{
		{"model", "size", "params", "backend", "threads", "test", "t/s"},
		{"SmolLM2 135M Instruct Q4_1", "85.8 MiB", "134.52 M", "cpu", "2", "pp512", "256.00 ± 0.00"},
		{"SmolLM2 135M Instruct Q4_1", "85.8 MiB", "134.52 M", "cpu", "2", "tg128", "128.00 ± 39.60"},
	} {
		if !report.HasRow(b.String(), row...) {
			t.Errorf("markdown lacks the row %q:\n%s", row, b.String())
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	r := synthetic()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != r.Model || len(got.Tests) != 2 || got.Tests[1].StdTS != 39.6 || got.Machine != r.Machine {
		t.Errorf("round trip: %+v", got)
	}
	if _, err := ReadJSON(strings.NewReader(`{"study":"attention"}`)); err == nil {
		t.Error("ReadJSON accepted another study")
	}
}

func readLlamaBench(t *testing.T) []LlamaBenchTest {
	t.Helper()
	f, err := os.Open("testdata/llama-bench.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lb, err := ReadLlamaBench(f)
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

func TestReadLlamaBench(t *testing.T) {
	lb := readLlamaBench(t)
	if len(lb) != 2 {
		t.Fatalf("%d tests, want 2", len(lb))
	}
	names := []string{lb[0].Name(), lb[1].Name()}
	if names[0] != "pp64" || names[1] != "tg16" {
		t.Errorf("names %v", names)
	}
	for _, l := range lb {
		if l.Threads != 2 || !(l.AvgTS > 0) || len(l.SamplesTS) != 2 || l.ModelSize <= 0 || l.BuildCommit == "" {
			t.Errorf("entry %+v", l)
		}
	}
	if _, err := ReadLlamaBench(strings.NewReader(`[]`)); err == nil {
		t.Error("an empty array was accepted")
	}
	if _, err := ReadLlamaBench(strings.NewReader(`{`)); err == nil {
		t.Error("broken JSON was accepted")
	}
}

func TestLlamaBenchName(t *testing.T) {
	tests := []struct {
		t    LlamaBenchTest
		want string
	}{
		{LlamaBenchTest{Prompt: 512}, "pp512"},
		{LlamaBenchTest{Gen: 128}, "tg128"},
		{LlamaBenchTest{Prompt: 512, Gen: 128}, "pp512+tg128"},
		{LlamaBenchTest{Gen: 128, Depth: 4096}, "tg128 @ d4096"},
	}
	for _, tt := range tests {
		if got := tt.t.Name(); got != tt.want {
			t.Errorf("Name() = %q, want %q", got, tt.want)
		}
	}
}

func TestWriteComparison(t *testing.T) {
	r := synthetic()
	lb := []LlamaBenchTest{
		{BuildCommit: "deadbee", BuildNumber: 1, Backends: "CPU", Threads: 2, TypeK: "f16", TypeV: "f16", NBatch: 2048, NUBatch: 512, Prompt: 512, AvgTS: 1024, StdTS: 8},
		{Threads: 2, Gen: 128, Depth: 512, AvgTS: 1}, // another depth: compared with gpurun's tg128 @ d512 only
		{Threads: 2, Gen: 128, AvgTS: 256, StdTS: 2},
	}
	r.Tests = append(r.Tests, Test{Name: "tg128 @ d512", Gen: 128, Depth: 512, AvgTS: 2})
	var b bytes.Buffer
	if err := r.WriteComparison(&b, lb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- llama.cpp: build deadbee (1), backend CPU, 2 threads, KV cache f16/f16, n_batch 2048, n_ubatch 512",
		"- gpurun: commit abc1234, device cpu (2 threads), KV cache f32, n_batch 512, 2 repetitions",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, b.String())
		}
	}
	for _, row := range [][]string{
		{"pp512", "1024.00 ± 8.00", "256.00 ± 0.00", "0.250"},
		{"tg128", "256.00 ± 2.00", "128.00 ± 39.60", "0.500"},
		{"tg128 @ d512", "1.00 ± 0.00", "2.00 ± 0.00", "2.000"},
	} {
		if !report.HasRow(b.String(), row...) {
			t.Errorf("comparison lacks the row %q:\n%s", row, b.String())
		}
	}
	if strings.Contains(b.String(), "Warning") {
		t.Error("warned about equal thread counts")
	}
	lb[0].Threads = 4
	b.Reset()
	if err := r.WriteComparison(&b, lb); err != nil || !strings.Contains(b.String(), "thread counts differ (llama.cpp 4, gpurun 2)") {
		t.Errorf("no thread warning: %v\n%s", err, b.String())
	}
	if err := r.WriteComparison(&b, []LlamaBenchTest{{Prompt: 64}}); err == nil {
		t.Error("no common test, but no error")
	}
}
