// Package modelbench is `gpurun bench model`: llama-bench's two standard
// tests on a loaded model, prompt processing (ppN: N tokens in one pass
// from an empty cache) and token generation (tgN: N tokens one at a time),
// each repeated, reported as the mean and standard deviation of tokens per
// second. It follows llama-bench's procedure so that the two tools' numbers
// can stand side by side (see ReadLlamaBench and WriteComparison).
package modelbench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"gpurun/bench/stats"
	"gpurun/bench/sysinfo"
	"gpurun/runtime/backend"
	"gpurun/runtime/kvcache"
	"gpurun/runtime/model"
)

// Config is one benchmark run.
type Config struct {
	Prompt int // tokens of the pp test (0: no pp test)
	Gen    int // tokens of the tg test (0: no tg test)
	// Depth is how many tokens the KV cache holds when each test starts
	// (llama-bench's -d): a prompt of Depth tokens runs, untimed, before
	// every run. Decoding at depth shows what attention over a long
	// context costs.
	Depth int
	Reps  int // repetitions of each test
	// NoWarmup skips the untimed warm-up run before each test (llama-bench
	// warms up with one full pp run and a tg run of one token).
	NoWarmup bool
	// CtxLen is the KV cache's length in positions; 0: Depth + Prompt +
	// Gen, as llama-bench sizes its context.
	CtxLen int
	KVType backend.DType
	// BOS starts every test as llama-bench does (-1: a random token too).
	BOS  int32
	Seed uint64
}

// ModelInfo names the model in the report.
type ModelInfo struct {
	Path     string `json:"path"`
	Name     string `json:"name,omitempty"`
	Arch     string `json:"arch"`
	FileType string `json:"file_type,omitempty"`
	Bytes    int64  `json:"bytes"`      // weight bytes
	Params   int64  `json:"parameters"` // parameter count
}

// Test is one test's samples and summary; TS are tokens per second.
type Test struct {
	Name      string    `json:"name"` // "pp512", "tg128", "tg128 @ d4096"
	Prompt    int       `json:"n_prompt"`
	Gen       int       `json:"n_gen"`
	Depth     int       `json:"n_depth,omitempty"`
	SamplesNs []int64   `json:"samples_ns"`
	SamplesTS []float64 `json:"samples_ts"`
	AvgNs     float64   `json:"avg_ns"`
	StdNs     float64   `json:"stddev_ns"`
	AvgTS     float64   `json:"avg_ts"`
	StdTS     float64   `json:"stddev_ts"`
}

// Tokens is the number of tokens one run of the test processes.
func (t Test) Tokens() int { return t.Prompt + t.Gen }

// Report is a benchmark's result.
type Report struct {
	Study       string            `json:"study"` // "model"
	Machine     sysinfo.Machine   `json:"machine"`
	Model       ModelInfo         `json:"model"`
	Device      string            `json:"device"`
	Threads     int               `json:"threads,omitempty"`
	Kernels     string            `json:"kernels,omitempty"` // the CPU kernel set (quant.MatMulImplementation): avx512vnni, avx2, generic
	KVType      string            `json:"kv_type"`
	Batch       int               `json:"n_batch"` // most tokens per forward pass
	CtxLen      int               `json:"n_ctx"`
	Reps        int               `json:"reps"`
	LoadAvgEnd  string            `json:"load_avg_end,omitempty"` // /proc/loadavg (1 minute) when the run ended
	Definitions map[string]string `json:"definitions"`
	Tests       []Test            `json:"tests"`
}

// Definitions say exactly what one timed run of each test is.
var Definitions = map[string]string{
	"pp": "ppN: from an empty KV cache, N tokens (the model's BOS, then random ids) run through Forward in chunks of n_batch, then Sync; " +
		"tokens/s = N / time (as llama-bench's test_prompt)",
	"tg": "tgN: from an empty KV cache, N single-token Forward calls, each followed by Sync (the first token BOS, then random ids; no sampling); " +
		"tokens/s = N / time (as llama-bench's test_gen)",
	"depth": "@ dD: the KV cache holds D tokens (BOS, then random ids) when each run starts, filled untimed before every run " +
		"(as llama-bench's -d); the test's tokens follow them",
}

// Threader is implemented by backends with a worker count (the CPU backend).
type Threader interface{ Threads() int }

// Kerneler is implemented by backends that name their kernel set (the CPU
// backend: avx512vnni, avx2 or generic; GPURUN_QUANT_NOVNNI=1 and
// GPURUN_QUANT_NOASM=1 choose the smaller ones).
type Kerneler interface{ Kernels() string }

