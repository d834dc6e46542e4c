// Package synth writes GGUF models with made-up weights in the shapes of real
// ones (SmolLM2-135M, Llama-3-8B, GPT-2 124M, ...). Speed depends on shapes
// and block formats, not on what the weights say, so cmd/mkmodel uses these
// files for benchmarks on machines that cannot download models; tests and
// fuzz seeds use tiny shapes of the same layouts.
//
// The tokenizer is a SentencePiece-style vocabulary of placeholder tokens
// (byte tokens plus "tok<N>") sized to the model's vocabulary, so gpurun loads
// and runs a file like any other; the text it writes is noise.
package synth

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sort"

	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/gguf"
	"gpurun/runtime/quant"
)

// Shape is a model's hyperparameters.
type Shape struct {
	Arch                                         string // "llama" (default), "qwen2", "qwen3", "qwen3moe", "qwen2moe", "smollm3", "granite", "granitemoe", "olmoe", "exaone", "ernie4_5-moe", "ernie4_5", "gemma2", "gemma3", "phi3", "olmo2" or "gpt2"
	Dim, Heads, KVHeads, FFN, Layers, Vocab, Ctx int
	HeadDim                                      int     // 0: Dim / Heads
	RopeBase                                     float32 // llama, qwen2, qwen3, gemma2, gemma3 (its global layers)
	Window                                       int     // gemma2, gemma3: attention.sliding_window (0: none written)
	RopeDims                                     int     // rotary dims per head (0: all); phi3 writes LongRoPE factors for them
	Tied                                         bool    // no output.weight: the embedding is the classifier
	// Mixture of experts (llama, qwen3moe, granitemoe, olmoe): Experts per
	// layer in place of the feed-forward, ExpertsUsed per token, ExpertFFN
	// rows each (qwen3moe, qwen2moe; the others' experts have FFN rows),
	// and a shared expert of SharedFFN rows (granitemoe: 0 for none;
	// qwen2moe, with its gate). The router is F32, as llama.cpp's quantizer
	// leaves it.
	Experts, ExpertsUsed, ExpertFFN, SharedFFN int
}

