package attention

import (
	"math"
	"slices"
	"testing"
)

func TestCostOf(t *testing.T) {
	tests := []struct {
		name              string
		m                 Method
		n, kvElem         int
		flops, bytes, mem float64
		window            int // Shape.Window (the -window methods)
	}{
		// naive: 4·n²·D·H; H·(4nD + 4n²)·4; (2H+2KVH)·n·D·4 + n²·4
		{"naive n=1", Naive, 1, 4, 4 * 64 * 9, 9 * (4*64 + 4) * 4, 24*64*4 + 4, 0},
		{"naive n=128", Naive, 128, 4, 4 * 128 * 128 * 64 * 9, 9 * (4*128*64 + 4*128*128) * 4, 24*128*64*4 + 128*128*4, 0},
		// fused: 4·D·n(n+1)/2·H; 2·n·H·D·4 + 2·n·KVH·D·kvElem; memory the same
		{"fused n=128 f32", Fused, 128, 4, 2 * 64 * 128 * 129 * 9, 2*128*576*4 + 2*128*192*4, 2*128*576*4 + 2*128*192*4, 0},
		{"fused n=128 f16", Fused, 128, 2, 2 * 64 * 128 * 129 * 9, 2*128*576*4 + 2*128*192*2, 2*128*576*4 + 2*128*192*2, 0},
		// decode-cache: 4·D·n·H; q,o row + K,V of n rows + one K,V row in (f32) and out (kvElem)
		{"decode-cache n=4096", DecodeCache, 4096, 4, 4 * 64 * 4096 * 9, 2*576*4 + 2*4096*192*4 + 2*192*(4+4), 2*576*4 + 2*192*4 + 2*4096*192*4, 0},
		{"decode-cache f16", DecodeCache, 10, 2, 4 * 64 * 10 * 9, 2*576*4 + 2*10*192*2 + 2*192*(4+2), 2*576*4 + 2*192*4 + 2*10*192*2, 0},
		// decode-nocache: fused FLOPs; StoreKV of n rows (f32 in, kvElem out) + fused bytes
		{"decode-nocache n=128", DecodeNoCache, 128, 2, 2 * 64 * 128 * 129 * 9,
			2*128*192*4 + 2*128*192*2 + 2*128*576*4 + 2*128*192*2, 2*128*576*4 + 2*128*192*4 + 2*128*192*2, 0},
		// with a window W the pairs are n(n+1)/2 up to n = W, then
		// W(W+1)/2 + (n-W)·W; a decode step reads min(n, W) rows
		{"fused-window n=64 (inside)", FusedWindow, 64, 4, 2 * 64 * 64 * 65 * 9, 2*64*576*4 + 2*64*192*4, 2*64*576*4 + 2*64*192*4, 100},
		{"fused-window n=1000", FusedWindow, 1000, 2, 4 * 64 * (100*101/2 + 900*100) * 9, 2*1000*576*4 + 2*1000*192*2, 2*1000*576*4 + 2*1000*192*2, 100},
		{"decode-window n=64", DecodeWindow, 64, 4, 4 * 64 * 64 * 9, 2*576*4 + 2*64*192*4 + 2*192*(4+4), 2*576*4 + 2*192*4 + 2*64*192*4, 100},
		{"decode-window n=4096", DecodeWindow, 4096, 2, 4 * 64 * 100 * 9, 2*576*4 + 2*100*192*2 + 2*192*(4+2), 2*576*4 + 2*192*4 + 2*4096*192*2, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := SmolLM2 // H=9, KVH=3, D=64
			s.Window = tt.window
			c, err := CostOf(tt.m, s, tt.n, tt.kvElem)
			if err != nil {
				t.Fatal(err)
			}
			if c.FLOPs != tt.flops || c.Bytes != tt.bytes || c.Memory != tt.mem {
				t.Errorf("CostOf = %+v, want FLOPs %g, bytes %g, memory %g", c, tt.flops, tt.bytes, tt.mem)
			}
		})
	}
}

