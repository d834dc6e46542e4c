package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ardanlabs/jinja"

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

// renderWithSentinelDate is Render with gen_chat_golden.py's strftime_now,
// which returns "<strftime_now FORMAT>" instead of today's date.
func renderWithSentinelDate(src string, msgs []Message, addGenerationPrompt bool, bos, eos string) (string, error) {
	tm, err := Compile(src)
	if err != nil {
		return "", err
	}
	tm.globals = map[string]jinja.Value{"strftime_now": jinja.NewCallable("strftime_now",
		func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 {
				return jinja.Undefined(), fmt.Errorf("strftime_now wants one format, got %d arguments", len(args))
			}
			return jinja.NewString("<strftime_now " + args[0].AsString() + ">"), nil
		})}
	return tm.Render(msgs, addGenerationPrompt, bos, eos)
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
			got, err := renderWithSentinelDate(src, msgs, c.AddGenerationPrompt, c.BOS, c.EOS)
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
		// Limits (guard.go): each of these would otherwise kill the process
		// (a 1 GB stack overflow) or run for minutes.
		{"runaway macro", "{% macro m(a) %}{{ m(a + 1) }}{% endmacro %}{{ m(1) }}", nil, "render"},
		{"runaway mutual macros", "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}", nil, "render"},
		{"runaway caller", "{% macro w() %}{{ caller() }}{% endmacro %}{% macro m() %}{% call w() %}{{ m() }}{% endcall %}{% endmacro %}{{ m() }}", nil, "render"},
		{"huge range", "{% for i in range(10**9) %}{% endfor %}", nil, "render"},
		{"huge negative range", "{% for i in range(0, 0 - 10**12, -1) %}{% endfor %}", nil, "render"},
		{"nested ranges", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", nil, "render"},
		{"range of text", "{{ range('x') }}", nil, "render"},
		{"range step zero", "{{ range(1, 5, 0) }}", nil, "render"},
		// panics inside the engine (strings.Repeat), recovered as errors
		{"negative repetition", "{{ 'a' * -1 }}", nil, "render"},
		{"repetition overflow", "{{ 'ab' * 4611686018427387904 }}", nil, "render"},
		{"negative indent", "{{ messages[0].content | indent(-3) }}", nil, "render"},
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

// TestRenderLimitsAreGenerous: the limits leave real uses alone, and they are
// per render, not per template.
func TestRenderLimitsAreGenerous(t *testing.T) {
	tmpl, err := Compile("{% macro d(n) %}{% if n > 0 %}{{ d(n - 1) }}{% else %}ok{% endif %}{% endmacro %}" +
		"{{ d(messages[0]['content'] | int) }} {{ range(100000) | length }} {{ range(-9223372036854775807, 9223372036854775807, 9223372036854775807) | list }}")
	if err != nil {
		t.Fatal(err)
	}
	deep := fmt.Sprint(MaxMacroDepth - 1)
	for i := 0; i < 3; i++ {
		got, err := tmpl.Render([]Message{{Role: "user", Content: deep}}, false, "", "")
		if err != nil {
			t.Fatalf("render %d: %v", i, err)
		}
		if want := "ok 100000 [-9223372036854775807, 0]"; got != want {
			t.Fatalf("render %d = %q, want %q", i, got, want)
		}
	}
	if _, err := tmpl.Render([]Message{{Role: "user", Content: fmt.Sprint(MaxMacroDepth)}}, false, "", ""); err == nil ||
		!strings.Contains(err.Error(), "nest more than") {
		t.Fatalf("depth %d: err = %v, want the nesting limit", MaxMacroDepth+1, err)
	}
}

// TestGuardMacrosLeavesOtherTagsAlone: only {% macro %} and {% endmacro %}
// statements gain guard calls; the same words in text, strings, comments and
// expressions do not.
func TestGuardMacrosLeavesOtherTagsAlone(t *testing.T) {
	for _, src := range []string{
		"macro endmacro {{ 'macro' }} {# {% macro x() %} #} {% set s = '{% macro y() %}' %}{{ s }}",
		"{{ '}}' }} {% if x %}macro{% endif %}",
		"{% macro",
	} {
		if got := guardMacros(src); got != src {
			t.Errorf("guardMacros(%q) = %q, want it unchanged", src, got)
		}
	}
	got := guardMacros("{%- macro f(x) -%}a{%- endmacro %}")
	want := "{%- macro f(x) -%}{{ " + enterMacro + "() }}a{{ " + leaveMacro + "() }}{%- endmacro %}"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
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
