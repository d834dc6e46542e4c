package cuda

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"gpurun/runtime/backend"
	"gpurun/runtime/backend/backendtest"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
	"gpurun/runtime/quant"
)

// The host side of a decode step: what the Go runtime does per token before
// the GPU sees one graph launch (building the launch queue, packing
// arguments, comparing it with the last token's graph). On the GPU this
// time is not hidden: the next token's launches are built only after the
// argmax of this one is back. These tests run the real model code
// (runtime/model) on a device that does nothing, so they measure the host
// alone and count what a CUDA graph replay would have to update.

// nullDevice hands out addresses without memory and ignores launches. As a
// Batcher it keeps the last batch of each topology, like the graph cache in
// graph_cu.go, and counts the nodes whose grid or arguments changed.
type nullDevice struct {
	next     uintptr
	graphs   [][]Launch
	batches  int
	launches int
	updated  int // nodes a replay would update (cuGraphExecKernelNodeSetParams)
	built    int // batches of a new topology (a graph build)
}

func (d *nullDevice) Name() string { return "null" }
func (d *nullDevice) Alloc(n int) (uintptr, error) {
	d.next += uintptr(alignUp(n)) + 4096
	return d.next, nil
}
func (d *nullDevice) Free(uintptr) error                   { return nil }
func (d *nullDevice) Memset(uintptr, byte, int) error      { return nil }
func (d *nullDevice) CopyHtoD(uintptr, []byte) error       { return nil }
func (d *nullDevice) CopyDtoD(uintptr, uintptr, int) error { return nil }
func (d *nullDevice) CopyDtoH(dst []byte, _ uintptr) error {
	clear(dst)
	return nil
}
func (d *nullDevice) Launch(string, [3]uint32, [3]uint32, int, []unsafe.Pointer) error {
	d.launches++
	return nil
}
func (d *nullDevice) Limits(string) (int, int, error) { return 1024, 48 << 10, nil }
func (d *nullDevice) Synchronize() error              { return nil }
func (d *nullDevice) Close() error                    { return nil }

func (d *nullDevice) RunBatch(ls []Launch) error {
	d.batches++
	d.launches += len(ls)
	for _, g := range d.graphs {
		if sameTopology(g, ls) {
			for i := range ls {
				if ls[i].Grid != g[i].Grid || !slices.Equal(ls[i].Args, g[i].Args) {
					d.updated++
					g[i].Grid = ls[i].Grid
					g[i].Args = append(g[i].Args[:0], ls[i].Args...)
				}
			}
			return nil
		}
	}
	d.built++
	g := make([]Launch, len(ls))
	for i, l := range ls {
		g[i] = l
		g[i].Args = slices.Clone(l.Args)
	}
	d.graphs = append(d.graphs, g)
	return nil
}

