package engine

import (
	"fmt"

	"gpurun/tokenizer"
	"gpurun/tokenizer/chat"
)

// PromptTokens tokenizes a plain prompt. Special tokens written in the text
// are not parsed; addBOS adds the BOS token when the model asks for one.
func (e *Engine) PromptTokens(prompt string, addBOS bool) []int32 {
	return e.Tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: addBOS})
}

// ChatTokens renders messages with the model's chat template and tokenizes
// the result, parsing the template's special tokens. A BOS the template
// already wrote is not added twice.
func (e *Engine) ChatTokens(msgs []chat.Message, addGenerationPrompt bool) ([]int32, error) {
	tmpl := e.Tok.ChatTemplate()
	if tmpl == "" {
		return nil, fmt.Errorf("the model has no chat template (tokenizer.chat_template); use a plain prompt")
	}
	text, err := chat.Render(tmpl, msgs, addGenerationPrompt, e.Tok.TokenText(e.Tok.BOS()), e.Tok.TokenText(e.Tok.EOS()))
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	ids := e.Tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if len(ids) >= 2 && e.Tok.AddBOS() && ids[0] == e.Tok.BOS() && ids[1] == e.Tok.BOS() {
		ids = ids[1:]
	}
	return ids, nil
}
