package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gpurun/runtime/fixtures"
)

func TestServeUsageErrors(t *testing.T) {
	stories := fixtures.Path(t, "stories260K/stories260K.gguf")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"argument", []string{"serve", "-m", stories, "extra"}, "serve takes no arguments"},
		{"parallel 0", []string{"serve", "-m", stories, "--parallel", "0"}, "--parallel must be > 0"},
		{"bad port", []string{"serve", "-m", stories, "--port", "70000"}, "--port must be in [0, 65535]"},
		{"negative queue", []string{"serve", "-m", stories, "--max-queue", "-1"}, "--max-queue must be >= 0"},
		{"zero timeout", []string{"serve", "-m", stories, "--timeout", "0s"}, "--timeout must be > 0"},
		{"bad top-p", []string{"serve", "-m", stories, "--top-p", "2"}, "top-p"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs, code := gpurun(t, "", c.args...)
			if code != exitUsage || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line with %q", code, errs, c.want)
			}
		})
	}
}

// buildGpurun builds the command into a temporary directory.
func buildGpurun(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gpurun")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	eof chan struct{} // closed when the process's stderr is read to the end
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe runs `gpurun serve` on a free loopback port and returns its base URL.
func startServe(t *testing.T, bin string, args ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--host", "127.0.0.1", "--port", "0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	log := &lockedBuffer{eof: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(log.eof)
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a, log
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not print its address; stderr:\n%s", log)
	}
	return nil, "", nil
}

// TestServeEndToEnd starts the gpurun binary's server on a loopback port
// with stories260K and checks that streamed and whole answers, sent all at
// once, equal `gpurun generate` with the same seed and parameters; then
// that SIGTERM lets a stream in flight finish and exits 0.
func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gpurun binary")
	}
	stories := fixtures.Path(t, "stories260K/stories260K.gguf")
	bin := buildGpurun(t)
	cmd, base, log := startServe(t, bin, "-m", stories, "--device", "cpu", "--threads", "2", "--parallel", "4", "--ctx", "2048")

	cases := []struct {
		name   string
		gen    []string       // generate flags
		fields map[string]any // the same as request fields
	}{
		{"greedy", []string{"-p", "Once upon a time", "-n", "60", "--temperature", "0"},
			map[string]any{"prompt": "Once upon a time", "max_tokens": 60, "temperature": 0}},
		{"seed 42, default sampling", []string{"-p", "Once upon a time", "-n", "60", "--seed", "42"},
			map[string]any{"prompt": "Once upon a time", "max_tokens": 60, "seed": 42}},
		{"seed 7, custom sampling", []string{"-p", "The cat sat", "-n", "50", "--seed", "7", "--temperature", "1.2", "--top-k", "10", "--top-p", "0.9", "--min-p", "0.01"},
			map[string]any{"prompt": "The cat sat", "max_tokens": 50, "seed": 7, "temperature": 1.2, "top_k": 10, "top_p": 0.9, "min_p": 0.01}},
		{"stop string", []string{"-p", "Once upon a time", "-n", "60", "--seed", "3", "--stop", "park"},
			map[string]any{"prompt": "Once upon a time", "max_tokens": 60, "seed": 3, "stop": []string{"park"}}},
	}
	want := make([]string, len(cases))
	for i, c := range cases {
		out, err := exec.Command(bin, append([]string{"generate", "-m", stories, "--device", "cpu", "--threads", "2"}, c.gen...)...).Output()
		if err != nil {
			t.Fatalf("%s: gpurun generate: %v", c.name, err)
		}
		want[i] = strings.TrimSuffix(string(out), "\n")
	}

	var wg sync.WaitGroup
	for i, c := range cases {
		for _, streamed := range []bool{false, true} {
			wg.Go(func() {
				got, err := ask(base+"/v1/completions", c.fields, streamed)
				if err != nil {
					t.Errorf("%s (stream %v): %v", c.name, streamed, err)
				} else if got != want[i] {
					t.Errorf("%s (stream %v): server %q\ngpurun generate %q", c.name, streamed, got, want[i])
				}
			})
		}
	}
	wg.Wait()

	// A long stream is in flight when SIGTERM arrives: it still ends with
	// [DONE], new connections are refused, and the server exits 0.
	body, _ := json.Marshal(map[string]any{"prompt": "Once", "max_tokens": 1500, "ignore_eos": true, "temperature": 0, "stream": true})
	resp, err := http.Post(base+"/v1/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first stream line %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(rd)
	if err != nil || !strings.Contains(string(rest), `"finish_reason":"length"`) || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("stream in flight at SIGTERM did not finish: %v, ends %q", err, tail(string(rest), 200))
	}
	done := make(chan error, 1)
	go func() {
		// Read stderr to its end before Wait closes the pipe (os/exec's rule),
		// so the last lines are not lost.
		<-log.eof
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v; stderr:\n%s", err, log)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not exit after SIGTERM; stderr:\n%s", log)
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Error("the server still accepts connections after exiting")
	}
	if !strings.Contains(log.String(), "gpurun: stopped") {
		t.Errorf("stderr lacks the shutdown line:\n%s", log)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// ask sends a completion request and returns its text, read from the
// stream's chunks or from the whole response.
func ask(url string, fields map[string]any, streamed bool) (string, error) {
	req := map[string]any{"stream": streamed}
	for k, v := range fields {
		req[k] = v
	}
	body, _ := json.Marshal(req)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	type choice struct {
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
	}
	if !streamed {
		var r struct{ Choices []choice }
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Choices) != 1 {
			return "", fmt.Errorf("bad response: %v", err)
		}
		return r.Choices[0].Text, nil
	}
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			return text.String(), nil
		}
		var chunk struct{ Choices []choice }
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return "", fmt.Errorf("chunk %q: %v", data, err)
		}
		for _, c := range chunk.Choices {
			text.WriteString(c.Text)
		}
	}
	return "", errors.New("the stream ended without [DONE]")
}
