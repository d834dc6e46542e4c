// Package gguf reads GGUF model files (versions 2 and 3): the header, the
// metadata key/value pairs, the tensor table and the aligned data section.
//
// Open memory-maps the file read-only and every Tensor.Data is a slice of that
// mapping, so weights are never copied. Parse does the same over a byte slice
// (used by tests and the fuzzer).
//
// The reader trusts nothing in the file: every length and count is checked
// against the bytes that remain before anything is allocated, and every error
// names the field and the byte offset where the file went wrong.
package gguf

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"

	"gpurun/runtime/quant"
)

// Magic is "GGUF" read as a little-endian uint32.
const Magic = 0x46554747

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is the most dimensions a ggml tensor has.
const MaxDims = 4

// maxArrayDepth bounds arrays nested in arrays (the spec allows nesting; real
// files use none). It keeps a hostile file from recursing without end.
const maxArrayDepth = 8

// FormatError reports a malformed file: what was being read, where, and why.
type FormatError struct {
	Offset int64  // byte offset in the file where the bad field starts
	Field  string // what was being read, e.g. `tensor 3 ("blk.0.attn_q.weight") type`
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: %s at byte %d: %s", e.Field, e.Offset, e.Msg)
}

// ErrNotGGUF is wrapped by the error for a file that does not start with the GGUF magic.
var ErrNotGGUF = errors.New("not a GGUF file")

// KV is one metadata key/value pair.
type KV struct {
	Key   string
	Value Value
}

// Tensor is one entry of the tensor table.
type Tensor struct {
	Name string
	// Dims are ggml's ne[]: Dims[0] is the innermost (contiguous) dimension.
	// A weight matrix of shape (out, in) has Dims = [in, out].
	Dims   []uint64
	Type   quant.Type
	Offset uint64 // from the start of the data section
	Size   int64  // bytes
	Data   []byte // the tensor's bytes: a slice of the file mapping
}

// NumElements is the product of the dimensions.
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d)
	}
	return n
}

// Shape renders the dimensions ggml-style, innermost first: "[576 49152]".
func (t *Tensor) Shape() string { return fmt.Sprint(t.Dims) }

// File is a parsed GGUF file.
type File struct {
	Version    uint32
	Alignment  int64
	DataOffset int64 // absolute offset of the data section
	Size       int64 // file size in bytes
	KVs        []KV  // in file order
	Tensors    []*Tensor

	kv      map[string]int
	tensors map[string]int
	data    []byte
	unmap   func() error
}

// Open memory-maps path read-only and parses it. Close releases the mapping;
// tensor data must not be used after Close.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("%s: %w: the file is empty", path, ErrNotGGUF)
	}
	data, unmap, err := mapFile(fd, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: map: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.unmap = unmap
	return f, nil
}

// Close releases the file mapping (a no-op for a File from Parse).
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap = nil
	f.data = nil
	for _, t := range f.Tensors {
		t.Data = nil
	}
	return err
}

