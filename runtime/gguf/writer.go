package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"gpurun/runtime/quant"
)

// Writer builds a GGUF v3 file: metadata, then tensors laid out at the
// alignment. It is used for synthetic models (benchmarks with real model
// shapes, tests) and for the fuzzer's seed corpus.
type Writer struct {
	kvs       []KV
	tensors   []writerTensor
	alignment int64
}

type writerTensor struct {
	name string
	typ  quant.Type
	dims []uint64
	data []byte // nil: size bytes of zeros (or filled by a generator)
	fill func(w io.Writer) error
	size int64
}

// NewWriter starts an empty file with the default alignment.
func NewWriter() *Writer { return &Writer{alignment: DefaultAlignment} }

// AddKV appends a metadata pair. v is a Go value of a GGUF type: uint8 ...
// float64, bool, string, or a slice of one of them ([]string, []int32, ...).
// general.alignment, when added as a uint32, also sets the data alignment.
// A value of any other Go type is a programming error and panics.
func (w *Writer) AddKV(key string, v any) {
	val := valueOf(v)
	if key == "general.alignment" {
		if a, ok := v.(uint32); ok && a > 0 {
			w.alignment = int64(a)
		}
	}
	w.kvs = append(w.kvs, KV{Key: key, Value: val})
}

// AddTensor appends a tensor with its bytes (dims innermost first).
func (w *Writer) AddTensor(name string, t quant.Type, dims []uint64, data []byte) error {
	size, err := tensorBytes(t, dims)
	if err != nil {
		return fmt.Errorf("gguf writer: tensor %q: %w", name, err)
	}
	if int64(len(data)) != size {
		return fmt.Errorf("gguf writer: tensor %q: %d bytes of data, want %d", name, len(data), size)
	}
	w.tensors = append(w.tensors, writerTensor{name: name, typ: t, dims: dims, data: data, size: size})
	return nil
}

// AddTensorFunc appends a tensor whose bytes fill writes when the file is
// written (so huge synthetic models need not sit in memory). fill must
// write exactly the tensor's size.
func (w *Writer) AddTensorFunc(name string, t quant.Type, dims []uint64, fill func(io.Writer) error) error {
	size, err := tensorBytes(t, dims)
	if err != nil {
		return fmt.Errorf("gguf writer: tensor %q: %w", name, err)
	}
	w.tensors = append(w.tensors, writerTensor{name: name, typ: t, dims: dims, fill: fill, size: size})
	return nil
}

func tensorBytes(t quant.Type, dims []uint64) (int64, error) {
	if len(dims) == 0 || len(dims) > MaxDims {
		return 0, fmt.Errorf("%d dims", len(dims))
	}
	n := uint64(1)
	for _, d := range dims[1:] {
		n *= d
	}
	row, err := t.RowSize(int(dims[0]))
	if err != nil {
		return 0, err
	}
	return int64(row) * int64(n), nil
}

// WriteTo writes the file.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(out, 1<<20)}
	le := func(v any) { binary.Write(cw, binary.LittleEndian, v) }
	str := func(s string) { le(uint64(len(s))); io.WriteString(cw, s) }
	le(uint32(Magic))
	le(uint32(3))
	le(uint64(len(w.tensors)))
	le(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		str(kv.Key)
		le(uint32(kv.Value.Type))
		writeValue(cw, kv.Value, str, le)
	}
	var off int64
	for _, t := range w.tensors {
		str(t.name)
		le(uint32(len(t.dims)))
		for _, d := range t.dims {
			le(d)
		}
		le(uint32(t.typ))
		le(uint64(off))
		off = alignUp(off+t.size, w.alignment)
	}
	pad := func() { cw.Write(make([]byte, alignUp(cw.n, w.alignment)-cw.n)) }
	pad()
	for _, t := range w.tensors {
		switch {
		case t.fill != nil:
			start := cw.n
			if err := t.fill(cw); err != nil {
				return cw.n, fmt.Errorf("gguf writer: filling %q: %w", t.name, err)
			}
			if cw.n-start != t.size {
				return cw.n, fmt.Errorf("gguf writer: filling %q wrote %d bytes, want %d", t.name, cw.n-start, t.size)
			}
		default:
			cw.Write(t.data)
		}
		pad()
	}
	if cw.err != nil {
		return cw.n, cw.err
	}
	return cw.n, cw.w.(*bufio.Writer).Flush()
}

