// Command mkmodel writes a GGUF file with random weights in the shapes of a
// real model (SmolLM2-135M, Llama-3-8B, GPT-2 124M, ...), for benchmarks on machines
// that cannot download models: speed depends on shapes and block formats,
// not on what the weights say.
//
//	mkmodel -shape llama3-8b -type q4_1 -o /tmp/llama3-8b-q4_1.gguf
//
// The tokenizer is a SentencePiece-style vocabulary of placeholder tokens
// (byte tokens plus "tok<N>") sized to the model's vocabulary, so gpurun
// loads and runs the file like any other; the text it writes is noise.
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"

	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/gguf"
	"gpurun/runtime/quant"
)

// Shape is a model's hyperparameters.
type Shape struct {
	Arch                                         string // "llama" (default) or "gpt2"
	Dim, Heads, KVHeads, FFN, Layers, Vocab, Ctx int
	RopeBase                                     float32
	Tied                                         bool // no output.weight: the embedding is the classifier
}

var shapes = map[string]Shape{
	"smollm2-135m": {Dim: 576, Heads: 9, KVHeads: 3, FFN: 1536, Layers: 30, Vocab: 49152, Ctx: 8192, RopeBase: 100000, Tied: true},
	"llama3-8b":    {Dim: 4096, Heads: 32, KVHeads: 8, FFN: 14336, Layers: 32, Vocab: 128256, Ctx: 8192, RopeBase: 500000},
	"llama2-7b":    {Dim: 4096, Heads: 32, KVHeads: 32, FFN: 11008, Layers: 32, Vocab: 32000, Ctx: 4096, RopeBase: 10000},
	"tinyllama-1b": {Dim: 2048, Heads: 32, KVHeads: 4, FFN: 5632, Layers: 22, Vocab: 32000, Ctx: 2048, RopeBase: 10000},
	// GPT-2 ties its classifier to the embedding, but llama.cpp's converter
	// writes the copy as output.weight: so do we.
	"gpt2-124m": {Arch: "gpt2", Dim: 768, Heads: 12, KVHeads: 12, FFN: 3072, Layers: 12, Vocab: 50257, Ctx: 1024},
	"gpt2-355m": {Arch: "gpt2", Dim: 1024, Heads: 16, KVHeads: 16, FFN: 4096, Layers: 24, Vocab: 50257, Ctx: 1024},
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkmodel:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mkmodel", flag.ContinueOnError)
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	shape := fs.String("shape", "smollm2-135m", "model shape: "+strings.Join(names, ", "))
	typ := fs.String("type", "q4_1", "weight block format of the matrices (q4_0, q4_1, q8_0, q4_k, q5_k, q6_k, f16, f32)")
	embType := fs.String("embed-type", "", "block format of the token embedding (default: -type)")
	layers := fs.Int("layers", 0, "override the number of layers (0: the shape's)")
	out := fs.String("o", "", "output file (required)")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, ok := shapes[*shape]
	if !ok {
		return fmt.Errorf("unknown -shape %q (want one of %s)", *shape, strings.Join(names, ", "))
	}
	if *layers > 0 {
		s.Layers = *layers
	}
	wt, ok := quant.ParseType(*typ)
	if !ok {
		return fmt.Errorf("unknown -type %q", *typ)
	}
	et := wt
	if *embType != "" {
		if et, ok = quant.ParseType(*embType); !ok {
			return fmt.Errorf("unknown -embed-type %q", *embType)
		}
	}
	if *out == "" {
		return fmt.Errorf("-o FILE is required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := build(*shape, s, wt, et, *seed)
	if err != nil {
		return err
	}
	n, err := w.WriteTo(f)
	if err != nil {
		return err
	}
	slog.Info("wrote model", "file", *out, "shape", *shape, "type", wt, "bytes", n)
	return f.Close()
}

// build lays out a model of shape s with random weights.
func build(name string, s Shape, wt, et quant.Type, seed uint64) (*gguf.Writer, error) {
	if s.Arch == "gpt2" {
		return buildGPT2(name, s, wt, et, seed)
	}
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	w.AddKV("general.name", "random "+name)
	w.AddKV("llama.context_length", uint32(s.Ctx))
	w.AddKV("llama.embedding_length", uint32(s.Dim))
	w.AddKV("llama.feed_forward_length", uint32(s.FFN))
	w.AddKV("llama.block_count", uint32(s.Layers))
	w.AddKV("llama.attention.head_count", uint32(s.Heads))
	w.AddKV("llama.attention.head_count_kv", uint32(s.KVHeads))
	w.AddKV("llama.rope.freq_base", s.RopeBase)
	w.AddKV("llama.rope.dimension_count", uint32(s.Dim/s.Heads))
	w.AddKV("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	addVocab(w, s.Vocab)

	rng := rand.New(rand.NewPCG(seed, 7))
	hd := s.Dim / s.Heads
	mat := func(name string, t quant.Type, rows, cols int) error {
		fill, err := randomRows(t, rows, cols, rng)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return w.AddTensorFunc(name, t, []uint64{uint64(cols), uint64(rows)}, fill)
	}
	norm := func(name string) error {
		return w.AddTensorFunc(name, quant.F32, []uint64{uint64(s.Dim)}, ones(s.Dim))
	}
	errs := []error{mat("token_embd.weight", et, s.Vocab, s.Dim), norm("output_norm.weight")}
	if !s.Tied {
		errs = append(errs, mat("output.weight", wt, s.Vocab, s.Dim))
	}
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		errs = append(errs,
			norm(p+"attn_norm.weight"),
			mat(p+"attn_q.weight", wt, s.Heads*hd, s.Dim),
			mat(p+"attn_k.weight", wt, s.KVHeads*hd, s.Dim),
			mat(p+"attn_v.weight", wt, s.KVHeads*hd, s.Dim),
			mat(p+"attn_output.weight", wt, s.Dim, s.Heads*hd),
			norm(p+"ffn_norm.weight"),
			mat(p+"ffn_gate.weight", wt, s.FFN, s.Dim),
			mat(p+"ffn_up.weight", wt, s.FFN, s.Dim),
			mat(p+"ffn_down.weight", wt, s.Dim, s.FFN),
		)
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return w, nil
}

// buildGPT2 lays out a gpt2 model of shape s with random weights: learned
// positions, LayerNorms with biases, one fused QKV matrix with a bias.
func buildGPT2(name string, s Shape, wt, et quant.Type, seed uint64) (*gguf.Writer, error) {
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "gpt2")
	w.AddKV("general.name", "random "+name)
	w.AddKV("gpt2.context_length", uint32(s.Ctx))
	w.AddKV("gpt2.embedding_length", uint32(s.Dim))
	w.AddKV("gpt2.feed_forward_length", uint32(s.FFN))
	w.AddKV("gpt2.block_count", uint32(s.Layers))
	w.AddKV("gpt2.attention.head_count", uint32(s.Heads))
	w.AddKV("gpt2.attention.layer_norm_epsilon", float32(1e-5))
	addVocab(w, s.Vocab)

	rng := rand.New(rand.NewPCG(seed, 7))
	mat := func(name string, t quant.Type, rows, cols int) error {
		fill, err := randomRows(t, rows, cols, rng)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return w.AddTensorFunc(name, t, []uint64{uint64(cols), uint64(rows)}, fill)
	}
	vec := func(name string, n int, fill func(int) func(io.Writer) error) error {
		return w.AddTensorFunc(name, quant.F32, []uint64{uint64(n)}, fill(n))
	}
	errs := []error{
		mat("token_embd.weight", et, s.Vocab, s.Dim),
		mat("position_embd.weight", quant.F32, s.Ctx, s.Dim),
		vec("output_norm.weight", s.Dim, ones), vec("output_norm.bias", s.Dim, zeros),
	}
	if !s.Tied {
		errs = append(errs, mat("output.weight", wt, s.Vocab, s.Dim))
	}
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		errs = append(errs,
			vec(p+"attn_norm.weight", s.Dim, ones), vec(p+"attn_norm.bias", s.Dim, zeros),
			mat(p+"attn_qkv.weight", wt, 3*s.Dim, s.Dim), vec(p+"attn_qkv.bias", 3*s.Dim, zeros),
			mat(p+"attn_output.weight", wt, s.Dim, s.Dim), vec(p+"attn_output.bias", s.Dim, zeros),
			vec(p+"ffn_norm.weight", s.Dim, ones), vec(p+"ffn_norm.bias", s.Dim, zeros),
			mat(p+"ffn_up.weight", wt, s.FFN, s.Dim), vec(p+"ffn_up.bias", s.FFN, zeros),
			mat(p+"ffn_down.weight", wt, s.Dim, s.FFN), vec(p+"ffn_down.bias", s.Dim, zeros),
		)
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return w, nil
}

// addVocab writes a SentencePiece-style vocabulary of n tokens: <unk>, <s>,
// </s>, the 256 byte tokens, then placeholders.
func addVocab(w *gguf.Writer, n int) {
	tokens := make([]string, n)
	scores := make([]float32, n)
	types := make([]int32, n)
	for i := range tokens {
		switch {
		case i == 0:
			tokens[i], types[i] = "<unk>", 2
		case i == 1:
			tokens[i], types[i] = "<s>", 3
		case i == 2:
			tokens[i], types[i] = "</s>", 3
		case i < 3+256:
			tokens[i], types[i] = fmt.Sprintf("<0x%02X>", i-3), 6
		default:
			tokens[i], types[i] = fmt.Sprintf("▁tok%d", i), 1
			scores[i] = -float32(i)
		}
	}
	w.AddKV("tokenizer.ggml.model", "llama")
	w.AddKV("tokenizer.ggml.tokens", tokens)
	w.AddKV("tokenizer.ggml.scores", scores)
	w.AddKV("tokenizer.ggml.token_type", types)
	w.AddKV("tokenizer.ggml.bos_token_id", uint32(1))
	w.AddKV("tokenizer.ggml.eos_token_id", uint32(2))
	w.AddKV("tokenizer.ggml.unknown_token_id", uint32(0))
}

// randomRows returns a writer of rows x cols weights: a pool of 61 random
// rows (values uniform in [-0.05, 0.05), quantized) repeated, so that a
// multi-gigabyte model is written at disk speed. Every row still occupies
// its own memory, so bandwidth measurements are unaffected.
func randomRows(t quant.Type, rows, cols int, rng *rand.Rand) (func(io.Writer) error, error) {
	rb, err := t.RowSize(cols)
	if err != nil {
		return nil, err
	}
	const poolRows = 61
	var pool []byte
	if quant.CanQuantize(t) {
		pool = make([]byte, poolRows*rb)
		x := make([]float32, cols)
		for r := 0; r < poolRows; r++ {
			for i := range x {
				x[i] = (rng.Float32()*2 - 1) * 0.05
			}
			if err := quant.QuantizeRow(t, x, pool[r*rb:(r+1)*rb]); err != nil {
				return nil, err
			}
		}
	} else {
		// The K-quants have no quantizer here: random quant bits with
		// modest scales (what the backend tests use), which is all a speed
		// measurement needs.
		tn, err := backendtest.Tensor("pool", t, poolRows, cols, rng.Uint64())
		if err != nil {
			return nil, err
		}
		pool = tn.Data
	}
	return func(out io.Writer) error {
		for r := 0; r < rows; r += poolRows {
			n := min(poolRows, rows-r)
			if _, err := out.Write(pool[:n*rb]); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// zeros writes n float32 0 values (biases).
func zeros(n int) func(io.Writer) error {
	return func(out io.Writer) error {
		_, err := out.Write(make([]byte, 4*n))
		return err
	}
}

// ones writes n float32 1.0 values (norm weights).
func ones(n int) func(io.Writer) error {
	return func(out io.Writer) error {
		b := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			b[4*i+2], b[4*i+3] = 0x80, 0x3f // 1.0f little-endian
		}
		_, err := out.Write(b)
		return err
	}
}
