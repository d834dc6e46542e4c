package tokenizer

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gpurun/runtime/fixtures"
)

// smolLM2Path locates the default model, skipping (or failing under CI) when
// it has not been fetched.
func smolLM2Path(tb testing.TB) string {
	tb.Helper()
	root, err := fixtures.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(root, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
	if _, err := os.Stat(p); err != nil {
		fixtures.Missing(tb, p+" (run scripts/fetch-model.sh)")
	}
	return p
}

func readJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// TestPreTokenizerGolden compares every pattern family's splits with Hugging
// Face tokenizers' Split pre-tokenizer running the same regexes
// (testdata/gen_goldens.py). It covers llama-bpe and qwen2, whose vocabularies
// are not in the fixtures.
func TestPreTokenizerGolden(t *testing.T) {
	var doc struct {
		Families map[string]struct {
			Cases []struct {
				Text   string   `json:"text"`
				Pieces []string `json:"pieces"`
			} `json:"cases"`
		} `json:"families"`
	}
	readJSON(t, "testdata/pretok_golden.json", &doc)
	for _, name := range []string{"gpt-2", "llama-bpe", "qwen2", "smollm", "falcon", "deepseek-llm", "deepseek-coder", "gpt-4o"} {
		t.Run(name, func(t *testing.T) {
			fam, ok := doc.Families[name]
			if !ok || len(fam.Cases) == 0 {
				t.Fatalf("no golden cases for %s", name)
			}
			spec, known := preTokenizerFor(name)
			if !known {
				t.Fatalf("%s is not a known pre-tokenizer", name)
			}
			pt := &preTokenizer{name: spec.family, steps: spec.steps()}
			var scratch [2][]span
			for _, c := range fam.Cases {
				var spans []span
				spans, scratch = pt.split(c.Text, scratch)
				got := make([]string, len(spans))
				for i, sp := range spans {
					got[i] = c.Text[sp.start:sp.end]
				}
				if !slices.Equal(got, c.Pieces) {
					t.Errorf("%q:\n got %q\nwant %q", c.Text, got, c.Pieces)
				}
			}
		})
	}
}

type llamaCppVocab struct {
	File      string            `json:"file"`
	NVocab    int               `json:"n_vocab"`
	BOS       int32             `json:"bos"`
	EOS       int32             `json:"eos"`
	AddBOS    bool              `json:"add_bos"`
	AddEOS    bool              `json:"add_eos"`
	EOG       []int32           `json:"eog"`
	Control   []int32           `json:"control"`
	Pieces    map[string]string `json:"pieces"`
	Encodings []struct {
		Text         string  `json:"text"`
		AddSpecial   bool    `json:"add_special"`
		ParseSpecial bool    `json:"parse_special"`
		IDs          []int32 `json:"ids"`
	} `json:"encodings"`
}

// TestLlamaCppGolden compares special-token handling, BOS/EOS, the
// end-of-generation set, control types and token pieces with llama.cpp
// (llama-cpp-python, testdata/gen_goldens.py).
func TestLlamaCppGolden(t *testing.T) {
	var doc struct {
		Vocabs map[string]llamaCppVocab `json:"vocabs"`
	}
	readJSON(t, "testdata/llamacpp_golden.json", &doc)
	if len(doc.Vocabs) == 0 {
		t.Fatal("no vocabularies in the golden file")
	}
	names := make([]string, 0, len(doc.Vocabs))
	for name := range doc.Vocabs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		g := doc.Vocabs[name]
		t.Run(name, func(t *testing.T) {
			var path string
			switch {
			case name == "SmolLM2":
				path = smolLM2Path(t)
			case strings.HasPrefix(g.File, "../shared/fixtures/"):
				path = fixtures.Path(t, strings.TrimPrefix(g.File, "../shared/fixtures/"))
			default:
				t.Fatalf("unexpected file %q", g.File)
			}
			tok := loadTokenizer(t, path)
			if tok.VocabSize() != g.NVocab {
				t.Errorf("VocabSize = %d, want %d", tok.VocabSize(), g.NVocab)
			}
			if tok.BOS() != g.BOS || tok.EOS() != g.EOS {
				t.Errorf("BOS, EOS = %d, %d, want %d, %d", tok.BOS(), tok.EOS(), g.BOS, g.EOS)
			}
			if tok.AddBOS() != g.AddBOS || tok.AddEOS() != g.AddEOS {
				t.Errorf("AddBOS, AddEOS = %v, %v, want %v, %v", tok.AddBOS(), tok.AddEOS(), g.AddBOS, g.AddEOS)
			}
			if got := tok.EOG(); !slices.Equal(got, g.EOG) {
				t.Errorf("EOG = %v, want %v", got, g.EOG)
			}
			for id := int32(0); int(id) < tok.VocabSize(); id++ {
				if tok.IsEOG(id) != slices.Contains(g.EOG, id) {
					t.Errorf("IsEOG(%d) = %v", id, tok.IsEOG(id))
				}
			}
			var control []int32
			for id := int32(0); int(id) < tok.VocabSize(); id++ {
				if tok.TokenType(id) == TokenControl {
					control = append(control, id)
				}
			}
			if !slices.Equal(control, g.Control) {
				t.Errorf("control tokens = %v, want %v", control, g.Control)
			}
			for sid, want := range g.Pieces {
				var id int32
				if err := json.Unmarshal([]byte(sid), &id); err != nil {
					t.Fatal(err)
				}
				if got := hex.EncodeToString([]byte(tok.Piece(id))); got != want {
					t.Errorf("Piece(%d) (%q) = %s, want %s", id, tok.TokenText(id), got, want)
				}
			}
			for _, e := range g.Encodings {
				got := tok.Encode(e.Text, EncodeOptions{AddSpecial: e.AddSpecial, ParseSpecial: e.ParseSpecial})
				if !slices.Equal(got, e.IDs) {
					t.Errorf("Encode(%q, special=%v, parse=%v):\n got %v\nwant %v", e.Text, e.AddSpecial, e.ParseSpecial, got, e.IDs)
				}
			}
		})
	}
}