// Bytes returns the file as a byte slice.
func (w *Writer) Bytes() []byte {
	var b byteBuffer
	w.WriteTo(&b)
	return b
}

type byteBuffer []byte

func (b *byteBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func writeValue(w io.Writer, v Value, str func(string), le func(any)) {
	switch x := v.V.(type) {
	case string:
		str(x)
	case bool:
		if x {
			le(uint8(1))
		} else {
			le(uint8(0))
		}
	case []string:
		le(uint32(TypeString))
		le(uint64(len(x)))
		for _, s := range x {
			str(s)
		}
	case []bool:
		le(uint32(TypeBool))
		le(uint64(len(x)))
		for _, b := range x {
			writeValue(w, Value{Type: TypeBool, V: b}, str, le)
		}
	case []Value:
		le(uint32(TypeArray))
		le(uint64(len(x)))
		for _, e := range x {
			writeValue(w, e, str, le)
		}
	default:
		if v.Type == TypeArray {
			le(uint32(v.Elem))
			le(uint64(v.Len()))
		}
		le(x) // fixed-size scalars and slices of them
	}
}

// valueOf wraps a Go value as a metadata Value.
func valueOf(v any) Value {
	switch x := v.(type) {
	case uint8:
		return Value{Type: TypeUint8, V: x}
	case int8:
		return Value{Type: TypeInt8, V: x}
	case uint16:
		return Value{Type: TypeUint16, V: x}
	case int16:
		return Value{Type: TypeInt16, V: x}
	case uint32:
		return Value{Type: TypeUint32, V: x}
	case int32:
		return Value{Type: TypeInt32, V: x}
	case float32:
		return Value{Type: TypeFloat32, V: x}
	case bool:
		return Value{Type: TypeBool, V: x}
	case string:
		return Value{Type: TypeString, V: x}
	case uint64:
		return Value{Type: TypeUint64, V: x}
	case int64:
		return Value{Type: TypeInt64, V: x}
	case float64:
		return Value{Type: TypeFloat64, V: x}
	case []uint8:
		return Value{Type: TypeArray, Elem: TypeUint8, V: x}
	case []int8:
		return Value{Type: TypeArray, Elem: TypeInt8, V: x}
	case []uint16:
		return Value{Type: TypeArray, Elem: TypeUint16, V: x}
	case []int16:
		return Value{Type: TypeArray, Elem: TypeInt16, V: x}
	case []uint32:
		return Value{Type: TypeArray, Elem: TypeUint32, V: x}
	case []int32:
		return Value{Type: TypeArray, Elem: TypeInt32, V: x}
	case []float32:
		return Value{Type: TypeArray, Elem: TypeFloat32, V: x}
	case []bool:
		return Value{Type: TypeArray, Elem: TypeBool, V: x}
	case []string:
		return Value{Type: TypeArray, Elem: TypeString, V: x}
	case []uint64:
		return Value{Type: TypeArray, Elem: TypeUint64, V: x}
	case []int64:
		return Value{Type: TypeArray, Elem: TypeInt64, V: x}
	case []float64:
		return Value{Type: TypeArray, Elem: TypeFloat64, V: x}
	case []Value:
		return Value{Type: TypeArray, Elem: TypeArray, V: x}
	case Value:
		return x
	}
	panic(fmt.Sprintf("gguf writer: unsupported metadata value %T", v))
}
