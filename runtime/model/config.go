// Package model holds the transformer architectures, written against the
// op-level backend.Backend interface so that one forward pass serves the
// CPU, CUDA and emulated backends.
package model

import (
	"fmt"
	"math"
	"strings"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
)

// Config holds an architecture's hyperparameters as read from GGUF metadata.
type Config struct {
	Arch      string
	Layers    int // block_count
	Dim       int // embedding_length
	Heads     int // attention.head_count
	KVHeads   int // attention.head_count_kv (GQA when < Heads)
	HeadDim   int // embedding_length / head_count, or attention.key_length
	FFN       int // feed_forward_length
	Vocab     int // rows of token_embd
	CtxTrain  int // context_length the model was trained with
	NormEps   float32
	RoPE      backend.RoPE // zero for learned positions (gpt2)
	TiedEmbed bool         // output.weight absent: the token embedding doubles as the classifier
	// MaxPos bounds positions when they are learned embeddings (gpt2's
	// position_embd has CtxTrain rows); 0 for rotary models, whose context
	// may exceed CtxTrain (with a warning).
	MaxPos int
	// NoRoPEStep, when set, leaves out RoPE in every NoRoPEStep-th layer
	// (layer l with (l+1) % NoRoPEStep == 0): SmolLM3's NoPE layers, 4 as
	// llama.cpp has it for the smollm3 architecture.
	NoRoPEStep int

	// Gemma 2 and 3 (zero elsewhere):
	// SlidingWindow, when positive, limits the attention of the local
	// layers to that many positions; every SWAPattern-th layer (layer l
	// with l % SWAPattern == SWAPattern-1) is global, as llama.cpp's
	// set_swa_pattern has it. Local layers rotate with RoPELocal.
	SlidingWindow int
	SWAPattern    int
	RoPELocal     backend.RoPE
	// EmbedScale multiplies the token embeddings (sqrt(dim)); QueryScale
	// multiplies the queries after RoPE, attention then scaling by 1.
	EmbedScale, QueryScale float32
	// AttnSoftcap and FinalSoftcap, when positive, soft-cap the attention
	// scores and the logits: c * tanh(x / c) (Gemma 2).
	AttnSoftcap, FinalSoftcap float32

	// Granite's multipliers (0: none): KQScale replaces 1/sqrt(head_dim)
	// as attention's scale; ResidualScale multiplies each sub-block's
	// output before it joins the residual stream; LogitScale multiplies
	// the logits (1/logit_scale). EmbedScale (above) multiplies the
	// embeddings.
	KQScale, ResidualScale, LogitScale float32

	// OrigCtx is the context Phi-3's LongRoPE switches factors at
	// (rope.scaling.original_context_length): a sequence whose context is
	// longer rotates with rope_factors_long, others with rope_factors_short.
	OrigCtx int

	// Mixture of experts (0: a dense feed-forward): each layer's
	// feed-forward is Experts gated feed-forwards of ExpertFFN rows, of
	// which a router picks ExpertsUsed per token; ExpertNorm rescales the
	// chosen experts' weights to sum to 1 (Qwen3-MoE, Mixtral, Granite
	// MoE; not OLMoE, Qwen2-MoE). SharedFFN, when positive, is the rows of
	// a shared expert every token also runs, added to the chosen ones' sum
	// (Granite MoE Shared; Qwen2-MoE's, scaled by the sigmoid of a gate).
	Experts, ExpertsUsed, ExpertFFN, SharedFFN int
	ExpertNorm                                 bool
	// DenseLead leading layers keep a dense feed-forward, and after them
	// every MoEStep-th layer has experts (ERNIE 4.5 MoE; 0 and 0 elsewhere:
	// every layer).
	DenseLead, MoEStep int
}

// IsMoE reports whether layer l's feed-forward is a mixture of experts
// (llama.cpp's is_moe_layer: l >= leading dense blocks, (l+1) % step == 0).
func (c Config) IsMoE(l int) bool {
	return c.Experts > 0 && l >= c.DenseLead && (c.MoEStep <= 1 || (l+1)%c.MoEStep == 0)
}

// MaxExperts bounds expert_count (llama.cpp's LLAMA_MAX_EXPERTS).
const MaxExperts = 512

