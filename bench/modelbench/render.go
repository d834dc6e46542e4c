package modelbench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gpurun/bench/report"
)

// WriteJSON writes the report as indented JSON (ReadJSON reads it back).
func (r *Report) WriteJSON(w io.Writer) error { return report.WriteJSON(w, r) }

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	return report.ReadJSON(rd, "a model benchmark report", "model", func(r *Report) string { return r.Study })
}

// modelLabel is "NAME FILETYPE" (or the architecture when there is no name),
// as llama-bench's model column: "... Q4_1", not "MOSTLY_Q4_1".
func (r *Report) modelLabel() string {
	name := r.Model.Name
	if name == "" {
		name = r.Model.Arch
	}
	if ft := strings.TrimPrefix(r.Model.FileType, "MOSTLY_"); ft != "" {
		name += " " + ft
	}
	return name
}

// WriteMarkdown writes llama-bench's table (model, size, params, backend,
// threads, test, t/s as mean ± standard deviation) with the setup above it.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Model throughput (`gpurun bench model`)\n\n")
	fmt.Fprintf(&b, "- machine: %s%s\n", r.Machine, r.loadEnd())
	fmt.Fprintf(&b, "- model: %s (%s)\n", r.Model.Path, r.modelLabel())
	fmt.Fprintf(&b, "- device: %s; KV cache %s; n_batch %d; context %d; %d repetitions after a warm-up; t/s is the mean ± sample standard deviation\n",
		r.deviceLabel(), r.KVType, r.Batch, r.CtxLen, r.Reps)
	keys := []string{"pp", "tg"}
	if len(r.Tests) > 0 && r.Tests[0].Depth > 0 {
		keys = append(keys, "depth")
	}
	for _, k := range keys {
		if d, ok := r.Definitions[k]; ok {
			fmt.Fprintf(&b, "- %s\n", d)
		}
	}
	b.WriteString("\n")
	t := report.Table{
		Header: []string{"model", "size", "params", "backend", "threads", "test", "t/s"},
		Align:  []report.Align{report.Left, report.Right, report.Right, report.Left, report.Right, report.Right, report.Right},
	}
	threads := "-"
	if r.Threads > 0 {
		threads = strconv.Itoa(r.Threads)
	}
	for _, tt := range r.Tests {
		t.Add(r.modelLabel(), report.Bytes(float64(r.Model.Bytes)), fmt.Sprintf("%.2f M", float64(r.Model.Params)/1e6),
			r.Device, threads, tt.Name, fmt.Sprintf("%.2f ± %.2f", tt.AvgTS, tt.StdTS))
	}
	if err := t.Write(&b); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) loadEnd() string {
	if r.LoadAvgEnd == "" {
		return ""
	}
	return ", " + r.LoadAvgEnd + " at the end"
}

func (r *Report) deviceLabel() string {
	switch {
	case r.Threads > 0 && r.Kernels != "":
		return fmt.Sprintf("%s (%d threads, %s kernels)", r.Device, r.Threads, r.Kernels)
	case r.Threads > 0:
		return fmt.Sprintf("%s (%d threads)", r.Device, r.Threads)
	}
	return r.Device
}

// LlamaBenchTest is one entry of `llama-bench -o json` (the fields used here).
type LlamaBenchTest struct {
	BuildCommit string    `json:"build_commit"`
	BuildNumber int       `json:"build_number"`
	CPUInfo     string    `json:"cpu_info"`
	GPUInfo     string    `json:"gpu_info"`
	Backends    string    `json:"backends"`
	ModelFile   string    `json:"model_filename"`
	ModelType   string    `json:"model_type"`
	ModelSize   int64     `json:"model_size"`
	Params      int64     `json:"model_n_params"`
	NBatch      int       `json:"n_batch"`
	NUBatch     int       `json:"n_ubatch"`
	Threads     int       `json:"n_threads"`
	TypeK       string    `json:"type_k"`
	TypeV       string    `json:"type_v"`
	FlashAttn   int       `json:"flash_attn"`
	Prompt      int       `json:"n_prompt"`
	Gen         int       `json:"n_gen"`
	Depth       int       `json:"n_depth"`
	TestTime    string    `json:"test_time"`
	AvgNs       float64   `json:"avg_ns"`
	StdNs       float64   `json:"stddev_ns"`
	AvgTS       float64   `json:"avg_ts"`
	StdTS       float64   `json:"stddev_ts"`
	SamplesTS   []float64 `json:"samples_ts"`
}

