// Package attention is the attention-cost study behind `gpurun bench
// attention`: it times textbook attention (the n×n score matrix
// materialised), the backend's fused causal attention op, and one decode
// step with and without a KV cache, over context lengths n, and fits the
// exponent k of time ∝ n^k. The numbers are measured; the package asserts
// nothing about what they should be.
package attention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"gpurun/bench/stats"
	"gpurun/bench/sysinfo"
	"gpurun/runtime/backend"
	"gpurun/runtime/model"
)

// Method is one way of computing attention that the study times.
type Method string

const (
	// Naive is textbook attention on the host: S = Q·Kᵀ materialised.
	Naive Method = "naive"
	// Fused is the backend's Attention op over a prompt of n tokens.
	Fused Method = "fused"
	// FusedWindow is Fused with a sliding window of Shape.Window positions.
	FusedWindow Method = "fused-window"
	// DecodeCache is one generation step at position n with a KV cache.
	DecodeCache Method = "decode-cache"
	// DecodeWindow is DecodeCache with a sliding window of Shape.Window positions.
	DecodeWindow Method = "decode-window"
	// DecodeNoCache is one generation step at position n without a cache.
	DecodeNoCache Method = "decode-nocache"
	// ModelDecodeCache is one step of a whole model at position n with its cache.
	ModelDecodeCache Method = "model-decode-cache"
	// ModelDecodeNoCache is one step of a whole model at position n without one.
	ModelDecodeNoCache Method = "model-decode-nocache"
)

// Methods lists every method in report order.
var Methods = []Method{Naive, Fused, FusedWindow, DecodeCache, DecodeWindow, DecodeNoCache, ModelDecodeCache, ModelDecodeNoCache}

// LayerMethods are the methods of one attention layer, the default set.
var LayerMethods = []Method{Naive, Fused, DecodeCache, DecodeNoCache}

// WindowMethods are the sliding-window methods, added to the default set
// when Shape.Window is set.
var WindowMethods = []Method{FusedWindow, DecodeWindow}

func (m Method) wholeModel() bool { return m == ModelDecodeCache || m == ModelDecodeNoCache }

func (m Method) windowed() bool { return m == FusedWindow || m == DecodeWindow }