// The formulas' growth is what the study's claims rest on: quadratic FLOPs
// for a prompt, linear for a cached decode step, and memory quadratic only
// for the naive method.
func TestCostGrowth(t *testing.T) {
	s := SmolLM2
	s.Window = 4096
	ratio := func(m Method, field func(Cost) float64) float64 {
		a, _ := CostOf(m, s, 1<<20, 4)
		b, _ := CostOf(m, s, 1<<21, 4)
		return math.Log2(field(b) / field(a))
	}
	flops := func(c Cost) float64 { return c.FLOPs }
	mem := func(c Cost) float64 { return c.Memory }
	tests := []struct {
		name  string
		m     Method
		field func(Cost) float64
		k     float64
	}{
		{"naive flops", Naive, flops, 2},
		{"fused flops", Fused, flops, 2},
		{"decode-cache flops", DecodeCache, flops, 1},
		{"decode-nocache flops", DecodeNoCache, flops, 2},
		{"fused-window flops", FusedWindow, flops, 1},
		{"decode-window flops", DecodeWindow, flops, 0},
		{"naive memory", Naive, mem, 2},
		{"fused memory", Fused, mem, 1},
		{"decode-cache memory", DecodeCache, mem, 1},
		{"decode-nocache memory", DecodeNoCache, mem, 1},
	}
	for _, tt := range tests {
		if got := ratio(tt.m, tt.field); math.Abs(got-tt.k) > 0.02 {
			t.Errorf("%s: doubling n multiplies by 2^%.3f, want 2^%g", tt.name, got, tt.k)
		}
	}
}

func TestCostOfErrors(t *testing.T) {
	tests := []struct {
		name      string
		m         Method
		n, kvElem int
	}{
		{"n=0", Fused, 0, 4},
		{"bad element", Fused, 8, 3},
		{"unknown method", Method("flash3"), 8, 4},
	}
	for _, tt := range tests {
		if _, err := CostOf(tt.m, SmolLM2, tt.n, tt.kvElem); err == nil {
			t.Errorf("%s: CostOf returned no error", tt.name)
		}
	}
}

func TestShapeValidate(t *testing.T) {
	tests := []struct {
		s  Shape
		ok bool
	}{
		{SmolLM2, true},
		{Shape{Heads: 32, KVHeads: 8, HeadDim: 128}, true},
		{Shape{Heads: 4, KVHeads: 1, HeadDim: 256, Window: 512}, true},
		{Shape{Heads: 9, KVHeads: 2, HeadDim: 64}, false},
		{Shape{Heads: 0, KVHeads: 1, HeadDim: 64}, false},
		{Shape{Heads: 4, KVHeads: 4, HeadDim: 0}, false},
		{Shape{Heads: 4, KVHeads: 4, HeadDim: 64, Window: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.s.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.s, err, tt.ok)
		}
	}
}

func TestLengths(t *testing.T) {
	tests := []struct {
		lo, hi int
		want   []int
		ok     bool
	}{
		{128, 4096, []int{128, 256, 512, 1024, 2048, 4096}, true},
		{128, 128, []int{128}, true},
		{100, 1000, []int{128, 256, 512, 1000}, true},
		{1, 4, []int{1, 2, 4}, true},
		{0, 4, nil, false},
		{64, 32, nil, false},
	}
	for _, tt := range tests {
		got, err := Lengths(tt.lo, tt.hi)
		if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("Lengths(%d, %d) = %v, %v; want %v (ok=%v)", tt.lo, tt.hi, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseMethod(t *testing.T) {
	for _, m := range Methods {
		got, err := ParseMethod(string(m))
		if err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %q, %v", m, got, err)
		}
		if Definition(m) == "" {
			t.Errorf("method %q has no definition", m)
		}
	}
	if _, err := ParseMethod("flash"); err == nil {
		t.Error("ParseMethod accepted an unknown method")
	}
}
