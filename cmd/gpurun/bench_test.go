package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gpurun/runtime/fixtures"
)

// The bench commands end to end at tiny sizes on the CPU: structure, exit
// codes and the files they write; never a speed.
func TestBenchAttention(t *testing.T) {
	dir := t.TempDir()
	js, png := filepath.Join(dir, "a.json"), filepath.Join(dir, "a.png")
	stories := fixtures.Path(t, "stories260K/stories260K.gguf")
	out, errs, code := gpurun(t, "", "bench", "attention", "--device", "cpu", "-t", "2", "--min-len", "8", "--max-len", "16",
		"--heads", "4", "--kv-heads", "2", "--head-dim", "8", "--reps", "1", "--min-sample", "1us", "-q",
		"-m", stories, "--batch", "8", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Points []struct {
			Method string `json:"method"`
			N      int    `json:"n"`
		} `json:"points"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Points) != 6*2 {
		t.Fatalf("--json: %v, %d points:\n%s", err, len(rep.Points), out)
	}
	if errs != "" {
		t.Errorf("-q still wrote to stderr: %q", errs)
	}
	if err := os.WriteFile(js, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code = gpurun(t, "", "bench", "attention", "--from", js, "--plot", png)
	if code != 0 || !strings.Contains(out, "### Theory against measurement") || !strings.Contains(out, "model-decode-nocache") {
		t.Fatalf("--from: exit %d %s\n%s", code, errs, out)
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Errorf("--plot wrote no PNG: %v", err)
	}
	out, _, code = gpurun(t, "", "bench", "attention", "--from", js, "--csv")
	if code != 0 || !strings.HasPrefix(out, "method,n,seconds,") || strings.Count(out, "\n") != 13 {
		t.Errorf("--csv: exit %d\n%s", code, out)
	}
}

func TestBenchModel(t *testing.T) {
	stories := fixtures.Path(t, "stories260K/stories260K.gguf")
	out, errs, code := gpurun(t, "", "bench", "model", "-m", stories, "--device", "cpu", "-t", "2", "-p", "16", "-n", "4", "-r", "2", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	js := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(js, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code = gpurun(t, "", "bench", "model", "--from", js)
	if code != 0 || !strings.Contains(out, " pp16 |") || !strings.Contains(out, " tg4 |") {
		t.Fatalf("--from: exit %d %s\n%s", code, errs, out)
	}
	// Side by side with llama-bench's JSON: no test in common is an error.
	out, errs, code = gpurun(t, "", "bench", "model", "--from", js, "--vs-llamacpp", "../../bench/modelbench/testdata/llama-bench.json")
	if code != 1 || !strings.Contains(errs, "no test in common") {
		t.Errorf("--vs-llamacpp with other tests: exit %d, %q %q", code, out, errs)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"bench", "attention", "--device", "gpu"}, 2, `--device "gpu"`},
		{[]string{"bench", "attention", "--json", "--csv"}, 2, "exclusive"},
		{[]string{"bench", "attention", "--methods", "flash"}, 2, `unknown method "flash"`},
		{[]string{"bench", "attention", "--methods", "model-decode-cache"}, 2, "needs a model"},
		{[]string{"bench", "attention", "--heads", "9", "--kv-heads", "2"}, 2, "not a multiple"},
		{[]string{"bench", "attention", "--device", "cpu", "--min-len", "256", "--max-len", "128"}, 2, "below --min-len"},
		{[]string{"bench", "attention", "--plot", "a.jpg"}, 2, "PNG"},
		{[]string{"bench", "attention", "--from", "/nonexistent.json"}, 1, "no such file"},
		{[]string{"bench", "attention", "extra"}, 2, "no arguments"},
		{[]string{"bench", "attention", "-m", "../../runtime/engine/testdata/gpt2-tiny.gguf", "--model-max-len", "512",
			"--methods", "model-decode-cache"}, 2, "exceeds the 256 positions"},
		{[]string{"bench", "model", "-p", "0", "-n", "0"}, 2, "nothing to measure"},
		{[]string{"bench", "model", "-r", "0"}, 2, "--repetitions must be > 0"},
		{[]string{"bench", "model", "-d", "-1"}, 2, "--depth must be >= 0"},
		{[]string{"bench", "model", "-m", "../../runtime/engine/testdata/gpt2-tiny.gguf", "-d", "100", "-n", "10", "-p", "0", "--ctx", "64"}, 2, "cannot hold -p 0 or -n 10 after --depth 100"},
		{[]string{"bench", "model", "-m", "/nonexistent.gguf"}, 1, "does not exist"},
		{[]string{"bench", "model", "--vs-llamacpp", "/nonexistent.json"}, 1, "no such file"},
	}
	for _, tt := range tests {
		_, errs, code := gpurun(t, "", tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.msg) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", tt.args, code, errs, tt.code, tt.msg)
		}
	}
	for _, cmd := range []string{"attention", "model"} {
		out, _, code := gpurun(t, "", "bench", cmd, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("bench %s --help: exit %d, no examples", cmd, code)
		}
	}
}
