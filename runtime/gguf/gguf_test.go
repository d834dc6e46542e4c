package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gpurun/runtime/fixtures"
	"gpurun/runtime/quant"
)

// small builds a valid little file with every metadata type and two tensors.
func small() *Writer {
	w := NewWriter()
	w.AddKV("general.architecture", "llama")
	w.AddKV("u8", uint8(7))
	w.AddKV("i8", int8(-7))
	w.AddKV("u16", uint16(700))
	w.AddKV("i16", int16(-700))
	w.AddKV("llama.block_count", uint32(3))
	w.AddKV("i32", int32(-70000))
	w.AddKV("f32", float32(1.5))
	w.AddKV("flag", true)
	w.AddKV("u64", uint64(1<<40))
	w.AddKV("i64", int64(-1<<40))
	w.AddKV("f64", 2.25)
	w.AddKV("tokens", []string{"a", "bc", ""})
	w.AddKV("scores", []float32{0.5, -1})
	w.AddKV("nested", []Value{valueOf([]int32{1, 2}), valueOf([]string{"x"})})
	w.AddTensor("a.weight", quant.F32, []uint64{4, 2}, make([]byte, 32))
	w.AddTensor("b.weight", quant.Q8_0, []uint64{64}, make([]byte, 68))
	return w
}

func TestRoundTrip(t *testing.T) {
	f, err := Parse(small().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || len(f.KVs) != 15 || len(f.Tensors) != 2 || f.DataOffset%32 != 0 {
		t.Fatalf("version %d, %d kvs, %d tensors, data at %d", f.Version, len(f.KVs), len(f.Tensors), f.DataOffset)
	}
	if n, err := f.Uint32(f.ArchKey("block_count")); err != nil || n != 3 {
		t.Fatalf("llama.block_count = %d, %v", n, err)
	}
	if s, _ := f.Strings("tokens"); strings.Join(s, ",") != "a,bc," {
		t.Fatalf("tokens = %q", s)
	}
	if v, _ := f.Get("nested"); v.Len() != 2 || v.Elem != TypeArray {
		t.Fatalf("nested = %v", v)
	}
	if x, _ := f.Float32("f64"); x != 2.25 {
		t.Fatalf("float64 as float32 = %v", x)
	}
	b := f.Tensor("b.weight")
	if b == nil || b.Size != 68 || len(b.Data) != 68 || int64(b.Offset)%32 != 0 {
		t.Fatalf("tensor b = %+v", b)
	}
}

func TestAccessorErrors(t *testing.T) {
	f, err := Parse(small().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		call func() error
		want string
	}{
		{func() error { _, err := f.String("missing.key"); return err }, `metadata key "missing.key" is missing`},
		{func() error { _, err := f.String("u8"); return err }, `metadata key "u8" has type uint8, want string`},
		{func() error { _, err := f.Uint32("i32"); return err }, `metadata key "i32" has type int32 (value -70000), want uint32`},
		{func() error { _, err := f.Uint32("u64"); return err }, `too large`},
		{func() error { _, err := f.Strings("scores"); return err }, `has type array[float32], want array[string]`},
		{func() error { _, err := f.Float32("tokens"); return err }, `want float32`},
		{func() error { _, err := f.Uint32Or("flag", 1); return err }, `has type bool`},
	} {
		err := c.call()
		var ke *KeyError
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want a KeyError containing %q", err, c.want)
		}
	}
	if v, err := f.Uint32Or("absent", 9); v != 9 || err != nil {
		t.Errorf("Uint32Or default = %d, %v", v, err)
	}
}

