// Package sampler turns logits into the next token: greedy (temperature 0)
// or random sampling after repetition penalty, top-k, top-p, min-p and
// temperature, in llama.cpp's default order, from a seeded generator so the
// same seed gives the same text.
package sampler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Params configure sampling. The zero value is greedy decoding.
type Params struct {
	Temperature   float32 // <= 0: greedy (argmax, first maximum wins)
	TopK          int     // keep the k most likely tokens; <= 0: all
	TopP          float32 // keep the smallest set whose probability reaches p; 1 (or 0): off
	MinP          float32 // drop tokens below MinP x the top probability; 0: off
	RepeatPenalty float32 // > 1 discourages tokens seen in the last RepeatLastN; 1 (or 0): off
	RepeatLastN   int     // how many recent tokens the penalty looks at (default 64)
	Seed          uint64
}

// Defaults are llama.cpp's sampling defaults.
func Defaults() Params {
	return Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64}
}

// Validate reports the first parameter out of range, naming it as the CLI flag does.
func (p Params) Validate() error {
	switch {
	case p.Temperature < 0 || math.IsNaN(float64(p.Temperature)):
		return fmt.Errorf("temperature must be >= 0 (0 is greedy), got %g", p.Temperature)
	case p.TopK < 0:
		return fmt.Errorf("top-k must be >= 0 (0 keeps every token), got %d", p.TopK)
	case !(p.TopP > 0 && p.TopP <= 1):
		return fmt.Errorf("top-p must be in (0, 1], got %g", p.TopP)
	case !(p.MinP >= 0 && p.MinP < 1):
		return fmt.Errorf("min-p must be in [0, 1), got %g", p.MinP)
	case !(p.RepeatPenalty >= 0):
		return fmt.Errorf("repeat-penalty must be > 0 (1 is off), got %g", p.RepeatPenalty)
	case p.RepeatLastN < 0:
		return fmt.Errorf("repeat-last-n must be >= 0, got %d", p.RepeatLastN)
	}
	return nil
}

// Greedy reports whether sampling reduces to argmax.
func (p Params) Greedy() bool { return p.Temperature <= 0 }

type candidate struct {
	id    int32
	logit float32
	p     float32
}

// Sampler draws tokens; it keeps its buffers, so sampling allocates nothing.
type Sampler struct {
	p    Params
	rng  *rand.Rand
	cand []candidate
	work []float32 // penalised logits
	seen map[int32]struct{}
}

// New makes a sampler. Params must be valid.
func New(p Params) *Sampler {
	if p.RepeatLastN == 0 && p.RepeatPenalty != 0 && p.RepeatPenalty != 1 {
		p.RepeatLastN = 64
	}
	if p.TopP == 0 {
		p.TopP = 1
	}
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, p.Seed^0x5851f42d4c957f2d)), seen: map[int32]struct{}{}}
}

// Params returns the sampler's parameters.
func (s *Sampler) Params() Params { return s.p }

// Sample picks the next token from logits given the tokens so far (for the
// repetition penalty). logits is not modified.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	x := s.penalized(logits, history)
	if s.p.Greedy() {
		return Argmax(x)
	}
	// top-k, then sorted by logit descending (ties: lower id first).
	var c []candidate
	if k := s.p.TopK; k > 0 && k < len(x) {
		c = s.topK(x, k)
	} else {
		c = s.cand[:0]
		for i, l := range x {
			c = append(c, candidate{id: int32(i), logit: l})
		}
		s.cand = c
	}
	return s.sampleCandidates(c)
}

// SampleTopK is Sample for a caller that has picked the TopK largest logits
// itself (a GPU backend's TopK: ids and their logits, in any order): the
// same token Sample would draw from the full logits, given the same state.
// It applies when Greedy is false, the repeat penalty is off and 0 < TopK <
// the vocabulary size; len(ids) must be TopK.
func (s *Sampler) SampleTopK(ids []int32, logits []float32) int32 {
	c := s.cand[:0]
	for i, id := range ids {
		c = append(c, candidate{id: id, logit: logits[i]})
	}
	s.cand = c
	return s.sampleCandidates(c)
}