// shapes are the named shapes of real models.
var shapes = map[string]Shape{
	"smollm2-135m": {Dim: 576, Heads: 9, KVHeads: 3, FFN: 1536, Layers: 30, Vocab: 49152, Ctx: 8192, RopeBase: 100000, Tied: true},
	"llama3-8b":    {Dim: 4096, Heads: 32, KVHeads: 8, FFN: 14336, Layers: 32, Vocab: 128256, Ctx: 8192, RopeBase: 500000},
	"llama2-7b":    {Dim: 4096, Heads: 32, KVHeads: 32, FFN: 11008, Layers: 32, Vocab: 32000, Ctx: 4096, RopeBase: 10000},
	"tinyllama-1b": {Dim: 2048, Heads: 32, KVHeads: 4, FFN: 5632, Layers: 22, Vocab: 32000, Ctx: 2048, RopeBase: 10000},
	"qwen2.5-0.5b": {Arch: "qwen2", Dim: 896, Heads: 14, KVHeads: 2, FFN: 4864, Layers: 24, Vocab: 151936, Ctx: 32768, RopeBase: 1000000, Tied: true},
	"qwen3-0.6b":   {Arch: "qwen3", Dim: 1024, Heads: 16, KVHeads: 8, HeadDim: 128, FFN: 3072, Layers: 28, Vocab: 151936, Ctx: 40960, RopeBase: 1000000, Tied: true},
	"qwen3-30b-a3b": {Arch: "qwen3moe", Dim: 2048, Heads: 32, KVHeads: 4, HeadDim: 128, FFN: 6144, Layers: 48, Vocab: 151936, Ctx: 40960, RopeBase: 1000000,
		Experts: 128, ExpertsUsed: 8, ExpertFFN: 768},
	"qwen1.5-moe-a2.7b": {Arch: "qwen2moe", Dim: 2048, Heads: 16, KVHeads: 16, FFN: 5632, Layers: 24, Vocab: 151936, Ctx: 8192, RopeBase: 1000000,
		Experts: 60, ExpertsUsed: 4, ExpertFFN: 1408, SharedFFN: 5632},
	"ernie4.5-21b-a3b": {Arch: "ernie4_5-moe", Dim: 2560, Heads: 20, KVHeads: 4, FFN: 12288, Layers: 28, Vocab: 103424, Ctx: 131072, RopeBase: 500000, Tied: true,
		Experts: 64, ExpertsUsed: 6, ExpertFFN: 1536, SharedFFN: 3072},
	"olmoe-1b-7b": {Arch: "olmoe", Dim: 2048, Heads: 16, KVHeads: 16, FFN: 1024, Layers: 16, Vocab: 50304, Ctx: 4096, RopeBase: 10000, Experts: 64, ExpertsUsed: 8},
	"granite3-3b-a800m": {Arch: "granitemoe", Dim: 1536, Heads: 24, KVHeads: 8, FFN: 512, Layers: 32, Vocab: 49155, Ctx: 4096, RopeBase: 10000, Tied: true,
		Experts: 40, ExpertsUsed: 8},
	"mixtral-8x7b": {Dim: 4096, Heads: 32, KVHeads: 8, FFN: 14336, Layers: 32, Vocab: 32000, Ctx: 32768, RopeBase: 1000000, Experts: 8, ExpertsUsed: 2},
	"gemma2-2b":    {Arch: "gemma2", Dim: 2304, Heads: 8, KVHeads: 4, HeadDim: 256, FFN: 9216, Layers: 26, Vocab: 256000, Ctx: 8192, RopeBase: 10000, Window: 4096, Tied: true},
	"granite3-2b":  {Arch: "granite", Dim: 2048, Heads: 32, KVHeads: 8, FFN: 8192, Layers: 40, Vocab: 49159, Ctx: 131072, RopeBase: 10000000, Tied: true},
	"olmo2-1b":     {Arch: "olmo2", Dim: 2048, Heads: 16, KVHeads: 16, FFN: 8192, Layers: 16, Vocab: 100352, Ctx: 4096, RopeBase: 500000},
	"phi4-mini":    {Arch: "phi3", Dim: 3072, Heads: 24, KVHeads: 8, FFN: 8192, Layers: 32, Vocab: 200064, Ctx: 131072, RopeBase: 10000, RopeDims: 96, Tied: true},
	"gemma3-270m":  {Arch: "gemma3", Dim: 640, Heads: 4, KVHeads: 1, HeadDim: 256, FFN: 2048, Layers: 18, Vocab: 262144, Ctx: 32768, RopeBase: 1000000, Window: 512, Tied: true},
	"gemma3-1b":    {Arch: "gemma3", Dim: 1152, Heads: 4, KVHeads: 1, HeadDim: 256, FFN: 6912, Layers: 26, Vocab: 262144, Ctx: 32768, RopeBase: 1000000, Window: 512, Tied: true},
	// GPT-2 ties its classifier to the embedding, but llama.cpp's converter
	// writes the copy as output.weight: so do we.
	"gpt2-124m": {Arch: "gpt2", Dim: 768, Heads: 12, KVHeads: 12, FFN: 3072, Layers: 12, Vocab: 50257, Ctx: 1024},
	"gpt2-355m": {Arch: "gpt2", Dim: 1024, Heads: 16, KVHeads: 16, FFN: 4096, Layers: 24, Vocab: 50257, Ctx: 1024},
}

// Named returns the shape of a real model by name (see Names).
func Named(name string) (Shape, bool) {
	s, ok := shapes[name]
	return s, ok
}