// IsLocal reports whether layer l attends through a sliding window.
func (c Config) IsLocal(l int) bool {
	return c.SlidingWindow > 0 && (c.SWAPattern == 0 || l%c.SWAPattern < c.SWAPattern-1)
}

// UsesRoPE reports whether layer l of a rotary model rotates its queries
// and keys.
func (c Config) UsesRoPE(l int) bool {
	return c.NoRoPEStep == 0 || (l+1)%c.NoRoPEStep != 0
}

// KVDim is the width of a K or V cache row.
func (c Config) KVDim() int { return c.KVHeads * c.HeadDim }

// QDim is the width of the query projection.
func (c Config) QDim() int { return c.Heads * c.HeadDim }

// AttentionScale is 1/sqrt(head_dim), or Granite's attention.scale.
func (c Config) AttentionScale() float32 {
	if c.KQScale != 0 {
		return c.KQScale
	}
	return invSqrtf(c.HeadDim)
}

// invSqrtf is llama.cpp's 1.0f/sqrtf(float(n)), its attention and query
// scales: the float32 root, then a float32 division. Rounding 1/sqrt once
// instead differs at 96 and 112, among others (TestAttentionScaleIsLlamaCpps).
func invSqrtf(n int) float32 {
	return 1 / float32(math.Sqrt(float64(n)))
}

// Supported lists the architectures gpurun runs.
var Supported = []string{"llama", "qwen2", "qwen3", "qwen3moe", "qwen2moe", "smollm3", "granite", "granitemoe", "olmoe", "exaone", "ernie4_5", "ernie4_5-moe", "gemma2", "gemma3", "phi3", "olmo2", "gpt2"}

// UnsupportedError names an architecture gpurun cannot run.
type UnsupportedError struct{ Arch string }

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("architecture %q is not supported (supported: %s)", e.Arch, strings.Join(Supported, ", "))
}

// ReadConfig reads the hyperparameters of a supported model.
func ReadConfig(f *gguf.File) (Config, error) {
	arch, err := f.Architecture()
	if err != nil {
		return Config{}, err
	}
	c := Config{Arch: arch}
	switch arch {
	case "llama", "granite", "granitemoe", "ernie4_5", "ernie4_5-moe":
		c.RoPE.Mode = backend.RoPENormal
	case "smollm3":
		c.RoPE.Mode = backend.RoPENormal
		c.NoRoPEStep = 4
	case "qwen2", "qwen2moe", "qwen3", "qwen3moe", "olmoe", "exaone", "gemma2", "gemma3", "phi3", "olmo2":
		c.RoPE.Mode = backend.RoPENeox
	case "gpt2":
	default:
		return Config{}, &UnsupportedError{arch}
	}
	u := func(dst *int, key string, def int) {
		if err != nil {
			return
		}
		var v uint32
		v, err = f.Uint32Or(f.ArchKey(key), uint32(def))
		*dst = int(v)
	}
	u(&c.Layers, "block_count", -1)
	u(&c.Dim, "embedding_length", -1)
	u(&c.Heads, "attention.head_count", -1)
	u(&c.FFN, "feed_forward_length", -1)
	u(&c.CtxTrain, "context_length", 2048)
	if err != nil {
		return Config{}, err
	}
	for _, req := range []struct {
		v   int
		key string
	}{{c.Layers, "block_count"}, {c.Dim, "embedding_length"}, {c.Heads, "attention.head_count"}, {c.FFN, "feed_forward_length"}} {
		if req.v <= 0 {
			if req.v == -1 {
				return Config{}, &gguf.KeyError{Key: f.ArchKey(req.key), Want: "uint32"}
			}
			return Config{}, fmt.Errorf("model: %s = %d must be positive", f.ArchKey(req.key), req.v)
		}
	}
	// Every block has tensors of its own: a larger count is damage, and
	// would size the table of layers before any tensor is looked up.
	if c.Layers > len(f.Tensors) {
		return Config{}, fmt.Errorf("model: %s = %d, but the file holds only %d tensors", f.ArchKey("block_count"), c.Layers, len(f.Tensors))
	}
	u(&c.KVHeads, "attention.head_count_kv", c.Heads)
	u(&c.HeadDim, "attention.key_length", c.Dim/c.Heads)
	if err != nil {
		return Config{}, err
	}
	if c.KVHeads <= 0 || c.Heads%c.KVHeads != 0 {
		return Config{}, fmt.Errorf("model: %d attention heads are not a multiple of %d KV heads", c.Heads, c.KVHeads)
	}
	if arch == "gpt2" {
		return gpt2Config(f, c)
	}
	u(&c.RoPE.Dims, "rope.dimension_count", c.HeadDim)
	if err != nil {
		return Config{}, err
	}
	if c.HeadDim <= 0 || c.RoPE.Dims <= 0 || c.RoPE.Dims > c.HeadDim || c.RoPE.Dims%2 != 0 {
		return Config{}, fmt.Errorf("model: head dim %d with %d rotary dims is not usable", c.HeadDim, c.RoPE.Dims)
	}
	if c.NormEps, err = f.Float32Or(f.ArchKey("attention.layer_norm_rms_epsilon"), 1e-5); err != nil {
		return Config{}, err
	}
	if c.RoPE.FreqBase, err = f.Float32Or(f.ArchKey("rope.freq_base"), 10000); err != nil {
		return Config{}, err
	}
	c.RoPE.FreqScale = 1
	scaling, err := f.StringOr(f.ArchKey("rope.scaling.type"), "none")
	if err != nil {
		return Config{}, err
	}
	switch scaling {
	case "none", "":
	case "linear":
		factor, err := f.Float32Or(f.ArchKey("rope.scaling.factor"), 1)
		if err != nil {
			return Config{}, err
		}
		if factor > 0 {
			c.RoPE.FreqScale = 1 / factor
		}
	case "longrope", "su": // Phi-3's: its frequency factors are tensors (phi3.go)
		if arch != "phi3" {
			return Config{}, fmt.Errorf("model: rope scaling %q is supported for phi3 only", scaling)
		}
	default:
		return Config{}, fmt.Errorf("model: rope scaling %q is not supported (supported: none, linear; longrope for phi3)", scaling)
	}
	if c, err = moeConfig(f, c); err != nil {
		return Config{}, err
	}
	if arch == "gemma2" || arch == "gemma3" {
		return gemmaConfig(f, c)
	}
	if arch == "phi3" {
		return phi3Config(f, c)
	}
	if arch == "granite" || arch == "granitemoe" {
		return graniteConfig(f, c)
	}
	if arch == "olmo2" {
		w, err := f.Uint32Or(f.ArchKey("attention.sliding_window"), 0)
		if err != nil {
			return Config{}, err
		}
		if w > 0 {
			return Config{}, fmt.Errorf("model: olmo2 with a sliding window (OLMo 3) is not supported")
		}
	}
	return c, nil
}

