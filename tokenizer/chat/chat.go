// Package chat renders a conversation with a model's own chat template
// (tokenizer.chat_template, a Jinja template), the way Hugging Face
// transformers' apply_chat_template does: Jinja2 with trim_blocks and
// lstrip_blocks, the variables messages, add_generation_prompt, bos_token and
// eos_token, and raise_exception for the template's own errors.
//
// Templates are executed by github.com/ardanlabs/jinja, a Jinja engine
// written for LLM chat templates; nothing here hand-codes a format. Each
// render runs with limits on macro depth and range() (guard.go), because the
// template is untrusted input from the model file.
package chat

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string // "system", "user", "assistant", ...
	Content string
}

// TemplateError is an error from compiling or running a chat template: the
// template uses something the engine cannot do, or it rejected the
// conversation itself (raise_exception).
type TemplateError struct {
	Stage string // "compile" or "render"
	Err   error
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("chat template: %s: %v", e.Stage, e.Err)
}

func (e *TemplateError) Unwrap() error { return e.Err }

// ErrNoTemplate is returned for an empty template.
var ErrNoTemplate = errors.New("chat template: the model has no chat template (tokenizer.chat_template)")

// Render applies template to msgs. addGenerationPrompt appends the opening of
// an assistant turn; bosToken and eosToken are the model's BOS/EOS token
// texts, which some templates write themselves.
func Render(template string, msgs []Message, addGenerationPrompt bool, bosToken, eosToken string) (string, error) {
	t, err := Compile(template)
	if err != nil {
		return "", err
	}
	return t.Render(msgs, addGenerationPrompt, bosToken, eosToken)
}

// Template is a compiled chat template, safe for concurrent use.
type Template struct {
	t *jinja.Template
	// globals are extra names every render sees (nil: none). The golden
	// test sets strftime_now to a date-free stand-in; renders otherwise get
	// the engine's, today's date as transformers gives it.
	globals map[string]jinja.Value
}

// Compile parses a chat template once for repeated rendering.
func Compile(template string) (*Template, error) {
	if strings.TrimSpace(template) == "" {
		return nil, ErrNoTemplate
	}
	t, err := jinja.Compile(guardMacros(template))
	if err != nil {
		return nil, &TemplateError{Stage: "compile", Err: err}
	}
	return &Template{t: t}, nil
}

// Render applies the template to msgs (see the package function Render).
// The template comes from the model file: a panic inside the engine (it
// panics on, e.g., {{ 'a' * -1 }}) is returned as a render error.
func (t *Template) Render(msgs []Message, addGenerationPrompt bool, bosToken, eosToken string) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", &TemplateError{Stage: "render", Err: fmt.Errorf("the template engine failed: %v", r)}
		}
	}()
	list := make([]any, len(msgs))
	for i, m := range msgs {
		list[i] = map[string]any{"role": m.Role, "content": m.Content}
	}
	var g guards
	data := g.values()
	data["messages"] = jinja.FromGoValue(list)
	data["add_generation_prompt"] = jinja.NewBool(addGenerationPrompt)
	data["bos_token"] = jinja.NewString(bosToken)
	data["eos_token"] = jinja.NewString(eosToken)
	for k, v := range t.globals {
		data[k] = v
	}
	out, err = t.t.RenderValues(data)
	if err != nil {
		return "", &TemplateError{Stage: "render", Err: err}
	}
	return out, nil
}
