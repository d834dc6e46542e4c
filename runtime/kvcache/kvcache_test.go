package kvcache

import (
	"errors"
	"strings"
	"testing"

	"gpurun/runtime/backend"
	"gpurun/runtime/cpu"
)

func TestBytes(t *testing.T) {
	// SmolLM2-135M: 30 layers, kv dim 3*64, 8192 positions.
	for _, c := range []struct {
		dt   backend.DType
		want int64
	}{{backend.F32, 30 * 8192 * 192 * 2 * 4}, {backend.F16, 30 * 8192 * 192 * 2 * 2}} {
		if got := Bytes(30, 8192, 192, c.dt); got != c.want {
			t.Errorf("%s: %d, want %d", c.dt, got, c.want)
		}
	}
}

func TestReserveAdvance(t *testing.T) {
	c := &Cache{Len: 10}
	if err := c.Advance(7); err != nil {
		t.Fatal(err)
	}
	var full *ContextFullError
	if err := c.Reserve(4); !errors.As(err, &full) || full.Pos != 7 || full.Need != 4 {
		t.Fatalf("Reserve(4) at 7/10 = %v, want ContextFullError", err)
	}
	if err := c.Advance(3); err != nil || c.Pos() != 10 || c.Free() != 0 {
		t.Fatalf("Advance(3) = %v, pos %d", err, c.Pos())
	}
	c.Truncate(2)
	if c.Pos() != 2 {
		t.Fatalf("Truncate(2): pos %d", c.Pos())
	}
	c.Truncate(5) // never grows
	if c.Pos() != 2 {
		t.Fatalf("Truncate(5): pos %d", c.Pos())
	}
	c.Reset()
	if c.Pos() != 0 {
		t.Fatal("Reset")
	}
}

// budgetBackend is a backend with memLeft bytes left that counts NewBuffer calls.
type budgetBackend struct {
	backend.Backend
	memLeft int64
	known   bool
	buffers int
}

func (b *budgetBackend) MemoryLeft() (int64, bool) { return b.memLeft, b.known }

func (b *budgetBackend) NewBuffer(dt backend.DType, n int) (backend.Buffer, error) {
	b.buffers++
	return nil, nil
}

// TestNewRefusesWhatCannotFit: a cache larger than the memory the backend
// has left is refused whole, with the sizes and the flags that shrink it,
// before any buffer is allocated.
func TestNewRefusesWhatCannotFit(t *testing.T) {
	need := Bytes(4, 1000, 64, backend.F32) // 2,048,000 bytes
	for _, c := range []struct {
		name    string
		dt      backend.DType
		left    int64
		known   bool
		want    string // "" for success
		buffers int
	}{
		{"fits exactly", backend.F32, need, true, "", 8},
		{"one byte short", backend.F32, need - 1, true, "kvcache: out of memory: 1000 positions x 4 layers of f32 need 2.0 MiB, but 2.0 MiB of memory is left; use a smaller --ctx or --kv-type f16 (half the size)", 0},
		{"f16 one byte short", backend.F16, need/2 - 1, true, "kvcache: out of memory: 1000 positions x 4 layers of f16 need 1000.0 KiB, but 1000.0 KiB of memory is left; use a smaller --ctx", 0},
		{"nothing left", backend.F16, -5, true, "but 0 B of memory is left", 0},
		{"unknown budget", backend.F32, 0, false, "", 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &budgetBackend{memLeft: c.left, known: c.known}
			_, err := New(b, 4, 1000, 64, c.dt)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case c.want != "" && (err == nil || !errors.Is(err, backend.ErrOutOfMemory) || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("New: %v, want ErrOutOfMemory containing %q", err, c.want)
			}
			if b.buffers != c.buffers {
				t.Errorf("%d buffers allocated, want %d", b.buffers, c.buffers)
			}
		})
	}
}

// TestWindowSlide: window layers hold the positions their attention can
// still see, at row p - Offset, through every Slide, while a full layer
// holds all of them; storing batches of 1 to 4 positions.
func TestWindowSlide(t *testing.T) {
	b, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const size, maxBatch, kvDim, ctx = 5, 4, 2, 1000
	w := Window{Local: []bool{true, false, true}, Size: size, Rows: WindowRows(size, maxBatch)}
	if w.Rows != 96 {
		t.Fatalf("WindowRows(5, 4) = %d, want 96 (2*(5+31) + 4, rounded up to 32)", w.Rows)
	}
	c, err := NewWindowed(b, 3, ctx, kvDim, backend.F32, w)
	if err != nil {
		t.Fatal(err)
	}
	if want := Bytes(2, 96, kvDim, backend.F32) + Bytes(1, ctx, kvDim, backend.F32); c.Bytes() != want {
		t.Errorf("Bytes %d, want %d", c.Bytes(), want)
	}
	value := func(l, p int) float32 { return float32(1000*l + p) }
	moved := 0
	for step := 0; c.Pos() < 600; step++ {
		T := 1 + step%maxBatch
		if err := c.Reserve(T); err != nil {
			t.Fatal(err)
		}
		before := c.Offset(0)
		if err := c.Slide(T); err != nil {
			t.Fatal(err)
		}
		if c.Offset(0) != before {
			moved++
		}
		p := c.Pos()
		for l := range 3 {
			k := make([]float32, T*kvDim)
			for i := range k {
				k[i] = value(l, p+i/kvDim)
			}
			kb, err := b.NewBuffer(backend.F32, len(k))
			if err == nil {
				err = b.Write(kb, k)
			}
			if err != nil {
				t.Fatal(err)
			}
			b.StoreKV(c.K[l], c.V[l], kb, kb, p-c.Offset(l), T, kvDim)
		}
		if err := c.Advance(T); err != nil {
			t.Fatal(err)
		}
		for l := range 3 {
			off := c.Offset(l)
			if off%32 != 0 || (l == 1 && off != 0) {
				t.Fatalf("layer %d offset %d", l, off)
			}
			got := make([]float32, c.Rows(l)*kvDim)
			if err := b.Read(got, c.K[l]); err != nil {
				t.Fatal(err)
			}
			first := 0
			if w.Local[l] {
				first = max(0, c.Pos()-size) // the next token sees (pos-size, pos]
			}
			for q := first; q < c.Pos(); q++ {
				if v := got[(q-off)*kvDim]; v != value(l, q) {
					t.Fatalf("layer %d at %d positions: position %d (row %d) holds %g, want %g", l, c.Pos(), q, q-off, v, value(l, q))
				}
			}
		}
	}
	if moved < 5 {
		t.Errorf("the window moved %d times over 600 positions", moved)
	}

	// Truncating keeps a prefix only where the window layers still hold
	// what a token there would see.
	pos, off := c.Pos(), c.Offset(0)
	if got := c.Truncate(pos - 3); got != pos-3 || c.Offset(0) != off {
		t.Errorf("Truncate(%d) kept %d (offset %d -> %d)", pos-3, got, off, c.Offset(0))
	}
	if got := c.Truncate(off + 2); got != 0 || c.Pos() != 0 || c.Offset(0) != 0 {
		t.Errorf("Truncate(%d) below the window's rows kept %d, offset %d; want 0", off+2, got, c.Offset(0))
	}
	if err := c.Slide(w.Rows + 1); err == nil {
		t.Error("Slide accepted more positions than the window's rows")
	}
}