// ParseMethod accepts a method name.
func ParseMethod(s string) (Method, error) {
	for _, m := range Methods {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown method %q (want naive, fused, fused-window, decode-cache, decode-window, decode-nocache, model-decode-cache or model-decode-nocache)", s)
}

// Definition says exactly what one timed run of m is; reports print it.
func Definition(m Method) string {
	switch m {
	case Naive:
		return "prompt of n tokens, textbook: per head S = Q·Kᵀ (n×n, materialised), scale, causal mask (-Inf), row softmax, O = S·V; " +
			"float32 on the host with gorgonia.org/tensor (gonum Sgemm, GOMAXPROCS threads), whatever --device says"
	case Fused:
		return "prompt of n tokens: one call of the backend's fused causal Attention op (T=n, Pos=0) over a KV cache of n rows; " +
			"scores live one row (cpu) or one tile (cuda) at a time"
	case FusedWindow:
		return "as fused, with a sliding window (Gemma's local layers): query row t attends to the last `window` positions only, " +
			"min(t+1, window) keys"
	case DecodeCache:
		return "one generation step at position n with a KV cache: StoreKV of the new token's K, V row, then Attention for that one query over the n cached rows"
	case DecodeWindow:
		return "as decode-cache, with a sliding window: the one query attends to the last min(n, window) cached rows"
	case DecodeNoCache:
		return "one generation step at position n without a KV cache: the prefix's K, V rows are stored again (StoreKV of n rows) and attention is recomputed for all n rows " +
			"(Attention T=n, Pos=0), as a cache-less forward pass must; projections, MLP and the other layers are not included"
	case ModelDecodeCache:
		return "one generation step of the whole model at position n with its KV cache: Forward of 1 token over a cache holding n-1 positions " +
			"(random keys and values), then Sync; every layer's projections, attention and MLP, and the logits"
	case ModelDecodeNoCache:
		return "one generation step of the whole model at position n without a KV cache: the whole prefix of n tokens through Forward " +
			"from an empty cache (in chunks of n_batch), then Sync, as a generator without a cache must every step"
	}
	return ""
}

// Config is one run of the study.
type Config struct {
	Shape   Shape
	Lengths []int    // context lengths n, ascending
	Methods []Method // which methods to time (default: LayerMethods, and the whole-model ones when Model is set)
	// NaiveMaxLen skips the naive method above this n (its n×n matrix and
	// host time grow fastest); 0: no limit.
	NaiveMaxLen int
	KVType      backend.DType // element type of the KV cache
	// Model, when set, is measured by the whole-model decode methods, on
	// its own backend (which must be the one passed to Run); ModelShape
	// describes it for the report and ModelMaxLen (0: no limit) bounds n.
	Model       model.Model
	ModelShape  ModelShape
	ModelMaxLen int
	// Reps is the most timed samples per point (after one warm-up run).
	Reps int
	// MinSample is the least time one sample takes: fast points run the
	// method several times per sample and divide.
	MinSample time.Duration
	// PointBudget stops sampling a point once this much time went into it
	// (at least one timed sample is always taken).
	PointBudget time.Duration
	// Passes repeats the whole sweep (default 1) and pools each point's
	// samples: a burst of load from other processes then spoils one pass's
	// samples of a point rather than all of them.
	Passes int
	Seed   uint64
}

// Lengths returns the powers of two from lo to hi inclusive.
func Lengths(lo, hi int) ([]int, error) {
	if lo < 1 || hi < lo {
		return nil, fmt.Errorf("context lengths from %d to %d: want 1 <= min <= max", lo, hi)
	}
	var ns []int
	for n := 1; n <= hi; n *= 2 {
		if n >= lo {
			ns = append(ns, n)
		}
	}
	if len(ns) == 0 || ns[len(ns)-1] != hi {
		ns = append(ns, hi) // a maximum that is not a power of two is still measured
	}
	return ns, nil
}

func (c *Config) validate() error {
	if err := c.Shape.Validate(); err != nil {
		return err
	}
	if len(c.Lengths) == 0 {
		return errors.New("no context lengths to measure")
	}
	if !slices.IsSorted(c.Lengths) || c.Lengths[0] < 1 {
		return fmt.Errorf("context lengths %v: want ascending values >= 1", c.Lengths)
	}
	if len(c.Methods) == 0 {
		for _, m := range Methods {
			if (!m.wholeModel() || c.Model != nil) && (!m.windowed() || c.Shape.Window > 0) {
				c.Methods = append(c.Methods, m)
			}
		}
	}
	for _, m := range c.Methods {
		if m.wholeModel() && c.Model == nil {
			return fmt.Errorf("method %s needs a model", m)
		}
		if m.windowed() && c.Shape.Window == 0 {
			return fmt.Errorf("method %s needs a sliding window (--window)", m)
		}
	}
	if c.Reps < 1 {
		c.Reps = 1
	}
	if c.Passes < 1 {
		c.Passes = 1
	}
	if c.KVType != backend.F32 && c.KVType != backend.F16 {
		return fmt.Errorf("KV cache type %s: want f32 or f16", c.KVType)
	}
	return nil
}

// Point is one method measured at one context length.
type Point struct {
	Method  Method  `json:"method"`
	N       int     `json:"n"`
	Seconds float64 `json:"seconds"`     // median time of one run
	Min     float64 `json:"seconds_min"` // fastest sample
	StdDev  float64 `json:"seconds_std"` // sample standard deviation of the samples
	Samples int     `json:"samples"`     // timed samples
	Iters   int     `json:"iters"`       // runs per sample
	Cost
	GFLOPS float64 `json:"gflops"` // FLOPs / Seconds / 1e9
	GBps   float64 `json:"gbps"`   // Bytes / Seconds / 1e9
	// MemoryMeasured is, on the cpu backend and for the host-side naive
	// method, the Go heap held by the method's buffers plus what one run
	// allocated: an upper bound on its peak. 0 where it cannot be measured
	// (device memory).
	MemoryMeasured float64 `json:"memory_measured,omitempty"`

	// SampleSeconds are the samples (seconds per run) of every pass.
	SampleSeconds []float64 `json:"sample_seconds"`
}

// Fit is the fitted power law of a method's time and memory against n:
// over all lengths, and over the upper half of them (the tail, where
// fixed per-call costs matter least) when that has two points or more.
type Fit struct {
	Method   Method          `json:"method"`
	Time     stats.PowerFit  `json:"time"`
	TimeTail *stats.PowerFit `json:"time_tail,omitempty"`
	// TimeMin fits each point's fastest sample: on a shared machine, load
	// from other processes only ever slows a run down.
	TimeMin    *stats.PowerFit `json:"time_min,omitempty"`
	Memory     stats.PowerFit  `json:"memory"`
	MemoryTail *stats.PowerFit `json:"memory_tail,omitempty"`
	TailFromN  int             `json:"tail_from_n,omitempty"`
	// MemorySource is "measured" (the Go heap, cpu backend and the naive
	// method) or "model" (CostOf's working set, for device memory).
	MemorySource string `json:"memory_source"`
}

// Report is the study's result.
type Report struct {
	Study       string            `json:"study"` // "attention"
	Machine     sysinfo.Machine   `json:"machine"`
	Device      string            `json:"device"` // the backend's name
	Threads     int               `json:"threads,omitempty"`
	Shape       Shape             `json:"shape"`
	KVType      string            `json:"kv_type"`
	Lengths     []int             `json:"lengths"`
	NaiveMaxLen int               `json:"naive_max_len,omitempty"`
	HostThreads int               `json:"host_threads"`           // GOMAXPROCS: the naive method's gonum Sgemm threads
	LoadAvgEnd  string            `json:"load_avg_end,omitempty"` // /proc/loadavg (1 minute) when the run ended
	Reps        int               `json:"reps"`
	Passes      int               `json:"passes,omitempty"`
	Model       *ModelShape       `json:"model,omitempty"`
	ModelMaxLen int               `json:"model_max_len,omitempty"`
	Definitions map[Method]string `json:"definitions"`
	Points      []Point           `json:"points"`
	Fits        []Fit             `json:"fits"`
}

// Threader is implemented by backends with a worker count (the CPU backend).
type Threader interface{ Threads() int }

// Run measures every method at every length on b, calling progress (if
// not nil) after each point. It stops between points when ctx is done.
func Run(ctx context.Context, b backend.Backend, cfg Config, m sysinfo.Machine, progress func(Point)) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Report{
		Study: "attention", Machine: m, Device: b.Name(), Shape: cfg.Shape, KVType: cfg.KVType.String(),
		Lengths: cfg.Lengths, NaiveMaxLen: cfg.NaiveMaxLen, HostThreads: runtime.GOMAXPROCS(0), Reps: cfg.Reps, Passes: cfg.Passes,
		Definitions: map[Method]string{},
	}
	if t, ok := b.(Threader); ok {
		r.Threads = t.Threads()
	}
	if cfg.Model != nil {
		if cfg.Model.Backend() != b {
			return nil, errors.New("the model is loaded on another backend than the one measured")
		}
		ms := cfg.ModelShape
		r.Model, r.ModelMaxLen = &ms, cfg.ModelMaxLen
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x67707572756e))
	for _, meth := range cfg.Methods {
		r.Definitions[meth] = Definition(meth)
	}
	// Length by length, every method in turn: a burst of load from other
	// processes then disturbs neighbouring points of all methods alike
	// rather than one method's whole series.
	type key struct {
		m Method
		n int
	}
	index := map[key]int{}
	for pass := 1; pass <= cfg.Passes; pass++ {
		for _, n := range cfg.Lengths {
			for _, meth := range cfg.Methods {
				if meth == Naive && cfg.NaiveMaxLen > 0 && n > cfg.NaiveMaxLen {
					continue
				}
				if meth.wholeModel() && cfg.ModelMaxLen > 0 && n > cfg.ModelMaxLen {
					continue
				}
				if err := ctx.Err(); err != nil {
					return r, err
				}
				p, err := measurePoint(b, cfg, meth, n, rng)
				if err != nil {
					return r, fmt.Errorf("%s at n=%d: %w", meth, n, err)
				}
				if i, ok := index[key{meth, n}]; ok { // a later pass: pool the samples
					q := &r.Points[i]
					q.SampleSeconds = append(q.SampleSeconds, p.SampleSeconds...)
					q.summarise()
					p = *q
				} else {
					index[key{meth, n}] = len(r.Points)
					r.Points = append(r.Points, p)
				}
				slog.Info("attention point", "pass", pass, "method", meth, "n", n, "seconds", p.Seconds, "gflops", p.GFLOPS)
				if progress != nil {
					progress(p)
				}
			}
		}
	}
	// Report order: method by method (as cfg.Methods), n ascending.
	order := map[Method]int{}
	for i, m := range cfg.Methods {
		if _, ok := order[m]; !ok {
			order[m] = i
		}
	}
	slices.SortStableFunc(r.Points, func(a, b Point) int {
		if c := order[a.Method] - order[b.Method]; c != 0 {
			return c
		}
		return a.N - b.N
	})
	r.LoadAvgEnd = sysinfo.LoadAvg()
	r.Fits = FitAll(r.Points)
	return r, nil
}

