package model

import (
	"fmt"
	"sort"
	"strings"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
	"gpurun/runtime/quant"
)

// Info summarises a GGUF file for people (gpurun info) and machines (--json).
// Fields a file does not carry are zero and omitted from JSON.
type Info struct {
	Path         string `json:"path"`
	FileBytes    int64  `json:"file_bytes"`
	GGUFVersion  uint32 `json:"gguf_version"`
	Architecture string `json:"architecture"`
	Name         string `json:"name,omitempty"`
	Parameters   int64  `json:"parameters"`
	// ActiveParameters are those one token computes with: all but the
	// experts' stacked tensors, of which ExpertsUsed / Experts (mixtures of
	// experts only).
	ActiveParameters int64         `json:"active_parameters,omitempty"`
	Experts          uint32        `json:"expert_count,omitempty"`
	ExpertsUsed      uint32        `json:"expert_used_count,omitempty"`
	ExpertFFN        uint32        `json:"expert_feed_forward_length,omitempty"`
	SharedFFN        uint32        `json:"expert_shared_feed_forward_length,omitempty"` // a shared expert's rows
	DenseLead        uint32        `json:"leading_dense_block_count,omitempty"`         // layers before the first with experts
	FileType         string        `json:"file_type,omitempty"`
	ContextLength    uint32        `json:"context_length,omitempty"`
	Layers           uint32        `json:"layers,omitempty"`
	Heads            uint32        `json:"heads,omitempty"`
	KVHeads          uint32        `json:"kv_heads,omitempty"`
	HeadDim          uint32        `json:"head_dim,omitempty"`
	Embedding        uint32        `json:"embedding_length,omitempty"`
	FeedForward      uint32        `json:"feed_forward_length,omitempty"`
	RopeDim          uint32        `json:"rope_dimension_count,omitempty"`
	RopeFreqBase     float32       `json:"rope_freq_base,omitempty"`
	RopeScaling      string        `json:"rope_scaling,omitempty"`
	RopeFactors      bool          `json:"rope_freq_factors,omitempty"`       // rope_freqs.weight (Llama 3.1's scaling)
	RopeLongShort    bool          `json:"rope_long_short_factors,omitempty"` // rope_factors_long/short.weight (Phi-3's LongRoPE)
	SlidingWindow    uint32        `json:"sliding_window,omitempty"`          // attention.sliding_window (Gemma's local layers)
	AttnSoftcap      float32       `json:"attn_logit_softcapping,omitempty"`
	FinalSoftcap     float32       `json:"final_logit_softcapping,omitempty"`
	NormEps          float32       `json:"norm_epsilon,omitempty"`
	TokenizerModel   string        `json:"tokenizer_model,omitempty"`
	PreTokenizer     string        `json:"pre_tokenizer,omitempty"`
	VocabSize        int           `json:"vocab_size,omitempty"`
	ChatTemplate     bool          `json:"has_chat_template"`
	Tensors          []TensorTypes `json:"tensor_types"`
	TensorCount      int           `json:"tensor_count"`
	WeightBytes      int64         `json:"weight_bytes"`
	// KV cache for the full context_length: layers x context x kv_dim x 2 (K and V) x element size,
	// with KVWindowLayers sliding-window layers holding KVWindowRows rows instead of the context.
	KVCacheBytesF32 int64  `json:"kv_cache_bytes_f32,omitempty"`
	KVCacheBytesF16 int64  `json:"kv_cache_bytes_f16,omitempty"`
	KVWindowLayers  uint32 `json:"kv_window_layers,omitempty"`
	KVWindowRows    uint32 `json:"kv_window_rows,omitempty"`
}

// TensorTypes counts the tensors of one element type.
type TensorTypes struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
	Bytes int64  `json:"bytes"`
}

