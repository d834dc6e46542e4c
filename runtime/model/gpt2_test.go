package model_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
)

// gpt2Tiny is runtime/engine/testdata/gpt2-tiny.gguf (scripts/goldens/gpt2_tiny.py).
func gpt2Tiny(t *testing.T) *gguf.File {
	t.Helper()
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(filepath.Join(root, "runtime/engine/testdata/gpt2-tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// rewrite copies f with kv values replaced (a nil value drops the key) and
// tensors dropped or given other dims (nil: dropped); the bytes of a
// reshaped tensor are cut or zero-padded to fit.
func rewrite(t *testing.T, f *gguf.File, kv map[string]any, dims map[string][]uint64) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	for _, e := range f.KVs {
		v, ok := kv[e.Key]
		switch {
		case !ok:
			w.AddKV(e.Key, e.Value.V)
		case v != nil:
			w.AddKV(e.Key, v)
		}
	}
	for _, tn := range f.Tensors {
		d, ok := dims[tn.Name]
		if !ok {
			if err := w.AddTensor(tn.Name, tn.Type, tn.Dims, tn.Data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if d == nil {
			continue
		}
		n := uint64(1)
		for _, x := range d {
			n *= x
		}
		rb, err := tn.Type.RowSize(int(d[0]))
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, uint64(rb)*n/d[0])
		copy(data, tn.Data)
		if err := w.AddTensor(tn.Name, tn.Type, d, data); err != nil {
			t.Fatal(err)
		}
	}
	g, err := gguf.Parse(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGPT2Config(t *testing.T) {
	c, err := model.ReadConfig(gpt2Tiny(t))
	if err != nil {
		t.Fatal(err)
	}
	want := model.Config{Arch: "gpt2", Layers: 2, Dim: 128, Heads: 2, KVHeads: 2, HeadDim: 64, FFN: 512,
		CtxTrain: 256, NormEps: 1e-5, MaxPos: 256}
	if c != want {
		t.Errorf("config\n got %+v\nwant %+v", c, want)
	}
}

// TestGPT2BadFiles: a gpt2 file that cannot be run is refused at load time
// with an error that names what is wrong.
func TestGPT2BadFiles(t *testing.T) {
	f := gpt2Tiny(t)
	for _, c := range []struct {
		name string
		kv   map[string]any
		dims map[string][]uint64
		want string
	}{
		{"no qkv bias", nil, map[string][]uint64{"blk.1.attn_qkv.bias": nil}, `"blk.1.attn_qkv.bias" is missing`},
		{"no position embeddings", nil, map[string][]uint64{"position_embd.weight": nil}, `"position_embd.weight" is missing`},
		{"qkv too narrow", nil, map[string][]uint64{"blk.0.attn_qkv.weight": {128, 381}}, `"blk.0.attn_qkv.weight" has shape [128 381], want [128 384]`},
		{"positions short of the context", nil, map[string][]uint64{"position_embd.weight": {128, 200}}, `"position_embd.weight" has shape [128 200], want [128 256]`},
		{"heads do not divide dim", map[string]any{"gpt2.attention.head_count": uint32(3)}, nil, "3 heads of 42"},
		{"block count beyond the tensors", map[string]any{"gpt2.block_count": uint32(1 << 30)}, nil, "gpt2.block_count = 1073741824, but the file holds only"},
		{"no layer norm bias", nil, map[string][]uint64{"blk.0.ffn_norm.bias": nil}, `"blk.0.ffn_norm.bias" is missing`},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := rewrite(t, f, c.kv, c.dims)
			b, err := cpu.New(cpu.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			_, err = model.Load(g, b, model.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestGPT2CacheBeyondPositions: a cache longer than the learned positions is refused.
func TestGPT2CacheBeyondPositions(t *testing.T) {
	b, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := model.Load(gpt2Tiny(t), b, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewCache(256, backend.F32); err != nil {
		t.Fatalf("NewCache(256): %v", err)
	}
	var ce *model.ContextError
	if _, err := m.NewCache(257, backend.F32); !errors.As(err, &ce) {
		t.Fatalf("NewCache(257): %v, want a ContextError", err)
	}
}