// moeArch is how llama.cpp reads and builds one architecture's experts.
type moeArch struct {
	norm      bool // build_moe_ffn's norm_w: the chosen experts' weights renormalised to sum 1
	expertFFN bool // expert_feed_forward_length sets the experts' rows (default feed_forward_length / used); else feed_forward_length
	shared    bool // expert_shared_feed_forward_length: a shared expert's rows (default 0: none)
	sharedFFN bool // ... defaulting to feed_forward_length instead
	// interleave: interleave_moe_layer_step (required) and
	// leading_dense_block_count (default 0) say which layers have experts.
	interleave bool
}

// moeArchs are the architectures whose experts gpurun runs.
var moeArchs = map[string]moeArch{
	"llama":        {norm: true},                  // Mixtral
	"qwen3moe":     {norm: true, expertFFN: true}, // Qwen3-30B-A3B
	"qwen2moe":     {expertFFN: true, shared: true, sharedFFN: true},
	"granitemoe":   {norm: true, shared: true},
	"olmoe":        {},
	"ernie4_5-moe": {norm: true, expertFFN: true, shared: true, interleave: true},
}

// moeConfig reads the mixture-of-experts keys of c's architecture as
// llama.cpp does (moeArchs): expert_count (0 or absent: dense; llama only),
// expert_used_count, and the optional ones its moeArch names. Experts in
// other architectures are refused.
func moeConfig(f *gguf.File, c Config) (Config, error) {
	var err error
	u := func(key string, def int) int {
		var v uint32
		if err == nil {
			v, err = f.Uint32Or(f.ArchKey(key), uint32(def))
		}
		return int(v)
	}
	c.Experts = u("expert_count", 0)
	c.ExpertsUsed = u("expert_used_count", 0)
	if err != nil {
		return Config{}, err
	}
	a, ok := moeArchs[c.Arch]
	switch {
	case c.Experts == 0 && (c.Arch == "llama" || !ok):
		c.ExpertsUsed = 0
		return c, nil
	case !ok:
		return Config{}, fmt.Errorf("model: %s with %d experts: mixture-of-experts models run for qwen3moe, qwen2moe, granitemoe, olmoe, ernie4_5-moe and llama (Mixtral) only", c.Arch, c.Experts)
	case c.Experts < 1 || c.Experts > MaxExperts || c.ExpertsUsed < 1 || c.ExpertsUsed > c.Experts:
		return Config{}, fmt.Errorf("model: %s = %d and %s = %d: want 1 <= used <= count <= %d",
			f.ArchKey("expert_count"), c.Experts, f.ArchKey("expert_used_count"), c.ExpertsUsed, MaxExperts)
	}
	c.ExpertNorm = a.norm
	c.ExpertFFN = c.FFN // whatever else the file says, as llama.cpp builds them
	if a.expertFFN {
		c.ExpertFFN = u("expert_feed_forward_length", c.FFN/c.ExpertsUsed)
	}
	if a.shared {
		def := 0
		if a.sharedFFN {
			def = c.FFN
		}
		c.SharedFFN = u("expert_shared_feed_forward_length", def)
	}
	if a.interleave {
		c.DenseLead = u("leading_dense_block_count", 0)
		if err == nil {
			var v uint32
			v, err = f.Uint32(f.ArchKey("interleave_moe_layer_step"))
			c.MoEStep = int(v)
		}
	}
	switch {
	case err != nil:
		return Config{}, err
	case c.ExpertFFN < 1:
		return Config{}, fmt.Errorf("model: %s = %d must be positive", f.ArchKey("expert_feed_forward_length"), c.ExpertFFN)
	case a.interleave && (c.MoEStep < 1 || c.DenseLead > c.Layers):
		return Config{}, fmt.Errorf("model: %s = %d and %s = %d: want a step of 1 or more and no more dense layers than %d",
			f.ArchKey("interleave_moe_layer_step"), c.MoEStep, f.ArchKey("leading_dense_block_count"), c.DenseLead, c.Layers)
	}
	return c, nil
}

