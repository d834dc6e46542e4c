package sampler

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randLogits(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 3)
	}
	return x
}

func TestGreedyFirstMaximum(t *testing.T) {
	x := []float32{1, 5, 2, 5, -1}
	if got := New(Params{}).Sample(x, nil); got != 1 {
		t.Fatalf("greedy = %d, want 1 (first maximum)", got)
	}
}

func TestSameSeedSameTokens(t *testing.T) {
	x := randLogits(1000, 7)
	p := Params{Temperature: 0.9, TopK: 50, TopP: 0.9, MinP: 0.02, RepeatPenalty: 1.1, Seed: 42}
	a, b := New(p), New(p)
	var hist []int32
	for i := 0; i < 200; i++ {
		ta, tb := a.Sample(x, hist), b.Sample(x, hist)
		if ta != tb {
			t.Fatalf("step %d: %d != %d with the same seed", i, ta, tb)
		}
		hist = append(hist, ta)
	}
	p.Seed = 43
	c := New(p)
	differ := false
	hist = hist[:0]
	a = New(Params{Temperature: 0.9, TopK: 50, TopP: 0.9, MinP: 0.02, RepeatPenalty: 1.1, Seed: 42})
	for i := 0; i < 200; i++ {
		ta, tc := a.Sample(x, hist), c.Sample(x, hist)
		differ = differ || ta != tc
		hist = append(hist, ta)
	}
	if !differ {
		t.Fatal("seeds 42 and 43 drew the same 200 tokens")
	}
}

// TestTopKKeepsOnlyK draws many times and checks every token is among the k best.
func TestFilters(t *testing.T) {
	x := randLogits(500, 3)
	order := make([]int32, len(x))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return before(candidate{id: a, logit: x[a]}, candidate{id: b, logit: x[b]}) })
	rank := map[int32]int{}
	for r, id := range order {
		rank[id] = r
	}
	// probabilities at temperature 1
	mx := x[order[0]]
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v - mx))
	}
	prob := func(id int32) float64 { return math.Exp(float64(x[id]-mx)) / sum }

	for _, c := range []struct {
		name string
		p    Params
		ok   func(id int32) bool
	}{
		{"top-k=5", Params{Temperature: 1, TopK: 5, TopP: 1}, func(id int32) bool { return rank[id] < 5 }},
		{"min-p=0.3", Params{Temperature: 1, TopP: 1, MinP: 0.3}, func(id int32) bool { return prob(id) >= 0.3*prob(order[0])-1e-7 }},
		{"top-p=0.5", Params{Temperature: 1, TopP: 0.5}, func(id int32) bool {
			var cum float64
			for _, o := range order[:rank[id]] {
				cum += prob(o)
			}
			return cum < 0.5+1e-6 // the mass before id had not yet reached p
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := New(c.p)
			seen := map[int32]bool{}
			for i := 0; i < 2000; i++ {
				id := s.Sample(x, nil)
				if !c.ok(id) {
					t.Fatalf("drew token %d (rank %d, p %.4f), outside the filter", id, rank[id], prob(id))
				}
				seen[id] = true
			}
			if len(seen) < 2 {
				t.Fatalf("only %d distinct tokens in 2000 draws", len(seen))
			}
		})
	}
}

func TestRepeatPenalty(t *testing.T) {
	x := []float32{2, 1.9, -1, -1.05}
	// Greedy with penalty 1.2: token 0 (2/1.2 = 1.67) loses to token 1.
	s := New(Params{RepeatPenalty: 1.2})
	if got := s.Sample(x, []int32{0}); got != 1 {
		t.Fatalf("penalised greedy = %d, want 1", got)
	}
	if got := s.Sample(x, nil); got != 0 {
		t.Fatalf("no history: %d, want 0", got)
	}
	// Negative logits are multiplied: -1 * 1.2 = -1.2 < -1.05.
	y := []float32{-1, -1.05}
	if got := s.Sample(y, []int32{0}); got != 1 {
		t.Fatalf("negative logit penalised = %d, want 1", got)
	}
	if x[0] != 2 {
		t.Fatal("Sample modified its input")
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		p  Params
		ok bool
	}{
		{Defaults(), true},
		{Params{TopP: 1}, true},
		{Params{Temperature: -1, TopP: 1}, false},
		{Params{TopP: 0}, false},
		{Params{TopP: 1.5}, false},
		{Params{TopP: 1, MinP: 1}, false},
		{Params{TopP: 1, TopK: -2}, false},
		{Params{TopP: 1, RepeatPenalty: -1}, false},
		{Params{TopP: 1, RepeatPenalty: float32(math.NaN())}, false},
	} {
		if err := c.p.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: err = %v, want ok=%v", c.p, err, c.ok)
		}
	}
}

func TestSampleAllocatesNothing(t *testing.T) {
	x := randLogits(49152, 9)
	s := New(Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, Seed: 1})
	hist := []int32{1, 2, 3}
	s.Sample(x, hist) // warm up buffers
	if n := testing.AllocsPerRun(20, func() { s.Sample(x, hist) }); n != 0 {
		t.Fatalf("Sample allocates %v times per call", n)
	}
}

func BenchmarkSample(b *testing.B) {
	x := randLogits(49152, 9)
	s := New(Defaults())
	for i := 0; i < b.N; i++ {
		s.Sample(x, nil)
	}
}

// TestTopKMatchesFullSort: the heap's k tokens are the first k of every
// token sorted by before (logit descending, lower id first on ties), also
// when many logits tie at the cut.
func TestTopKMatchesFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 1 + rng.IntN(300)
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.IntN(8)) - 4 // few values: ties everywhere
		}
		k := 1 + rng.IntN(n)
		s := New(Defaults())
		got := slices.Clone(s.topK(x, k))
		slices.SortFunc(got, before)
		all := make([]candidate, n)
		for i, l := range x {
			all[i] = candidate{id: int32(i), logit: l}
		}
		slices.SortFunc(all, before)
		if !slices.Equal(got, all[:k]) {
			t.Fatalf("trial %d (n=%d, k=%d): heap kept %v, want %v", trial, n, k, got, all[:k])
		}
	}
}

// TestSampleTopKMatchesSample: given the top k logits in any order (as a
// GPU's TopK returns them), SampleTopK draws the token Sample draws from
// all the logits, draw after draw, for several parameter sets and logits
// with many ties.
func TestSampleTopKMatchesSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const n = 3000
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.IntN(60)) / 8 // ties everywhere
	}
	for _, p := range []Params{
		Defaults(),
		{Temperature: 1, TopK: 1, TopP: 1, Seed: 5},
		{Temperature: 0.5, TopK: 7, TopP: 0.9, Seed: 6},
		{Temperature: 1.5, TopK: 256, TopP: 1, MinP: 0.1, Seed: 7},
	} {
		full, top := New(p), New(p)
		ids := make([]int32, n)
		for i := range ids {
			ids[i] = int32(i)
		}
		// the k best by (logit desc, id asc), then shuffled
		slices.SortFunc(ids, func(a, b int32) int { return before(candidate{id: a, logit: x[a]}, candidate{id: b, logit: x[b]}) })
		k := ids[:p.TopK]
		rng.Shuffle(len(k), func(i, j int) { k[i], k[j] = k[j], k[i] })
		vals := make([]float32, len(k))
		for i, id := range k {
			vals[i] = x[id]
		}
		for d := 0; d < 200; d++ {
			want := full.Sample(x, nil)
			if got := top.SampleTopK(k, vals); got != want {
				t.Fatalf("%+v: draw %d: SampleTopK %d, Sample %d", p, d, got, want)
			}
		}
	}
}
