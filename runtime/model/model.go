package model

import (
	"fmt"
	"log/slog"

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
	// FullCache makes every layer's KV cache keep every position; by
	// default a sliding-window layer (Gemma's local layers) keeps only the
	// rows its attention can still see (kvcache.WindowRows).
	FullCache bool
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
	var m Model
	switch arch {
	case "llama", "qwen2", "qwen3", "qwen3moe", "qwen2moe", "smollm3", "granite", "granitemoe", "olmoe", "exaone", "ernie4_5", "ernie4_5-moe":
		m, err = loadLlama(f, b, o.withDefaults())
	case "gemma2", "gemma3":
		m, err = loadGemma(f, b, o.withDefaults())
	case "phi3":
		m, err = loadPhi3(f, b, o.withDefaults())
	case "olmo2":
		m, err = loadOLMo2(f, b, o.withDefaults())
	case "gpt2":
		m, err = loadGPT2(f, b, o.withDefaults())
	default:
		return nil, &UnsupportedError{arch}
	}
	if err != nil {
		return nil, err
	}
	if unused := UnusedTensors(f, m); len(unused) > 0 {
		// A tensor the architecture does not read may change what the
		// model computes (as rope_freqs.weight did before gpurun read it).
		slog.Warn("model: the file has tensors this architecture does not use; its output may differ from llama.cpp's",
			"arch", arch, "count", len(unused), "first", unused[0])
	}
	return m, nil
}

// base is what every model keeps: its hyperparameters, batch limits and
// backend, and the Model methods that return them.
type base struct {
	cfg  Config
	opts Options
	b    backend.Backend
}

// Config returns the hyperparameters.
func (m *base) Config() Config { return m.cfg }

// Backend returns the backend the weights live on.
func (m *base) Backend() backend.Backend { return m.b }

// Options returns the batch limits.
func (m *base) Options() Options { return m.opts }

// begin starts a Forward call: the segments checked against the model's
// limits (checkSegments, which reserves their cache room), and the
// backend's first error, if an earlier op recorded one. It returns the
// total token count.
func (m *base) begin(segs []Segment) (int, error) {
	R, err := checkSegments(segs, m.opts)
	if err != nil {
		return 0, err
	}
	return R, m.b.Err()
}

// readConfigVocab reads the hyperparameters of f and its vocabulary size:
// the rows of token_embd.weight.
func readConfigVocab(f *gguf.File) (Config, error) {
	cfg, err := ReadConfig(f)
	if err != nil {
		return Config{}, err
	}
	emb := f.Tensor("token_embd.weight")
	if emb == nil || len(emb.Dims) != 2 {
		return Config{}, fmt.Errorf("model: tensor \"token_embd.weight\" is missing or not 2-D")
	}
	cfg.Vocab = int(emb.Dims[1])
	return cfg, nil
}

// forLastRows calls f with the row of each segment's last token, the rows
// whose logits are wanted. The models run the end of their last layer on
// these alone, as llama.cpp does (inp_out_ids): less work, and the same
// batch sizes as llama.cpp's, hence the same arithmetic (quant.MatMul's
// batch arithmetic depends on the rows).
func forLastRows(segs []Segment, f func(row int)) {
	row := 0
	for _, sg := range segs {
		row += len(sg.Tokens)
		f(row - 1)
	}
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

// positions writes the position of every row, segment after segment, into
// pos and returns pos[:rows].
func positions(segs []Segment, pos []int32) []int32 {
	row := 0
	for _, sg := range segs {
		for i := range sg.Tokens {
			pos[row] = int32(sg.Cache.Pos() + i)
			row++
		}
	}
	return pos[:row]
}

// embedTokens: x (R, dim) = the rows of table for every segment's tokens,
// segment after segment (xRow: x's one-row views, see rows).
func embedTokens(b backend.Backend, x backend.Buffer, xRow []backend.Buffer, table backend.Weight, segs []Segment, dim int) {
	if len(segs) == 1 {
		b.Embed(x, table, segs[0].Tokens)
		return
	}
	row := 0
	for _, sg := range segs {
		b.Embed(rows(x, xRow, row, len(sg.Tokens), dim), table, sg.Tokens)
		row += len(sg.Tokens)
	}
}

// finish ends a forward pass of R rows: the logits (S, vocab) of each
// segment's last row, norm(x)·outputᵀ (h: the fallback's norm), then every
// cache advanced past its segment's tokens.
func finish(b backend.Backend, logits, x, h backend.Buffer, n backend.Norm, output backend.Weight, segs []Segment, R, dim, vocab int) (backend.Buffer, error) {
	if R == len(segs) { // every segment is one token: rows are already compact
		backend.NormMatMul(b, logits, x, n, output, R, h)
	} else {
		row := 0
		for i, sg := range segs {
			row += len(sg.Tokens)
			backend.NormMatMul(b, rows(logits, nil, i, 1, vocab), x.Slice((row-1)*dim, dim), n, output, 1, h)
		}
	}
	if err := b.Err(); err != nil {
		return nil, err
	}
	for _, sg := range segs {
		if err := sg.Cache.Advance(len(sg.Tokens)); err != nil {
			return nil, err
		}
	}
	return logits, nil
}
