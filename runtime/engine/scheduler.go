package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"gpurun/runtime/backend"
	"gpurun/runtime/kvcache"
	"gpurun/runtime/model"
)

// Scheduler serves many generations at once on one engine (continuous
// batching). Each running request holds a slot: a KV cache of e.Ctx
// positions. One goroutine owns the backend and runs every forward pass; a
// step feeds every decoding sequence's last token (one segment each) plus a
// chunk of a prompt being prefilled, all in ONE Model.Forward call, then
// samples each sequence from its row of logits. Requests join and leave
// between steps. Requests beyond the slots wait in a first-come, first-served
// queue.
//
// A request gives exactly the tokens Session.Generate gives for it, alone or
// batched with others, as long as the backend computes each row of a batch
// as it would alone (the CPU backend does, bit for bit).
//
// Generate is safe for concurrent use.
type Scheduler struct {
	e     *Engine
	o     SchedulerOptions
	vocab int

	// Owned by the loop goroutine.
	slots   []*slot
	running []*slot // busy slots in admission order (prefill goes first come, first served)
	segs    []model.Segment
	segSlot []*slot
	host    []float32 // one row of logits on the host (sampling)
	views   []backend.Buffer
	viewsOf backend.Buffer
	useTick uint64

	mu     sync.Mutex // guards queue, busy, closed
	queue  []*job
	busy   int
	closed bool

	wake    chan struct{} // a request arrived (cap 1)
	quit    chan struct{} // closed by Close
	stopped chan struct{} // closed when the loop has returned
}

// SchedulerOptions configure NewScheduler.
type SchedulerOptions struct {
	// Slots is the most sequences generated at once, each with its own KV
	// cache; at most the model's MaxSeqs (Options.MaxSeqs at Load), which is
	// also the default.
	Slots int
	// MaxQueue is the most requests that may wait for a slot; Generate
	// refuses more with ErrQueueFull. 0: no limit.
	MaxQueue int
	// PrefillChunk is the most prompt tokens run in a step that also
	// decodes other sequences, so that a long prompt delays their next
	// tokens by one chunk at a time. Default 64; at most the model's MaxBatch
	// less the decoding sequences. A step with nothing to decode runs up to
	// MaxBatch prompt tokens.
	PrefillChunk int
	// Hooks observe the scheduler (metrics); nil hooks are skipped.
	Hooks SchedulerHooks
}

// SchedulerHooks are called on the scheduler's goroutine; they must be quick.
type SchedulerHooks struct {
	// Admitted: a request got a slot after waiting this long in the queue.
	Admitted func(wait time.Duration)
	// FirstToken: a request's first token, this long after Generate was called.
	FirstToken func(d time.Duration)
	// NextToken: a token that follows another of the same request this long after it.
	NextToken func(d time.Duration)
	// Step: one forward pass over seqs sequences carrying tokens tokens.
	Step func(seqs, tokens int, d time.Duration)
}

// DefaultPrefillChunk is SchedulerOptions.PrefillChunk's default.
const DefaultPrefillChunk = 64

// Scheduler errors.
var (
	ErrQueueFull = errors.New("too many requests are waiting for a free slot")
	ErrClosed    = errors.New("the scheduler is shut down")
)

// SchedulerStats is a snapshot of the scheduler's load.
type SchedulerStats struct {
	Slots  int // sequences that can run at once
	Active int // slots running a request
	Queued int // requests waiting for a slot
}

// slot is one sequence: a KV cache and the tokens in it, and the request it
// serves, if any.
type slot struct {
	cache   *kvcache.Cache
	tokens  []int32 // tokens in the cache: len(tokens) == cache.Pos()
	job     *job    // nil: free
	todo    []int32 // prompt tokens still to run; empty once decoding
	next    int32   // decoding: the last sampled token, not yet in the cache
	last    time.Time
	lastUse uint64 // when the slot was last given a request (LRU among equals)
}

