package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gpurun/runtime/engine"
	"gpurun/runtime/sampler"
)

// BenchmarkSchedulerStreams measures aggregate decode throughput of the
// continuous-batching scheduler on SmolLM2 with 1 and with 8 concurrent
// requests (96 sampled tokens each, in process: no HTTP, no client sharing
// the cores). The ratio of the two tok/s figures is what batching buys.
//
//	go test -run '^$' -bench SchedulerStreams -benchtime 3x ./runtime/engine
func BenchmarkSchedulerStreams(b *testing.B) {
	e, err := engine.Load(engine.Options{ModelPath: defaultModel(b), Device: "cpu", Ctx: 1024, MaxSeqs: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	s, err := engine.NewScheduler(e, engine.SchedulerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	run := func(streams int) (tokens int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := 0; i < streams; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				prompt := append(e.PromptTokens("Once upon a time", true), int32(100+i))
				r, err := s.Generate(context.Background(), engine.Request{Tokens: prompt, MaxTokens: 96, IgnoreEOG: true,
					Sampling: sampler.Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, Seed: uint64(i)}}, nil)
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				tokens += len(r.Tokens)
				mu.Unlock()
			}(i)
		}
		wg.Wait()
		return tokens
	}
	run(1) // warm up scratch memory
	for _, streams := range []int{1, 8} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			tokens := 0
			start := time.Now()
			for range b.N {
				tokens += run(streams)
			}
			b.ReportMetric(float64(tokens)/time.Since(start).Seconds(), "tok/s")
		})
	}
}