// gemmaConfig finishes c for gemma2 and gemma3, as llama.cpp's
// llama_model_gemma2 and llama_model_gemma3 read them:
//
//	                       gemma2                 gemma3
//	sliding window         key, default 4096      key; none without it
//	pattern (1 global in)  key, default 2         key, default 6
//	local RoPE base        rope.freq_base_swa, default: the global one's / 10000
//	local RoPE scale       the global one's       1
//	attention soft-cap     key, default 50        none
//	final soft-cap         key, default 30        key; none without it
//
// and the scales of both: the embeddings by sqrtf(dim), the queries by
// 1/sqrtf(head dim) (of dim/heads for the 27B models, after
// gemma_pytorch's query_pre_attn_scalar), in float32 as llama.cpp has them.
func gemmaConfig(f *gguf.File, c Config) (Config, error) {
	g2 := c.Arch == "gemma2"
	var err error
	u := func(key string, def uint32) int {
		var v uint32
		if err == nil {
			v, err = f.Uint32Or(f.ArchKey(key), def)
		}
		return int(v)
	}
	fl := func(key string, def float32) float32 {
		var v float32
		if err == nil {
			v, err = f.Float32Or(f.ArchKey(key), def)
		}
		return v
	}
	window, pattern, localBase, finalCap := uint32(0), uint32(6), float32(10000), float32(0)
	if g2 {
		window, pattern, localBase, finalCap = 4096, 2, c.RoPE.FreqBase, 30
		c.AttnSoftcap = fl("attn_logit_softcapping", 50)
	}
	c.SlidingWindow = u("attention.sliding_window", window)
	if err != nil {
		return Config{}, err
	}
	if c.SlidingWindow > 0 {
		c.SWAPattern = u("attention.sliding_window_pattern", pattern)
		if err != nil {
			return Config{}, fmt.Errorf("model: %w (gpurun reads the pattern as one number, not per-layer flags)", err)
		}
		c.RoPELocal = c.RoPE
		if !g2 {
			c.RoPELocal.FreqScale = 1
		}
		c.RoPELocal.FreqBase = fl("rope.freq_base_swa", localBase)
	}
	c.FinalSoftcap = fl("final_logit_softcapping", finalCap)
	if err != nil {
		return Config{}, err
	}
	if c.AttnSoftcap < 0 || c.FinalSoftcap < 0 || c.AttnSoftcap != c.AttnSoftcap || c.FinalSoftcap != c.FinalSoftcap {
		return Config{}, fmt.Errorf("model: soft-caps %g (attention) and %g (logits) must not be negative", c.AttnSoftcap, c.FinalSoftcap)
	}
	c.EmbedScale = float32(math.Sqrt(float64(c.Dim)))
	qpre := c.HeadDim
	if (g2 && c.Layers == 46) || (!g2 && c.Layers == 62) {
		qpre = c.Dim / c.Heads
	}
	c.QueryScale = invSqrtf(qpre)
	return c, nil
}