// job is one request, shared by the caller of Generate and the loop.
type job struct {
	ctx       context.Context
	r         Request
	submitted time.Time
	gen       *generation // set at admission; loop only

	notify  chan struct{} // cap 1: text or the end is ready
	mu      sync.Mutex
	pending strings.Builder
	done    bool
	res     Result
	err     error
}

// push hands text to the caller's goroutine without waiting for it.
func (j *job) push(text string) error {
	j.mu.Lock()
	j.pending.WriteString(text)
	j.mu.Unlock()
	j.signal()
	return nil
}

// complete ends the job.
func (j *job) complete(res Result, err error) {
	j.mu.Lock()
	j.done, j.res, j.err = true, res, err
	j.mu.Unlock()
	j.signal()
}

func (j *job) signal() {
	select {
	case j.notify <- struct{}{}:
	default:
	}
}

// take returns the text so far and, once the job is over, its outcome.
func (j *job) take() (text string, done bool, res Result, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	text = j.pending.String()
	j.pending.Reset()
	return text, j.done, j.res, j.err
}

// NewScheduler allocates the slots' KV caches and starts the loop; Close
// stops it. The engine must have been loaded with MaxSeqs >= o.Slots, and
// nothing else may use it while the scheduler runs.
func NewScheduler(e *Engine, o SchedulerOptions) (*Scheduler, error) {
	mo := e.Model.Options()
	switch {
	case o.Slots == 0:
		o.Slots = mo.MaxSeqs
	case o.Slots < 0:
		return nil, fmt.Errorf("scheduler: slots must be > 0, got %d", o.Slots)
	case o.Slots > mo.MaxSeqs:
		return nil, fmt.Errorf("scheduler: %d slots exceed the model's MaxSeqs %d (load the engine with MaxSeqs >= slots)", o.Slots, mo.MaxSeqs)
	}
	if o.MaxQueue < 0 {
		return nil, fmt.Errorf("scheduler: max queue must be >= 0, got %d", o.MaxQueue)
	}
	if o.PrefillChunk <= 0 {
		o.PrefillChunk = DefaultPrefillChunk
	}
	vocab := e.Model.Config().Vocab
	s := &Scheduler{
		e: e, o: o, vocab: vocab,
		slots:   make([]*slot, o.Slots),
		segs:    make([]model.Segment, 0, o.Slots),
		segSlot: make([]*slot, 0, o.Slots),
		host:    make([]float32, vocab),
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	for i := range s.slots {
		c, err := e.Model.NewCache(e.Ctx, e.KVType)
		if err != nil {
			return nil, fmt.Errorf("scheduler: KV cache of slot %d of %d: %w", i+1, o.Slots, err)
		}
		s.slots[i] = &slot{cache: c}
	}
	go s.loop()
	return s, nil
}

// Stats reports the current load.
func (s *Scheduler) Stats() SchedulerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SchedulerStats{Slots: len(s.slots), Active: s.busy, Queued: len(s.queue)}
}

// Generate queues r, waits for a slot, and streams its text to emit as
// Session.Generate does (emit runs on the caller's goroutine). Cancelling
// ctx, or an error from emit, ends the request at the next step and frees
// its slot; the result then has StopReason StopCancelled.
func (s *Scheduler) Generate(ctx context.Context, r Request, emit func(text string) error) (Result, error) {
	if err := s.e.checkRequest(r, s.e.Ctx); err != nil {
		return Result{PromptTokens: len(r.Tokens)}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	j := &job{ctx: ctx, r: r, submitted: time.Now(), notify: make(chan struct{}, 1)}
	if err := s.enqueue(j); err != nil {
		return Result{PromptTokens: len(r.Tokens)}, err
	}
	var emitErr error
	for {
		<-j.notify
		text, done, res, err := j.take()
		if text != "" && emit != nil && emitErr == nil {
			if emitErr = emit(text); emitErr != nil {
				cancel() // the loop sees it at its next step
			}
		}
		if done {
			if emitErr != nil {
				return res, emitErr
			}
			return res, err
		}
	}
}

func (s *Scheduler) enqueue(j *job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if free := len(s.slots) - s.busy; s.o.MaxQueue > 0 && len(s.queue) >= s.o.MaxQueue+free {
		return ErrQueueFull
	}
	s.queue = append(s.queue, j)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close stops the loop; requests still queued or running end with
// ErrClosed. It waits for the loop to return, after which the engine is
// free again.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	if first {
		close(s.quit)
	}
	<-s.stopped
	return nil
}