// FitAll fits time ∝ n^k and memory ∝ n^k for each method with at least
// two points: over all lengths, and over the upper half of them.
func FitAll(points []Point) []Fit {
	var fits []Fit
	for _, m := range Methods {
		var ns, ts, tmin, mm, mf []float64
		measured := true
		for _, p := range points {
			if p.Method != m {
				continue
			}
			ns = append(ns, float64(p.N))
			ts = append(ts, p.Seconds)
			tmin = append(tmin, p.Min)
			mm = append(mm, p.MemoryMeasured)
			mf = append(mf, p.Memory)
			measured = measured && p.MemoryMeasured > 0
		}
		tf, err := stats.FitPowerLaw(ns, ts)
		if err != nil {
			continue
		}
		f := Fit{Method: m, Time: tf, MemorySource: "model"}
		if mf, err := stats.FitPowerLaw(ns, tmin); err == nil {
			f.TimeMin = &mf
		}
		mem := mf
		if measured {
			mem, f.MemorySource = mm, "measured"
		}
		f.Memory, _ = stats.FitPowerLaw(ns, mem)
		if h := len(ns) / 2; h > 0 && len(ns)-h >= 2 {
			f.TailFromN = int(ns[h])
			if t, err := stats.FitPowerLaw(ns[h:], ts[h:]); err == nil {
				f.TimeTail = &t
			}
			if t, err := stats.FitPowerLaw(ns[h:], mem[h:]); err == nil {
				f.MemoryTail = &t
			}
		}
		fits = append(fits, f)
	}
	return fits
}

