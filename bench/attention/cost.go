package attention

import "fmt"

// Shape is a model's attention head layout.
type Shape struct {
	Heads   int `json:"heads"`    // query heads
	KVHeads int `json:"kv_heads"` // key/value heads (grouped-query attention)
	HeadDim int `json:"head_dim"`
	// Window is the sliding window of the fused-window and decode-window
	// methods (positions); 0: those methods are off.
	Window int `json:"window,omitempty"`
}

// SmolLM2 is the default layout: SmolLM2-135M's 9 query heads sharing 3 KV
// heads of 64 dims.
var SmolLM2 = Shape{Heads: 9, KVHeads: 3, HeadDim: 64}

// Validate reports a layout the attention op cannot run.
func (s Shape) Validate() error {
	switch {
	case s.Heads < 1 || s.KVHeads < 1 || s.HeadDim < 1:
		return fmt.Errorf("heads %d, kv heads %d, head dim %d: all must be >= 1", s.Heads, s.KVHeads, s.HeadDim)
	case s.Heads%s.KVHeads != 0:
		return fmt.Errorf("%d heads are not a multiple of %d kv heads", s.Heads, s.KVHeads)
	case s.Window < 0:
		return fmt.Errorf("sliding window %d: want 0 (off) or a positive number of positions", s.Window)
	}
	return nil
}

func (s Shape) qDim() int64  { return int64(s.Heads * s.HeadDim) }
func (s Shape) kvDim() int64 { return int64(s.KVHeads * s.HeadDim) }

// Cost is what one run of a method at context length n does, by the
// formulas documented on CostOf. Bytes and memory are in bytes.
type Cost struct {
	FLOPs  float64 `json:"flops"`
	Bytes  float64 `json:"bytes"`
	Memory float64 `json:"memory_model"`
}

// f32 is the size of an activation element (queries, outputs, the naive
// method's tensors): all float32.
const f32 = 4

// CostOf is the work of one run of method m at context length n with a KV
// cache of kvElem-byte elements (4 for f32, 2 for f16).
//
// FLOPs count the two matrix products, two FLOPs per multiply-add (the
// FlashAttention convention; softmax and masking are not counted):
//
//	naive           4·n²·D per head (Q·Kᵀ and P·V over the full n×n matrix; the mask comes after)
//	fused           4·D·n(n+1)/2 per head (row t sees t+1 keys: causal work only)
//	fused-window    4·D·Σ min(t+1, W) per head (W = Shape.Window): n(n+1)/2 pairs up to
//	                n = W, then W more per row — linear in n
//	decode-cache    4·D·n per head (one query row over n cached keys)
//	decode-window   4·D·min(n, W) per head: constant once n > W
//	decode-nocache  the same as fused at n (every prefix row is recomputed)
//
// Bytes are the compulsory memory traffic of the algorithm as written (each
// operand read once, each result written once; caches hide nothing):
//
//	naive           per head Q, K, V read and O written (4·n·D) plus the n×n
//	                scores written, read and rewritten by softmax, read by P·V (4·n²), float32
//	fused           Q read and O written (2·n·Heads·D float32) + K and V read (2·n·KVHeads·D·kvElem)
//	fused-window    as fused (every row of K and V is still read once)
//	decode-cache    q, o of one row; K and V of n rows read; one new K, V row stored
//	decode-window   as decode-cache, with min(n, W) rows of K and V read
//	decode-nocache  n K, V rows stored (read as float32, written as kvElem) + fused at n
//
// Memory is the working set the method holds at once: its inputs, outputs
// and intermediates (the naive method's one n×n score matrix, reused head
// after head), excluding per-thread scratch rows of O(n).
func CostOf(m Method, s Shape, n int, kvElem int) (Cost, error) {
	if n < 1 {
		return Cost{}, fmt.Errorf("context length %d < 1", n)
	}
	if kvElem != 2 && kvElem != 4 {
		return Cost{}, fmt.Errorf("KV element size %d bytes, want 2 or 4", kvElem)
	}
	N := float64(n)
	H, KVH, D := float64(s.Heads), float64(s.KVHeads), float64(s.HeadDim)
	E := float64(kvElem)
	qBytes := N * H * D * f32             // queries (and, the same, outputs) of n rows
	kvBytes := N * KVH * D * E            // one cache (K or V) of n rows
	kvIn := N * KVH * D * f32             // one of k, v as float32 rows before StoreKV
	causal := 4 * D * N * (N + 1) / 2 * H // fused FLOPs
	switch m {
	case Naive:
		return Cost{
			FLOPs:  4 * N * N * D * H,
			Bytes:  H * (4*N*D + 4*N*N) * f32,
			Memory: (2*H+2*KVH)*N*D*f32 + N*N*f32,
		}, nil
	case Fused:
		return Cost{
			FLOPs:  causal,
			Bytes:  2*qBytes + 2*kvBytes,
			Memory: 2*qBytes + 2*kvBytes,
		}, nil
	case FusedWindow:
		// pairs: sum over t < n of min(t+1, W); K and V rows read once each
		W := float64(max(s.Window, 1))
		pairs := N * (N + 1) / 2
		if N > W {
			pairs = W*(W+1)/2 + (N-W)*W
		}
		return Cost{
			FLOPs:  4 * D * pairs * H,
			Bytes:  2*qBytes + 2*kvBytes,
			Memory: 2*qBytes + 2*kvBytes,
		}, nil
	case DecodeCache, DecodeWindow:
		row := H * D * f32
		kvRow := KVH * D
		keys := N // rows the query reads
		if m == DecodeWindow {
			keys = min(N, float64(max(s.Window, 1)))
		}
		return Cost{
			FLOPs:  4 * D * keys * H,
			Bytes:  2*row + 2*keys*kvRow*E + 2*kvRow*(f32+E),
			Memory: 2*row + 2*kvRow*f32 + 2*kvBytes,
		}, nil
	case DecodeNoCache:
		return Cost{
			FLOPs:  causal,
			Bytes:  2*kvIn + 2*kvBytes + 2*qBytes + 2*kvBytes,
			Memory: 2*qBytes + 2*kvIn + 2*kvBytes,
		}, nil
	}
	return Cost{}, fmt.Errorf("unknown method %q", m)
}
