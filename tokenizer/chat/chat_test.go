package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
	"gpurun/tokenizer"
)

type golden struct {
	Templates map[string]struct {
		File   string `json:"file"`
		GGUF   string `json:"gguf"`
		Source string `json:"source"`
	} `json:"templates"`
	Conversations map[string][]struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"conversations"`
	Cases []struct {
		Template            string `json:"template"`
		Conversation        string `json:"conversation"`
		AddGenerationPrompt bool   `json:"add_generation_prompt"`
		BOS                 string `json:"bos_token"`
		EOS                 string `json:"eos_token"`
		Output              string `json:"output"`
		Error               string `json:"error"`
	} `json:"cases"`
}

func readGolden(t *testing.T) golden {
	t.Helper()
	raw, err := os.ReadFile("testdata/chat_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	return g
}

// templateSource returns a golden template's text, read from its own file
// (or GGUF model, through the tokenizer) so the test checks what the
// repository and the models actually hold.
func templateSource(t *testing.T, g golden, name string) string {
	t.Helper()
	tm := g.Templates[name]
	var src string
	switch {
	case tm.File != "":
		b, err := os.ReadFile(filepath.Join("testdata", tm.File))
		if err != nil {
			t.Fatal(err)
		}
		src = string(b)
	case strings.HasPrefix(tm.GGUF, "../shared/fixtures/"):
		src = ggufTemplate(t, fixtures.Path(t, strings.TrimPrefix(tm.GGUF, "../shared/fixtures/")))
	default:
		root, err := fixtures.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, tm.GGUF)
		if _, err := os.Stat(p); err != nil {
			fixtures.Missing(t, p+" (run scripts/fetch-model.sh)")
		}
		src = ggufTemplate(t, p)
	}
	if src != tm.Source {
		t.Fatalf("template %s differs from the one the golden was made from; rerun gen_chat_golden.py", name)
	}
	return src
}

func ggufTemplate(t *testing.T, path string) string {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ChatTemplate() == "" {
		t.Fatalf("%s has no chat template", path)
	}
	return tok.ChatTemplate()
}

// TestRenderGolden compares renderings with Python jinja2 configured as
// transformers configures it (testdata/gen_chat_golden.py).
func TestRenderGolden(t *testing.T) {
	g := readGolden(t)
	sources := map[string]string{}
	for _, c := range g.Cases {
		name := c.Template + "/" + c.Conversation
		if c.AddGenerationPrompt {
			name += "/gen"
		}
		t.Run(name, func(t *testing.T) {
			src, ok := sources[c.Template]
			if !ok {
				src = templateSource(t, g, c.Template)
				sources[c.Template] = src
			}
			var msgs []Message
			for _, m := range g.Conversations[c.Conversation] {
				msgs = append(msgs, Message{Role: m.Role, Content: m.Content})
			}
			got, err := Render(src, msgs, c.AddGenerationPrompt, c.BOS, c.EOS)
			if c.Error != "" {
				if err == nil || !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("err = %v, want one containing %q", err, c.Error)
				}
				var te *TemplateError
				if !errors.As(err, &te) {
					t.Errorf("error %v is not a *TemplateError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Output {
				t.Errorf("got  %q\nwant %q", got, c.Output)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	msgs := []Message{{Role: "user", Content: "hi"}}
	tests := []struct {
		name, template string
		want           error
		stage          string
	}{
		{"empty", "", ErrNoTemplate, ""},
		{"blank", "  \n", ErrNoTemplate, ""},
		{"unclosed block", "{% for m in messages %}{{ m.content }}", nil, "compile"},
		{"unknown filter", "{{ messages | frobnicate }}", nil, "render"},
		{"unknown function", "{{ undefined_function(1) }}", nil, "render"},
		{"template raises", "{{ raise_exception('no system role') }}", nil, "render"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Render(tc.template, msgs, true, "<s>", "</s>")
			if err == nil {
				t.Fatalf("rendered %q, want an error", out)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.stage != "" {
				var te *TemplateError
				if !errors.As(err, &te) || te.Stage != tc.stage {
					t.Fatalf("err = %v, want a %s-stage TemplateError", err, tc.stage)
				}
				if !strings.HasPrefix(err.Error(), "chat template: "+tc.stage+": ") {
					t.Errorf("message %q does not say where it failed", err)
				}
			}
		})
	}
}

// TestTemplateConcurrent: one compiled template rendered from many goroutines.
func TestTemplateConcurrent(t *testing.T) {
	src, err := os.ReadFile("testdata/templates/chatml.jinja")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Compile(string(src))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: "hi"}}
	want, err := tmpl.Render(msgs, true, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if got, err := tmpl.Render(msgs, true, "", ""); err != nil || got != want {
					t.Errorf("concurrent render = %q, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
