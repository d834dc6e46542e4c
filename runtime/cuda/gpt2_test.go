package cuda

import (
	"math"
	"path/filepath"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/model"
	"gpurun/runtime/sampler"
)

// gpt2Prompts are prompts of runtime/engine/testdata/gpt2_tiny_llamacpp.json
// ("hello" and "code"), as llama.cpp tokenized them.
var gpt2Prompts = [][]int32{
	{39, 695, 78, 11, 616, 466, 70, 318, 269, 315, 68},
	{67, 891, 751, 7, 64, 11, 275, 8, 25, 198, 220, 220, 220, 1005, 700, 257, 220, 10, 275, 198},
}

// decodeGreedy feeds prompts one token per forward pass, all sequences
// together (one one-token segment each, as the server's scheduler decodes),
// then continues each for n tokens: greedily, or with force[i] when force
// is not nil (teacher forcing); it returns the continuations and every
// step's logits, per sequence.
func decodeGreedy(tb testing.TB, m model.Model, prompts [][]int32, n int, force [][]int32) ([][]int32, [][][]float32) {
	tb.Helper()
	b, vocab := m.Backend(), m.Config().Vocab
	segs := make([]model.Segment, len(prompts))
	for i, p := range prompts {
		c, err := m.NewCache(len(p)+n, backend.F32)
		if err != nil {
			tb.Fatal(err)
		}
		segs[i].Cache = c
	}
	out := make([][]int32, len(prompts))
	logits := make([][][]float32, len(prompts))
	next := make([]int32, len(prompts))
	active := make([]model.Segment, 0, len(prompts))
	idx := make([]int, 0, len(prompts))
	for step := 0; ; step++ {
		// sequences still in their prompt feed it; the others their last token
		active, idx = active[:0], idx[:0]
		for i, p := range prompts {
			switch {
			case step < len(p):
				segs[i].Tokens = p[step : step+1]
			case len(out[i]) < n:
				tok := next[i]
				if force != nil {
					tok = force[i][len(out[i])]
				}
				segs[i].Tokens = []int32{tok}
				out[i] = append(out[i], tok)
			default:
				continue
			}
			active = append(active, segs[i])
			idx = append(idx, i)
		}
		if len(active) == 0 {
			return out, logits
		}
		l, err := m.Forward(active)
		if err != nil {
			tb.Fatal(err)
		}
		for j, i := range idx {
			row := make([]float32, vocab)
			if err := b.Read(row, l.Slice(j*vocab, vocab)); err != nil {
				tb.Fatal(err)
			}
			next[i] = sampler.Argmax(row)
			logits[i] = append(logits[i], row)
		}
	}
}

// gpt2VersusCPU runs the tiny GPT-2 of runtime/engine/testdata (whose CPU
// logits equal llama.cpp's bit for bit) on the CUDA backend over dev and on
// the CPU: the gpt2 path end to end (two embedding gathers, LayerNorm with
// bias, the split QKV projection with biases, GELU).
//
//   - Decoding (prompts fed token by token, the sequences batched as the
//     server batches them, on the CPU's tokens): the same greedy tokens
//     except at near ties, and logits within float-ordering noise of the
//     CPU's. The matrix-vector kernels quantize
//     x with the CPU's scales and GELU rounds as on the CPU, so little but
//     the order of float sums differs. Each sequence decoded alone gets the
//     same logits bit for bit.
//   - Prefill (a whole prompt per pass): the logits after the prompt as
//     near the CPU's, the products being the same matrix-vector kernels in
//     tiles of rows. (With Options.GEMMPrefill, f16 tensor-core products,
//     this random-weight model's logits move by NMSE ~2e-4.)
func gpt2VersusCPU(t *testing.T, dev Device, n int) {
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	mc, mg := twinModels(t, filepath.Join(root, "runtime/engine/testdata/gpt2-tiny.gguf"), dev,
		Options{AttnSplitKeys: 32}, model.Options{MaxBatch: 32, MaxSeqs: len(gpt2Prompts)})

	// CUDA on the CPU's tokens (teacher forcing: one flipped token would
	// make the rest incomparable).
	wantTok, wantLogits := decodeGreedy(t, mc, gpt2Prompts, n, nil)
	_, gotLogits := decodeGreedy(t, mg, gpt2Prompts, n, wantTok)
	// Most rows differ only by the order of float sums (NMSE ~1e-14). Where
	// that flips the int8 rounding of one element of x in a product, a row
	// moves by more (NMSE ~1e-4), without accumulating. The greedy token
	// may differ only where the CPU's top two logits are within 0.25.
	rowsN, exact, same, worst := 0, 0, 0, 0.0
	for i := range wantLogits {
		for s := range wantLogits[i] {
			w, g := wantLogits[i][s], gotLogits[i][s]
			e := backendtest.NMSE(w, g)
			rowsN++
			if e <= 1e-10 {
				exact++
			}
			worst = max(worst, e)
			a, b := sampler.Argmax(w), sampler.Argmax(g)
			if a == b {
				same++
			} else if gap := backendtest.TopGap(w); gap >= 0.25 {
				t.Errorf("prompt %d, step %d: CUDA's greedy token %d, the CPU's %d, which leads by %.3f", i, s, b, a, gap)
			}
		}
	}
	if worst > 5e-4 || exact < rowsN/2 {
		t.Errorf("decoding: logits NMSE against the CPU's up to %.3g (want <= 5e-4), %d of %d rows within 1e-10 (want >= 1/2)",
			worst, exact, rowsN)
	}
	t.Logf("decoding: %d of %d greedy tokens equal the CPU's; %d of %d logit rows within NMSE 1e-10, worst %.3g",
		same, rowsN, exact, rowsN, worst)

	// Batching changes nothing: each sequence decoded alone gets, bit for
	// bit, the logits it got decoded with the others (the matrix-vector
	// kernels compute each row on its own up to MatVecMaxT rows).
	for i, p := range gpt2Prompts {
		_, alone := decodeGreedy(t, mg, [][]int32{p}, n, [][]int32{wantTok[i]})
		for s := range alone[0] {
			for v := range alone[0][s] {
				if math.Float32bits(alone[0][s][v]) != math.Float32bits(gotLogits[i][s][v]) {
					t.Fatalf("prompt %d, step %d: logit %d alone %v, batched %v", i, s, v, alone[0][s][v], gotLogits[i][s][v])
				}
			}
		}
	}

	for i, p := range gpt2Prompts {
		logits := func(m model.Model) []float32 {
			c, err := m.NewCache(len(p), backend.F32)
			if err != nil {
				t.Fatal(err)
			}
			l, err := m.Forward([]model.Segment{{Cache: c, Tokens: p}})
			if err != nil {
				t.Fatal(err)
			}
			row := make([]float32, m.Config().Vocab)
			if err := m.Backend().Read(row, l); err != nil {
				t.Fatal(err)
			}
			return row
		}
		want, got := logits(mc), logits(mg)
		e := backendtest.NMSE(want, got)
		if e > 5e-4 {
			t.Errorf("prefill of prompt %d: logits NMSE %.3g against the CPU's, want <= 5e-4", i, e)
		}
		if sampler.Argmax(got) != sampler.Argmax(want) && backendtest.TopGap(want) >= 0.25 {
			t.Errorf("prefill of prompt %d: next token %d, CPU %d", i, sampler.Argmax(got), sampler.Argmax(want))
		}
		t.Logf("prefill of prompt %d (%d tokens): logits NMSE %.3g", i, len(p), e)
	}
}

func TestEmuGPT2(t *testing.T) { gpt2VersusCPU(t, &recorder{Device: openEmu(t)}, 32) }
