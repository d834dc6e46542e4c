package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gpurun/runtime/backend"
	"gpurun/runtime/kvcache"
	"gpurun/runtime/model"
	"gpurun/runtime/sampler"
)

// Session is one sequence: the tokens whose keys and values sit in its KV
// cache. Successive requests reuse the longest common prefix, so a chat
// turn only runs the new tokens. A Session is not safe for concurrent use.
type Session struct {
	e      *Engine
	cache  *kvcache.Cache
	tokens []int32        // tokens in the cache: len(tokens) == cache.Pos()
	logits []float32      // host copy of the last logits (sampling)
	last   backend.Buffer // the model's logits of the last forward pass
	segs   []model.Segment
}

// NewSession allocates a sequence with a KV cache of e.Ctx positions.
func (e *Engine) NewSession() (*Session, error) {
	c, err := e.Model.NewCache(e.Ctx, e.KVType)
	if err != nil {
		return nil, err
	}
	return &Session{e: e, cache: c, logits: make([]float32, e.Model.Config().Vocab), segs: make([]model.Segment, 1)}, nil
}

// Cache exposes the session's KV cache.
func (s *Session) Cache() *kvcache.Cache { return s.cache }

// Tokens are the tokens currently in the cache.
func (s *Session) Tokens() []int32 { return s.tokens }

// Request is one generation.
type Request struct {
	// Tokens is the whole sequence to continue (prompt, or the full rendered
	// conversation); the cached common prefix is not run again.
	Tokens    []int32
	MaxTokens int // tokens to generate at most (> 0)
	Sampling  sampler.Params
	Stop      []string // stop strings; the text stops before the first one
	// IgnoreEOG keeps generating past end-of-generation tokens (benchmarks).
	IgnoreEOG bool
}

// Stop reasons.
const (
	StopEOG       = "eog"       // the model emitted an end-of-generation token
	StopLength    = "length"    // MaxTokens reached
	StopString    = "stop"      // a stop string appeared
	StopContext   = "context"   // the KV cache is full
	StopCancelled = "cancelled" // the context was cancelled
)

// Result describes a finished generation.
type Result struct {
	Text         string
	Tokens       []int32 // generated tokens (the EOG token, if any, included)
	PromptTokens int     // tokens in Request.Tokens
	PromptEval   int     // of those, how many were run (not reused from the cache)
	PromptTime   time.Duration
	GenTime      time.Duration // from the first generated token to the last
	StopReason   string
}

// PromptTokensPerSec is the prefill rate (tokens run / time).
func (r Result) PromptTokensPerSec() float64 { return rate(r.PromptEval, r.PromptTime) }

// GenTokensPerSec is the decode rate (tokens after the first / time).
func (r Result) GenTokensPerSec() float64 { return rate(len(r.Tokens)-1, r.GenTime) }

func rate(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// PromptTooLongError reports a prompt that does not fit the context.
type PromptTooLongError struct {
	Tokens, Ctx, Trained int
}

func (e *PromptTooLongError) Error() string {
	if e.Ctx >= e.Trained {
		return fmt.Sprintf("prompt is %d tokens, which does not fit the context of %d (the model was trained with %d; shorten the prompt)", e.Tokens, e.Ctx, e.Trained)
	}
	return fmt.Sprintf("prompt is %d tokens, which does not fit the context of %d (raise --ctx; the model was trained with %d)", e.Tokens, e.Ctx, e.Trained)
}

// Generate continues r.Tokens, calling emit with each piece of text as it
// becomes final (whole UTF-8 characters, stop strings held back).
func (s *Session) Generate(ctx context.Context, r Request, emit func(text string) error) (Result, error) {
	if err := s.e.checkRequest(r, s.cache.Len); err != nil {
		return Result{PromptTokens: len(r.Tokens)}, err
	}
	g := s.e.newGeneration(r, emit)
	if err := s.prefill(ctx, r.Tokens, &g.res); err != nil {
		return g.res, err
	}
	for {
		tok, err := g.sample(s.last, s.logits, s.tokens)
		if err != nil {
			return g.res, err
		}
		done, err := g.add(tok, s.cache.Free())
		if err != nil {
			return g.res, err
		}
		if done {
			break
		}
		if err := ctx.Err(); err != nil {
			g.cancel()
			return g.res, err
		}
		if err := s.forward([]int32{tok}); err != nil {
			return g.res, err
		}
	}
	err := g.finish()
	return g.res, err
}

// reusePrefix keeps the part of a cache's tokens that tokens starts with
// (all of tokens but the last, which must run to give logits), truncating
// the cache to it, and returns the tokens kept and those still to run.
func reusePrefix(c *kvcache.Cache, cached, tokens []int32) (kept, todo []int32) {
	p := c.Truncate(min(commonPrefix(cached, tokens), len(tokens)-1))
	return cached[:p], tokens[p:]
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// prefill brings the cache to tokens[:len-1]+last run, reusing the common
// prefix, leaving the logits of the last token in the model's buffer.
func (s *Session) prefill(ctx context.Context, tokens []int32, res *Result) error {
	var todo []int32
	s.tokens, todo = reusePrefix(s.cache, s.tokens, tokens)
	res.PromptEval = len(todo)
	chunk := s.e.Model.Options().MaxBatch
	for len(todo) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(chunk, len(todo))
		if err := s.forward(todo[:n]); err != nil {
			return err
		}
		todo = todo[n:]
	}
	return nil
}

// forward runs tokens through the model, extending the cache.
func (s *Session) forward(tokens []int32) error {
	s.segs[0] = model.Segment{Cache: s.cache, Tokens: tokens}
	logits, err := s.e.Model.Forward(s.segs)
	if err != nil {
		return err
	}
	s.last = logits
	s.tokens = append(s.tokens, tokens...)
	return nil
}

// Logits runs tokens (continuing the cache) and returns their last logits
// on the host; used by tests and perplexity-style tools.
func (s *Session) Logits(tokens []int32) ([]float32, error) {
	if err := s.forward(tokens); err != nil {
		return nil, err
	}
	out := make([]float32, len(s.logits))
	return out, s.e.Backend.Read(out, s.last)
}

// stopFilter passes text through, holding back any tail that could be the
// start of a stop string, and cuts the text before the first stop string.
type stopFilter struct {
	stops   []string
	emit    func(string) error
	pending string
	text    strings.Builder
}

// write adds text; it reports whether a stop string was found.
func (f *stopFilter) write(s string) (bool, error) {
	f.pending += s
	cut := -1
	for _, stop := range f.stops {
		if stop == "" {
			continue
		}
		if i := strings.Index(f.pending, stop); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		f.pending = f.pending[:cut]
		return true, f.flush()
	}
	hold := 0
	for _, stop := range f.stops {
		for n := min(len(stop)-1, len(f.pending)); n > hold; n-- {
			if strings.HasSuffix(f.pending, stop[:n]) {
				hold = n
				break
			}
		}
	}
	ready := f.pending[:len(f.pending)-hold]
	f.pending = f.pending[len(f.pending)-hold:]
	return false, f.send(ready)
}

func (f *stopFilter) flush() error {
	s := f.pending
	f.pending = ""
	return f.send(s)
}

func (f *stopFilter) send(s string) error {
	if s == "" {
		return nil
	}
	f.text.WriteString(s)
	if f.emit == nil {
		return nil
	}
	return f.emit(s)
}
