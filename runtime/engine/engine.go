// Package engine is the one generation loop that generate, chat, serve and
// bench share: it opens a model file on a backend, keeps sequences
// (Sessions) with their KV caches, feeds prompts in chunks (prefill),
// decodes one token per step, samples, stops, and streams text.
package engine

import (
	"fmt"
	"log/slog"
	"time"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
	"gpurun/tokenizer"
)

// Options configure Load.
type Options struct {
	ModelPath string
	Device    string // "auto" (CUDA when built in and a GPU is present, else CPU), "cpu", "cuda"
	Threads   int    // CPU worker goroutines; 0: one per core
	// Ctx is the context size in tokens of each sequence; 0: the model's
	// training context, capped at DefaultCtx.
	Ctx int
	// KVType is the element type of the KV cache (F32 default on the CPU).
	KVType backend.DType
	// MaxBatch is the most prompt tokens per forward pass (default 256).
	MaxBatch int
	// MaxSeqs is the most sequences decoded in one forward pass (default 1).
	MaxSeqs int
}

// DefaultCtx caps the default context so that a model trained on a huge
// context does not allocate a huge KV cache unasked.
const DefaultCtx = 4096

// Engine is a loaded model with its tokenizer and backend.
type Engine struct {
	File     *gguf.File
	Model    model.Model
	Tok      *tokenizer.Tokenizer
	Backend  backend.Backend
	Info     model.Info
	Ctx      int
	KVType   backend.DType
	LoadTime time.Duration
}

// Load opens the model file, picks the backend and loads the weights.
func Load(o Options) (*Engine, error) {
	start := time.Now()
	f, err := gguf.Open(o.ModelPath)
	if err != nil {
		return nil, err
	}
	e, err := load(f, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	e.LoadTime = time.Since(start)
	slog.Info("model loaded", "path", o.ModelPath, "backend", e.Backend.Name(), "ctx", e.Ctx,
		"kv_cache", e.KVType, "load_time", e.LoadTime.Round(time.Millisecond))
	return e, nil
}

func load(f *gguf.File, o Options) (*Engine, error) {
	cfg, err := model.ReadConfig(f)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	ctx := o.Ctx
	switch {
	case ctx < 0:
		return nil, fmt.Errorf("context size %d is negative", ctx)
	case ctx == 0:
		ctx = min(cfg.CtxTrain, DefaultCtx)
	case cfg.MaxPos > 0 && ctx > cfg.MaxPos:
		return nil, &model.ContextError{Ctx: ctx, MaxPos: cfg.MaxPos, Arch: cfg.Arch}
	case ctx > cfg.CtxTrain:
		slog.Warn("context size exceeds what the model was trained on", "ctx", ctx, "trained", cfg.CtxTrain)
	}
	b, err := OpenBackend(o.Device, o.Threads)
	if err != nil {
		return nil, err
	}
	m, err := model.Load(f, b, model.Options{MaxBatch: o.MaxBatch, MaxSeqs: o.MaxSeqs})
	if err != nil {
		b.Close()
		return nil, err
	}
	in := model.Describe(f)
	return &Engine{File: f, Model: m, Tok: tok, Backend: b, Info: in, Ctx: ctx, KVType: o.KVType}, nil
}

// Close releases the backend and the file mapping.
func (e *Engine) Close() error {
	err := e.Backend.Close()
	if ferr := e.File.Close(); err == nil {
		err = ferr
	}
	return err
}