// sampleCandidates draws from the top-k (or all) candidates: sorted by
// logit descending (ties: lower id first), then top-p, min-p and
// temperature.
func (s *Sampler) sampleCandidates(c []candidate) int32 {
	slices.SortFunc(c, before)
	softmax(c, 1)
	// top-p: the smallest prefix whose mass reaches p.
	if s.p.TopP < 1 {
		var cum float32
		for i := range c {
			cum += c[i].p
			if cum >= s.p.TopP {
				c = c[:i+1]
				break
			}
		}
	}
	// min-p: relative to the most likely token.
	if s.p.MinP > 0 {
		floor := c[0].p * s.p.MinP
		n := 1
		for n < len(c) && c[n].p >= floor {
			n++
		}
		c = c[:n]
	}
	softmax(c, s.p.Temperature)
	r := s.rng.Float32()
	var cum float32
	for i := range c {
		cum += c[i].p
		if r < cum {
			return c[i].id
		}
	}
	return c[len(c)-1].id
}

// penalized returns logits after the repetition penalty: logits itself
// when the penalty is off, else a copy (the sampler's own buffer) in which
// the tokens among the last RepeatLastN of history are penalised once each,
// as llama.cpp does: positive logits divided by the penalty, negative ones
// multiplied.
func (s *Sampler) penalized(logits []float32, history []int32) []float32 {
	pen := s.p.RepeatPenalty
	if pen == 1 || pen == 0 || len(history) == 0 {
		return logits
	}
	s.work = append(s.work[:0], logits...)
	clear(s.seen)
	start := max(0, len(history)-s.p.RepeatLastN)
	for _, id := range history[start:] {
		s.seen[id] = struct{}{}
	}
	for id := range s.seen {
		if int(id) < 0 || int(id) >= len(s.work) {
			continue
		}
		if s.work[id] > 0 {
			s.work[id] /= pen
		} else {
			s.work[id] *= pen
		}
	}
	return s.work
}

// softmax fills p from logit/temp (c sorted descending, so c[0] is the max).
func softmax(c []candidate, temp float32) {
	mx := c[0].logit
	for i := range c {
		mx = max(mx, c[i].logit)
	}
	var sum float64
	for i := range c {
		e := float32(math.Exp(float64((c[i].logit - mx) / temp)))
		c[i].p = e
		sum += float64(e)
	}
	for i := range c {
		c[i].p = float32(float64(c[i].p) / sum)
	}
}

// Argmax is the index of the first maximum.
func Argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// before orders candidates by logit descending, then id ascending.
func before(a, b candidate) int {
	switch {
	case a.logit > b.logit:
		return -1
	case a.logit < b.logit:
		return 1
	}
	return int(a.id - b.id)
}

// topK returns the k best tokens of x (by before) as candidates, in
// O(n log k) without making a candidate of every token: a min-heap whose
// root is the worst kept. Tokens are scanned in id order, so a later token
// that ties the root's logit never displaces it (before prefers the lower
// id): a token enters only with a strictly larger logit.
func (s *Sampler) topK(x []float32, k int) []candidate {
	h := s.cand[:0]
	for i := range k {
		h = append(h, candidate{id: int32(i), logit: x[i]})
	}
	s.cand = h
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	thr := h[0].logit
	for i, l := range x[k:] {
		if l > thr {
			h[0] = candidate{id: int32(k + i), logit: l}
			siftDown(h, 0)
			thr = h[0].logit
		}
	}
	return h
}

// siftDown restores the heap property (worst candidate at the root).
func siftDown(h []candidate, i int) {
	for {
		l, worst := 2*i+1, i
		if l < len(h) && before(h[l], h[worst]) > 0 {
			worst = l
		}
		if r := l + 1; r < len(h) && before(h[r], h[worst]) > 0 {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}