// TestFixtures parses every GGUF file in the shared fixtures.
func TestFixtures(t *testing.T) {
	dir := fixtures.Path(t, "llama-vocab")
	files, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	files = append(files, fixtures.Path(t, "stories260K/stories260K.gguf"), fixtures.Path(t, "tiny-random/llama-2-tiny-random.gguf"))
	if len(files) < 11 {
		t.Fatalf("only %d fixture files", len(files))
	}
	for _, p := range files {
		f, err := Open(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if _, err := f.Architecture(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		f.Close()
	}
	f, err := Open(fixtures.Path(t, "stories260K/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// stories260K has no general.alignment: the default 32 applies.
	if f.Alignment != 32 || len(f.Tensors) != 48 || f.Tensor("token_embd.weight").Shape() != "[64 512]" {
		t.Fatalf("alignment %d, %d tensors", f.Alignment, len(f.Tensors))
	}
}

// TestTruncatedEverywhere cuts a real file at every byte of its header and
// tensor table, and at points inside the data: each must fail cleanly.
func TestTruncatedEverywhere(t *testing.T) {
	raw := fixtures.Read(t, "stories260K/stories260K.gguf")
	f, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	cuts := []int{}
	for i := 0; i < int(f.DataOffset); i++ {
		cuts = append(cuts, i)
	}
	for i := int(f.DataOffset); i < len(raw); i += 4099 {
		cuts = append(cuts, i)
	}
	cuts = append(cuts, len(raw)-1)
	for _, n := range cuts {
		if _, err := Parse(raw[:n]); err == nil {
			t.Fatalf("truncated at %d of %d bytes: no error", n, len(raw))
		}
	}
}

// patch returns a copy of b with v written little-endian at off.
func patch(b []byte, off int, v any) []byte {
	c := append([]byte(nil), b...)
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, v)
	copy(c[off:], buf.Bytes())
	return c
}

func TestCorruptions(t *testing.T) {
	good := small().Bytes()
	f, _ := Parse(good)
	// offsets of fields in the small file
	kv0 := 24                                               // first key length
	arrCount := bytes.Index(good, []byte("tokens")) + 6 + 4 // after key: type (4), then elem type (4), count (8)
	tensorInfo := bytes.Index(good, []byte("a.weight"))
	withTensor := func(mod func(w *Writer)) []byte {
		w := NewWriter()
		w.AddKV("general.architecture", "llama")
		mod(w)
		return w.Bytes()
	}
	dupKey := NewWriter()
	dupKey.AddKV("k", uint8(1))
	dupKey.AddKV("k", uint8(2))
	deep := valueOf([]int32{1})
	for i := 0; i < 10; i++ {
		deep = valueOf([]Value{deep})
	}
	deepW := NewWriter()
	deepW.AddKV("deep", deep)
	align := NewWriter()
	align.AddKV("general.alignment", uint32(24))
	alignT := NewWriter()
	alignT.AddKV("general.alignment", "32")

	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "magic"},
		{"wrong magic", []byte("GGML\x03\x00\x00\x00"), "not a GGUF"},
		{"version 1", patch(good, 4, uint32(1)), "version 1 is not supported"},
		{"big endian", patch(good, 4, uint32(0x03000000)), "big-endian"},
		{"version 9", patch(good, 4, uint32(9)), "unsupported GGUF version 9"},
		{"absurd kv count", patch(good, 16, uint64(1)<<60), "metadata key/value count"},
		{"absurd tensor count", patch(good, 8, uint64(1)<<60), "tensor count"},
		{"key past end", patch(good, kv0, uint64(1)<<62), "runs past the end"},
		{"array count past end", patch(good, arrCount+4, uint64(1)<<40), "element count"},
		{"unknown value type", patch(good, kv0+8+len("general.architecture"), uint32(77)), "unknown value type 77"},
		{"duplicate key", dupKey.Bytes(), `duplicate key "k"`},
		{"nested too deep", deepW.Bytes(), "nested deeper"},
		{"alignment not power of two", align.Bytes(), "not a power of two"},
		{"alignment mistyped", alignT.Bytes(), "want uint32"},
		{"n_dims 0", patch(good, tensorInfo+8, uint32(0)), "n_dims"},
		{"n_dims 5", patch(good, tensorInfo+8, uint32(5)), "n_dims"},
		{"dims overflow", patch(patch(good, tensorInfo+12, uint64(1)<<40), tensorInfo+20, uint64(1)<<40), "overflows"},
		{"unknown tensor type", patch(good, tensorInfo+28, uint32(200)), "unknown tensor type 200"},
		{"removed tensor type 4", patch(good, tensorInfo+28, uint32(4)), "unknown tensor type 4"},
		{"row not multiple of block", patch(good, tensorInfo+28, uint32(quant.Q4_0)), "not a multiple of the Q4_0 block size"},
		{"misaligned offset", patch(good, tensorInfo+32, uint64(8)), "not a multiple of the alignment"},
		{"data beyond file", patch(good, tensorInfo+32, uint64(1)<<20), "outside the file"},
		{"duplicate tensor", withTensor(func(w *Writer) {
			w.AddTensor("t", quant.F32, []uint64{8}, make([]byte, 32))
			w.AddTensor("t", quant.F32, []uint64{8}, make([]byte, 32))
		}), `duplicate tensor name "t"`},
		{"truncated data", good[:f.DataOffset+10], "outside the file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.gguf")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Open(empty); !errors.Is(err, ErrNotGGUF) {
		t.Errorf("empty file: %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "nope.gguf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParse: no input panics or allocates beyond what the bytes can hold, and
// whatever parses has every tensor's data inside the input.
func FuzzParse(f *testing.F) {
	f.Add(small().Bytes())
	f.Add(patch(small().Bytes(), 4, uint32(2)))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Parse(b)
		if err != nil {
			return
		}
		for _, tn := range g.Tensors {
			if int64(len(tn.Data)) != tn.Size || tn.Size < 0 {
				t.Fatalf("tensor %q: %d bytes of data, size %d", tn.Name, len(tn.Data), tn.Size)
			}
		}
		for _, kv := range g.KVs {
			_ = kv.Value.String()
		}
	})
}