// phi3Config finishes c for phi3, as llama.cpp's llama_model_phi3 reads
// it: the queries scaled by 1/sqrtf(head dim) after RoPE, LongRoPE's
// original context (default: the training context) and attention factor
// (rope.scaling.attn_factor, default 1). llama.cpp turns Phi-3's sliding
// window off, and so does gpurun.
func phi3Config(f *gguf.File, c Config) (Config, error) {
	if c.QDim() != c.Dim {
		return Config{}, fmt.Errorf("model: phi3 with %d heads of %d does not fit embedding length %d", c.Heads, c.HeadDim, c.Dim)
	}
	orig, err := f.Uint32Or(f.ArchKey("rope.scaling.original_context_length"), uint32(c.CtxTrain))
	if err != nil {
		return Config{}, err
	}
	c.OrigCtx = int(orig)
	if c.RoPE.AttnFactor, err = f.Float32Or(f.ArchKey("rope.scaling.attn_factor"), 1); err != nil {
		return Config{}, err
	}
	if !(c.RoPE.AttnFactor > 0) {
		return Config{}, fmt.Errorf("model: %s = %g must be positive", f.ArchKey("rope.scaling.attn_factor"), c.RoPE.AttnFactor)
	}
	c.QueryScale = invSqrtf(c.HeadDim)
	return c, nil
}

// graniteConfig finishes c for granite (IBM Granite 3.x dense), as
// llama.cpp's llama_model_granite reads it: logit_scale (required; the
// logits are multiplied by 1/logit_scale), and the optional residual_scale,
// embedding_scale and attention.scale. Granite without RoPE
// (rope.scaling.finetuned false) is refused.
func graniteConfig(f *gguf.File, c Config) (Config, error) {
	logit, err := f.Float32(f.ArchKey("logit_scale"))
	if err != nil {
		return Config{}, err
	}
	if !(logit > 0) {
		return Config{}, fmt.Errorf("model: %s = %g must be positive", f.ArchKey("logit_scale"), logit)
	}
	c.LogitScale = 1 / logit
	for _, k := range []struct {
		dst *float32
		key string
	}{{&c.ResidualScale, "residual_scale"}, {&c.EmbedScale, "embedding_scale"}, {&c.KQScale, "attention.scale"}} {
		if *k.dst, err = f.Float32Or(f.ArchKey(k.key), 0); err != nil {
			return Config{}, err
		}
	}
	rope, err := f.BoolOr(f.ArchKey("rope.scaling.finetuned"), true)
	if err != nil {
		return Config{}, err
	}
	if !rope {
		return Config{}, fmt.Errorf("model: granite without RoPE (%s false) is not supported", f.ArchKey("rope.scaling.finetuned"))
	}
	return c, nil
}

// gpt2Config finishes c for gpt2: learned positions, LayerNorm, and one head
// size (the fused QKV projection is split into three equal parts).
func gpt2Config(f *gguf.File, c Config) (Config, error) {
	if c.HeadDim*c.Heads != c.Dim || c.KVHeads != c.Heads {
		return Config{}, fmt.Errorf("model: gpt2 with %d heads of %d (%d KV heads) does not fit embedding length %d",
			c.Heads, c.HeadDim, c.KVHeads, c.Dim)
	}
	var err error
	if c.NormEps, err = f.Float32Or(f.ArchKey("attention.layer_norm_epsilon"), 1e-5); err != nil {
		return Config{}, err
	}
	c.MaxPos = c.CtxTrain
	return c, nil
}
