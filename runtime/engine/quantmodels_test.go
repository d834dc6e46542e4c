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

// quantGoldens is what scripts/goldens/llama_tiny_quants.py recorded from
// llama.cpp on testdata/llama-tiny-NAME.gguf (which it also wrote).
type quantGoldens struct {
	LlamaCPP string `json:"llama_cpp_python"`
	Decode   struct {
		Tokens []int32  `json:"tokens"`
		Logits []string `json:"logits_f32_b64"`
	} `json:"decode"`
	Greedy []struct {
		Name         string    `json:"name"`
		Prompt       string    `json:"prompt"`
		PromptTokens []int32   `json:"prompt_tokens"`
		PromptLogits string    `json:"prompt_logits_f32_b64"`
		Tokens       []int32   `json:"tokens"`
		Gap          []float64 `json:"top2_gap"`
	} `json:"greedy"`
}

// quantModels: the tiny models of llama_tiny_quants.py, named by their
// matrices' type; q4km is the f32 one quantized by llama.cpp's own
// quantizer (its Q4_K_M mix: Q6_K in some layers, not in others).
var quantModels = []string{"q4k", "q4_0", "q5_0", "q5k", "q5_1", "q2k", "q3k", "f16", "bf16", "f32", "q4km", "qwen2", "qwen3", "smollm3", "llama3rope", "gemma3", "gemma2", "phi3", "granite", "olmo2", "exaone", "ernie4_5", "llama96", "qwen3moe", "qwen3moe_f32", "mixtral", "granitemoe", "olmoe", "qwen2moe", "qwen2moe_f32", "ernie4_5moe", "qwen3moe_q4k", "qwen3moe_q4km"}

func loadQuantModel(t *testing.T, name string) (*engine.Engine, quantGoldens) {
	t.Helper()
	path := fmt.Sprintf("testdata/llama_tiny_%s_llamacpp.json", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g quantGoldens
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Decode.Tokens) == 0 || len(g.Decode.Tokens) != len(g.Decode.Logits) || len(g.Greedy) == 0 {
		t.Fatalf("%s: no decode steps or greedy cases", path)
	}
	e, err := engine.Load(engine.Options{ModelPath: fmt.Sprintf("testdata/llama-tiny-%s.gguf", name), Device: "cpu", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, g
}

// compareLogits returns how many of got differ from the float32 logits in
// b64 (little-endian, base64) and by how much at most.
func compareLogits(t *testing.T, got []float32, b64 string) (differ int, maxDiff float64) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 4*len(got) {
		t.Fatalf("golden logits: %d bytes for %d logits (%v)", len(raw), len(got), err)
	}
	for i := range got {
		want := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			differ++
			maxDiff = max(maxDiff, math.Abs(float64(got[i]-want)))
		}
	}
	return differ, maxDiff
}

// TestQuantModelsDecodeMatchLlamaCpp: Llamas in the common quantized
// types — Q4_K or Q5_K matrices and embedding with a Q6_K classifier (Q4_K_M
// and Q5_K_M files in miniature), Q4_0, Q5_0 and Q5_1 with a Q8_0
// classifier —
// fed one token at a time, give llama.cpp's logits bit for bit after every token. One
// token at a time is where llama.cpp runs ggml_gemv_q4_K_8x8_q8_K and
// ggml_gemv_q4_0_8x8_q8_0 on the weights it repacks, and ggml_vec_dot_* on
// the rest, whose arithmetic gpurun's dot products follow — the assembly
// and the portable Go kernels alike (make test runs this test again with
// GPURUN_QUANT_NOASM=1).
func TestQuantModelsDecodeMatchLlamaCpp(t *testing.T) {
	for _, m := range quantModels {
		t.Run(m, func(t *testing.T) {
			e, g := loadQuantModel(t, m)
			cache, err := e.Model.NewCache(e.Ctx, e.KVType)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, e.Model.Config().Vocab)
			for step, tok := range g.Decode.Tokens {
				logits, err := e.Model.Forward([]model.Segment{{Cache: cache, Tokens: []int32{tok}}})
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Backend.Read(got, logits); err != nil {
					t.Fatal(err)
				}
				if differ, maxDiff := compareLogits(t, got, g.Decode.Logits[step]); differ > 0 {
					t.Fatalf("step %d (token %d): %d of %d logits differ from llama.cpp's, by up to %.3g", step, tok, differ, len(got), maxDiff)
				}
			}
		})
	}
}

// TestQuantModelsGreedyMatchLlamaCpp: on the same models, prompts tokenize
// as llama.cpp's, the logits after each whole prompt (one batch) equal
// llama.cpp's batched ones bit for bit, and the greedy continuations equal
// llama.cpp's. Like llama.cpp, gpurun multiplies Q2_K..Q6_K prompts of 8
// rows or more with their batch arithmetic, the first T - T%4 rows of a
// Q4_K prompt of 4 or more with its gemm arithmetic (quant.MatMul), and runs
// the last layer's feed-forward on the last row alone, so its batched
// logits differ from its token-by-token ones exactly where llama.cpp's do.
// The prompts (11, 26 and 20 tokens) cover batches with and without
// leftover rows.
func TestQuantModelsGreedyMatchLlamaCpp(t *testing.T) {
	for _, m := range quantModels {
		e, g := loadQuantModel(t, m)
		for _, c := range g.Greedy {
			t.Run(m+"/"+c.Name, func(t *testing.T) {
				tokens := e.PromptTokens(c.Prompt, true)
				if fmt.Sprint(tokens) != fmt.Sprint(c.PromptTokens) {
					t.Fatalf("prompt tokens\n got %v\nwant %v (llama.cpp)", tokens, c.PromptTokens)
				}
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
				if differ, maxDiff := compareLogits(t, got, c.PromptLogits); differ > 0 {
					t.Errorf("%d of %d logits after the prompt differ from llama.cpp's, by up to %.3g", differ, len(got), maxDiff)
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
}
