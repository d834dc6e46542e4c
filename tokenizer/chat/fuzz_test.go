package chat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRender: a chat template comes from the model file, so a damaged or
// hostile one must give an error, never a panic. Seeds: the templates in
// testdata and a few constructs the engine must refuse cleanly.
func FuzzRender(f *testing.F) {
	paths, err := filepath.Glob("testdata/templates/*.jinja")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed templates in testdata/templates: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"{{ messages[0]['content'] | upper }}",
		"{% for m in messages %}{{ m.role }}{% if loop.last %}!{% endif %}{% endfor %}",
		"{{ raise_exception('no') }}",
		"{% set x = 1 %}{{ x + 'a' }}",
		"{{ messages[99] }}",
		"{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1) }}",
		"{{ (messages | length) // 0 }}",
		"{% macro m(a) %}{{ m(a + 1) }}{% endmacro %}{{ m(1) }}",
		"{%- macro m(a) -%}{%- if a > 0 -%}{{ m(a - 1) }}{%- endif -%}{%- endmacro -%}{{ m(300) }}",
		"{% for i in range(10**9) %}{% endfor %}",
		"{{ 'a' * -1 }}",
		"{{ messages[0].content | indent(-3) }}",
	} {
		f.Add(s)
	}
	msgs := []Message{{"system", "be brief"}, {"user", "hi {{ there }}"}, {"assistant", "hello"}, {"user", "¿y tú?"}}
	f.Fuzz(func(t *testing.T, tmpl string) {
		out, err := Render(tmpl, msgs, true, "<s>", "</s>")
		if err == nil && strings.TrimSpace(tmpl) == "" {
			t.Fatalf("empty template rendered %q", out)
		}
	})
}