// runner is one method set up at one length: run does the timed work.
type runner struct {
	run  func() error
	sync func() error
}

func measurePoint(b backend.Backend, cfg Config, m Method, n int, rng *rand.Rand) (Point, error) {
	var cost Cost
	var err error
	if m.wholeModel() {
		cost, err = ModelCostOf(m, cfg.ModelShape, n, cfg.KVType.Size())
	} else {
		cost, err = CostOf(m, cfg.Shape, n, cfg.KVType.Size())
	}
	if err != nil {
		return Point{}, err
	}
	p := Point{Method: m, N: n, Cost: cost}
	host := b.Name() == "cpu" || m == Naive // memory the Go heap sees

	var before runtime.MemStats
	if host {
		runtime.GC()
		runtime.ReadMemStats(&before)
	}
	r, keep, err := setup(b, cfg, m, n, rng)
	if err != nil {
		return p, err
	}
	var held, allocBefore runtime.MemStats
	if host {
		runtime.GC()
		runtime.ReadMemStats(&held)
		allocBefore = held
	}
	// Warm-up: first-call work (scratch growth, module loading) and the
	// estimate of how many runs make one sample.
	t0 := time.Now()
	if err := r.run(); err != nil {
		return p, err
	}
	if err := r.sync(); err != nil {
		return p, err
	}
	warm := time.Since(t0)
	if host {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		p.MemoryMeasured = float64(int64(held.HeapAlloc)-int64(before.HeapAlloc)) + float64(after.TotalAlloc-allocBefore.TotalAlloc)
		p.MemoryMeasured = max(p.MemoryMeasured, 0)
	}

	iters := 1
	if warm < cfg.MinSample {
		iters = int(math.Ceil(float64(cfg.MinSample) / float64(max(warm, time.Microsecond))))
		iters = min(iters, 1<<20)
	}
	var samples []float64
	spent := warm
	for len(samples) < cfg.Reps {
		t0 := time.Now()
		for range iters {
			if err := r.run(); err != nil {
				return p, err
			}
		}
		if err := r.sync(); err != nil {
			return p, err
		}
		d := time.Since(t0)
		samples = append(samples, d.Seconds()/float64(iters))
		spent += d
		if cfg.PointBudget > 0 && spent >= cfg.PointBudget {
			break
		}
	}
	runtime.KeepAlive(keep)
	p.Iters = iters
	p.SampleSeconds = samples
	p.summarise()
	return p, nil
}

