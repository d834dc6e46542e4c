// Package backend defines the op-level interface every compute backend
// implements (the pure-Go CPU backend, the CUDA backend, the host emulation of
// the CUDA kernels), the registry that picks one, and the parity cases that
// check every backend against the CPU reference.
//
// Conventions used by every op:
//   - A Buffer is a 1-D array in the backend's memory. Matrices are row-major:
//     "x[T, n]" means T rows (tokens) of n contiguous elements.
//   - Weights keep their stored element type (quantized or float); a weight
//     matrix has Rows() output features of Cols() inputs each, i.e. the GGUF
//     tensor with Dims = [Cols, Rows].
//   - Ops do not return errors. The first error (a shape mismatch, a failed
//     launch) is recorded and returned by Err or Sync; later ops become no-ops.
//     This keeps model code a readable top-to-bottom sequence, like llama2.c.
//   - Ops may run asynchronously (CUDA); Read, Argmax and Sync wait for them.
package backend

import (
	"errors"
	"fmt"

	"gpurun/runtime/gguf"
	"gpurun/runtime/quant"
)

// DType is the element type of an activation or KV-cache buffer.
type DType int

const (
	F32 DType = iota
	F16
)

func (d DType) String() string {
	switch d {
	case F32:
		return "f32"
	case F16:
		return "f16"
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// Size is the byte size of one element.
func (d DType) Size() int {
	if d == F16 {
		return 2
	}
	return 4
}

// Buffer is a 1-D array of Len elements of DType in a backend's memory.
// Slice returns a view that shares the memory (no copy).
type Buffer interface {
	Len() int
	DType() DType
	Slice(off, n int) Buffer
}

// Weight is a tensor uploaded once in its stored type (mmapped on the CPU).
// A 1-D tensor (a norm or a bias) has Rows() == 1.
type Weight interface {
	Name() string
	Type() quant.Type
	Rows() int // ne[1]: output features
	Cols() int // ne[0]: input features (contiguous)
}

// RoPEMode selects how rotary embedding pairs dimensions.
type RoPEMode int

const (
	// RoPENormal rotates adjacent pairs (x[2i], x[2i+1]): Llama as GGUF stores
	// it (the Q/K weights are permuted at conversion) and llama2.c.
	RoPENormal RoPEMode = iota
	// RoPENeox rotates (x[i], x[i+d/2]): GPT-NeoX, Qwen2, Phi, ...
	RoPENeox
)

// RoPE describes rotary position embedding for a model.
type RoPE struct {
	Mode     RoPEMode
	Dims     int     // leading dims of each head that rotate (rope.dimension_count)
	FreqBase float32 // theta_i = pos * FreqBase^(-2i/Dims)
	// FreqScale multiplies positions (linear scaling); 1 when unused.
	FreqScale float32
	// Factors, if set, divide each pair's angle: F32 [Dims/2], the
	// rope_freqs.weight that llama.cpp's converter writes for Llama 3.1's
	// "llama3" scaling (ggml: theta_i / factors[i], then FreqScale).
	Factors Weight
	// AttnFactor multiplies cos and sin (ggml's attn_factor, mscale):
	// rope.scaling.attn_factor of Phi-3's LongRoPE. 0 means 1.
	AttnFactor float32
}

// AttentionArgs gives the shapes of one causal attention call over a
// sequence's KV cache.
type AttentionArgs struct {
	T        int     // query rows (tokens) in this call
	Pos      int     // position of the first query row; row t sees cache rows [0, Pos+t]
	Heads    int     // query heads
	KVHeads  int     // key/value heads (Heads % KVHeads == 0: grouped-query attention)
	HeadDim  int     // dims per head
	Scale    float32 // usually 1/sqrt(HeadDim)
	CacheLen int     // rows the cache buffers hold (the context size)
	// Window, when positive, is sliding-window attention: row t sees only
	// the Window most recent positions, (Pos+t-Window, Pos+t] (Gemma 3's
	// local layers; llama.cpp's LLAMA_SWA_TYPE_STANDARD). 0: all of them.
	Window int
	// Softcap, when positive, caps the scores before the softmax:
	// s = Scale * Softcap * tanh(q·k / Softcap), Gemma 2's attention logit
	// soft-capping (llama.cpp: kq scaled by 1/Softcap, tanh, scaled by
	// Softcap, then the softmax's scale). 0: s = Scale * q·k.
	Softcap float32
}

// First is the first cache row that query row t sees.
func (a AttentionArgs) First(t int) int {
	if a.Window <= 0 {
		return 0
	}
	return max(0, a.Pos+t+1-a.Window)
}

// Backend is the op set a model's forward pass is written against.
type Backend interface {
	// Name is "cpu", "cuda", or "emu".
	Name() string

	// NewBuffer allocates n zeroed elements.
	NewBuffer(dt DType, n int) (Buffer, error)
	// LoadWeight makes a GGUF tensor usable by the ops: the CPU backend
	// aliases the mapped bytes; a GPU backend uploads them once.
	LoadWeight(t *gguf.Tensor) (Weight, error)
	// Write copies src into dst (dst must be F32, or F16 with conversion).
	Write(dst Buffer, src []float32) error
	// Read copies src into dst, converting to float32; it waits for pending ops.
	Read(dst []float32, src Buffer) error

	// Embed gathers and dequantizes rows of table:
	// dst[T, table.Cols()] = table[ids[t], :], T = len(ids).
	Embed(dst Buffer, table Weight, ids []int32)
	// RMSNorm: dst[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * w, for T rows of n = w.Cols().
	RMSNorm(dst, x Buffer, w Weight, T int, eps float32)
	// LayerNorm: dst[t, :] = (x[t, :] - mean) / sqrt(var + eps) * w + b (b may be nil).
	LayerNorm(dst, x Buffer, w, b Weight, T int, eps float32)
	// MatMul: dst[T, w.Rows()] = x[T, w.Cols()] · wᵀ. T == 1 is the decode
	// matrix-vector product; T > 1 is prefill.
	MatMul(dst, x Buffer, w Weight, T int)
	// AddBias: x[t, :] += b for T rows of n = b.Cols().
	AddBias(x Buffer, b Weight, T int)
	// RoPE rotates, in place, each of heads heads of T rows of x[T, heads*headDim];
	// row t is at position pos[t].
	RoPE(x Buffer, pos []int32, heads, headDim int, r RoPE)
	// StoreKV copies k[T, kvDim] and v[T, kvDim] into rows [pos, pos+T) of the
	// layer's caches kc[CacheLen, kvDim] and vc[CacheLen, kvDim] (F32 or F16).
	StoreKV(kc, vc, k, v Buffer, pos, T, kvDim int)
	// Attention: for each query row t and head h, softmax(q·Kᵀ·scale) over
	// cache rows [a.First(t), Pos+t], times V: dst[T, Heads*HeadDim]. Head h
	// reads KV head h / (Heads/KVHeads).
	Attention(dst, q, kc, vc Buffer, a AttentionArgs)
	// SwiGLU: dst[i] = silu(gate[i]) * up[i] for n elements.
	SwiGLU(dst, gate, up Buffer, n int)
	// GELU (tanh approximation, as ggml): dst[i] = gelu(x[i]) for n elements.
	GELU(dst, x Buffer, n int)
	// GeGLU: dst[i] = gelu(gate[i]) * up[i] for n elements (GELU as above;
	// dst may alias gate or up): the gated feed-forward of Gemma.
	GeGLU(dst, gate, up Buffer, n int)
	// Scale: dst[i] = x[i] * s for n elements (dst may alias x).
	Scale(dst, x Buffer, s float32, n int)
	// Copy: dst[i] = src[i] for n elements of one dtype (F32 or F16); the
	// two must not overlap. The sliding-window KV cache moves its rows with it.
	Copy(dst, src Buffer, n int)
	// Softcap: dst[i] = tanh(x[i] * (1/c)) * c for n elements (dst may
	// alias x), each step rounded to float32: Gemma 2's final logit
	// soft-capping.
	Softcap(dst, x Buffer, c float32, n int)
	// Add: dst[i] = a[i] + b[i] for n elements (dst may alias a or b).
	Add(dst, a, b Buffer, n int)
	// Softmax in place over each of rows rows of n elements.
	Softmax(x Buffer, rows, n int)
	// Argmax returns the index of the first maximum of x[0:n]; it waits for pending ops.
	Argmax(x Buffer, n int) (int32, error)

	// Err returns the first error recorded by an op, without waiting.
	Err() error
	// Sync waits for all queued ops and returns the first error.
	Sync() error
	// Close releases the backend's memory; buffers and weights die with it.
	Close() error
}

// Norm is a norm folded into the matrix product that follows it: the
// product reads RMSNorm(x) with weight W and epsilon Eps instead of x, or
// with Layer set LayerNorm(x) with weight W and bias B (B may be nil). The
// zero Norm (W nil) is no norm.
type Norm struct {
	W     Weight
	B     Weight
	Eps   float32
	Layer bool
}

// ErrOutOfMemory is wrapped by the errors of allocations that cannot fit.
var ErrOutOfMemory = errors.New("out of memory")

// MemoryReporter is implemented by a backend that knows how much memory new
// buffers may still take (the CPU backend, from the kernel's figures), so
// that a large allocation can be refused whole, with the sizes, before any
// part of it is made.
type MemoryReporter interface {
	// MemoryLeft is the bytes new buffers may take; known is false when
	// the backend cannot tell.
	MemoryLeft() (bytes int64, known bool)
}

// FusedMatMuler is an optional set of fused matrix products (a GPU backend
// implements it: on the decode path each saves the launches of a norm or an
// add and the round trip of their output through memory). Each equals the
// unfused sequence its helper below runs on other backends, up to rounding.
type FusedMatMuler interface {
	// MatMulAdd: dst[T, R] += x · wᵀ (the residual add folded in).
	MatMulAdd(dst, x Buffer, w Weight, T int)
	// NormMatMul: dst[T, R] = norm(x) · wᵀ.
	NormMatMul(dst, x Buffer, n Norm, w Weight, T int)
	// NormMatMulSwiGLU: dst[T, R] = silu(norm(x) · gateᵀ) * (norm(x) · upᵀ),
	// the first half of the gated feed-forward (gate and up of one format).
	NormMatMulSwiGLU(dst, x Buffer, n Norm, gate, up Weight, T int)
	// NormMatMulQKV: the attention projections q = norm(x) · wqᵀ,
	// k = norm(x) · wkᵀ, v = norm(x) · wvᵀ.
	NormMatMulQKV(q, k, v, x Buffer, n Norm, wq, wk, wv Weight, T int)
}

// MatMulAdd: dst += x · wᵀ; without the fused op, MatMul into tmp (at least
// T*w.Rows()) and Add.
func MatMulAdd(b Backend, dst, x Buffer, w Weight, T int, tmp Buffer) {
	if f, ok := b.(FusedMatMuler); ok {
		f.MatMulAdd(dst, x, w, T)
		return
	}
	b.MatMul(tmp, x, w, T)
	b.Add(dst, dst, tmp, T*w.Rows())
}

// norm runs n on x into h and returns the product's input (x itself when
// there is no norm).
func norm(b Backend, x Buffer, n Norm, T int, h Buffer) Buffer {
	switch {
	case n.W == nil:
		return x
	case n.Layer:
		b.LayerNorm(h, x, n.W, n.B, T, n.Eps)
	default:
		b.RMSNorm(h, x, n.W, T, n.Eps)
	}
	return h
}

// NormMatMul: dst = norm(x) · wᵀ; without the fused op, the norm into h (at
// least T*w.Cols()) and MatMul.
func NormMatMul(b Backend, dst, x Buffer, n Norm, w Weight, T int, h Buffer) {
	if f, ok := b.(FusedMatMuler); ok {
		f.NormMatMul(dst, x, n, w, T)
		return
	}
	b.MatMul(dst, norm(b, x, n, T, h), w, T)
}

// NormMatMulSwiGLU: dst = silu(norm(x) · gateᵀ) * (norm(x) · upᵀ); without
// the fused op, the norm into h and MatMulSwiGLU (g and u: its scratch).
func NormMatMulSwiGLU(b Backend, dst, x Buffer, n Norm, gate, up Weight, T int, h, g, u Buffer) {
	if f, ok := b.(FusedMatMuler); ok {
		f.NormMatMulSwiGLU(dst, x, n, gate, up, T)
		return
	}
	MatMulSwiGLU(b, dst, norm(b, x, n, T, h), gate, up, T, g, u)
}

// MatMulSwiGLUer is an optional fused op for the gated feed-forward without
// a norm (the CPU backend has it: one pass over x for both products).
// MatMulSwiGLU(dst, x, gate, up, T) equals MatMul(g, x, gate, T);
// MatMul(u, x, up, T); SwiGLU(dst, g, u, T*gate.Rows()), without g and u.
type MatMulSwiGLUer interface {
	MatMulSwiGLU(dst, x Buffer, gate, up Weight, T int)
}

// MatMulSwiGLU uses the fused op when b has it; otherwise it runs the plain
// sequence using the scratch buffers g and u (each at least T*gate.Rows()).
func MatMulSwiGLU(b Backend, dst, x Buffer, gate, up Weight, T int, g, u Buffer) {
	if f, ok := b.(MatMulSwiGLUer); ok {
		f.MatMulSwiGLU(dst, x, gate, up, T)
		return
	}
	b.MatMul(g, x, gate, T)
	b.MatMul(u, x, up, T)
	b.SwiGLU(dst, g, u, T*gate.Rows())
}

// NormMatMulQKV: q, k, v = norm(x) · wqᵀ, wkᵀ, wvᵀ; without the fused op,
// the norm into h and three MatMuls.
func NormMatMulQKV(b Backend, q, k, v, x Buffer, n Norm, wq, wk, wv Weight, T int, h Buffer) {
	if f, ok := b.(FusedMatMuler); ok {
		f.NormMatMulQKV(q, k, v, x, n, wq, wk, wv, T)
		return
	}
	xn := norm(b, x, n, T, h)
	b.MatMul(q, xn, wq, T)
	b.MatMul(k, xn, wk, T)
	b.MatMul(v, xn, wv, T)
}

// BiasMatMuler is an optional set of products with a bias folded in, for
// GPT-2's projections (a GPU backend implements it: each saves the launches
// of an add_bias and a GELU or an add). Each equals the unfused sequence its
// helper below runs on other backends, with the same rounding order.
type BiasMatMuler interface {
	// NormMatMulBias: dst[T, R] = norm(x) · wᵀ + bias, then GELU of that
	// when gelu.
	NormMatMulBias(dst, x Buffer, n Norm, w, bias Weight, T int, gelu bool)
	// MatMulBiasAdd: dst[T, R] += x · wᵀ + bias (the residual add).
	MatMulBiasAdd(dst, x Buffer, w, bias Weight, T int)
	// NormMatMulQKVBias: q = norm(x) · wqᵀ + bq, k = norm(x) · wkᵀ + bk,
	// v = norm(x) · wvᵀ + bv.
	NormMatMulQKVBias(q, k, v, x Buffer, n Norm, wq, wk, wv, bq, bk, bv Weight, T int)
}

// NormMatMulBias: dst = norm(x) · wᵀ + bias (then GELU when gelu); without
// the fused op, the norm into h, MatMul, AddBias and GELU.
func NormMatMulBias(b Backend, dst, x Buffer, n Norm, w, bias Weight, T int, gelu bool, h Buffer) {
	if f, ok := b.(BiasMatMuler); ok {
		f.NormMatMulBias(dst, x, n, w, bias, T, gelu)
		return
	}
	b.MatMul(dst, norm(b, x, n, T, h), w, T)
	b.AddBias(dst, bias, T)
	if gelu {
		b.GELU(dst, dst, T*w.Rows())
	}
}

// MatMulBiasAdd: dst += x · wᵀ + bias; without the fused op, MatMul into tmp
// (at least T*w.Rows()), AddBias and Add.
func MatMulBiasAdd(b Backend, dst, x Buffer, w, bias Weight, T int, tmp Buffer) {
	if f, ok := b.(BiasMatMuler); ok {
		f.MatMulBiasAdd(dst, x, w, bias, T)
		return
	}
	b.MatMul(tmp, x, w, T)
	b.AddBias(tmp, bias, T)
	b.Add(dst, dst, tmp, T*w.Rows())
}

// NormMatMulQKVBias: the three projections of norm(x) with their biases;
// without the fused op, NormMatMulQKV (h: its scratch) and three AddBias.
func NormMatMulQKVBias(b Backend, q, k, v, x Buffer, n Norm, wq, wk, wv, bq, bk, bv Weight, T int, h Buffer) {
	if f, ok := b.(BiasMatMuler); ok {
		f.NormMatMulQKVBias(q, k, v, x, n, wq, wk, wv, bq, bk, bv, T)
		return
	}
	NormMatMulQKV(b, q, k, v, x, n, wq, wk, wv, T, h)
	b.AddBias(q, bq, T)
	b.AddBias(k, bk, T)
	b.AddBias(v, bv, T)
}

// RoPEStoreKVArgs gives the shapes of RoPEStoreKV.
type RoPEStoreKVArgs struct {
	Heads, KVHeads, HeadDim int
	RoPE                    RoPE
	// Offset is the position held by cache row 0: position p is stored at
	// row p - Offset (a sliding-window cache that dropped its oldest rows);
	// 0 for a cache that holds every position.
	Offset int
}

// RoPEStoreKVer is an optional fused op for the step between the
// projections and attention. RoPEStoreKV(q, k, v, kc, vc, pos, a) equals
//
//	RoPE(q, pos, a.Heads, a.HeadDim, a.RoPE)
//	RoPE(k, pos, a.KVHeads, a.HeadDim, a.RoPE)
//	StoreKV(kc, vc, k, v, pos[0]-a.Offset, len(pos), a.KVHeads*a.HeadDim)
//
// for T = len(pos) rows of one sequence at consecutive positions
// (pos[t] = pos[0] + t), stored at cache rows pos[t] - a.Offset.
type RoPEStoreKVer interface {
	RoPEStoreKV(q, k, v, kc, vc Buffer, pos []int32, a RoPEStoreKVArgs)
}

// RoPEStoreKV uses the fused op when b has it and the three ops otherwise.
func RoPEStoreKV(b Backend, q, k, v, kc, vc Buffer, pos []int32, a RoPEStoreKVArgs) {
	if f, ok := b.(RoPEStoreKVer); ok {
		f.RoPEStoreKV(q, k, v, kc, vc, pos, a)
		return
	}
	b.RoPE(q, pos, a.Heads, a.HeadDim, a.RoPE)
	b.RoPE(k, pos, a.KVHeads, a.HeadDim, a.RoPE)
	if len(pos) > 0 {
		b.StoreKV(kc, vc, k, v, int(pos[0])-a.Offset, len(pos), a.KVHeads*a.HeadDim)
	}
}

// TopKer is implemented by backends that can pick the k largest logits
// where they are, so that sampling with top-k copies 2k numbers to the host
// instead of the vocabulary's logits (CUDA).
type TopKer interface {
	// TopK writes the k largest of x[0:n] (larger value first; among equal
	// values the smaller index) to ids[:k] and vals[:k], in no particular
	// order; 1 <= k <= min(n, MaxTopK). It waits for pending ops.
	TopK(x Buffer, n, k int, ids []int32, vals []float32) error
}

// MaxTopK is the largest k a TopKer takes.
const MaxTopK = 256

// ShapeError is recorded by an op whose arguments do not fit together.
type ShapeError struct {
	Op  string
	Msg string
}

func (e *ShapeError) Error() string { return fmt.Sprintf("%s: %s", e.Op, e.Msg) }

// Shapef builds a ShapeError.
func Shapef(op, format string, a ...any) error {
	return &ShapeError{Op: op, Msg: fmt.Sprintf(format, a...)}
}
