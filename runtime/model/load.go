package model

import (
	"fmt"
	"reflect"
	"strings"

	"gpurun/runtime/backend"
	"gpurun/runtime/gguf"
	"gpurun/runtime/quant"
)

// computable are the tensor types the backends can compute with.
var computable = map[quant.Type]bool{
	quant.F32: true, quant.F16: true, quant.BF16: true,
	quant.Q4_0: true, quant.Q4_1: true, quant.Q5_0: true, quant.Q5_1: true, quant.Q8_0: true,
	quant.Q2_K: true, quant.Q3_K: true, quant.Q4_K: true, quant.Q5_K: true, quant.Q6_K: true,
}

// UnusedTensors lists, in file order, the tensors of f that m did not load:
// the names of every non-nil backend.Weight field of m, its layers included,
// are the ones used (a part of a tensor, named "tensor[q]" by loadParts,
// counts for the tensor).
func UnusedTensors(f *gguf.File, m any) []string {
	used := map[string]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Interface:
			if w, ok := v.Interface().(backend.Weight); ok && w != nil {
				name := w.Name()
				if i := strings.LastIndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
					name = name[:i]
				}
				used[name] = true
			}
		}
	}
	walk(reflect.ValueOf(m))
	var out []string
	for _, t := range f.Tensors {
		if !used[t.Name] {
			out = append(out, t.Name)
		}
	}
	return out
}

// loadWeights fills the backend.Weight fields of the struct dst points to
// from the tensors named by their `gguf:"name"` tags, prefixed with prefix
// ("blk.3." for a layer). A tag ending in ",optional" may be absent.
// Each tag also states the shape, ggml order (innermost first), in terms of
// the config: `gguf:"attn_q.weight" shape:"dim,qdim"`. A 3-D tensor (the
// stacked matrices of a layer's experts, [cols, rows, experts]) loads as one
// matrix of experts*rows rows, expert e's being rows [e*rows, (e+1)*rows).
func loadWeights(f *gguf.File, b backend.Backend, prefix string, dims map[string]int, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	ty := v.Type()
	for i := 0; i < ty.NumField(); i++ {
		field := ty.Field(i)
		tag, ok := field.Tag.Lookup("gguf")
		if !ok {
			continue
		}
		name, optional := strings.CutSuffix(tag, ",optional")
		name = prefix + name
		t := f.Tensor(name)
		if t == nil {
			if optional {
				continue
			}
			return fmt.Errorf("model: tensor %q is missing", name)
		}
		if err := checkShape(t, field.Tag.Get("shape"), dims); err != nil {
			return err
		}
		if !computable[t.Type] {
			return fmt.Errorf("model: tensor %q has type %s, which gpurun cannot compute with yet", name, t.Type)
		}
		if len(t.Dims) == 3 { // experts: [cols, rows, experts] as one matrix of experts*rows rows
			flat := *t
			flat.Dims = []uint64{t.Dims[0], t.Dims[1] * t.Dims[2]}
			t = &flat
		}
		w, err := b.LoadWeight(t)
		if err != nil {
			return fmt.Errorf("model: loading %q: %w", name, err)
		}
		v.Field(i).Set(reflect.ValueOf(w))
	}
	return nil
}

// checkShape compares a tensor's dims with a comma-separated list of names
// from dims (innermost first).
func checkShape(t *gguf.Tensor, spec string, dims map[string]int) error {
	if spec == "" {
		return nil
	}
	names := strings.Split(spec, ",")
	want := make([]uint64, len(names))
	for i, n := range names {
		d, ok := dims[n]
		if !ok {
			return fmt.Errorf("model: internal: unknown dim %q in shape of %q", n, t.Name)
		}
		want[i] = uint64(d)
	}
	got := t.Dims
	// A trailing dimension of 1 is the same shape ([576] == [576 1]).
	for len(got) > len(want) && got[len(got)-1] == 1 {
		got = got[:len(got)-1]
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("model: tensor %q has shape %v, want %v (%s)", t.Name, t.Dims, want, spec)
	}
	return nil
}
