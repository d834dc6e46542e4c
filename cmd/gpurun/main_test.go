package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gpurun/runtime/fixtures"
)

// gpurun runs the CLI in-process and returns stdout, stderr and the exit code.
func gpurun(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"gpurun"}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestInfo(t *testing.T) {
	stories := fixtures.Path(t, "stories260K/stories260K.gguf")
	out, errs, code := gpurun(t, "", "info", stories)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"architecture    llama", "layers          5", "kv heads        4", "vocab size      512", "F32 x48"} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = gpurun(t, "", "info", "--json", stories)
	var in struct {
		Parameters int64 `json:"parameters"`
		Layers     int   `json:"layers"`
		KVBytes    int64 `json:"kv_cache_bytes_f32"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &in) != nil {
		t.Fatalf("--json: exit %d, %q", code, out)
	}
	// 5 layers x 2048 positions x (4 heads x 8 dims) x K,V x 4 bytes
	if in.Layers != 5 || in.KVBytes != 5*2048*32*2*4 || in.Parameters == 0 {
		t.Errorf("--json: %+v", in)
	}
	// a file with Llama 3.1's RoPE frequency factors says so
	out, errs, code = gpurun(t, "", "info", filepath.Join("..", "..", "runtime", "engine", "testdata", "llama-tiny-llama3rope.gguf"))
	if code != 0 || !strings.Contains(out, "freq base 500000, frequency factors (rope_freqs.weight)") {
		t.Errorf("info of a model with rope_freqs.weight: exit %d %s\n%s", code, errs, out)
	}
	// a mixture of experts: its experts and the parameters one token computes with
	out, errs, code = gpurun(t, "", "info", filepath.Join("..", "..", "runtime", "engine", "testdata", "llama-tiny-ernie4_5moe.gguf"))
	for _, want := range []string{"experts            8, 3 per token, 64 rows each; a shared expert of 128 rows; layer 0 dense",
		"active parameters  ", " per token ("} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("info of a mixture of experts lacks %q: exit %d %s\n%s", want, code, errs, out)
		}
	}
	vocabs, _ := filepath.Glob(filepath.Join(fixtures.Path(t, "llama-vocab"), "*.gguf"))
	for _, v := range vocabs {
		if out, errs, code := gpurun(t, "", "info", v); code != 0 || !strings.Contains(out, "tokenizer") {
			t.Errorf("%s: exit %d %s", v, code, errs)
		}
	}
}

// TestBadInput: every kind of bad input gets one line on stderr and the
// right exit code, never a panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	stories := fixtures.Path(t, "stories260K/stories260K.gguf")
	raw, _ := os.ReadFile(stories)
	trunc := filepath.Join(dir, "trunc.gguf")
	os.WriteFile(trunc, raw[:5000], 0o644)
	corrupt := filepath.Join(dir, "corrupt.gguf")
	bad := append([]byte(nil), raw...)
	copy(bad[4:], []byte{9, 0, 0, 0}) // version 9
	os.WriteFile(corrupt, bad, 0o644)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, not a model"), 0o644)
	starcoder := fixtures.Path(t, "llama-vocab/ggml-vocab-starcoder.gguf")

	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"info no args", []string{"info"}, 2, "exactly one"},
		{"info bad flag", []string{"info", "--nope", stories}, 2, "flag provided but not defined"},
		{"info truncated", []string{"info", trunc}, 1, "gguf:"},
		{"info corrupt", []string{"info", corrupt}, 1, "unsupported GGUF version 9"},
		{"info not gguf", []string{"info", text}, 1, "not a GGUF file"},
		{"info missing", []string{"info", filepath.Join(dir, "nope.gguf")}, 1, "no such file"},
		{"generate missing model", []string{"generate", "-m", filepath.Join(dir, "nope.gguf"), "-p", "x"}, 1, "does not exist"},
		{"generate not gguf", []string{"generate", "-m", text, "-p", "x"}, 1, "not a GGUF file"},
		{"generate unsupported arch", []string{"generate", "-m", starcoder, "-p", "x"}, 1, `architecture "starcoder2" is not supported (supported: llama`},
		{"generate negative temperature", []string{"generate", "-m", stories, "-p", "x", "--temperature", "-1"}, 2, "temperature must be >= 0"},
		{"generate top-p zero", []string{"generate", "-m", stories, "-p", "x", "--top-p", "0"}, 2, "top-p must be in (0, 1]"},
		{"generate top-p above one", []string{"generate", "-m", stories, "-p", "x", "--top-p", "1.5"}, 2, "top-p must be in (0, 1]"},
		{"generate n zero", []string{"generate", "-m", stories, "-p", "x", "-n", "0"}, 2, "--n-predict must be > 0"},
		{"generate n negative", []string{"generate", "-m", stories, "-p", "x", "-n", "-5"}, 2, "--n-predict must be > 0"},
		{"generate no prompt", []string{"generate", "-m", stories}, 2, "prompt"},
		{"generate bad device", []string{"generate", "-m", stories, "-p", "x", "--device", "tpu"}, 2, `--device "tpu"`},
		{"generate cuda without cuda", []string{"generate", "-m", stories, "-p", "x", "--device", "cuda"}, 1, "built without CUDA"},
		{"generate prompt too long", []string{"generate", "-m", stories, "-p", strings.Repeat("Once upon a time ", 40), "--ctx", "64"}, 1, "does not fit the context of 64"},
		{"generate bad kv type", []string{"generate", "-m", stories, "-p", "x", "--kv-type", "q4"}, 2, "--kv-type"},
		{"tokenize missing model", []string{"tokenize", "-m", filepath.Join(dir, "nope.gguf"), "x"}, 1, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errs, code := gpurun(t, "", c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, c.code, errs)
			}
			if strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.HasPrefix(errs, "gpurun: ") {
				t.Fatalf("stderr is not one line: %q", errs)
			}
			if !strings.Contains(errs, c.want) {
				t.Fatalf("stderr %q lacks %q", errs, c.want)
			}
			if strings.Contains(errs+out, "goroutine ") || strings.Contains(errs, "panic") {
				t.Fatalf("stack trace: %s", errs)
			}
		})
	}
}

// TestContextBeyondMemory: a context whose KV cache cannot fit in memory is
// refused with the sizes and the flags that shrink it (exit 1, no stack
// trace), not by the Go runtime dying of "out of memory".
func TestContextBeyondMemory(t *testing.T) {
	stories := fixtures.Path(t, "stories260K/stories260K.gguf")
	_, errs, code := gpurun(t, "", "generate", "-m", stories, "-p", "x", "--ctx", "2000000000", "--device", "cpu")
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	last := lines[len(lines)-1]
	if code != 1 || !strings.HasPrefix(last, "gpurun: kvcache: out of memory: 2000000000 positions x 5 layers of f32 need ") ||
		!strings.HasSuffix(last, "use a smaller --ctx or --kv-type f16 (half the size)") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "context size exceeds what the model was trained on") || strings.Contains(errs, "goroutine ") {
		t.Fatalf("stderr: want the context warning and the error, got %q", errs)
	}
}

// TestGenerateStories: greedy stories260K from BOS prints exactly what
// llama2.c prints; only the continuation goes to stdout, stats to stderr.
func TestGenerateStories(t *testing.T) {
	stories := fixtures.Path(t, "stories260K/stories260K.gguf")
	want := string(fixtures.Read(t, "stories260K/expected_test_all_t0_n200.txt"))
	out, errs, code := gpurun(t, "", "generate", "-m", stories, "-p", "", "-n", "200", "--temperature", "0", "--device", "cpu")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != want+"\n" {
		t.Fatalf("stdout differs from llama2.c:\n got %q\nwant %q", out, want+"\n")
	}
	if !strings.Contains(errs, "generated 200 tokens") || !strings.Contains(errs, "tok/s") {
		t.Fatalf("stats line: %q", errs)
	}
	// -p - reads the prompt from stdin; the prompt is not echoed.
	out, _, code = gpurun(t, "Once upon a time\n", "generate", "-m", stories, "-p", "-", "-n", "8", "--temperature", "0")
	if code != 0 || strings.HasPrefix(out, "Once upon") || !strings.HasPrefix(out, ", there was") {
		t.Fatalf("stdin prompt: exit %d, %q", code, out)
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"info", "generate", "chat", "tokenize"} {
		out, _, code := gpurun(t, "", cmd, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help: exit %d, no examples:\n%s", cmd, code, out)
		}
	}
	// Sampling defaults read as the decimals they are, not as float32s
	// widened to float64 (0.800000011920929).
	out, _, _ := gpurun(t, "", "generate", "--help")
	for _, want := range []string{"(default: 0.8)", "(default: 0.95)", "(default: 0.05)"} {
		if !strings.Contains(out, want) {
			t.Errorf("generate --help lacks %q", want)
		}
	}
}

// TestDecimal: the sampling defaults survive the trip through decimal.
func TestDecimal(t *testing.T) {
	for _, f := range []float32{0.8, 0.95, 0.05, 1, 0, 1.1, 1e-7} {
		if got := float32(decimal(f)); got != f {
			t.Errorf("float32(decimal(%v)) = %v", f, got)
		}
	}
}

// TestGenerateGPT2: `gpurun generate` on the tiny GPT-2 prints llama.cpp's
// greedy continuation (runtime/engine/testdata, scripts/goldens/gpt2_tiny.py).
func TestGenerateGPT2(t *testing.T) {
	const dir = "../../runtime/engine/testdata/"
	raw, err := os.ReadFile(dir + "gpt2_tiny_llamacpp.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Prompt string  `json:"prompt"`
			Tokens []int32 `json:"tokens"`
			Text   string  `json:"text"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &g); err != nil || len(g.Cases) == 0 {
		t.Fatalf("goldens: %v", err)
	}
	c := g.Cases[0]
	out, errs, code := gpurun(t, "", "generate", "-m", dir+"gpt2-tiny.gguf", "-p", c.Prompt, "-n", fmt.Sprint(len(c.Tokens)),
		"--temperature", "0", "--device", "cpu")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != c.Text+"\n" {
		t.Fatalf("stdout differs from llama.cpp:\n got %q\nwant %q", out, c.Text+"\n")
	}
}
