package engine_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"gpurun/runtime/engine"
	"gpurun/runtime/model"
)

// q4kGoldens is what scripts/goldens/llama_tiny_q4k.py recorded from
// llama.cpp on testdata/llama-tiny-q4k.gguf (which it also wrote).
type q4kGoldens struct {
	LlamaCPP string `json:"llama_cpp_python"`
	Decode   struct {
		Tokens []int32  `json:"tokens"`
		Logits []string `json:"logits_f32_b64"`
	} `json:"decode"`
	Greedy []struct {
		Name         string    `json:"name"`
		Prompt       string    `json:"prompt"`
		PromptTokens []int32   `json:"prompt_tokens"`
		Tokens       []int32   `json:"tokens"`
		Gap          []float64 `json:"top2_gap"`
	} `json:"greedy"`
}

func loadQ4KGoldens(t *testing.T) (*engine.Engine, q4kGoldens) {
	t.Helper()
	raw, err := os.ReadFile("testdata/llama_tiny_q4k_llamacpp.json")
	if err != nil {
		t.Fatal(err)
	}
	var g q4kGoldens
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Decode.Tokens) == 0 || len(g.Decode.Tokens) != len(g.Decode.Logits) || len(g.Greedy) == 0 {
		t.Fatal("testdata/llama_tiny_q4k_llamacpp.json: no decode steps or greedy cases")
	}
	e, err := engine.Load(engine.Options{ModelPath: "testdata/llama-tiny-q4k.gguf", Device: "cpu", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, g
}

// TestQ4_KDecodeMatchesLlamaCpp: a Llama with Q4_K matrices and embedding
// and a Q6_K classifier (a Q4_K_M file in miniature), fed one token at a
// time, gives llama.cpp's logits bit for bit after every token. One token
// at a time is where llama.cpp runs ggml_gemv_q4_K_8x8_q8_K on its repacked
// Q4_K weights, whose arithmetic gpurun's Q4_K dot product follows.
func TestQ4_KDecodeMatchesLlamaCpp(t *testing.T) {
	e, g := loadQ4KGoldens(t)
	cache, err := e.Model.NewCache(e.Ctx, e.KVType)
	if err != nil {
		t.Fatal(err)
	}
	vocab := e.Model.Config().Vocab
	got := make([]float32, vocab)
	for step, tok := range g.Decode.Tokens {
		logits, err := e.Model.Forward([]model.Segment{{Cache: cache, Tokens: []int32{tok}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Backend.Read(got, logits); err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(g.Decode.Logits[step])
		if err != nil || len(raw) != 4*vocab {
			t.Fatalf("step %d: golden logits: %d bytes for %d logits (%v)", step, len(raw), vocab, err)
		}
		differ, maxDiff := 0, 0.0
		for i := range got {
			want := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				differ++
				maxDiff = max(maxDiff, math.Abs(float64(got[i]-want)))
			}
		}
		if differ > 0 {
			t.Fatalf("step %d (token %d): %d of %d logits differ from llama.cpp's, by up to %.3g", step, tok, differ, vocab, maxDiff)
		}
	}
}

// TestQ4_KGreedyMatchesLlamaCpp: on the same model, prompts tokenize as
// llama.cpp's and the greedy continuations equal llama.cpp's. llama.cpp
// runs a prompt's Q4_K products through ggml_gemm_q4_K_8x8_q8_K, which
// rounds per 64 elements rather than per 256, so the prompt's logits may
// differ from gpurun's in the last bits; the tokens must not.
func TestQ4_KGreedyMatchesLlamaCpp(t *testing.T) {
	e, g := loadQ4KGoldens(t)
	for _, c := range g.Greedy {
		t.Run(c.Name, func(t *testing.T) {
			tokens := e.PromptTokens(c.Prompt, true)
			if fmt.Sprint(tokens) != fmt.Sprint(c.PromptTokens) {
				t.Fatalf("prompt tokens\n got %v\nwant %v (llama.cpp)", tokens, c.PromptTokens)
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
		})
	}
}