// zeroModel writes a llama GGUF of the given shape whose weights are all
// zero bytes (the null device never reads them) and parses it.
func zeroModel(tb testing.TB, layers, dim, heads, kvHeads, ffn, vocab int, wt quant.Type) *gguf.File {
	tb.Helper()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	w.AddKV("llama.context_length", uint32(4096))
	w.AddKV("llama.embedding_length", uint32(dim))
	w.AddKV("llama.feed_forward_length", uint32(ffn))
	w.AddKV("llama.block_count", uint32(layers))
	w.AddKV("llama.attention.head_count", uint32(heads))
	w.AddKV("llama.attention.head_count_kv", uint32(kvHeads))
	w.AddKV("llama.rope.freq_base", float32(10000))
	w.AddKV("llama.rope.dimension_count", uint32(dim/heads))
	w.AddKV("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	hd := dim / heads
	zeros := func(n int64) func(io.Writer) error {
		return func(out io.Writer) error {
			_, err := io.CopyN(out, zeroReader{}, n)
			return err
		}
	}
	mat := func(name string, rows, cols int) {
		n := int64(rows) * int64(cols) / int64(wt.BlockSize()) * int64(wt.TypeSize())
		if err := w.AddTensorFunc(name, wt, []uint64{uint64(cols), uint64(rows)}, zeros(n)); err != nil {
			tb.Fatal(err)
		}
	}
	vec := func(name string) {
		if err := w.AddTensorFunc(name, quant.F32, []uint64{uint64(dim)}, zeros(int64(4*dim))); err != nil {
			tb.Fatal(err)
		}
	}
	mat("token_embd.weight", vocab, dim)
	vec("output_norm.weight")
	for l := 0; l < layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		vec(p + "attn_norm.weight")
		mat(p+"attn_q.weight", heads*hd, dim)
		mat(p+"attn_k.weight", kvHeads*hd, dim)
		mat(p+"attn_v.weight", kvHeads*hd, dim)
		mat(p+"attn_output.weight", dim, heads*hd)
		vec(p + "ffn_norm.weight")
		mat(p+"ffn_gate.weight", ffn, dim)
		mat(p+"ffn_up.weight", ffn, dim)
		mat(p+"ffn_down.weight", dim, ffn)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// hostDecoder is a model on the null device with one sequence's cache.
type hostDecoder struct {
	dev   *nullDevice
	b     *Backend
	m     model.Model
	segs  []model.Segment
	token [1]int32
}

func newHostDecoder(tb testing.TB, f *gguf.File, ctx int) *hostDecoder {
	tb.Helper()
	dev := &nullDevice{}
	b, err := New(dev, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := model.Load(f, b, model.Options{MaxBatch: 64})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := m.NewCache(ctx, backend.F16)
	if err != nil {
		tb.Fatal(err)
	}
	h := &hostDecoder{dev: dev, b: b, m: m}
	h.segs = []model.Segment{{Cache: c, Tokens: h.token[:]}}
	return h
}

// step runs one decode step: forward one token, greedy argmax.
func (h *hostDecoder) step(tb testing.TB) {
	if h.segs[0].Cache.Free() == 0 {
		h.segs[0].Cache.Reset()
	}
	logits, err := h.m.Forward(h.segs)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := h.b.Argmax(logits, h.m.Config().Vocab)
	if err != nil {
		tb.Fatal(err)
	}
	h.token[0] = id
}

// TestDecodeLaunches pins the number of kernels in a decode step of the
// llama forward on CUDA, and the graph nodes a replay updates: the launch
// count is what bounds tokens/s for small models on a big GPU.
func TestDecodeLaunches(t *testing.T) {
	const layers = 4
	h := newHostDecoder(t, zeroModel(t, layers, 256, 4, 2, 512, 1000, quant.Q4_1), 512)
	for range 3 { // warm up: the first steps build the graph
		h.step(t)
	}
	d := h.dev
	b0, l0, u0 := d.batches, d.launches, d.updated
	const steps = 10
	for i := range steps {
		h.step(t)
		h.token[0] = int32(7 + i) // the zero model's argmax is always 0: vary the token as real decoding does
	}
	batches, launches, updated := d.batches-b0, d.launches-l0, d.updated-u0
	perStep, updPerStep := float64(launches)/steps, float64(updated)/steps
	t.Logf("%d layers: %.1f launches per token in %d batches, %.1f graph nodes updated per token", layers, perStep, batches, updPerStep)
	if batches != steps {
		t.Errorf("%d batches for %d tokens; want one graph per token", batches, steps)
	}
	// embed; per layer: norm+qkv, rope+store, attention, output projection
	// +add, norm+gate/up, down+add; then norm+logits, argmax.
	if want := 1 + 6*layers + 2; perStep != float64(want) {
		t.Errorf("%.1f launches per token, want %d", perStep, want)
	}
	// token ids and positions reach the kernels through device memory
	if updated != 0 {
		t.Errorf("%d graph nodes updated over %d tokens, want none", updated, steps)
	}
}

// BenchmarkHostDecode: host time and allocations per decode token of a
// SmolLM2-135M-shaped model on the CUDA backend (the GPU's time excluded).
func BenchmarkHostDecode(b *testing.B) {
	f := zeroModel(b, 30, 576, 9, 3, 1536, 49152, quant.Q4_1)
	h := newHostDecoder(b, f, 4096)
	for range 3 {
		h.step(b)
	}
	d := h.dev
	l0, u0 := d.launches, d.updated
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.step(b)
	}
	b.ReportMetric(float64(d.launches-l0)/float64(b.N), "launches/token")
	b.ReportMetric(float64(d.updated-u0)/float64(b.N), "updates/token")
}

// TestDecodeAllocatesNothing: a decode step on the CUDA backend (the model's
// forward pass, every launcher, the queue, the argmax read-back) makes no
// heap allocation once warm.
func TestDecodeAllocatesNothing(t *testing.T) {
	h := newHostDecoder(t, zeroModel(t, 2, 256, 4, 2, 512, 1000, quant.Q4_1), 512)
	for range 3 {
		h.step(t)
	}
	if n := testing.AllocsPerRun(20, func() { h.step(t) }); n != 0 {
		t.Errorf("%.1f allocations per decode step, want 0", n)
	}
}

// TestStepScalarsOverflow: more distinct step values than one batch has
// slots (token ids of 100 single-token embeds queued without a sync) flush
// part of the batch and start the slots over; every embed still reads its
// own id.
func TestStepScalarsOverflow(t *testing.T) {
	const vocab = 120
	embedRows(t, Options{}, vocab, 64, 100, func(i int) int32 { return int32(vocab - 1 - i) })
}

// TestRingWraps: without graphs every token id is an upload to the ring; past
// its end the ring synchronizes and starts over, and no launch reads a slot
// that a later upload overwrote.
func TestRingWraps(t *testing.T) {
	const n = 4500
	b := embedRows(t, Options{NoGraphs: true}, 120, 32, n, func(i int) int32 { return int32((i * 7) % 120) })
	if n*alignUp(4) <= b.ring.size {
		t.Fatalf("%d uploads fit the %d-byte ring: the test does not wrap it", n, b.ring.size)
	}
}

// embedRows embeds rows i < n of a random Q8_0 table [vocab, dim], token id(i)
// each, with one single-token Embed call per row on an emulated backend with
// opts, and checks every row against the table's dequantized row. It
// returns the backend (closed when the test ends).
func embedRows(t *testing.T, opts Options, vocab, dim, n int, id func(int) int32) *Backend {
	t.Helper()
	b, err := New(&recorder{Device: openEmu(t)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	tt, err := backendtest.Tensor("table", quant.Q8_0, vocab, dim, 5)
	if err != nil {
		t.Fatal(err)
	}
	table, err := b.LoadWeight(tt)
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.NewBuffer(backend.F32, n*dim)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		b.Embed(out.Slice(i*dim, dim), table, []int32{id(i)})
	}
	got := make([]float32, n*dim)
	if err := b.Read(got, out); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, dim)
	rb := dim / 32 * 34 // bytes of a Q8_0 row
	for i := range n {
		if err := quant.DequantizeRow(quant.Q8_0, tt.Data[int(id(i))*rb:][:rb], want); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[i*dim:(i+1)*dim], want) {
			t.Fatalf("embed %d (id %d) read another row", i, id(i))
		}
	}
	return b
}

// TestGPT2DecodeLaunches pins the kernels of a gpt2 decode step (the tiny
// GPT-2 of runtime/engine/testdata): LayerNorms, biases, GELU and residual
// adds folded into the matrix-vector kernels, no graph node updates, no
// allocation.
func TestGPT2DecodeLaunches(t *testing.T) {
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(filepath.Join(root, "runtime/engine/testdata/gpt2-tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newHostDecoder(t, f, 256)
	for range 3 {
		h.step(t)
	}
	d := h.dev
	l0, u0 := d.launches, d.updated
	const steps = 10
	for range steps {
		h.step(t)
	}
	layers := h.m.Config().Layers
	perStep := float64(d.launches-l0) / steps
	t.Logf("%d layers: %.1f launches per token", layers, perStep)
	// token and position embeddings, their add; per layer: layernorm+qkv
	// +biases, store, attention, output projection+bias+add, layernorm+up
	// +bias+gelu, down+bias+add; then layernorm+logits, argmax.
	if want := 3 + 6*layers + 2; perStep != float64(want) {
		t.Errorf("%.1f launches per token, want %d", perStep, want)
	}
	if u := d.updated - u0; u != 0 {
		t.Errorf("%d graph nodes updated over %d tokens, want none", u, steps)
	}
	if n := testing.AllocsPerRun(20, func() { h.step(t) }); n != 0 {
		t.Errorf("%.1f allocations per decode step, want 0", n)
	}
}