// Name is llama-bench's test name: "pp512", "tg128", "pp512+tg128", with "@dN" for a depth.
func (t LlamaBenchTest) Name() string {
	var parts []string
	if t.Prompt > 0 {
		parts = append(parts, fmt.Sprintf("pp%d", t.Prompt))
	}
	if t.Gen > 0 {
		parts = append(parts, fmt.Sprintf("tg%d", t.Gen))
	}
	name := strings.Join(parts, "+")
	if t.Depth > 0 {
		name += fmt.Sprintf(" @ d%d", t.Depth)
	}
	return name
}

// ReadLlamaBench reads `llama-bench -o json` output (a JSON array).
func ReadLlamaBench(rd io.Reader) ([]LlamaBenchTest, error) {
	var ts []LlamaBenchTest
	if err := json.NewDecoder(rd).Decode(&ts); err != nil {
		return nil, fmt.Errorf("reading llama-bench JSON: %w", err)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("reading llama-bench JSON: no tests in it")
	}
	return ts, nil
}

// WriteComparison writes both tools' results for the tests they share
// (same prompt and generation lengths and depth) and the ratio of their
// mean tokens per second, gpurun / llama.cpp (above 1: gpurun is faster).
func (r *Report) WriteComparison(w io.Writer, lb []LlamaBenchTest) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## gpurun against llama.cpp (llama-bench), same model, machine and threads\n\n")
	fmt.Fprintf(&b, "- machine: %s%s\n", r.Machine, r.loadEnd())
	fmt.Fprintf(&b, "- model: %s (%s, %s, %.2f M parameters)\n", r.Model.Path, r.modelLabel(), report.Bytes(float64(r.Model.Bytes)), float64(r.Model.Params)/1e6)
	if len(lb) > 0 {
		l := lb[0]
		fmt.Fprintf(&b, "- llama.cpp: build %s (%d), backend %s, %d threads, KV cache %s/%s, n_batch %d, n_ubatch %d, flash_attn %d, %s\n",
			l.BuildCommit, l.BuildNumber, l.Backends, l.Threads, l.TypeK, l.TypeV, l.NBatch, l.NUBatch, l.FlashAttn, l.TestTime)
	}
	fmt.Fprintf(&b, "- gpurun: commit %s, device %s, KV cache %s, n_batch %d, %d repetitions\n",
		r.Machine.Commit, r.deviceLabel(), r.KVType, r.Batch, r.Reps)
	b.WriteString("- t/s: mean ± sample standard deviation over the repetitions; both tools time the same procedure (see `gpurun bench model --help`)\n\n")
	t := report.Table{
		Header: []string{"test", "llama.cpp t/s", "gpurun t/s", "gpurun / llama.cpp"},
		Align:  []report.Align{report.Left, report.Right, report.Right, report.Right},
	}
	matched := 0
	for _, g := range r.Tests {
		for _, l := range lb {
			if l.Depth != g.Depth || l.Prompt != g.Prompt || l.Gen != g.Gen {
				continue
			}
			ratio := "-"
			if l.AvgTS > 0 {
				ratio = fmt.Sprintf("%.3f", g.AvgTS/l.AvgTS)
			}
			t.Add(g.Name, fmt.Sprintf("%.2f ± %.2f", l.AvgTS, l.StdTS), fmt.Sprintf("%.2f ± %.2f", g.AvgTS, g.StdTS), ratio)
			matched++
			break
		}
	}
	if matched == 0 {
		return fmt.Errorf("no test in common: gpurun ran %s, llama-bench %s", r.testNames(), llamaNames(lb))
	}
	if len(lb) > 0 && r.Threads > 0 && lb[0].Threads != r.Threads {
		fmt.Fprintf(&b, "**Warning: the thread counts differ (llama.cpp %d, gpurun %d).**\n\n", lb[0].Threads, r.Threads)
	}
	if err := t.Write(&b); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) testNames() string {
	var s []string
	for _, t := range r.Tests {
		s = append(s, t.Name)
	}
	return strings.Join(s, ", ")
}

func llamaNames(lb []LlamaBenchTest) string {
	var s []string
	for _, t := range lb {
		s = append(s, t.Name())
	}
	return strings.Join(s, ", ")
}
