package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gpurun/runtime/engine"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/sampler"
)

// loadStoriesBatched loads stories260K for up to seqs sequences per forward
// pass and small prompt chunks, so that prompts are split across steps.
func loadStoriesBatched(t *testing.T, seqs int) *engine.Engine {
	t.Helper()
	e, err := engine.Load(engine.Options{
		ModelPath: fixtures.Path(t, "stories260K/stories260K.gguf"), Device: "cpu", Threads: 2,
		MaxSeqs: seqs, MaxBatch: 32,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newScheduler(t *testing.T, e *engine.Engine, o engine.SchedulerOptions) *engine.Scheduler {
	t.Helper()
	s, err := engine.NewScheduler(e, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type genCase struct {
	name   string
	prompt string
	n      int
	sp     sampler.Params
	stop   []string
}

func genCases() []genCase {
	long := strings.Repeat("Lily and Tom went to the park to play with a red ball. ", 6)
	return []genCase{
		{name: "greedy", prompt: "Once upon a time", n: 60, sp: sampler.Params{TopP: 1}},
		{name: "greedy from BOS", prompt: "", n: 50, sp: sampler.Params{TopP: 1}},
		{name: "seeded", prompt: "Once upon a time", n: 60, sp: sampler.Params{Temperature: 1, TopK: 40, TopP: 0.95, MinP: 0.05, Seed: 7}},
		{name: "seeded other seed", prompt: "The little dog", n: 60, sp: sampler.Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, Seed: 42}},
		{name: "repeat penalty", prompt: "Tom had a ball", n: 60, sp: sampler.Params{Temperature: 0.7, TopP: 1, RepeatPenalty: 1.3, RepeatLastN: 16, Seed: 3}},
		{name: "stop string", prompt: "Once upon a time", n: 60, sp: sampler.Params{TopP: 1}, stop: []string{"park"}},
		{name: "long prompt", prompt: long, n: 40, sp: sampler.Params{Temperature: 1, TopP: 0.9, Seed: 11}},
	}
}

func (c genCase) request(e *engine.Engine) engine.Request {
	return engine.Request{Tokens: e.PromptTokens(c.prompt, true), MaxTokens: c.n, Sampling: c.sp, Stop: c.stop}
}

type outcome struct {
	res      engine.Result
	streamed string
	err      error
}

func generate(g interface {
	Generate(context.Context, engine.Request, func(string) error) (engine.Result, error)
}, r engine.Request) outcome {
	var sb strings.Builder
	res, err := g.Generate(context.Background(), r, func(s string) error { sb.WriteString(s); return nil })
	return outcome{res, sb.String(), err}
}

func sameOutcome(t *testing.T, name string, got, want outcome) {
	t.Helper()
	switch {
	case got.err != nil:
		t.Errorf("%s: %v", name, got.err)
	case fmt.Sprint(got.res.Tokens) != fmt.Sprint(want.res.Tokens):
		t.Errorf("%s: tokens differ from Session.Generate's\n got %v\nwant %v", name, got.res.Tokens, want.res.Tokens)
	case got.res.Text != want.res.Text || got.streamed != want.res.Text:
		t.Errorf("%s: text %q, streamed %q; Session.Generate gave %q", name, got.res.Text, got.streamed, want.res.Text)
	case got.res.StopReason != want.res.StopReason:
		t.Errorf("%s: stop reason %s, Session.Generate %s", name, got.res.StopReason, want.res.StopReason)
	case got.res.PromptTokens != want.res.PromptTokens:
		t.Errorf("%s: %d prompt tokens, Session.Generate %d", name, got.res.PromptTokens, want.res.PromptTokens)
	}
}

// TestSchedulerMatchesSession: every request gives exactly the tokens and
// text Session.Generate gives it, whether it runs alone or batched with all
// the others (and with long prompts prefilled in chunks between decode steps).
func TestSchedulerMatchesSession(t *testing.T) {
	cases := genCases()
	e := loadStoriesBatched(t, len(cases))
	want := make([]outcome, len(cases))
	for i, c := range cases {
		sess, err := e.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if want[i] = generate(sess, c.request(e)); want[i].err != nil {
			t.Fatalf("%s: Session.Generate: %v", c.name, want[i].err)
		}
	}

	t.Run("alone", func(t *testing.T) {
		s := newScheduler(t, e, engine.SchedulerOptions{Slots: 2, PrefillChunk: 8})
		for i, c := range cases {
			sameOutcome(t, c.name, generate(s, c.request(e)), want[i])
		}
	})

	t.Run("batched", func(t *testing.T) {
		// The first step waits until every request is queued, so they all
		// decode together.
		release := make(chan struct{})
		var once sync.Once
		var mu sync.Mutex
		maxSeqs := 0
		s := newScheduler(t, e, engine.SchedulerOptions{Slots: len(cases), PrefillChunk: 8, Hooks: engine.SchedulerHooks{
			Step: func(seqs, tokens int, _ time.Duration) {
				once.Do(func() { <-release })
				mu.Lock()
				maxSeqs = max(maxSeqs, seqs)
				mu.Unlock()
			},
		}})
		got := make([]outcome, len(cases))
		var wg sync.WaitGroup
		for i, c := range cases {
			wg.Go(func() { got[i] = generate(s, c.request(e)) })
			if i == 0 {
				waitFor(t, func() bool { return s.Stats().Active == 1 })
			}
		}
		waitFor(t, func() bool { return s.Stats().Queued == len(cases)-1 })
		close(release)
		wg.Wait()
		for i, c := range cases {
			sameOutcome(t, c.name, got[i], want[i])
		}
		if maxSeqs != len(cases) {
			t.Errorf("at most %d sequences ran in one step, want all %d", maxSeqs, len(cases))
		}
		if st := s.Stats(); st.Active != 0 || st.Queued != 0 {
			t.Errorf("after the requests: %+v", st)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the scheduler")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSchedulerReusesPrefix: a request that extends the previous one in the
// same slot runs only its new tokens and gives what a fresh session gives.
func TestSchedulerReusesPrefix(t *testing.T) {
	e := loadStoriesBatched(t, 1)
	s := newScheduler(t, e, engine.SchedulerOptions{})
	sp := sampler.Params{TopP: 1}
	first := e.PromptTokens("Once upon a time", true)
	r1 := generate(s, engine.Request{Tokens: first, MaxTokens: 5, Sampling: sp})
	second := append(append(append([]int32(nil), first...), r1.res.Tokens...), e.PromptTokens(" Tom", false)...)
	r2 := generate(s, engine.Request{Tokens: second, MaxTokens: 8, Sampling: sp})
	if r1.err != nil || r2.err != nil {
		t.Fatal(r1.err, r2.err)
	}
	if want := len(second) - len(first); r2.res.PromptEval > want {
		t.Errorf("second request ran %d prompt tokens, want at most %d", r2.res.PromptEval, want)
	}
	fresh, _ := e.NewSession()
	sameOutcome(t, "extended prompt", r2, generate(fresh, engine.Request{Tokens: second, MaxTokens: 8, Sampling: sp}))
}

// TestSchedulerCancel: a request whose context is cancelled, or whose emit
// fails, ends at once with StopCancelled and frees its slot; one cancelled
// while queued never runs.
func TestSchedulerCancel(t *testing.T) {
	e := loadStoriesBatched(t, 1)
	long := engine.Request{Tokens: []int32{1}, MaxTokens: 400, Sampling: sampler.Params{TopP: 1}, IgnoreEOG: true}
	errWrite := errors.New("client went away")
	tests := []struct {
		name    string
		queued  bool // cancel while waiting behind another request
		emitErr bool // emit fails instead of the context being cancelled
		wantErr error
	}{
		{name: "context cancelled while running", wantErr: context.Canceled},
		{name: "emit fails", emitErr: true, wantErr: errWrite},
		{name: "context cancelled while queued", queued: true, wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hold := make(chan struct{})
			release := sync.OnceFunc(func() { close(hold) })
			defer release()
			var holding sync.Once
			s := newScheduler(t, e, engine.SchedulerOptions{Slots: 1, Hooks: engine.SchedulerHooks{
				Step: func(int, int, time.Duration) {
					if tc.queued {
						holding.Do(func() { <-hold })
					}
				},
			}})
			var blocker sync.WaitGroup
			if tc.queued {
				blocker.Go(func() { generate(s, long) })
				waitFor(t, func() bool { return s.Stats().Active == 1 })
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pieces := 0
			done := make(chan outcome, 1)
			go func() {
				res, err := s.Generate(ctx, long, func(string) error {
					pieces++
					if pieces == 3 {
						if tc.emitErr {
							return errWrite
						}
						cancel()
					}
					return nil
				})
				done <- outcome{res: res, err: err}
			}()
			if tc.queued {
				waitFor(t, func() bool { return s.Stats().Queued == 1 })
				cancel()
				release() // the loop, held in its first step, goes on and drops the request
			}
			var got outcome
			select {
			case got = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Generate did not return after cancellation")
			}
			if !errors.Is(got.err, tc.wantErr) || got.res.StopReason != engine.StopCancelled {
				t.Errorf("err %v, stop %q; want %v, %q", got.err, got.res.StopReason, tc.wantErr, engine.StopCancelled)
			}
			if tc.queued && len(got.res.Tokens) != 0 {
				t.Errorf("a request cancelled in the queue generated %d tokens", len(got.res.Tokens))
			}
			if n := len(got.res.Tokens); n >= long.MaxTokens {
				t.Errorf("cancelled request generated all %d tokens", n)
			}
			release()
			blocker.Wait()
			waitFor(t, func() bool { st := s.Stats(); return st.Active == 0 && st.Queued == 0 })
			// The slot serves the next request as usual.
			if o := generate(s, engine.Request{Tokens: []int32{1}, MaxTokens: 3, Sampling: sampler.Params{TopP: 1}}); o.err != nil || len(o.res.Tokens) != 3 {
				t.Errorf("next request: %d tokens, %v", len(o.res.Tokens), o.err)
			}
		})
	}
}

// TestSchedulerLimits: a full queue refuses requests, a prompt that does not
// fit the context is refused, Close ends what runs and refuses what comes.
func TestSchedulerLimits(t *testing.T) {
	e := loadStoriesBatched(t, 1)
	hold := make(chan struct{})
	var holding sync.Once
	s, err := engine.NewScheduler(e, engine.SchedulerOptions{Slots: 1, MaxQueue: 1, Hooks: engine.SchedulerHooks{
		Step: func(int, int, time.Duration) { holding.Do(func() { <-hold }) },
	}})
	if err != nil {
		t.Fatal(err)
	}
	long := engine.Request{Tokens: []int32{1}, MaxTokens: 400, Sampling: sampler.Params{TopP: 1}, IgnoreEOG: true}
	results := make(chan outcome, 2)
	go func() { results <- generate(s, long) }()
	waitFor(t, func() bool { return s.Stats().Active == 1 })
	go func() { results <- generate(s, long) }()
	waitFor(t, func() bool { return s.Stats().Queued == 1 })

	if _, err := s.Generate(context.Background(), long, nil); !errors.Is(err, engine.ErrQueueFull) {
		t.Errorf("third request with one slot and a queue of one: err = %v, want ErrQueueFull", err)
	}
	tooLong := engine.Request{Tokens: make([]int32, e.Ctx), MaxTokens: 1, Sampling: sampler.Params{TopP: 1}}
	var ptl *engine.PromptTooLongError
	if _, err := s.Generate(context.Background(), tooLong, nil); !errors.As(err, &ptl) {
		t.Errorf("prompt of %d tokens in a context of %d: err = %v", e.Ctx, e.Ctx, err)
	}
	if _, err := engine.NewScheduler(e, engine.SchedulerOptions{Slots: 2}); err == nil {
		t.Error("2 slots on an engine loaded for 1 sequence: no error")
	}

	close(hold)
	s.Close()
	for range 2 {
		if o := <-results; !errors.Is(o.err, engine.ErrClosed) && o.err != nil {
			t.Errorf("request running or queued at Close: err = %v", o.err)
		}
	}
	if _, err := s.Generate(context.Background(), long, nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Generate after Close: err = %v, want ErrClosed", err)
	}
}
