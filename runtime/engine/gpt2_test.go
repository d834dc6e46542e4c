package engine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"testing"

	"gpurun/runtime/engine"
	"gpurun/runtime/model"
)

// gpt2Goldens is what scripts/goldens/gpt2_tiny.py recorded from llama.cpp
// on testdata/gpt2-tiny.gguf (which it also wrote).
type gpt2Goldens struct {
	LlamaCPP string `json:"llama_cpp_python"`
	Cases    []struct {
		Name         string    `json:"name"`
		Prompt       string    `json:"prompt"`
		PromptTokens []int32   `json:"prompt_tokens"`
		Tokens       []int32   `json:"tokens"`
		Gap          []float64 `json:"top2_gap"`
		FirstLogits  []float32 `json:"first_logits"`
		Text         string    `json:"text"`
	} `json:"cases"`
}

// TestGPT2MatchesLlamaCpp: the gpt2 architecture (learned positions,
// LayerNorm, fused QKV with biases, GELU) on a tiny random GPT-2 with GPT-2's
// tokenizer: prompts tokenize as llama.cpp's, the logits after the prompt
// equal llama.cpp's bit for bit, and every greedy continuation and its text
// equal llama.cpp's in full.
func TestGPT2MatchesLlamaCpp(t *testing.T) {
	raw, err := os.ReadFile("testdata/gpt2_tiny_llamacpp.json")
	if err != nil {
		t.Fatal(err)
	}
	var g gpt2Goldens
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no cases in testdata/gpt2_tiny_llamacpp.json")
	}
	e, err := engine.Load(engine.Options{ModelPath: "testdata/gpt2-tiny.gguf", Device: "cpu", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if a := e.Model.Config().Arch; a != "gpt2" {
		t.Fatalf("architecture %q, want gpt2", a)
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			tokens := e.PromptTokens(c.Prompt, true) // gpt2: add_bos_token false in the file
			if fmt.Sprint(tokens) != fmt.Sprint(c.PromptTokens) {
				t.Fatalf("prompt tokens\n got %v\nwant %v (llama.cpp)", tokens, c.PromptTokens)
			}
			// The logits after the prompt, from one forward pass.
			cache, err := e.Model.NewCache(e.Ctx, e.KVType)
			if err != nil {
				t.Fatal(err)
			}
			logits, err := e.Model.Forward([]model.Segment{{Cache: cache, Tokens: tokens}})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, e.Model.Config().Vocab)
			if err := e.Backend.Read(got, logits); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.FirstLogits) {
				t.Fatalf("%d logits, llama.cpp %d", len(got), len(c.FirstLogits))
			}
			maxDiff, exact := 0.0, 0
			for i := range got {
				d := math.Abs(float64(got[i] - c.FirstLogits[i]))
				maxDiff = max(maxDiff, d)
				if got[i] == c.FirstLogits[i] {
					exact++
				}
			}
			// The CPU backend repeats llama.cpp's float32 arithmetic, so
			// every logit is the same float.
			if exact != len(got) {
				t.Errorf("%d of %d logits after the prompt differ from llama.cpp's, by up to %.3g", len(got)-exact, len(got), maxDiff)
			}

			s, err := e.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			res := greedy(t, s, tokens, len(c.Tokens))
			if d := firstDiff(res.Tokens, c.Tokens); d >= 0 {
				t.Fatalf("greedy tokens part from llama.cpp at step %d (llama.cpp top-2 gap there %.4f)\n got %v\nwant %v",
					d, c.Gap[min(d, len(c.Gap)-1)], res.Tokens, c.Tokens)
			}
			if res.Text != c.Text {
				t.Errorf("text %q, llama.cpp %q", res.Text, c.Text)
			}
		})
	}
}

// TestGPT2ContextLimit: a context beyond gpt2's learned positions is refused
// with an error that names the limit.
func TestGPT2ContextLimit(t *testing.T) {
	_, err := engine.Load(engine.Options{ModelPath: "testdata/gpt2-tiny.gguf", Device: "cpu", Ctx: 257})
	var ce *model.ContextError
	if !errors.As(err, &ce) || ce.MaxPos != 256 {
		t.Fatalf("Load with ctx 257: %v, want a ContextError at 256 positions", err)
	}
}
