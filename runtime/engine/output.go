package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gpurun/runtime/backend"
	"gpurun/runtime/sampler"
	"gpurun/tokenizer"
)

// generation is what one request needs between forward passes: its sampler,
// stream decoder and stop-string filter, and the stop rules. Session.Generate
// and the Scheduler both drive one per request, so a request gives the same
// tokens and text whichever runs it.
type generation struct {
	e         *Engine
	r         Request
	smp       *sampler.Sampler
	topIDs    []int32   // a TopKer's candidates (sample)
	topVals   []float32 // and their logits
	dec       *tokenizer.StreamDecoder
	out       stopFilter
	stripLead bool
	res       Result
	start     time.Time // prefill start
	genStart  time.Time // first token
}

// checkRequest validates r against a context of ctxLen positions.
func (e *Engine) checkRequest(r Request, ctxLen int) error {
	switch {
	case len(r.Tokens) == 0:
		return errors.New("empty prompt: there must be at least one token (a BOS) to continue")
	case r.MaxTokens <= 0:
		return fmt.Errorf("the number of tokens to generate must be > 0, got %d", r.MaxTokens)
	case len(r.Tokens) >= ctxLen:
		return &PromptTooLongError{len(r.Tokens), ctxLen, e.Model.Config().CtxTrain}
	}
	return r.Sampling.Validate()
}

// newGeneration starts the per-request state; r must have passed checkRequest.
func (e *Engine) newGeneration(r Request, emit func(string) error) *generation {
	return &generation{
		e:   e,
		r:   r,
		smp: sampler.New(r.Sampling),
		dec: e.Tok.NewStreamDecoder(),
		out: stopFilter{stops: r.Stop, emit: emit},
		// Text that starts the document (after control tokens such as BOS
		// only) loses the SentencePiece dummy-prefix space, as sentencepiece's
		// decoder and llama2.c do.
		stripLead: e.Tok.AddSpacePrefix() && e.onlyControl(r.Tokens),
		res:       Result{PromptTokens: len(r.Tokens)},
		start:     time.Now(),
	}
}

// onlyControl reports whether every token is a control token (BOS, ...).
func (e *Engine) onlyControl(tokens []int32) bool {
	for _, t := range tokens {
		if e.Tok.TokenType(t) != tokenizer.TokenControl {
			return false
		}
	}
	return true
}

// sample draws the next token from one row of logits (a backend buffer of
// vocab elements) given the tokens in the cache. Greedy decoding without
// penalties asks the backend for the argmax, so a GPU sends one integer
// instead of the vocabulary's logits; host is scratch for the other cases.
//
// Likewise top-k sampling without penalties on a backend that can pick the
// top k itself (backend.TopKer: CUDA) copies only the k candidates, which
// the sampler then draws from exactly as it would from all the logits.
func (g *generation) sample(logits backend.Buffer, host []float32, history []int32) (int32, error) {
	p := g.smp.Params()
	noPenalty := p.RepeatPenalty == 0 || p.RepeatPenalty == 1
	if p.Greedy() && noPenalty {
		return g.e.Backend.Argmax(logits, len(host))
	}
	if tk, ok := g.e.Backend.(backend.TopKer); ok && noPenalty && p.TopK > 0 && p.TopK < len(host) && p.TopK <= backend.MaxTopK {
		if g.topIDs == nil {
			g.topIDs, g.topVals = make([]int32, backend.MaxTopK), make([]float32, backend.MaxTopK)
		}
		if err := tk.TopK(logits, len(host), p.TopK, g.topIDs, g.topVals); err != nil {
			return 0, err
		}
		return g.smp.SampleTopK(g.topIDs[:p.TopK], g.topVals[:p.TopK]), nil
	}
	if err := g.e.Backend.Read(host, logits); err != nil {
		return 0, err
	}
	return g.smp.Sample(host, history), nil
}

// add takes a sampled token: it records it, emits the text that became
// final, and reports whether the generation is over (res.StopReason set).
// cacheFree is the number of positions left in the sequence's cache.
func (g *generation) add(tok int32, cacheFree int) (done bool, err error) {
	res := &g.res
	if len(res.Tokens) == 0 {
		res.PromptTime = time.Since(g.start)
		g.genStart = time.Now()
	}
	res.Tokens = append(res.Tokens, tok)
	if !g.r.IgnoreEOG && g.e.Tok.IsEOG(tok) {
		res.StopReason = StopEOG
		return true, nil
	}
	piece := g.dec.Add(tok)
	if g.stripLead && piece != "" {
		piece, g.stripLead = strings.TrimPrefix(piece, " "), false
	}
	stopped, err := g.out.write(piece)
	switch {
	case err != nil:
		return true, err
	case stopped:
		res.StopReason = StopString
	case len(res.Tokens) >= g.r.MaxTokens:
		res.StopReason = StopLength
	case cacheFree == 0:
		res.StopReason = StopContext
	default:
		return false, nil
	}
	return true, nil
}

// cancel ends the generation early.
func (g *generation) cancel() {
	g.res.StopReason = StopCancelled
	if !g.genStart.IsZero() {
		g.res.GenTime = time.Since(g.genStart)
	}
}

// finish ends a generation that stopped by itself: it emits the text held
// back (unless a stop string ended it) and fills Text and GenTime.
func (g *generation) finish() error {
	if !g.genStart.IsZero() {
		g.res.GenTime = time.Since(g.genStart)
	}
	if g.res.StopReason != StopString {
		if _, err := g.out.write(g.dec.Flush()); err != nil {
			return err
		}
		if err := g.out.flush(); err != nil {
			return err
		}
	}
	g.res.Text = g.out.text.String()
	return nil
}
