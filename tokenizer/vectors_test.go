package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
)

// vocabNames are the llama.cpp test vocabularies shipped with a .gguf in
// ../shared/fixtures/llama-vocab.
var vocabNames = []string{
	"deepseek-coder", "deepseek-llm", "falcon", "gpt-2", "llama-spm", "mpt", "phi-3", "refact", "starcoder",
}

// loadTokenizer opens a GGUF file and builds its tokenizer.
func loadTokenizer(tb testing.TB, path string) *Tokenizer {
	tb.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		tb.Fatalf("FromGGUF(%s): %v", path, err)
	}
	return tok
}

func loadVocab(tb testing.TB, name string) *Tokenizer {
	tb.Helper()
	return loadTokenizer(tb, fixtures.Path(tb, "llama-vocab/ggml-vocab-"+name+".gguf"))
}

// vectorCase is one text with the ids Hugging Face tokenizers gave for it.
type vectorCase struct {
	text string
	ids  []int32
}

// readVectors parses a .inp/.out pair (format: fixtures README).
func readVectors(tb testing.TB, base string) []vectorCase {
	tb.Helper()
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		tb.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		tb.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	texts := strings.Split(string(inp), sep)
	if n := len(texts); n > 0 && texts[n-1] == "" {
		texts = texts[:n-1]
	}
	lines := strings.Split(string(out), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	if len(texts) != len(lines) {
		tb.Fatalf("%s: %d texts but %d id lines", base, len(texts), len(lines))
	}
	cases := make([]vectorCase, len(texts))
	for i, text := range texts {
		var ids []int32
		for _, f := range strings.Fields(lines[i]) {
			v, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				tb.Fatalf("%s.out line %d: %v", base, i+1, err)
			}
			ids = append(ids, int32(v))
		}
		cases[i] = vectorCase{text, ids}
	}
	return cases
}

func TestVocabVectors(t *testing.T) {
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			tok := loadVocab(t, name)
			base := filepath.Join(fixtures.Dir(), "llama-vocab", "ggml-vocab-"+name+".gguf")
			cases := readVectors(t, base)
			pass := 0
			for i, c := range cases {
				got := tok.Encode(c.text, EncodeOptions{})
				if !equalIDs(got, c.ids) {
					t.Errorf("case %d %q:\n got %v\nwant %v", i, c.text, got, c.ids)
					continue
				}
				pass++
			}
			t.Logf("%s: %d/%d vectors pass", name, pass, len(cases))
		})
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStoriesVectors(t *testing.T) {
	tok := loadTokenizer(t, fixtures.Path(t, "stories260K/stories260K.gguf"))
	raw, err := os.ReadFile(fixtures.Path(t, "stories260K/tok512_encode_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Text        string  `json:"text"`
			IDs         []int32 `json:"ids"`
			LlamaCppIDs []int32 `json:"llamacpp_ids"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("no cases")
	}
	for i, c := range doc.Cases {
		got := tok.Encode(c.Text, EncodeOptions{AddSpecial: true})
		if !equalIDs(got, c.IDs) || !equalIDs(got, c.LlamaCppIDs) {
			t.Errorf("case %d %q:\n got %v\nwant %v (llama2.c) %v (llama.cpp)", i, c.Text, got, c.IDs, c.LlamaCppIDs)
		}
		want := c.Text
		if want != "" {
			want = " " + want // the dummy prefix
		}
		if dec := tok.Decode(got); dec != want {
			t.Errorf("case %d: Decode = %q, want %q", i, dec, want)
		}
	}
	t.Logf("stories260K: %d cases", len(doc.Cases))
}

// TestRoundTrip: decoding the encoding gives the text back, for every vector
// text of every vocabulary; SentencePiece adds the dummy-prefix space.
func TestRoundTrip(t *testing.T) {
	texts := readVectorTexts(t)
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			tok := loadVocab(t, name)
			for _, text := range texts {
				want := text
				if tok.Model() == "llama" && text != "" {
					want = " " + text
				}
				ids := tok.Encode(text, EncodeOptions{})
				if got := tok.Decode(ids); got != want {
					t.Errorf("Decode(Encode(%q)) = %q", text, got)
				}
				var sb strings.Builder
				d := tok.NewStreamDecoder()
				for _, id := range ids {
					sb.WriteString(d.Add(id))
				}
				sb.WriteString(d.Flush())
				if got := sb.String(); got != want {
					t.Errorf("stream decode of %q = %q", text, got)
				}
			}
		})
	}
}

// readVectorTexts returns the texts of the shared .inp file (all vocabularies
// use the same one).
func readVectorTexts(tb testing.TB) []string {
	tb.Helper()
	base := fixtures.Path(tb, "llama-vocab/ggml-vocab-gpt-2.gguf")
	var texts []string
	for _, c := range readVectors(tb, base) {
		texts = append(texts, c.text)
	}
	return texts
}
