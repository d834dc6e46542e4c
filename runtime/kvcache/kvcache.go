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
// [Rows(l), KVDim]. A layer that keeps every position has Len rows, row p
// holding position p. A sliding-window layer (Gemma's local layers, see
// Window) keeps only the positions its attention can still see: row r
// holds position Offset(l) + r, and Slide moves the rows along.
type Cache struct {
	Layers int
	Len    int // context size in positions
	KVDim  int // kv_heads * head_dim
	DType  backend.DType
	K, V   []backend.Buffer // per layer

	win   Window // Rows 0: every layer keeps every position
	start int    // the position the window layers' row 0 holds (a multiple of 32)
	b     backend.Backend
	pos   int // positions filled: the next token goes to position pos
}

// Window describes the layers of a cache that keep a sliding window of
// positions.
type Window struct {
	Local []bool // per layer: whether it attends through the window
	Size  int    // a token at position p sees positions (p-Size, p]
	// Rows is what a window layer holds: WindowRows(Size, largest batch).
	Rows int
}

// WindowRows is the rows a window layer needs when forward passes store up
// to maxBatch positions at a time: twice the window (plus 31, as Slide
// keeps its rows aligned to 32) and a batch, so that Slide's moves never
// overlap and happen once per window's worth of tokens or less often; a
// multiple of 32, so that the rows keep the positions' lanes.
func WindowRows(size, maxBatch int) int {
	return (2*(size+31) + maxBatch + 31) &^ 31
}

// Bytes is the memory a cache takes: layers x positions x kvDim x 2 (K and V) x element size.
func Bytes(layers, positions, kvDim int, dt backend.DType) int64 {
	return int64(layers) * int64(positions) * int64(kvDim) * 2 * int64(dt.Size())
}

// New allocates a cache of ctxLen positions on b.
func New(b backend.Backend, layers, ctxLen, kvDim int, dt backend.DType) (*Cache, error) {
	return NewWindowed(b, layers, ctxLen, kvDim, dt, Window{})
}

// NewWindowed allocates a cache of ctxLen positions on b whose layers w.Local
// keep only w.Rows rows; with w.Rows 0, or not below ctxLen, every layer
// keeps every position.
func NewWindowed(b backend.Backend, layers, ctxLen, kvDim int, dt backend.DType, w Window) (*Cache, error) {
	if layers < 1 || ctxLen < 1 || kvDim < 1 {
		return nil, fmt.Errorf("kvcache: bad shape: %d layers, %d positions, kv dim %d", layers, ctxLen, kvDim)
	}
	if w.Rows >= ctxLen || w.Rows <= 0 {
		w = Window{}
	}
	if w.Rows > 0 && (len(w.Local) != layers || w.Size < 1 || w.Rows%32 != 0 || w.Rows < 2*(w.Size+31)) {
		return nil, fmt.Errorf("kvcache: bad window: %d layers flagged of %d, size %d, %d rows", len(w.Local), layers, w.Size, w.Rows)
	}
	c := &Cache{Layers: layers, Len: ctxLen, KVDim: kvDim, DType: dt, win: w, b: b,
		K: make([]backend.Buffer, layers), V: make([]backend.Buffer, layers)}
	if m, ok := b.(backend.MemoryReporter); ok {
		need := c.Bytes()
		if left, known := m.MemoryLeft(); known && need > left {
			hint := "a smaller --ctx"
			if dt == backend.F32 {
				hint += " or --kv-type f16 (half the size)"
			}
			return nil, fmt.Errorf("kvcache: %w: %d positions x %d layers of %s need %s, but %s of memory is left; use %s",
				backend.ErrOutOfMemory, ctxLen, layers, dt, HumanBytes(need), HumanBytes(max(left, 0)), hint)
		}
	}
	for l := 0; l < layers; l++ {
		var err error
		n := c.Rows(l) * kvDim
		if c.K[l], err = b.NewBuffer(dt, n); err == nil {
			c.V[l], err = b.NewBuffer(dt, n)
		}
		if err != nil {
			return nil, fmt.Errorf("kvcache: allocating %d positions x %d layers (%s): %w",
				ctxLen, layers, HumanBytes(c.Bytes()), err)
		}
	}
	return c, nil
}

// Rows is the number of rows layer l holds.
func (c *Cache) Rows(l int) int {
	if c.win.Rows > 0 && c.win.Local[l] {
		return c.win.Rows
	}
	return c.Len
}

// Offset is the position layer l's row 0 holds: position p is at row
// p - Offset(l).
func (c *Cache) Offset(l int) int {
	if c.win.Rows > 0 && c.win.Local[l] {
		return c.start
	}
	return 0
}

// Slide makes room in the window layers for n more positions: when they
// would not fit, the rows that the next positions can still see (from the
// window's start, rounded down to a multiple of 32) move to the front with
// the backend's Copy, queued before the ops that follow. Models call it
// before storing a forward pass's keys and values.
func (c *Cache) Slide(n int) error {
	w := c.win
	if w.Rows == 0 || c.pos+n-c.start <= w.Rows {
		return nil
	}
	start := max(c.start, (c.pos-w.Size+1)&^31)
	keep, shift := c.pos-start, start-c.start
	if c.pos+n-start > w.Rows || keep > shift {
		return fmt.Errorf("kvcache: %d positions at once do not fit a sliding window of %d rows", n, w.Rows)
	}
	for l, local := range w.Local {
		if !local {
			continue
		}
		m := keep * c.KVDim
		c.b.Copy(c.K[l].Slice(0, m), c.K[l].Slice(shift*c.KVDim, m), m)
		c.b.Copy(c.V[l].Slice(0, m), c.V[l].Slice(shift*c.KVDim, m), m)
	}
	c.start = start
	return nil
}

// Bytes is this cache's size.
func (c *Cache) Bytes() int64 {
	var n int64
	for l := range c.Layers {
		n += Bytes(1, c.Rows(l), c.KVDim, c.DType)
	}
	return n
}

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

// Truncate forgets positions from n on (keeping a shared prompt prefix)
// and returns the positions kept: n, or 0 when the window layers no longer
// hold the positions a token at n would see (their rows have moved on).
func (c *Cache) Truncate(n int) int {
	n = max(n, 0)
	if n >= c.pos {
		return c.pos
	}
	if c.win.Rows > 0 && max(0, n-c.win.Size+1) < c.start {
		n = 0
	}
	c.pos = n
	if n == 0 {
		c.start = 0
	}
	return n
}

// Reset empties the cache.
func (c *Cache) Reset() { c.pos, c.start = 0, 0 }

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