// Parse reads a GGUF image held in memory. Tensor data slices alias b.
func Parse(b []byte) (*File, error) {
	p := &parser{b: b}
	f := &File{Size: int64(len(b)), data: b, Alignment: DefaultAlignment}

	magic, err := p.u32("magic")
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotGGUF, err)
	}
	if magic != Magic {
		return nil, &FormatError{0, "magic", fmt.Sprintf("%q is not \"GGUF\": %v", b[:4], ErrNotGGUF)}
	}
	verOff := p.off
	f.Version, err = p.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case f.Version == 2 || f.Version == 3:
	case f.Version == 1:
		return nil, &FormatError{verOff, "version", "GGUF version 1 is not supported (convert the file to version 3 with a current llama.cpp)"}
	case bits.ReverseBytes32(f.Version) == 2 || bits.ReverseBytes32(f.Version) == 3:
		return nil, &FormatError{verOff, "version", "big-endian GGUF files are not supported"}
	default:
		return nil, &FormatError{verOff, "version", fmt.Sprintf("unsupported GGUF version %d (supported: 2, 3)", f.Version)}
	}

	countOff := p.off
	nTensors, err := p.u64("tensor count")
	if err != nil {
		return nil, err
	}
	nKV, err := p.u64("metadata key/value count")
	if err != nil {
		return nil, err
	}
	// A key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes;
	// a tensor info at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset).
	if rest := p.remaining(); nKV > rest/13 {
		return nil, &FormatError{countOff + 8, "metadata key/value count", fmt.Sprintf("%d pairs cannot fit in the %d bytes that follow", nKV, rest)}
	}

	f.KVs = make([]KV, 0, nKV)
	f.kv = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		keyOff := p.off
		key, err := p.str(fmt.Sprintf("metadata key %d", i))
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, &FormatError{keyOff, fmt.Sprintf("metadata key %d", i), "empty key"}
		}
		if _, dup := f.kv[key]; dup {
			return nil, &FormatError{keyOff, fmt.Sprintf("metadata key %d", i), fmt.Sprintf("duplicate key %q", key)}
		}
		field := fmt.Sprintf("metadata %q", key)
		typOff := p.off
		t, err := p.u32(field + " type")
		if err != nil {
			return nil, err
		}
		v, err := p.value(ValueType(t), field, typOff, 0)
		if err != nil {
			return nil, err
		}
		f.kv[key] = len(f.KVs)
		f.KVs = append(f.KVs, KV{key, v})
	}

	if v, ok := f.Get("general.alignment"); ok {
		a, isU32 := v.V.(uint32)
		if !isU32 {
			return nil, &FormatError{0, "metadata \"general.alignment\"", fmt.Sprintf("has type %s, want uint32", v.TypeName())}
		}
		if a == 0 || a&(a-1) != 0 {
			return nil, &FormatError{0, "metadata \"general.alignment\"", fmt.Sprintf("%d is not a power of two", a)}
		}
		f.Alignment = int64(a)
	}

	if rest := p.remaining(); nTensors > rest/24 {
		return nil, &FormatError{countOff, "tensor count", fmt.Sprintf("%d tensors cannot fit in the %d bytes after the metadata (truncated?)", nTensors, rest)}
	}
	f.Tensors = make([]*Tensor, 0, nTensors)
	f.tensors = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		t, err := p.tensorInfo(i)
		if err != nil {
			return nil, err
		}
		if _, dup := f.tensors[t.Name]; dup {
			return nil, &FormatError{p.off, fmt.Sprintf("tensor %d", i), fmt.Sprintf("duplicate tensor name %q", t.Name)}
		}
		f.tensors[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}

	f.DataOffset = alignUp(p.off, f.Alignment)
	for i, t := range f.Tensors {
		field := fmt.Sprintf("tensor %d (%q)", i, t.Name)
		if t.Offset%uint64(f.Alignment) != 0 {
			return nil, &FormatError{f.DataOffset, field + " offset", fmt.Sprintf("%d is not a multiple of the alignment %d", t.Offset, f.Alignment)}
		}
		start := uint64(f.DataOffset) + t.Offset
		if t.Offset > uint64(f.Size) || start > uint64(f.Size) || uint64(t.Size) > uint64(f.Size)-start {
			return nil, &FormatError{f.DataOffset, field + " data", fmt.Sprintf("bytes [%d, %d) lie outside the file of %d bytes (truncated?)", start, start+uint64(t.Size), f.Size)}
		}
		t.Data = b[start : start+uint64(t.Size) : start+uint64(t.Size)]
	}
	return f, nil
}

func alignUp(off, align int64) int64 { return (off + align - 1) / align * align }

// parser reads little-endian fields from b, tracking the offset for errors.
type parser struct {
	b   []byte
	off int64
}

func (p *parser) remaining() uint64 { return uint64(int64(len(p.b)) - p.off) }

func (p *parser) take(n uint64, field string) ([]byte, error) {
	if n > p.remaining() {
		return nil, &FormatError{p.off, field, fmt.Sprintf("needs %d bytes but the file ends after %d (truncated)", n, p.remaining())}
	}
	s := p.b[p.off : p.off+int64(n)]
	p.off += int64(n)
	return s, nil
}

