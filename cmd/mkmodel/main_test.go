package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gpurun/runtime/gguf"
)

// TestRun: mkmodel writes a file gguf parses, and names what is wrong with
// bad flags.
func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.gguf")
	if err := run([]string{"-shape", "gpt2-124m", "-layers", "1", "-type", "q8_0", "-o", out}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Architecture(); a != "gpt2" {
		t.Errorf("architecture %q, want gpt2", a)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-shape", "nope", "-o", out}, `unknown -shape "nope"`},
		{[]string{"-type", "q9_9", "-o", out}, `unknown -type "q9_9"`},
		{[]string{"-embed-type", "zz", "-o", out}, `unknown -embed-type "zz"`},
		{[]string{"-shape", "gpt2-124m"}, "-o FILE is required"},
	} {
		if err := run(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", c.args, err, c.want)
		}
	}
}
