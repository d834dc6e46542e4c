package attention

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gpurun/bench/report"
	"gpurun/bench/stats"
)

// WriteJSON writes the report as indented JSON (ReadJSON reads it back).
func (r *Report) WriteJSON(w io.Writer) error { return report.WriteJSON(w, r) }

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	r, err := report.ReadJSON(rd, "an attention report", "attention", func(r *Report) string { return r.Study })
	if err != nil {
		return nil, err
	}
	if len(r.Fits) == 0 {
		r.Fits = FitAll(r.Points)
	}
	return r, nil
}

// csvHeader names the CSV columns (SI units: seconds, FLOPs, bytes).
var csvHeader = []string{"method", "n", "seconds", "seconds_min", "seconds_std", "samples", "iters",
	"flops", "bytes", "gflops", "gbps", "memory_model_bytes", "memory_measured_bytes"}

// WriteCSV writes one row per point, with a header row.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, p := range r.Points {
		rec := []string{string(p.Method), strconv.Itoa(p.N), g(p.Seconds), g(p.Min), g(p.StdDev),
			strconv.Itoa(p.Samples), strconv.Itoa(p.Iters), g(p.FLOPs), g(p.Bytes), g(p.GFLOPS), g(p.GBps),
			g(p.Memory), g(p.MemoryMeasured)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// expected is the asymptotic exponent the theory gives, for the summary.
type expected struct {
	what   string
	method Method
	memory bool
	k      string
}

var expectations = []expected{
	{"prompt attention time, naive (n×n scores)", Naive, false, "2"},
	{"prompt attention time, fused", Fused, false, "2"},
	{"prompt attention memory, naive", Naive, true, "2"},
	{"prompt attention memory, fused", Fused, true, "1"},
	// A window of W positions: quadratic while n <= W, then linear.
	{"prompt attention time, sliding window", FusedWindow, false, "2 → 1 (n ≫ window)"},
	{"decode step time, with KV cache", DecodeCache, false, "1"},
	{"decode step time, sliding window", DecodeWindow, false, "1 → 0 (n ≫ window)"},
	{"decode step time, without KV cache", DecodeNoCache, false, "2"},
	// A whole model adds per-token work that does not depend on n (the
	// weights): it dominates at small n, the attention term at large n.
	{"decode step time, whole model, with KV cache", ModelDecodeCache, false, "0 → 1"},
	{"decode step time, whole model, without KV cache", ModelDecodeNoCache, false, "1 → 2"},
}

// WriteMarkdown writes the report for people: the setup, what each method
// times, the measurements, the fitted exponents next to the theory's, and
// what the KV cache saves per decode step.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Attention cost against context length n (`gpurun bench attention`)\n\n")
	fmt.Fprintf(&b, "- machine: %s", r.Machine)
	if r.LoadAvgEnd != "" {
		fmt.Fprintf(&b, ", %s at the end", r.LoadAvgEnd)
	}
	b.WriteString("\n")
	dev := r.Device
	if r.Threads > 0 {
		dev += fmt.Sprintf(" (%d threads)", r.Threads)
	}
	window := ""
	if r.Shape.Window > 0 {
		window = fmt.Sprintf("; sliding window %d (the -window methods)", r.Shape.Window)
	}
	fmt.Fprintf(&b, "- device: %s; naive on the host, %d threads; heads %d, KV heads %d, head dim %d%s; KV cache %s\n",
		dev, r.HostThreads, r.Shape.Heads, r.Shape.KVHeads, r.Shape.HeadDim, window, r.KVType)
	lens := make([]string, len(r.Lengths))
	for i, n := range r.Lengths {
		lens[i] = strconv.Itoa(n)
	}
	fmt.Fprintf(&b, "- context lengths n: %s", strings.Join(lens, ", "))
	if r.NaiveMaxLen > 0 && len(r.Lengths) > 0 && r.NaiveMaxLen < r.Lengths[len(r.Lengths)-1] {
		fmt.Fprintf(&b, " (naive up to %d)", r.NaiveMaxLen)
	}
	if m := r.Model; m != nil {
		fmt.Fprintf(&b, "\n- whole model: %s (%d layers, dim %d, %d heads, %d KV heads, head dim %d, FFN %d, vocab %d, weights %s), n_batch %d",
			m.Path, m.Layers, m.Dim, m.Heads, m.KVHeads, m.HeadDim, m.FFN, m.Vocab, report.Bytes(float64(m.WeightBytes)), m.Batch)
		if r.ModelMaxLen > 0 {
			fmt.Fprintf(&b, ", n up to %d", r.ModelMaxLen)
		}
	}
	passes := ""
	if r.Passes > 1 {
		passes = fmt.Sprintf(" in each of %d passes over all points (pooled)", r.Passes)
	}
	fmt.Fprintf(&b, "\n- time: the median of up to %d timed samples after one warm-up run%s; a sample of a fast point repeats the run "+
		"and divides (column `runs`); ± is the samples' standard deviation. Lengths are measured in turn, every method at each n. Decode steps are timed at the sampled positions n "+
		"only, not for every step of a generation of n tokens.\n\n", r.Reps, passes)

	b.WriteString("What one timed run is:\n\n")
	for _, m := range Methods {
		if d, ok := r.Definitions[m]; ok {
			fmt.Fprintf(&b, "- **%s**: %s.\n", m, d)
		}
	}
	b.WriteString("\nFLOPs count the two matrix products (2 per multiply-add; naive does the full n×n, fused and the decode steps " +
		"only the causal part). Bytes are the compulsory traffic (each operand read once, each result written once; " +
		"naive also writes and rereads its n×n scores). Memory (model) is the working set the method must hold; " +
		"memory (measured) is the Go heap its buffers take plus what one run allocated (host memory only). " +
		"The whole-model methods count the projections, MLP, logits and attention FLOPs; their bytes are every weight once per Forward " +
		"plus the KV rows read and written; their memory is the KV cache of n positions (the weights, the same at every n, left out).\n\n")

	t := report.Table{
		Header: []string{"method", "n", "time", "±", "min", "runs", "FLOPs", "GFLOP/s", "bytes", "GB/s", "memory (model)", "memory (measured)"},
		Align: []report.Align{report.Left, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right,
			report.Right, report.Right, report.Right, report.Right, report.Right},
	}
	for _, p := range r.Points {
		meas := "-"
		if p.MemoryMeasured > 0 {
			meas = report.Bytes(p.MemoryMeasured)
		}
		t.Add(string(p.Method), strconv.Itoa(p.N), report.Seconds(p.Seconds), report.Seconds(p.StdDev), report.Seconds(p.Min),
			fmt.Sprintf("%d×%d", p.Samples, p.Iters), report.SI(p.FLOPs, "FLOP"), report.Sig3(p.GFLOPS),
			report.Bytes(p.Bytes), report.Sig3(p.GBps), report.Bytes(p.Memory), meas)
	}
	if err := t.Write(&b); err != nil {
		return err
	}

	b.WriteString("\n### Fitted exponents: time ∝ n^k (least squares on log time against log n)\n\n")
	b.WriteString("Time k fits the medians; min time k the fastest samples (load from other processes only slows runs down); " +
		"the tail is the upper half of the lengths, where fixed per-call costs matter least.\n\n")
	ft := report.Table{
		Header: []string{"method", "time k (all n)", "R²", "time k (tail)", "min time k (all n)", "memory k (all n)", "memory k (tail)", "memory from", "tail from n"},
		Align: []report.Align{report.Left, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right,
			report.Left, report.Right},
	}
	for _, f := range r.Fits {
		tail := "-"
		if f.TailFromN > 0 {
			tail = strconv.Itoa(f.TailFromN)
		}
		ft.Add(string(f.Method), k(&f.Time), fmt.Sprintf("%.4f", f.Time.R2), k(f.TimeTail), k(f.TimeMin), k(&f.Memory), k(f.MemoryTail), f.MemorySource, tail)
	}
	if err := ft.Write(&b); err != nil {
		return err
	}

	b.WriteString("\n### Theory against measurement\n\n")
	et := report.Table{
		Header: []string{"quantity", "expected k (large n)", "measured k (tail)", "measured k (all n)"},
		Align:  []report.Align{report.Left, report.Right, report.Right, report.Right},
	}
	for _, e := range expectations {
		f := r.fit(e.method)
		if f == nil {
			continue
		}
		all, tail := &f.Time, f.TimeTail
		if e.memory {
			all, tail = &f.Memory, f.MemoryTail
		}
		et.Add(e.what, e.k, k(tail), k(all))
	}
	if err := et.Write(&b); err != nil {
		return err
	}

	if rows := r.cacheRatios(); len(rows) > 0 {
		b.WriteString("\n### What the KV cache buys: one decode step at position n\n\n")
		ct := report.Table{
			Header: []string{"scope", "n", "with cache", "without cache", "without / with"},
			Align:  []report.Align{report.Left, report.Right, report.Right, report.Right, report.Right},
		}
		for _, row := range rows {
			ct.Add(row.scope, strconv.Itoa(row.n), report.Seconds(row.with), report.Seconds(row.without), fmt.Sprintf("%.0f×", row.without/row.with))
		}
		if err := ct.Write(&b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func k(f *stats.PowerFit) string {
	if f == nil || f.Points < 2 {
		return "-"
	}
	return fmt.Sprintf("%.2f", f.Exponent)
}

func (r *Report) fit(m Method) *Fit {
	for i := range r.Fits {
		if r.Fits[i].Method == m {
			return &r.Fits[i]
		}
	}
	return nil
}

type cacheRatio struct {
	scope         string
	n             int
	with, without float64
}

// cacheRatios pairs the decode steps with and without the cache by n, for
// one attention layer and for the whole model.
func (r *Report) cacheRatios() []cacheRatio {
	var rows []cacheRatio
	for _, pair := range []struct {
		scope         string
		with, without Method
	}{{"one attention layer", DecodeCache, DecodeNoCache}, {"whole model", ModelDecodeCache, ModelDecodeNoCache}} {
		without := map[int]float64{}
		for _, p := range r.Points {
			if p.Method == pair.without {
				without[p.N] = p.Seconds
			}
		}
		for _, p := range r.Points {
			if w, ok := without[p.N]; ok && p.Method == pair.with && p.Seconds > 0 {
				rows = append(rows, cacheRatio{pair.scope, p.N, p.Seconds, w})
			}
		}
	}
	return rows
}