func (p *parser) u8(field string) (uint8, error) {
	s, err := p.take(1, field)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

func (p *parser) u16(field string) (uint16, error) {
	s, err := p.take(2, field)
	if err != nil {
		return 0, err
	}
	return uint16(s[0]) | uint16(s[1])<<8, nil
}

func (p *parser) u32(field string) (uint32, error) {
	s, err := p.take(4, field)
	if err != nil {
		return 0, err
	}
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24, nil
}

func (p *parser) u64(field string) (uint64, error) {
	s, err := p.take(8, field)
	if err != nil {
		return 0, err
	}
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56, nil
}

func (p *parser) str(field string) (string, error) {
	lenOff := p.off
	n, err := p.u64(field + " length")
	if err != nil {
		return "", err
	}
	if n > p.remaining() {
		return "", &FormatError{lenOff, field, fmt.Sprintf("string length %d runs past the end of the file (%d bytes left)", n, p.remaining())}
	}
	s, _ := p.take(n, field)
	return string(s), nil
}

// value reads one value of type t. typOff is where its type tag started.
func (p *parser) value(t ValueType, field string, typOff int64, depth int) (Value, error) {
	v := Value{Type: t}
	var err error
	switch t {
	case TypeUint8:
		v.V, err = p.u8(field)
	case TypeInt8:
		var x uint8
		x, err = p.u8(field)
		v.V = int8(x)
	case TypeUint16:
		v.V, err = p.u16(field)
	case TypeInt16:
		var x uint16
		x, err = p.u16(field)
		v.V = int16(x)
	case TypeUint32:
		v.V, err = p.u32(field)
	case TypeInt32:
		var x uint32
		x, err = p.u32(field)
		v.V = int32(x)
	case TypeFloat32:
		var x uint32
		x, err = p.u32(field)
		v.V = math.Float32frombits(x)
	case TypeBool:
		off := p.off
		var x uint8
		x, err = p.u8(field)
		if err == nil && x > 1 {
			return v, &FormatError{off, field, fmt.Sprintf("bool value %d is neither 0 nor 1", x)}
		}
		v.V = x == 1
	case TypeString:
		v.V, err = p.str(field)
	case TypeUint64:
		v.V, err = p.u64(field)
	case TypeInt64:
		var x uint64
		x, err = p.u64(field)
		v.V = int64(x)
	case TypeFloat64:
		var x uint64
		x, err = p.u64(field)
		v.V = math.Float64frombits(x)
	case TypeArray:
		return p.array(field, depth)
	default:
		return v, &FormatError{typOff, field + " type", fmt.Sprintf("unknown value type %d", uint32(t))}
	}
	return v, err
}

func (p *parser) array(field string, depth int) (Value, error) {
	if depth >= maxArrayDepth {
		return Value{}, &FormatError{p.off, field, fmt.Sprintf("arrays nested deeper than %d", maxArrayDepth)}
	}
	elemOff := p.off
	et, err := p.u32(field + " element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if elem.minSize() == 0 {
		return Value{}, &FormatError{elemOff, field + " element type", fmt.Sprintf("unknown value type %d", et)}
	}
	countOff := p.off
	n, err := p.u64(field + " element count")
	if err != nil {
		return Value{}, err
	}
	if n > p.remaining()/uint64(elem.minSize()) {
		return Value{}, &FormatError{countOff, field + " element count", fmt.Sprintf("%d elements of %s cannot fit in the %d bytes left", n, elem, p.remaining())}
	}
	v := Value{Type: TypeArray, Elem: elem}
	if sz := elem.fixedSize(); sz > 0 {
		raw, _ := p.take(n*uint64(sz), field) // fits: checked above
		v.V = decodeFixed(elem, raw, int(n))
		return v, nil
	}
	switch elem {
	case TypeString:
		a := make([]string, n)
		for i := range a {
			if a[i], err = p.str(fmt.Sprintf("%s[%d]", field, i)); err != nil {
				return v, err
			}
		}
		v.V = a
	case TypeArray:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = p.array(fmt.Sprintf("%s[%d]", field, i), depth+1); err != nil {
				return v, err
			}
		}
		v.V = a
	}
	return v, nil
}

