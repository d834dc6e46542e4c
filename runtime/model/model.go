package model

import (
	"fmt"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
)

// Segment is a run of tokens that continues one sequence: its tokens go to
// positions [Cache.Pos(), Cache.Pos()+len(Tokens)).
type Segment struct {
	Cache  *kvcache.Cache
	Tokens []int32
}

// Model is a loaded transformer.
type Model interface {
	Config() Config
	Backend() backend.Backend
	// Options are the limits the model's scratch memory was sized for.
	Options() Options
	// NewCache allocates a KV cache for one sequence of up to ctxLen positions.
	NewCache(ctxLen int, dt backend.DType) (*kvcache.Cache, error)
	// Forward runs every segment's tokens through the model in one pass,
	// stores their keys and values, advances each cache, and returns the
	// logits of each segment's last token: [len(segs), vocab], valid until
	// the next call.
	Forward(segs []Segment) (backend.Buffer, error)
}

// Options size a model's scratch memory.
type Options struct {
	// MaxBatch is the most tokens one Forward call may carry (prompts are
	// fed in chunks of this size). Default 256.
	MaxBatch int
	// MaxSeqs is the most segments one Forward call may carry (sequences
	// decoded together). Default 1.
	MaxSeqs int
}

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.MaxSeqs <= 0 {
		o.MaxSeqs = 1
	}
	if o.MaxSeqs > o.MaxBatch {
		o.MaxBatch = o.MaxSeqs
	}
	return o
}

// Load builds the model described by f on b. Weights stay in their stored
// types (the CPU backend uses the mapped file in place; a GPU backend
// uploads them once).
func Load(f *gguf.File, b backend.Backend, o Options) (Model, error) {
	arch, err := f.Architecture()
	if err != nil {
		return nil, err
	}
	switch arch {
	case "llama", "qwen2":
		return loadLlama(f, b, o.withDefaults())
	case "gpt2":
		return loadGPT2(f, b, o.withDefaults())
	}
	return nil, &UnsupportedError{arch}
}

// ContextError is a context size beyond the positions a model with learned
// position embeddings can represent.
type ContextError struct {
	Ctx, MaxPos int
	Arch        string
}

func (e *ContextError) Error() string {
	return fmt.Sprintf("context size %d exceeds the %d positions this %s model has embeddings for (use --ctx %d or less)",
		e.Ctx, e.MaxPos, e.Arch, e.MaxPos)
}

// checkSegments validates a Forward call against the model's limits and
// reserves cache room; it returns the total token count.
func checkSegments(segs []Segment, o Options) (int, error) {
	if len(segs) == 0 {
		return 0, fmt.Errorf("forward: no segments")
	}
	if len(segs) > o.MaxSeqs {
		return 0, fmt.Errorf("forward: %d segments exceed the model's MaxSeqs %d", len(segs), o.MaxSeqs)
	}
	rows := 0
	for i, s := range segs {
		if len(s.Tokens) == 0 {
			return 0, fmt.Errorf("forward: segment %d has no tokens", i)
		}
		if err := s.Cache.Reserve(len(s.Tokens)); err != nil {
			return 0, err
		}
		rows += len(s.Tokens)
	}
	if rows > o.MaxBatch {
		return 0, fmt.Errorf("forward: %d tokens exceed the model's MaxBatch %d (feed prompts in chunks)", rows, o.MaxBatch)
	}
	return rows, nil
}
