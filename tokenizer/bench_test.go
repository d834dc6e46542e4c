package tokenizer

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"gpurun/runtime/fixtures"
)

// benchText builds 1 MiB of English text at benchmark time from
// documentation every Go installation has: $GOROOT/doc (HTML tags removed),
// the top-level README/LICENSE files, package doc.go files under
// $GOROOT/src, then the comment lines of the other .go files there. Nothing
// of it is committed.
func benchText(b *testing.B) string {
	b.Helper()
	const size = 1 << 20
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("go env GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	var files []string
	for _, pattern := range []string{"doc/*.html", "doc/*.md", "*.md", "LICENSE", "PATENTS"} {
		m, _ := filepath.Glob(filepath.Join(goroot, pattern))
		sort.Strings(m)
		files = append(files, m...)
	}
	var docs, sources []string
	_ = filepath.WalkDir(filepath.Join(goroot, "src"), func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil || d.IsDir() || strings.Contains(p, "testdata") || !strings.HasSuffix(p, ".go"):
		case d.Name() == "doc.go":
			docs = append(docs, p)
		case !strings.HasSuffix(p, "_test.go"):
			sources = append(sources, p)
		}
		return nil
	})
	sort.Strings(docs)
	sort.Strings(sources)
	files = append(files, docs...)
	tags := regexp.MustCompile(`<[^>]*>`)
	var sb strings.Builder
	for _, p := range files {
		if sb.Len() >= size {
			break
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(raw)
		if strings.HasSuffix(p, ".html") {
			s = tags.ReplaceAllString(s, "")
		}
		sb.WriteString(s)
		sb.WriteString("\n")
	}
	for _, p := range sources {
		if sb.Len() >= size {
			break
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if c, ok := strings.CutPrefix(strings.TrimSpace(line), "// "); ok {
				sb.WriteString(c)
				sb.WriteString("\n")
			}
		}
	}
	if sb.Len() < size {
		b.Skipf("only %d bytes of text under %s", sb.Len(), goroot)
	}
	s := sb.String()[:size]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// BenchmarkEncode reports encode throughput (MB/s and tokens/s) on about
// 1 MiB of English text.
func BenchmarkEncode(b *testing.B) {
	text := benchText(b)
	vocabs := []struct {
		name string
		path func(testing.TB) string
	}{
		{"smollm2", smolLM2Path},
		{"gpt-2", func(tb testing.TB) string { return fixtures.Path(tb, "llama-vocab/ggml-vocab-gpt-2.gguf") }},
		{"llama-spm", func(tb testing.TB) string { return fixtures.Path(tb, "llama-vocab/ggml-vocab-llama-spm.gguf") }},
		{"deepseek-llm", func(tb testing.TB) string { return fixtures.Path(tb, "llama-vocab/ggml-vocab-deepseek-llm.gguf") }},
	}
	for _, v := range vocabs {
		b.Run(v.name, func(b *testing.B) {
			tok := loadTokenizer(b, v.path(b))
			b.SetBytes(int64(len(text)))
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				n += len(tok.Encode(text, EncodeOptions{}))
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(n)/float64(b.N), "tokens/op")
		})
	}
}

// BenchmarkEncodeParallel is BenchmarkEncode for SmolLM2 with the tokenizer
// shared by GOMAXPROCS goroutines, as the HTTP server shares it.
func BenchmarkEncodeParallel(b *testing.B) {
	text := benchText(b)
	tok := loadTokenizer(b, smolLM2Path(b))
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok.Encode(text, EncodeOptions{})
		}
	})
}