// summarise fills the time statistics and rates from p.SampleSeconds.
func (p *Point) summarise() {
	p.Seconds = stats.Median(p.SampleSeconds)
	p.Min = slices.Min(p.SampleSeconds)
	p.StdDev = stats.StdDev(p.SampleSeconds)
	p.Samples = len(p.SampleSeconds)
	if p.Seconds > 0 {
		p.GFLOPS = p.FLOPs / p.Seconds / 1e9
		p.GBps = p.Bytes / p.Seconds / 1e9
	}
}

// setup allocates and fills the inputs of method m at length n; the
// returned value keeps them alive for the memory measurement.
func setup(b backend.Backend, cfg Config, m Method, n int, rng *rand.Rand) (runner, any, error) {
	if m.wholeModel() {
		return setupModel(cfg, m, n, rng)
	}
	s := cfg.Shape
	qLen, kvLen := n*s.Heads*s.HeadDim, n*s.KVHeads*s.HeadDim
	scale := float32(1 / math.Sqrt(float64(s.HeadDim)))
	if m == Naive {
		nv, err := newNaive(s, n, scale, random(rng, qLen), random(rng, kvLen), random(rng, kvLen))
		if err != nil {
			return runner{}, nil, err
		}
		return runner{run: nv.run, sync: func() error { return nil }}, nv, nil
	}

	qRows := n // query rows of the timed call
	decode := m == DecodeCache || m == DecodeWindow
	if decode {
		qRows = 1
	}
	newBuf := func(dt backend.DType, size int, fill bool) (backend.Buffer, error) {
		buf, err := b.NewBuffer(dt, size)
		if err != nil {
			return nil, fmt.Errorf("allocating %d %s elements on %s: %w", size, dt, b.Name(), err)
		}
		if fill {
			if err := b.Write(buf, random(rng, size)); err != nil {
				return nil, fmt.Errorf("writing inputs: %w", err)
			}
		}
		return buf, nil
	}
	var bufs [6]backend.Buffer
	specs := []struct {
		dt   backend.DType
		size int
		fill bool
	}{
		{backend.F32, qRows * s.Heads * s.HeadDim, true},   // q
		{backend.F32, qRows * s.Heads * s.HeadDim, false},  // out
		{backend.F32, qRows * s.KVHeads * s.HeadDim, true}, // k of the stored rows
		{backend.F32, qRows * s.KVHeads * s.HeadDim, true}, // v
		{cfg.KVType, kvLen, false},                         // K cache
		{cfg.KVType, kvLen, false},                         // V cache
	}
	for i, sp := range specs {
		var err error
		if bufs[i], err = newBuf(sp.dt, sp.size, sp.fill); err != nil {
			return runner{}, nil, err
		}
	}
	q, out, k, v, kc, vc := bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], bufs[5]
	kvDim := s.KVHeads * s.HeadDim
	// Fill the caches: all n rows for the prompt methods; the n-1 earlier
	// rows for a decode step, whose own row is stored by the timed run.
	fill := n
	if decode {
		fill = n - 1
	}
	for pos := 0; pos < fill; {
		T := min(fill-pos, qRows)
		b.StoreKV(kc, vc, k, v, pos, T, kvDim)
		pos += T
	}
	if err := b.Sync(); err != nil {
		return runner{}, nil, fmt.Errorf("filling the KV cache: %w", err)
	}
	args := backend.AttentionArgs{T: qRows, Pos: 0, Heads: s.Heads, KVHeads: s.KVHeads, HeadDim: s.HeadDim, Scale: scale, CacheLen: n}
	if m.windowed() {
		args.Window = s.Window
	}
	var run func() error
	switch m {
	case Fused, FusedWindow:
		run = func() error { b.Attention(out, q, kc, vc, args); return b.Err() }
	case DecodeCache, DecodeWindow:
		args.Pos = n - 1
		run = func() error {
			b.StoreKV(kc, vc, k, v, n-1, 1, kvDim)
			b.Attention(out, q, kc, vc, args)
			return b.Err()
		}
	case DecodeNoCache:
		run = func() error {
			b.StoreKV(kc, vc, k, v, 0, n, kvDim)
			b.Attention(out, q, kc, vc, args)
			return b.Err()
		}
	default:
		return runner{}, nil, fmt.Errorf("unknown method %q", m)
	}
	return runner{run: run, sync: b.Sync}, bufs, nil
}

func random(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*rng.Float32() - 1
	}
	return x
}
