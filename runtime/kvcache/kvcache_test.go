package kvcache

import (
	"errors"
	"strings"
	"testing"

	"gpurun/runtime/backend"
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