func (s *Scheduler) loop() {
	defer close(s.stopped)
	for {
		s.admit()
		if len(s.running) == 0 {
			select {
			case <-s.wake:
				continue
			case <-s.quit:
				s.shutdown()
				return
			}
		}
		select {
		case <-s.quit:
			s.shutdown()
			return
		default:
		}
		s.step()
	}
}

// shutdown ends every request still queued or running.
func (s *Scheduler) shutdown() {
	for _, sl := range s.running {
		s.end(sl, ErrClosed)
	}
	s.running = s.running[:0]
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, j := range q {
		j.complete(Result{PromptTokens: len(j.r.Tokens), StopReason: StopCancelled}, ErrClosed)
	}
}

// admit drops cancelled requests from the queue and gives free slots to
// the oldest waiting ones.
func (s *Scheduler) admit() {
	n := len(s.running)
	s.mu.Lock()
	kept := s.queue[:0]
	for _, j := range s.queue {
		if err := j.ctx.Err(); err != nil {
			j.complete(Result{PromptTokens: len(j.r.Tokens), StopReason: StopCancelled}, err)
			continue
		}
		kept = append(kept, j)
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	for len(s.queue) > 0 && s.busy < len(s.slots) {
		j := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.start(s.pickSlot(j.r.Tokens), j)
	}
	if len(s.queue) == 0 {
		s.queue = nil // let the backing array go
	}
	s.mu.Unlock()
	if h := s.o.Hooks.Admitted; h != nil {
		for _, sl := range s.running[n:] {
			h(sl.job.gen.start.Sub(sl.job.submitted))
		}
	}
}

// pickSlot chooses the free slot whose cache shares the longest prefix with
// tokens (a chat's next turn finds its conversation), else the one idle longest.
func (s *Scheduler) pickSlot(tokens []int32) *slot {
	var best *slot
	bestN := -1
	for _, sl := range s.slots {
		if sl.job != nil {
			continue
		}
		n := commonPrefix(sl.tokens, tokens)
		if n > bestN || (n == bestN && sl.lastUse < best.lastUse) {
			best, bestN = sl, n
		}
	}
	return best
}

// start gives sl to j, keeping the cached prefix the prompt shares (as
// Session.prefill does). Called with s.mu held.
func (s *Scheduler) start(sl *slot, j *job) {
	s.busy++
	s.useTick++
	sl.job, sl.lastUse = j, s.useTick
	sl.tokens, sl.todo = reusePrefix(sl.cache, sl.tokens, j.r.Tokens)
	j.gen = s.e.newGeneration(j.r, j.push)
	j.gen.res.PromptEval = len(sl.todo)
	s.running = append(s.running, sl)
}

// step runs one forward pass: the next token of every decoding sequence and
// a chunk of the oldest prompts still prefilling.
func (s *Scheduler) step() {
	s.segs, s.segSlot = s.segs[:0], s.segSlot[:0]
	// Cancelled requests leave first; decoding sequences each bring one token.
	kept := s.running[:0]
	for _, sl := range s.running {
		if err := sl.job.ctx.Err(); err != nil {
			s.end(sl, err)
			continue
		}
		kept = append(kept, sl)
		if len(sl.todo) == 0 {
			s.addSeg(sl, []int32{sl.next})
		}
	}
	clear(s.running[len(kept):])
	s.running = kept
	if len(s.running) == 0 {
		return
	}
	maxBatch := s.e.Model.Options().MaxBatch
	budget := maxBatch - len(s.segs)
	if len(s.segs) > 0 {
		budget = min(budget, s.o.PrefillChunk)
	}
	for _, sl := range s.running {
		if len(sl.todo) == 0 || budget <= 0 {
			continue
		}
		n := min(budget, len(sl.todo))
		s.addSeg(sl, sl.todo[:n])
		budget -= n
	}

	start := time.Now()
	logits, err := s.e.Model.Forward(s.segs)
	if err != nil {
		err = fmt.Errorf("forward pass over %d sequences: %w", len(s.segs), err)
		slog.Error("scheduler step failed", "err", err)
		for _, sl := range s.segSlot {
			s.end(sl, err)
		}
		s.dropEnded()
		return
	}
	if h := s.o.Hooks.Step; h != nil {
		rows := 0
		for _, sg := range s.segs {
			rows += len(sg.Tokens)
		}
		h(len(s.segs), rows, time.Since(start))
	}
	rowViews := s.rowViews(logits, len(s.segs))
	for i, sl := range s.segSlot {
		ran := s.segs[i].Tokens
		sl.tokens = append(sl.tokens, ran...)
		if len(sl.todo) > 0 {
			sl.todo = sl.todo[len(ran):]
			if len(sl.todo) > 0 {
				continue // more prompt to run: these logits are not needed
			}
		}
		s.advance(sl, rowViews[i])
	}
	s.dropEnded()
}

func (s *Scheduler) addSeg(sl *slot, tokens []int32) {
	s.segs = append(s.segs, model.Segment{Cache: sl.cache, Tokens: tokens})
	s.segSlot = append(s.segSlot, sl)
}

// rowViews returns one view per row of logits, made once per buffer.
func (s *Scheduler) rowViews(logits backend.Buffer, n int) []backend.Buffer {
	if s.viewsOf != logits {
		s.views, s.viewsOf = s.views[:0], logits
	}
	for i := len(s.views); i < n; i++ {
		s.views = append(s.views, logits.Slice(i*s.vocab, s.vocab))
	}
	return s.views
}

// advance samples sl's next token from its row of logits and hands it to
// the request's generation, which may end it.
func (s *Scheduler) advance(sl *slot, logits backend.Buffer) {
	g := sl.job.gen
	tok, err := g.sample(logits, s.host, sl.tokens)
	if err != nil {
		s.end(sl, fmt.Errorf("sampling: %w", err))
		return
	}
	now := time.Now()
	if len(g.res.Tokens) == 0 {
		if h := s.o.Hooks.FirstToken; h != nil {
			h(now.Sub(sl.job.submitted))
		}
	} else if h := s.o.Hooks.NextToken; h != nil {
		h(now.Sub(sl.last))
	}
	sl.last = now
	done, err := g.add(tok, sl.cache.Free())
	switch {
	case err != nil:
		s.end(sl, err)
	case done:
		s.end(sl, nil)
	default:
		sl.next = tok
	}
}

// end finishes sl's request: normally (err nil), cancelled (a context
// error) or failed, and frees the slot. The slot keeps its cache for the
// next request to reuse.
func (s *Scheduler) end(sl *slot, err error) {
	j := sl.job
	g := j.gen
	switch {
	case err == nil:
		err = g.finish()
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrClosed):
		g.cancel()
		g.res.Text = g.out.text.String()
	}
	// Free the slot before answering: whoever gets the result may read
	// Stats at once, and must not find its request still active.
	sl.job, sl.todo = nil, nil
	s.mu.Lock()
	s.busy--
	s.mu.Unlock()
	j.complete(g.res, err)
}

// dropEnded removes freed slots from the running list.
func (s *Scheduler) dropEnded() {
	kept := s.running[:0]
	for _, sl := range s.running {
		if sl.job != nil {
			kept = append(kept, sl)
		}
	}
	clear(s.running[len(kept):])
	s.running = kept
}
