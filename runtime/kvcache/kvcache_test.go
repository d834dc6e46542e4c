package kvcache

import (
	"errors"
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