// Run runs the pp and tg tests on m, calling progress (if not nil) after
// each test. It stops between runs when ctx is done.
func Run(ctx context.Context, m model.Model, cfg Config, info ModelInfo, mach sysinfo.Machine, progress func(Test)) (*Report, error) {
	switch {
	case cfg.Prompt < 0 || cfg.Gen < 0 || cfg.Depth < 0:
		return nil, fmt.Errorf("token counts must be >= 0 (prompt %d, gen %d, depth %d)", cfg.Prompt, cfg.Gen, cfg.Depth)
	case cfg.Prompt == 0 && cfg.Gen == 0:
		return nil, errors.New("nothing to measure: both the prompt and the generation length are 0")
	case cfg.Reps < 1:
		return nil, fmt.Errorf("repetitions must be >= 1, got %d", cfg.Reps)
	}
	b := m.Backend()
	ctxLen := cfg.CtxLen
	if ctxLen == 0 {
		ctxLen = cfg.Depth + cfg.Prompt + cfg.Gen
	}
	if ctxLen < cfg.Depth+max(cfg.Prompt, cfg.Gen) {
		return nil, fmt.Errorf("a context of %d positions cannot hold pp%d or tg%d after %d tokens", ctxLen, cfg.Prompt, cfg.Gen, cfg.Depth)
	}
	cache, err := m.NewCache(ctxLen, cfg.KVType)
	if err != nil {
		return nil, err
	}
	r := &Report{Study: "model", Machine: mach, Model: info, Device: b.Name(), KVType: cfg.KVType.String(),
		Batch: m.Options().MaxBatch, CtxLen: ctxLen, Reps: cfg.Reps, Definitions: Definitions}
	if t, ok := b.(Threader); ok {
		r.Threads = t.Threads()
	}
	if k, ok := b.(Kerneler); ok {
		r.Kernels = k.Kernels()
	}
	br := &bench{m: m, b: b, cache: cache, vocab: m.Config().Vocab, bos: cfg.BOS,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x6d6f64656c))}

	tests := []struct {
		name   string
		n      int
		run    func(n int) error
		warmup int
	}{
		{"pp", cfg.Prompt, br.prompt, cfg.Prompt},
		{"tg", cfg.Gen, br.gen, 1},
	}
	for _, tt := range tests {
		if tt.n == 0 {
			continue
		}
		t := Test{Name: fmt.Sprintf("%s%d", tt.name, tt.n), Depth: cfg.Depth}
		if cfg.Depth > 0 {
			t.Name += fmt.Sprintf(" @ d%d", cfg.Depth)
		}
		if tt.name == "pp" {
			t.Prompt = tt.n
		} else {
			t.Gen = tt.n
		}
		if !cfg.NoWarmup {
			if err := br.start(cfg.Depth); err != nil {
				return r, fmt.Errorf("%s warm-up: %w", t.Name, err)
			}
			if err := tt.run(tt.warmup); err != nil {
				return r, fmt.Errorf("%s warm-up: %w", t.Name, err)
			}
		}
		for i := 0; i < cfg.Reps; i++ {
			if err := ctx.Err(); err != nil {
				return r, err
			}
			if err := br.start(cfg.Depth); err != nil {
				return r, fmt.Errorf("%s run %d: filling the cache: %w", t.Name, i+1, err)
			}
			start := time.Now()
			if err := tt.run(tt.n); err != nil {
				return r, fmt.Errorf("%s run %d: %w", t.Name, i+1, err)
			}
			d := time.Since(start)
			t.SamplesNs = append(t.SamplesNs, d.Nanoseconds())
			t.SamplesTS = append(t.SamplesTS, float64(tt.n)/d.Seconds())
			slog.Info("model bench run", "test", t.Name, "rep", i+1, "seconds", d.Seconds())
		}
		t.summarise()
		r.Tests = append(r.Tests, t)
		if progress != nil {
			progress(t)
		}
	}
	r.LoadAvgEnd = sysinfo.LoadAvg()
	return r, nil
}

// summarise fills the averages from the samples (sample standard
// deviations, as llama-bench).
func (t *Test) summarise() {
	ns := make([]float64, len(t.SamplesNs))
	for i, v := range t.SamplesNs {
		ns[i] = float64(v)
	}
	t.AvgNs, t.StdNs = stats.Mean(ns), stats.StdDev(ns)
	t.AvgTS, t.StdTS = stats.Mean(t.SamplesTS), stats.StdDev(t.SamplesTS)
}

type bench struct {
	m     model.Model
	b     backend.Backend
	cache *kvcache.Cache
	vocab int
	bos   int32
	rng   *rand.Rand
	segs  [1]model.Segment
}

// token is the test token for cache position pos: BOS at 0, else random.
func (br *bench) token(pos int) int32 {
	if pos == 0 && br.bos >= 0 {
		return br.bos
	}
	return int32(br.rng.IntN(br.vocab))
}

// start empties the cache and fills it with depth tokens (untimed).
func (br *bench) start(depth int) error {
	br.cache.Reset()
	if depth == 0 {
		return nil
	}
	return br.prompt(depth)
}

// prompt runs n tokens after what the cache holds, in chunks of the model's
// batch.
func (br *bench) prompt(n int) error {
	chunk := br.m.Options().MaxBatch
	toks := make([]int32, min(n, chunk))
	for done := 0; done < n; {
		k := min(chunk, n-done)
		for i := range k {
			toks[i] = br.token(br.cache.Pos() + i)
		}
		br.segs[0] = model.Segment{Cache: br.cache, Tokens: toks[:k]}
		if _, err := br.m.Forward(br.segs[:]); err != nil {
			return err
		}
		done += k
	}
	return br.b.Sync()
}

// gen runs n single-token steps after what the cache holds, waiting for
// each.
func (br *bench) gen(n int) error {
	tok := []int32{0}
	for range n {
		tok[0] = br.token(br.cache.Pos())
		br.segs[0] = model.Segment{Cache: br.cache, Tokens: tok}
		if _, err := br.m.Forward(br.segs[:]); err != nil {
			return err
		}
		if err := br.b.Sync(); err != nil {
			return err
		}
	}
	return nil
}
