package model_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
	"gpurun/runtime/quant"
)

// tinyShape is a model small enough for a fuzz seed (a few KB).
type tinyShape struct {
	arch                             string
	layers, dim, heads, kv, ffn, voc int
	mat                              quant.Type // the matrices' type
}

// tinyModel lays out a model of shape s with deterministic weights: F32
// norms, biases and embeddings, matrices in s.mat.
func tinyModel(tb testing.TB, s tinyShape) []byte {
	tb.Helper()
	w := gguf.NewWriter()
	a := s.arch
	w.AddKV("general.architecture", a)
	w.AddKV(a+".context_length", uint32(32))
	w.AddKV(a+".embedding_length", uint32(s.dim))
	w.AddKV(a+".feed_forward_length", uint32(s.ffn))
	w.AddKV(a+".block_count", uint32(s.layers))
	w.AddKV(a+".attention.head_count", uint32(s.heads))
	if a == "gpt2" {
		w.AddKV(a+".attention.layer_norm_epsilon", float32(1e-5))
	} else {
		w.AddKV(a+".attention.head_count_kv", uint32(s.kv))
		w.AddKV(a+".rope.dimension_count", uint32(s.dim/s.heads))
		w.AddKV(a+".attention.layer_norm_rms_epsilon", float32(1e-5))
	}
	seed := uint32(1)
	f32 := func(n int) []byte {
		b := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			seed = seed*1664525 + 1013904223
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(int32(seed>>8)%1000)/4000))
		}
		return b
	}
	add := func(name string, t quant.Type, cols, rows int) {
		dims := []uint64{uint64(cols)}
		if rows > 0 {
			dims = append(dims, uint64(rows))
		} else {
			rows = 1
		}
		data := f32(cols * rows)
		if t != quant.F32 {
			x := make([]float32, cols*rows)
			for i := range x {
				x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			}
			rb, err := t.RowSize(cols)
			if err != nil {
				tb.Fatal(err)
			}
			data = make([]byte, rb*rows)
			for r := 0; r < rows; r++ {
				if err := quant.QuantizeRow(t, x[r*cols:(r+1)*cols], data[r*rb:(r+1)*rb]); err != nil {
					tb.Fatal(err)
				}
			}
		}
		if err := w.AddTensor(name, t, dims, data); err != nil {
			tb.Fatal(err)
		}
	}
	d, hd := s.dim, s.dim/s.heads
	add("token_embd.weight", quant.F32, d, s.voc)
	if a == "gpt2" {
		add("position_embd.weight", quant.F32, d, 32)
		add("output_norm.bias", quant.F32, d, 0)
	}
	add("output_norm.weight", quant.F32, d, 0)
	for l := 0; l < s.layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", quant.F32, d, 0)
		add(p+"ffn_norm.weight", quant.F32, d, 0)
		add(p+"attn_output.weight", s.mat, s.heads*hd, d)
		add(p+"ffn_up.weight", s.mat, d, s.ffn)
		add(p+"ffn_down.weight", s.mat, s.ffn, d)
		if a == "gpt2" {
			add(p+"attn_norm.bias", quant.F32, d, 0)
			add(p+"ffn_norm.bias", quant.F32, d, 0)
			add(p+"attn_qkv.weight", s.mat, d, 3*d)
			add(p+"attn_qkv.bias", quant.F32, 3*d, 0)
			add(p+"attn_output.bias", quant.F32, d, 0)
			add(p+"ffn_up.bias", quant.F32, s.ffn, 0)
			add(p+"ffn_down.bias", quant.F32, d, 0)
			continue
		}
		add(p+"attn_q.weight", s.mat, d, s.heads*hd)
		add(p+"attn_k.weight", s.mat, d, s.kv*hd)
		add(p+"attn_v.weight", s.mat, d, s.kv*hd)
		add(p+"ffn_gate.weight", s.mat, d, s.ffn)
	}
	return w.Bytes()
}

// FuzzLoad: a damaged model file (metadata values, tensor names, types and
// shapes) is refused by Load, or by NewCache or Forward, with a one-line
// error, or runs a short prompt and a decode step; nothing panics or asks
// for memory the file's sizes do not justify.
func FuzzLoad(f *testing.F) {
	seeds := []tinyShape{
		{"llama", 2, 32, 2, 1, 64, 8, quant.Q8_0},
		{"qwen2", 1, 32, 4, 2, 32, 6, quant.F32},
		{"gpt2", 1, 32, 2, 2, 64, 8, quant.Q8_0},
	}
	for _, s := range seeds {
		b := tinyModel(f, s)
		if _, err := load(b); err != nil {
			f.Fatalf("seed %s does not run: %v", s.arch, err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := load(b); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("error of more than one line: %q", err)
		}
	})
}

// load parses b, loads the model on one CPU thread and runs a prompt of
// three tokens and one decode step; it returns the last logits.
func load(b []byte) ([]float32, error) {
	g, err := gguf.Parse(b)
	if err != nil {
		return nil, err
	}
	be, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	defer be.Close()
	m, err := model.Load(g, be, model.Options{MaxBatch: 4})
	if err != nil {
		return nil, err
	}
	c, err := m.NewCache(8, backend.F32)
	if err != nil {
		return nil, err
	}
	voc := int32(m.Config().Vocab)
	if _, err := m.Forward([]model.Segment{{Cache: c, Tokens: []int32{0, 1 % voc, voc - 1}}}); err != nil {
		return nil, err
	}
	out, err := m.Forward([]model.Segment{{Cache: c, Tokens: []int32{2 % voc}}})
	if err != nil {
		return nil, err
	}
	logits := make([]float32, voc)
	return logits, be.Read(logits, out)
}