// Describe reads the architecture hyperparameters and the tensor table of f.
// It never fails: keys that are missing or mistyped are left zero.
func Describe(f *gguf.File) Info {
	in := Info{FileBytes: f.Size, GGUFVersion: f.Version, TensorCount: len(f.Tensors)}
	in.Architecture, _ = f.Architecture()
	in.Name, _ = f.String("general.name")
	if ft, err := f.Uint32("general.file_type"); err == nil {
		in.FileType = FileTypeName(ft)
	}
	u := func(name string) uint32 { v, _ := f.Uint32(f.ArchKey(name)); return v }
	in.ContextLength = u("context_length")
	in.Layers = u("block_count")
	in.Heads = u("attention.head_count")
	in.KVHeads = u("attention.head_count_kv")
	if in.KVHeads == 0 {
		in.KVHeads = in.Heads
	}
	in.Embedding = u("embedding_length")
	in.FeedForward = u("feed_forward_length")
	in.HeadDim = u("attention.key_length")
	if in.HeadDim == 0 && in.Heads > 0 {
		in.HeadDim = in.Embedding / in.Heads
	}
	in.RopeDim = u("rope.dimension_count")
	in.RopeFreqBase, _ = f.Float32(f.ArchKey("rope.freq_base"))
	if in.RopeFreqBase == 0 && in.RopeDim > 0 {
		in.RopeFreqBase = 10000 // llama.cpp's default
	}
	in.RopeScaling, _ = f.String(f.ArchKey("rope.scaling.type"))
	in.RopeFactors = f.Tensor("rope_freqs.weight") != nil
	in.RopeLongShort = f.Tensor("rope_factors_long.weight") != nil
	in.SlidingWindow = u("attention.sliding_window")
	in.Experts, in.ExpertsUsed, in.ExpertFFN = u("expert_count"), u("expert_used_count"), u("expert_feed_forward_length")
	in.SharedFFN, in.DenseLead = u("expert_shared_feed_forward_length"), u("leading_dense_block_count")
	in.AttnSoftcap, _ = f.Float32(f.ArchKey("attn_logit_softcapping"))
	in.FinalSoftcap, _ = f.Float32(f.ArchKey("final_logit_softcapping"))
	in.NormEps, _ = f.Float32(f.ArchKey("attention.layer_norm_rms_epsilon"))
	if in.NormEps == 0 {
		in.NormEps, _ = f.Float32(f.ArchKey("attention.layer_norm_epsilon"))
	}
	in.TokenizerModel, _ = f.String("tokenizer.ggml.model")
	in.PreTokenizer, _ = f.String("tokenizer.ggml.pre")
	if v, ok := f.Get("tokenizer.ggml.tokens"); ok {
		in.VocabSize = v.Len()
	}
	in.ChatTemplate = f.Has("tokenizer.chat_template")

	byType := map[quant.Type]*TensorTypes{}
	var expertParams int64
	for _, t := range f.Tensors {
		in.Parameters += t.NumElements()
		if len(t.Dims) == 3 && strings.HasSuffix(t.Name, "_exps.weight") {
			expertParams += t.NumElements()
		}
		in.WeightBytes += t.Size
		s := byType[t.Type]
		if s == nil {
			s = &TensorTypes{Type: t.Type.String()}
			byType[t.Type] = s
		}
		s.Count++
		s.Bytes += t.Size
	}
	for _, s := range byType {
		in.Tensors = append(in.Tensors, *s)
	}
	sort.Slice(in.Tensors, func(i, j int) bool { return in.Tensors[i].Bytes > in.Tensors[j].Bytes })
	if in.Experts > 0 && in.ExpertsUsed <= in.Experts {
		in.ActiveParameters = in.Parameters - expertParams + expertParams/int64(in.Experts)*int64(in.ExpertsUsed)
	}

	if in.Heads > 0 {
		kvDim := int64(in.KVHeads) * int64(in.HeadDim)
		if k := u("attention.value_length"); k > 0 {
			kvDim = int64(in.KVHeads) * int64(k)
		}
		// Sliding-window layers keep only their window's rows (Gemma's
		// local layers; with the default batch of a forward pass).
		full, local, rows := int(in.Layers), 0, 0
		if cfg, err := ReadConfig(f); err == nil && cfg.SlidingWindow > 0 {
			rows = kvcache.WindowRows(cfg.SlidingWindow, Options{}.withDefaults().MaxBatch)
			for l := range cfg.Layers {
				if cfg.IsLocal(l) && rows < int(in.ContextLength) {
					full, local = full-1, local+1
				}
			}
		}
		if local > 0 {
			in.KVWindowRows, in.KVWindowLayers = uint32(rows), uint32(local)
		}
		for _, kv := range []struct {
			dst *int64
			dt  backend.DType
		}{{&in.KVCacheBytesF32, backend.F32}, {&in.KVCacheBytesF16, backend.F16}} {
			*kv.dst = kvcache.Bytes(full, int(in.ContextLength), int(kvDim), kv.dt) + kvcache.Bytes(local, rows, int(kvDim), kv.dt)
		}
	}
	return in
}

// fileTypes are llama.cpp's llama_ftype names for general.file_type.
var fileTypes = map[uint32]string{
	0: "ALL_F32", 1: "MOSTLY_F16", 2: "MOSTLY_Q4_0", 3: "MOSTLY_Q4_1",
	7: "MOSTLY_Q8_0", 8: "MOSTLY_Q5_0", 9: "MOSTLY_Q5_1", 10: "MOSTLY_Q2_K",
	11: "MOSTLY_Q3_K_S", 12: "MOSTLY_Q3_K_M", 13: "MOSTLY_Q3_K_L", 14: "MOSTLY_Q4_K_S",
	15: "MOSTLY_Q4_K_M", 16: "MOSTLY_Q5_K_S", 17: "MOSTLY_Q5_K_M", 18: "MOSTLY_Q6_K",
	19: "MOSTLY_IQ2_XXS", 20: "MOSTLY_IQ2_XS", 21: "MOSTLY_Q2_K_S", 22: "MOSTLY_IQ3_XS",
	23: "MOSTLY_IQ3_XXS", 24: "MOSTLY_IQ1_S", 25: "MOSTLY_IQ4_NL", 26: "MOSTLY_IQ3_S",
	27: "MOSTLY_IQ3_M", 28: "MOSTLY_IQ2_S", 29: "MOSTLY_IQ2_M", 30: "MOSTLY_IQ4_XS",
	31: "MOSTLY_IQ1_M", 32: "MOSTLY_BF16", 36: "MOSTLY_TQ1_0", 37: "MOSTLY_TQ2_0",
	38: "MOSTLY_MXFP4_MOE",
}

// FileTypeName names a general.file_type value.
func FileTypeName(ft uint32) string {
	if s, ok := fileTypes[ft]; ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", ft)
}