// Names lists the named shapes, sorted.
func Names() []string {
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Build lays out a model of shape s named name, with random weights from
// seed: matrices in wt, the token embedding in et, norms 1 and biases 0 in
// F32. Weights are written when the returned Writer is (WriteTo, Bytes).
func Build(name string, s Shape, wt, et quant.Type, seed uint64) (*gguf.Writer, error) {
	arch := s.Arch
	if arch == "" {
		arch = "llama"
	}
	if s.Heads <= 0 || (s.HeadDim == 0 && s.Dim%s.Heads != 0) {
		return nil, fmt.Errorf("synth: %d heads do not divide dim %d", s.Heads, s.Dim)
	}
	hd := s.Dim / s.Heads
	if s.HeadDim > 0 {
		hd = s.HeadDim
	}
	rot := hd
	if s.RopeDims > 0 {
		rot = s.RopeDims
	}
	// the experts' rows: their own key's (ExpertFFN) where llama.cpp reads
	// expert_feed_forward_length, feed_forward_length's elsewhere
	expertKey := arch == "qwen3moe" || arch == "qwen2moe" || arch == "ernie4_5-moe"
	expertRows := s.FFN
	if expertKey {
		expertRows = s.ExpertFFN
	}
	w := gguf.NewWriter()
	w.AddKV("general.architecture", arch)
	w.AddKV("general.name", "random "+name)
	w.AddKV(arch+".context_length", uint32(s.Ctx))
	w.AddKV(arch+".embedding_length", uint32(s.Dim))
	w.AddKV(arch+".feed_forward_length", uint32(s.FFN))
	w.AddKV(arch+".block_count", uint32(s.Layers))
	w.AddKV(arch+".attention.head_count", uint32(s.Heads))
	switch arch {
	case "gpt2":
		w.AddKV("gpt2.attention.layer_norm_epsilon", float32(1e-5))
	case "llama", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "smollm3", "granite", "granitemoe", "olmoe", "exaone", "ernie4_5", "ernie4_5-moe", "gemma2", "gemma3", "phi3", "olmo2":
		w.AddKV(arch+".attention.head_count_kv", uint32(s.KVHeads))
		if s.Experts > 0 {
			w.AddKV(arch+".expert_count", uint32(s.Experts))
			w.AddKV(arch+".expert_used_count", uint32(s.ExpertsUsed))
			if expertKey {
				w.AddKV(arch+".expert_feed_forward_length", uint32(s.ExpertFFN))
			}
			if arch == "ernie4_5-moe" { // layer 0 dense, experts in the others (ERNIE-4.5-21B-A3B)
				w.AddKV(arch+".leading_dense_block_count", uint32(1))
				w.AddKV(arch+".interleave_moe_layer_step", uint32(1))
			}
			if s.SharedFFN > 0 {
				w.AddKV(arch+".expert_shared_feed_forward_length", uint32(s.SharedFFN))
			}
		}
		w.AddKV(arch+".rope.freq_base", s.RopeBase)
		w.AddKV(arch+".rope.dimension_count", uint32(rot))
		if arch == "granite" || arch == "granitemoe" { // Granite 3.x's multipliers
			w.AddKV(arch+".embedding_scale", float32(12))
			w.AddKV(arch+".attention.scale", float32(0.015625))
			w.AddKV(arch+".residual_scale", float32(0.22))
			w.AddKV(arch+".logit_scale", float32(8))
		}
		if arch == "phi3" { // LongRoPE, as Phi-4-mini's converted files have it
			w.AddKV("phi3.rope.scaling.original_context_length", uint32(min(4096, s.Ctx)))
			w.AddKV("phi3.rope.scaling.attn_factor", float32(1.19))
		}
		if hd != s.Dim/s.Heads {
			w.AddKV(arch+".attention.key_length", uint32(hd))
			w.AddKV(arch+".attention.value_length", uint32(hd))
		}
		w.AddKV(arch+".attention.layer_norm_rms_epsilon", float32(1e-5))
		if (arch == "gemma2" || arch == "gemma3") && s.Window > 0 {
			w.AddKV(arch+".attention.sliding_window", uint32(s.Window))
		}
		if arch == "gemma2" { // the values of Gemma 2's config.json, as its converter writes them
			w.AddKV("gemma2.attn_logit_softcapping", float32(50))
			w.AddKV("gemma2.final_logit_softcapping", float32(30))
		}
	default:
		return nil, fmt.Errorf("synth: unknown architecture %q", arch)
	}
	addVocab(w, s.Vocab)

	rng := rand.New(rand.NewPCG(seed, 7))
	var errs []error
	// mat adds a rows x cols matrix (GGUF dims cols, rows).
	mat := func(name string, t quant.Type, rows, cols int) {
		fill, err := randomRows(t, rows, cols, rng)
		if err == nil {
			err = w.AddTensorFunc(name, t, []uint64{uint64(cols), uint64(rows)}, fill)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("synth: %s: %w", name, err))
		}
	}
	// experts adds E stacked rows x cols matrices (GGUF dims cols, rows, E).
	experts := func(name string, t quant.Type, rows, cols, E int) {
		fill, err := randomRows(t, rows*E, cols, rng)
		if err == nil {
			err = w.AddTensorFunc(name, t, []uint64{uint64(cols), uint64(rows), uint64(E)}, fill)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("synth: %s: %w", name, err))
		}
	}
	vec := func(name string, n int, fill func(int) func(io.Writer) error) {
		if err := w.AddTensorFunc(name, quant.F32, []uint64{uint64(n)}, fill(n)); err != nil {
			errs = append(errs, fmt.Errorf("synth: %s: %w", name, err))
		}
	}
	// The order of llama.cpp's converters (and of the files benchmarks ran on).
	d := s.Dim
	mat("token_embd.weight", et, s.Vocab, d)
	if arch == "gpt2" {
		mat("position_embd.weight", quant.F32, s.Ctx, d)
	}
	vec("output_norm.weight", d, ones)
	if arch == "phi3" {
		vec("rope_factors_long.weight", rot/2, ones)
		vec("rope_factors_short.weight", rot/2, ones)
	}
	if arch == "gpt2" {
		vec("output_norm.bias", d, zeros)
	}
	if !s.Tied {
		mat("output.weight", wt, s.Vocab, d)
	}
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		if arch == "gpt2" { // LayerNorms with biases, one fused QKV matrix with a bias
			vec(p+"attn_norm.weight", d, ones)
			vec(p+"attn_norm.bias", d, zeros)
			mat(p+"attn_qkv.weight", wt, 3*d, d)
			vec(p+"attn_qkv.bias", 3*d, zeros)
			mat(p+"attn_output.weight", wt, d, d)
			vec(p+"attn_output.bias", d, zeros)
			vec(p+"ffn_norm.weight", d, ones)
			vec(p+"ffn_norm.bias", d, zeros)
			mat(p+"ffn_up.weight", wt, s.FFN, d)
			vec(p+"ffn_up.bias", s.FFN, zeros)
			mat(p+"ffn_down.weight", wt, d, s.FFN)
			vec(p+"ffn_down.bias", d, zeros)
			continue
		}
		if arch == "olmo2" { // norms after the sub-blocks only; q and k normed whole
			mat(p+"attn_q.weight", wt, s.Heads*hd, d)
			mat(p+"attn_k.weight", wt, s.KVHeads*hd, d)
			mat(p+"attn_v.weight", wt, s.KVHeads*hd, d)
			vec(p+"attn_q_norm.weight", s.Heads*hd, ones)
			vec(p+"attn_k_norm.weight", s.KVHeads*hd, ones)
			mat(p+"attn_output.weight", wt, d, s.Heads*hd)
			vec(p+"post_attention_norm.weight", d, ones)
			mat(p+"ffn_gate.weight", wt, s.FFN, d)
			mat(p+"ffn_up.weight", wt, s.FFN, d)
			mat(p+"ffn_down.weight", wt, d, s.FFN)
			vec(p+"post_ffw_norm.weight", d, ones)
			continue
		}
		vec(p+"attn_norm.weight", d, ones)
		if arch == "phi3" { // q, k and v in one tensor; gate and up in one
			mat(p+"attn_qkv.weight", wt, (s.Heads+2*s.KVHeads)*hd, d)
			mat(p+"attn_output.weight", wt, d, s.Heads*hd)
			vec(p+"ffn_norm.weight", d, ones)
			mat(p+"ffn_up.weight", wt, 2*s.FFN, d)
			mat(p+"ffn_down.weight", wt, d, s.FFN)
			continue
		}
		mat(p+"attn_q.weight", wt, s.Heads*hd, d)
		mat(p+"attn_k.weight", wt, s.KVHeads*hd, d)
		mat(p+"attn_v.weight", wt, s.KVHeads*hd, d)
		if arch == "qwen3" || arch == "qwen3moe" || arch == "gemma3" {
			vec(p+"attn_q_norm.weight", hd, ones)
			vec(p+"attn_k_norm.weight", hd, ones)
		}
		if arch == "olmoe" { // over all heads at once
			vec(p+"attn_q_norm.weight", s.Heads*hd, ones)
			vec(p+"attn_k_norm.weight", s.KVHeads*hd, ones)
		}
		if arch == "qwen2" || arch == "qwen2moe" {
			vec(p+"attn_q.bias", s.Heads*hd, zeros)
			vec(p+"attn_k.bias", s.KVHeads*hd, zeros)
			vec(p+"attn_v.bias", s.KVHeads*hd, zeros)
		}
		mat(p+"attn_output.weight", wt, d, s.Heads*hd)
		if arch == "gemma2" || arch == "gemma3" {
			vec(p+"post_attention_norm.weight", d, ones)
		}
		vec(p+"ffn_norm.weight", d, ones)
		if s.Experts > 0 && !(arch == "ernie4_5-moe" && l == 0) {
			eff := expertRows
			if arch == "ernie4_5-moe" {
				vec(p+"exp_probs_b.bias", s.Experts, zeros)
			}
			mat(p+"ffn_gate_inp.weight", quant.F32, s.Experts, d)
			experts(p+"ffn_gate_exps.weight", wt, eff, d, s.Experts)
			experts(p+"ffn_down_exps.weight", wt, d, eff, s.Experts)
			experts(p+"ffn_up_exps.weight", wt, eff, d, s.Experts)
			if arch == "qwen2moe" { // the shared expert's gate: one F32 row
				mat(p+"ffn_gate_inp_shexp.weight", quant.F32, 1, d)
			}
			if s.SharedFFN > 0 {
				mat(p+"ffn_gate_shexp.weight", wt, s.SharedFFN, d)
				mat(p+"ffn_up_shexp.weight", wt, s.SharedFFN, d)
				mat(p+"ffn_down_shexp.weight", wt, d, s.SharedFFN)
			}
			continue
		}
		mat(p+"ffn_gate.weight", wt, s.FFN, d)
		mat(p+"ffn_up.weight", wt, s.FFN, d)
		mat(p+"ffn_down.weight", wt, d, s.FFN)
		if arch == "gemma2" || arch == "gemma3" {
			vec(p+"post_ffw_norm.weight", d, ones)
		}
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return w, nil
}

// addVocab writes a SentencePiece-style vocabulary of n tokens: <unk>, <s>,
// </s>, the 256 byte tokens, then placeholders (a smaller n cuts the list).
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
	pr := min(poolRows, rows)
	var pool []byte
	if quant.CanQuantize(t) {
		pool = make([]byte, pr*rb)
		x := make([]float32, cols)
		for r := 0; r < pr; r++ {
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
		tn, err := backendtest.Tensor("pool", t, pr, cols, rng.Uint64())
		if err != nil {
			return nil, err
		}
		pool = tn.Data
	}
	return func(out io.Writer) error {
		for r := 0; r < rows; r += pr {
			n := min(pr, rows-r)
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
