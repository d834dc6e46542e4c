// Package kvcache holds the keys and values of every layer for every
// position of one sequence, in the backend's memory (host for the CPU
// backend, device for CUDA), and the bookkeeping of how many positions are
// filled.
package kvcache

import (
	"fmt"

	"gpurun/runtime/backend"
)

// Cache is one sequence's KV cache: for each layer, K and V of shape
// [Len, KVDim] (row p holds position p).
type Cache struct {
	Layers int
	Len    int // context size in positions
	KVDim  int // kv_heads * head_dim
	DType  backend.DType
	K, V   []backend.Buffer // per layer

	pos int // positions filled: the next token goes to row pos
}

// Bytes is the memory a cache takes: layers x positions x kvDim x 2 (K and V) x element size.
func Bytes(layers, positions, kvDim int, dt backend.DType) int64 {
	return int64(layers) * int64(positions) * int64(kvDim) * 2 * int64(dt.Size())
}

// New allocates a cache of ctxLen positions on b.
func New(b backend.Backend, layers, ctxLen, kvDim int, dt backend.DType) (*Cache, error) {
	if layers < 1 || ctxLen < 1 || kvDim < 1 {
		return nil, fmt.Errorf("kvcache: bad shape: %d layers, %d positions, kv dim %d", layers, ctxLen, kvDim)
	}
	if m, ok := b.(backend.MemoryReporter); ok {
		need := Bytes(layers, ctxLen, kvDim, dt)
		if left, known := m.MemoryLeft(); known && need > left {
			hint := "a smaller --ctx"
			if dt == backend.F32 {
				hint += " or --kv-type f16 (half the size)"
			}
			return nil, fmt.Errorf("kvcache: %w: %d positions x %d layers of %s need %s, but %s of memory is left; use %s",
				backend.ErrOutOfMemory, ctxLen, layers, dt, HumanBytes(need), HumanBytes(max(left, 0)), hint)
		}
	}
	c := &Cache{Layers: layers, Len: ctxLen, KVDim: kvDim, DType: dt,
		K: make([]backend.Buffer, layers), V: make([]backend.Buffer, layers)}
	for l := 0; l < layers; l++ {
		var err error
		if c.K[l], err = b.NewBuffer(dt, ctxLen*kvDim); err == nil {
			c.V[l], err = b.NewBuffer(dt, ctxLen*kvDim)
		}
		if err != nil {
			return nil, fmt.Errorf("kvcache: allocating %d positions x %d layers (%s): %w",
				ctxLen, layers, HumanBytes(Bytes(layers, ctxLen, kvDim, dt)), err)
		}
	}
	return c, nil
}

// Bytes is this cache's size.
func (c *Cache) Bytes() int64 { return Bytes(c.Layers, c.Len, c.KVDim, c.DType) }

// Pos is the number of positions filled (the position of the next token).
func (c *Cache) Pos() int { return c.pos }

// Free is the number of positions left.
func (c *Cache) Free() int { return c.Len - c.pos }

// ContextFullError reports a sequence that would outgrow its cache.
type ContextFullError struct {
	Pos, Need, Len int
}

func (e *ContextFullError) Error() string {
	return fmt.Sprintf("context full: %d positions used + %d new > context size %d (raise --ctx or shorten the prompt)", e.Pos, e.Need, e.Len)
}

// Reserve checks that n more positions fit.
func (c *Cache) Reserve(n int) error {
	if n < 0 || c.pos+n > c.Len {
		return &ContextFullError{Pos: c.pos, Need: n, Len: c.Len}
	}
	return nil
}

// Advance marks n more positions filled (after a forward pass stored them).
func (c *Cache) Advance(n int) error {
	if err := c.Reserve(n); err != nil {
		return err
	}
	c.pos += n
	return nil
}

// Truncate forgets positions from n on (keeping a shared prompt prefix).
func (c *Cache) Truncate(n int) {
	if n < 0 {
		n = 0
	}
	if n < c.pos {
		c.pos = n
	}
}

// Reset empties the cache.
func (c *Cache) Reset() { c.pos = 0 }

// HumanBytes renders a byte count as "1.5 MiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