// decodeFixed turns n little-endian scalars of type t into a typed slice.
func decodeFixed(t ValueType, raw []byte, n int) any {
	le16 := func(i int) uint16 { return uint16(raw[2*i]) | uint16(raw[2*i+1])<<8 }
	le32 := func(i int) uint32 {
		return uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24
	}
	le64 := func(i int) uint64 { return uint64(le32(2*i)) | uint64(le32(2*i+1))<<32 }
	switch t {
	case TypeUint8:
		return append([]uint8(nil), raw...)
	case TypeInt8:
		a := make([]int8, n)
		for i := range a {
			a[i] = int8(raw[i])
		}
		return a
	case TypeBool:
		a := make([]bool, n)
		for i := range a {
			a[i] = raw[i] != 0
		}
		return a
	case TypeUint16:
		a := make([]uint16, n)
		for i := range a {
			a[i] = le16(i)
		}
		return a
	case TypeInt16:
		a := make([]int16, n)
		for i := range a {
			a[i] = int16(le16(i))
		}
		return a
	case TypeUint32:
		a := make([]uint32, n)
		for i := range a {
			a[i] = le32(i)
		}
		return a
	case TypeInt32:
		a := make([]int32, n)
		for i := range a {
			a[i] = int32(le32(i))
		}
		return a
	case TypeFloat32:
		a := make([]float32, n)
		for i := range a {
			a[i] = math.Float32frombits(le32(i))
		}
		return a
	case TypeUint64:
		a := make([]uint64, n)
		for i := range a {
			a[i] = le64(i)
		}
		return a
	case TypeInt64:
		a := make([]int64, n)
		for i := range a {
			a[i] = int64(le64(i))
		}
		return a
	case TypeFloat64:
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(le64(i))
		}
		return a
	}
	return nil
}

func (p *parser) tensorInfo(i uint64) (*Tensor, error) {
	field := fmt.Sprintf("tensor %d", i)
	name, err := p.str(field + " name")
	if err != nil {
		return nil, err
	}
	field = fmt.Sprintf("tensor %d (%q)", i, name)
	t := &Tensor{Name: name}
	ndOff := p.off
	nd, err := p.u32(field + " n_dims")
	if err != nil {
		return nil, err
	}
	if nd == 0 || nd > MaxDims {
		return nil, &FormatError{ndOff, field + " n_dims", fmt.Sprintf("%d dimensions (want 1 to %d)", nd, MaxDims)}
	}
	dimsOff := p.off
	t.Dims = make([]uint64, nd)
	n := uint64(1)
	for d := range t.Dims {
		if t.Dims[d], err = p.u64(fmt.Sprintf("%s dim %d", field, d)); err != nil {
			return nil, err
		}
		hi, lo := bits.Mul64(n, t.Dims[d])
		if hi != 0 || lo > math.MaxInt64 {
			return nil, &FormatError{dimsOff, field + " dims", fmt.Sprintf("element count of %v overflows", t.Dims[:d+1])}
		}
		n = lo
	}
	typOff := p.off
	typ, err := p.u32(field + " type")
	if err != nil {
		return nil, err
	}
	t.Type = quant.Type(typ)
	if !t.Type.Known() {
		return nil, &FormatError{typOff, field + " type", fmt.Sprintf("unknown tensor type %d", typ)}
	}
	bs := uint64(t.Type.BlockSize())
	if t.Dims[0]%bs != 0 {
		return nil, &FormatError{dimsOff, field + " dims", fmt.Sprintf("row length %d is not a multiple of the %s block size %d", t.Dims[0], t.Type, bs)}
	}
	hi, size := bits.Mul64(n/bs, uint64(t.Type.TypeSize()))
	if hi != 0 || size > math.MaxInt64 {
		return nil, &FormatError{dimsOff, field + " dims", "byte size overflows"}
	}
	t.Size = int64(size)
	if t.Offset, err = p.u64(field + " offset"); err != nil {
		return nil, err
	}
	return t, nil
}
