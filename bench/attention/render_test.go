package attention

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"

	"gpurun/bench/report"
	"gpurun/bench/sysinfo"
	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
)

// synthetic builds a report whose times follow exact power laws, so the
// fits and renderings can be checked without timing anything.
func synthetic() *Report {
	r := &Report{
		Study:   "attention",
		Machine: sysinfo.Machine{CPU: "Test CPU", Cores: 2, OS: "linux", Arch: "amd64", GoVersion: "go1.26.8", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"},
		Device:  "cpu", Threads: 2, HostThreads: 2, Shape: SmolLM2, KVType: "f32",
		Lengths: []int{128, 256, 512, 1024}, Reps: 3, Definitions: map[Method]string{},
	}
	law := map[Method]struct{ c, k float64 }{
		Naive: {1e-9, 2}, Fused: {5e-10, 2}, DecodeCache: {1e-8, 1}, DecodeNoCache: {5e-10, 2},
	}
	for _, m := range LayerMethods {
		r.Definitions[m] = Definition(m)
		for _, n := range r.Lengths {
			c, _ := CostOf(m, r.Shape, n, 4)
			sec := law[m].c * math.Pow(float64(n), law[m].k)
			r.Points = append(r.Points, Point{Method: m, N: n, Seconds: sec, Min: sec, Samples: 3, Iters: 1, Cost: c,
				GFLOPS: c.FLOPs / sec / 1e9, GBps: c.Bytes / sec / 1e9, MemoryMeasured: c.Memory})
		}
	}
	r.Fits = FitAll(r.Points)
	return r
}

func TestFitAll(t *testing.T) {
	r := synthetic()
	want := map[Method]struct{ time, mem float64 }{
		Naive: {2, 1.2}, Fused: {2, 1}, DecodeCache: {1, 1}, DecodeNoCache: {2, 1},
	}
	if len(r.Fits) != len(LayerMethods) {
		t.Fatalf("%d fits, want %d", len(r.Fits), len(LayerMethods))
	}
	for _, f := range r.Fits {
		w := want[f.Method]
		if math.Abs(f.Time.Exponent-w.time) > 1e-9 || f.TimeTail == nil || math.Abs(f.TimeTail.Exponent-w.time) > 1e-9 {
			t.Errorf("%s: time exponent %g (tail %+v), want %g", f.Method, f.Time.Exponent, f.TimeTail, w.time)
		}
		if f.TimeMin == nil || math.Abs(f.TimeMin.Exponent-w.time) > 1e-9 {
			t.Errorf("%s: min-time fit %+v, want exponent %g", f.Method, f.TimeMin, w.time)
		}
		if f.TailFromN != 512 || f.MemorySource != "measured" {
			t.Errorf("%s: tail from %d, memory from %q", f.Method, f.TailFromN, f.MemorySource)
		}
		if math.Abs(f.Memory.Exponent-w.mem) > 0.25 {
			t.Errorf("%s: memory exponent %g, want about %g", f.Method, f.Memory.Exponent, w.mem)
		}
	}
	// Without measured memory (a device), the model's is fitted.
	for i := range r.Points {
		r.Points[i].MemoryMeasured = 0
	}
	for _, f := range FitAll(r.Points) {
		if f.MemorySource != "model" {
			t.Errorf("%s: memory source %q without measurements, want model", f.Method, f.MemorySource)
		}
	}
	// A method with one point gets no fit.
	if fits := FitAll(r.Points[:1]); len(fits) != 0 {
		t.Errorf("one point gave fits %+v", fits)
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := synthetic().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"Test CPU (2 logical CPUs)", "commit abc1234",
		"device: cpu (2 threads); naive on the host, 2 threads; heads 9, KV heads 3, head dim 64; KV cache f32",
		"context lengths n: 128, 256, 512, 1024",
		"- **naive**: prompt of n tokens, textbook",
		"- **decode-nocache**: one generation step at position n without a KV cache",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, row := range [][]string{
		{"method", "n", "time", "±", "min", "runs", "FLOPs", "GFLOP/s"},
		{"naive", "128", "16.4 µs", "0 s", "16.4 µs", "3×1", "37.7 MFLOP", "2304"}, // 1e-9·128² s
		{"decode-cache", "1024", "10.2 µs"},                                        // 1e-8·1024 s
		{"prompt attention time, fused", "2", "2.00", "2.00"},
		{"decode step time, with KV cache", "1", "1.00", "1.00"},
		{"one attention layer", "1024", "10.2 µs", "524 µs", "51×"},
	} {
		if !report.HasRow(md, row...) {
			t.Errorf("markdown lacks a row starting %q:\n%s", row, md)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := synthetic()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Points) != len(r.Points) || !reflect.DeepEqual(got.Points[5], r.Points[5]) || got.Machine != r.Machine || len(got.Fits) != len(r.Fits) {
		t.Errorf("round trip changed the report:\n%+v\nwant\n%+v", got, r)
	}
	if _, err := ReadJSON(strings.NewReader(`{"study":"model"}`)); err == nil {
		t.Error("ReadJSON accepted another study's report")
	}
	if _, err := ReadJSON(strings.NewReader(`{`)); err == nil {
		t.Error("ReadJSON accepted broken JSON")
	}
}

func TestWriteCSV(t *testing.T) {
	r := synthetic()
	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(r.Points) {
		t.Fatalf("%d records, want %d", len(recs), 1+len(r.Points))
	}
	if strings.Join(recs[0], ",") != strings.Join(csvHeader, ",") {
		t.Errorf("header %v", recs[0])
	}
	// naive at n=128: 1e-9·128² s, 4·128²·64·9 FLOPs.
	want := []string{"naive", "128", "1.6384e-05", "1.6384e-05", "0", "3", "1", "3.7748736e+07"}
	for i, w := range want {
		if recs[1][i] != w {
			t.Errorf("column %s = %q, want %q", csvHeader[i], recs[1][i], w)
		}
	}
}

func TestWritePNG(t *testing.T) {
	var b bytes.Buffer
	if err := synthetic().WritePNG(&b, 700, 280); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X != 700 || s.Y != 280 {
		t.Errorf("image is %v, want 700x280", s)
	}
	if err := (&Report{}).WritePNG(&b, 10, 10); err == nil {
		t.Error("an empty report plotted without error")
	}
}

// Run end to end on the CPU backend at tiny sizes: every method gives a
// point per length with its formula's cost and a positive time. (Nothing
// about speed is asserted.)
func TestRunSmall(t *testing.T) {
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := Config{Shape: Shape{Heads: 4, KVHeads: 2, HeadDim: 8}, Lengths: []int{8, 16, 32}, NaiveMaxLen: 16,
		KVType: backend.F16, Reps: 2, MinSample: time.Microsecond}
	var seen int
	r, err := Run(context.Background(), b, cfg, sysinfo.Machine{}, func(Point) { seen++ })
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Points) != 2+3+3+3 || seen != len(r.Points) {
		t.Fatalf("%d points (%d reported), want 11", len(r.Points), seen)
	}
	for _, p := range r.Points {
		c, _ := CostOf(p.Method, cfg.Shape, p.N, 2)
		if p.Cost != c || !(p.Seconds > 0) || p.Samples < 1 || p.Samples > 2 || p.MemoryMeasured < 0 {
			t.Errorf("bad point %+v", p)
		}
		if p.Method == Naive && p.N > 16 {
			t.Errorf("naive ran above NaiveMaxLen: %+v", p)
		}
	}
	for i := 1; i < len(r.Points); i++ { // method by method, n ascending
		a, b := r.Points[i-1], r.Points[i]
		if a.Method == b.Method && a.N >= b.N || a.Method != b.Method && slices.Index(Methods, a.Method) > slices.Index(Methods, b.Method) {
			t.Errorf("points out of order: %s/%d before %s/%d", a.Method, a.N, b.Method, b.N)
		}
	}
	if r.Threads != 2 || r.Device != "cpu" || r.KVType != "f16" || len(r.Definitions) != 4 {
		t.Errorf("report header %+v", r)
	}

	// With a window the two windowed methods join the default set; a
	// windowed method without one is refused.
	wcfg := cfg
	wcfg.Shape.Window = 12
	wr, err := Run(context.Background(), b, wcfg, sysinfo.Machine{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(wr.Points) != 2+5*3 || wr.fit(FusedWindow) == nil || wr.fit(DecodeWindow) == nil {
		t.Errorf("with a window: %d points, fits %+v", len(wr.Points), wr.Fits)
	}
	bad := cfg
	bad.Methods = []Method{DecodeWindow}
	if _, err := Run(context.Background(), b, bad, sysinfo.Machine{}, nil); err == nil {
		t.Error("Run accepted decode-window without a window")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, b, cfg, sysinfo.Machine{}, nil); err == nil {
		t.Error("Run ignored a cancelled context")
	}
	if _, err := Run(context.Background(), b, Config{Shape: Shape{Heads: 3, KVHeads: 2, HeadDim: 8}, Lengths: []int{8}}, sysinfo.Machine{}, nil); err == nil {
		t.Error("Run accepted 3 heads over 2 KV heads")
	}
}

func TestAxisTicks(t *testing.T) {
	labels := func(ts []plot.Tick) []string {
		var s []string
		for _, t := range ts {
			if t.Label != "" {
				s = append(s, t.Label)
			}
		}
		return s
	}
	tests := []struct {
		name   string
		ticker plot.Ticker
		lo, hi float64
		want   string
	}{
		{"n", powersOfTwo{}, 100, 5000, "128 256 512 1024 2048 4096"},
		{"seconds", decades{}, 2e-5, 7, "100 µs,1 ms,10 ms,100 ms,1 s"},
		{"bytes", powersOfFour{}, 200e3, 100e6, "256 KiB,1 MiB,4 MiB,16 MiB,64 MiB"},
	}
	for _, tt := range tests {
		sep := ","
		if tt.name == "n" {
			sep = " "
		}
		if got := strings.Join(labels(tt.ticker.Ticks(tt.lo, tt.hi)), sep); got != tt.want {
			t.Errorf("%s ticks on [%g, %g] = %q, want %q", tt.name, tt.lo, tt.hi, got, tt.want)
		}
	}
}
