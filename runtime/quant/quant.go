package quant

import (
	"encoding/binary"
	"fmt"
)

// DequantizeRow decodes len(dst) elements of type t from src into dst.
//
// len(dst) must be a multiple of t's block size and len(src) must be exactly
// the row size of len(dst) elements. The result is bit-identical to ggml's
// to_float for every supported type: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and Q8_K.
func DequantizeRow(t Type, src []byte, dst []float32) error {
	if err := checkRow("DequantizeRow", t, len(src), len(dst)); err != nil {
		return err
	}
	switch t {
	case F32:
		dequantF32(src, dst)
	case F16:
		dequantF16(src, dst)
	case BF16:
		dequantBF16(src, dst)
	case Q4_0:
		dequantQ4_0(src, dst)
	case Q4_1:
		dequantQ4_1(src, dst)
	case Q5_0:
		dequantQ5_0(src, dst)
	case Q5_1:
		dequantQ5_1(src, dst)
	case Q8_0:
		dequantQ8_0(src, dst)
	case Q8_1:
		dequantQ8_1(src, dst)
	case Q2_K:
		dequantQ2_K(src, dst)
	case Q3_K:
		dequantQ3_K(src, dst)
	case Q4_K:
		dequantQ4_K(src, dst)
	case Q5_K:
		dequantQ5_K(src, dst)
	case Q6_K:
		dequantQ6_K(src, dst)
	case Q8_K:
		dequantQ8_K(src, dst)
	default:
		return fmt.Errorf("quant: DequantizeRow: unsupported type %s", t)
	}
	return nil
}

// QuantizeRow encodes the elements of x as type t into dst, exactly as ggml's
// reference quantizer (quantize_row_*_ref, ggml_fp32_to_fp16_row,
// ggml_fp32_to_bf16_row_ref) does.
//
// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and Q8_K —
// every activation type VecDotType returns, plus the simple weight formats.
// len(x) must be a multiple of t's block size and len(dst) exactly its row
// size. QuantizeRow does not allocate.
func QuantizeRow(t Type, x []float32, dst []byte) error {
	if err := checkRow("QuantizeRow", t, len(dst), len(x)); err != nil {
		return err
	}
	switch t {
	case F32:
		quantizeF32(x, dst)
	case F16:
		quantizeF16(x, dst)
	case BF16:
		quantizeBF16(x, dst)
	case Q4_0:
		quantizeQ4_0(x, dst)
	case Q4_1:
		quantizeQ4_1(x, dst)
	case Q5_0:
		quantizeQ5_0(x, dst)
	case Q5_1:
		quantizeQ5_1(x, dst)
	case Q8_0:
		quantizeQ8_0(x, dst)
	case Q8_1:
		quantizeQ8_1(x, dst)
	case Q8_K:
		if !quantizeQ8_KAsm(x, dst) {
			quantizeQ8_K(x, dst)
		}
	default:
		return fmt.Errorf("quant: QuantizeRow: unsupported type %s", t)
	}
	return nil
}

// QuantizeActivation encodes an activation row as ggml's x86 CPU backend
// does before a dot product (type_traits_cpu[t].from_float, applied by
// ggml_compute_forward_mul_mat to src1): for Q8_0 and Q8_1 that is the
// AVX2 quantizer (id = 127/amax, round half to even), which differs from
// the reference quantizer QuantizeRow implements; every other type is
// encoded as QuantizeRow does (ggml's x86 quantize_row_q8_K is the
// reference one). Use it for matrix products that must reproduce
// llama.cpp's CPU results bit for bit; use QuantizeRow to store data in a
// format. Same arguments and errors as QuantizeRow; it does not allocate.
func QuantizeActivation(t Type, x []float32, dst []byte) error {
	switch t {
	case Q8_0, Q8_1:
		if err := checkRow("QuantizeActivation", t, len(dst), len(x)); err != nil {
			return err
		}
		if quantizeActAsm(t, x, dst) {
			return nil
		}
		if t == Q8_0 {
			quantizeQ8_0Act(x, dst)
		} else {
			quantizeQ8_1Act(x, dst)
		}
		return nil
	}
	return QuantizeRow(t, x, dst)
}

// VecDotType is the type an activation row must be quantized to before Dot
// can multiply it with a weight row of type t, mirroring ggml's CPU backend
// (type_traits_cpu[t].vec_dot_type): Q4_0, Q5_0, Q8_0 -> Q8_0; Q4_1, Q5_1 ->
// Q8_1; Q2_K..Q6_K -> Q8_K; F16 -> F16; BF16 -> BF16; F32 -> F32.
//
// For a type Dot does not support (see CanDot) it returns t itself.
func VecDotType(t Type) Type {
	switch t {
	case Q4_0, Q5_0, Q8_0:
		return Q8_0
	case Q4_1, Q5_1:
		return Q8_1
	case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K:
		return Q8_K
	}
	return t
}

// CanQuantize reports whether QuantizeRow encodes type t (not the K-quants
// other than Q8_K, whose quantizers search for scales).
func CanQuantize(t Type) bool {
	switch t {
	case F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q8_K:
		return true
	}
	return false
}

// CanDot reports whether Dot and MatVec support weights of type t.
func CanDot(t Type) bool {
	switch t {
	case F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K:
		return true
	}
	return false
}

// Dot returns the dot product of n elements of the weight row w (type t) and
// the activation row a, which must already be quantized to VecDotType(t)
// (see QuantizeActivation and QuantizeRow).
//
// Quantized types follow ggml's integer formulation: integer products summed
// per block, then scaled by the block scales (and, for Q4_1/Q5_1/K-quants,
// corrected by the mins through Q8_1's s or Q8_K's bsums). Q4_1·Q8_1 and
// Q8_0·Q8_0 reproduce the float32 rounding of llama.cpp's x86 AVX2 kernels
// bit for bit, in the assembly and the portable code alike (lane structure,
// fused multiply-adds and horizontal-sum order; see dotQ4_1Q8_1Generic);
// the other types agree with llama.cpp to float32 summation-order noise.
//
// Dot panics when t is unsupported, n is not a multiple of the block size, or
// w or a are shorter than n elements: these are programming errors, and the
// hot path carries no error value. It does not allocate and is safe for
// concurrent use.
func Dot(t Type, w, a []byte, n int) float32 {
	k := dotKernel(t)
	checkDot(t, w, a, n)
	if n == 0 {
		return 0
	}
	return k(w, a, n)
}

// MatVec computes out[r] = Dot(t, row r of w, a, cols) for r in [0, rows).
// w holds rows consecutive rows of cols elements of type t; a is one
// activation row of cols elements quantized to VecDotType(t); len(out) must
// be at least rows.
//
// MatVec only reads w and a and writes out[:rows], so goroutines may call it
// concurrently on disjoint row ranges (pass the sub-slices of w and out). It
// panics on the same conditions as Dot, or when w or out are too short.
func MatVec(t Type, w []byte, rows, cols int, a []byte, out []float32) {
	matVecWith(t, nil, w, rows, cols, a, out)
}

// matVecWith is MatVec with row kernel k (nil: t's Dot kernel, or its
// multi-row kernel where there is one).
func matVecWith(t Type, k func(w, a []byte, n int) float32, w []byte, rows, cols int, a []byte, out []float32) {
	rs, err := t.RowSize(cols)
	if err != nil {
		panic("quant: MatVec: " + err.Error())
	}
	if rows < 0 || len(w) < rows*rs || len(out) < rows {
		panic(fmt.Sprintf("quant: MatVec %s: %d rows of %d need %d weight bytes and %d outputs, have %d and %d",
			t, rows, cols, rows*rs, rows, len(w), len(out)))
	}
	if rows == 0 {
		return
	}
	checkDot(t, w[:rs], a, cols)
	if cols == 0 {
		clear(out[:rows])
		return
	}
	if k == nil {
		if matVec2(t, w, rs, cols, a, out[:rows]) {
			return
		}
		k = dotKernel(t)
	}
	matVec(k, w, rs, cols, a, out[:rows])
}

// matVec applies the row kernel k to each row of w (rs bytes apart).
func matVec(k func(w, a []byte, n int) float32, w []byte, rs, cols int, a []byte, out []float32) {
	ahead := prefetchRows(rs)
	for r := range out {
		if r+ahead < len(out) {
			prefetchRow(w[(r+ahead)*rs : (r+ahead+1)*rs])
		}
		out[r] = k(w[r*rs:(r+1)*rs], a, cols)
	}
}

// prefetchAhead is how far ahead of the row being multiplied matVec and the
// two-row kernels prefetch weight rows, in bytes (prefetchRow). 4, 8 and
// 16 KB measured within this VM's noise of each other (tinyllama shape,
// Q4_K and Q6_K decoding); bench/results/2026-11-29-cpu-decode-prefetch-*
// ran with 16 KB.
const prefetchAhead = 16 << 10

// prefetchRows is prefetchAhead in rows of rs bytes, at least one.
func prefetchRows(rs int) int { return max(1, (prefetchAhead+rs-1)/rs) }

// dotKernel selects the row kernel for weights of type t (the AVX2 assembly
// where the CPU has it, else the portable Go code).
func dotKernel(t Type) func(w, a []byte, n int) float32 {
	switch t {
	case F32:
		return dotF32
	case F16:
		return dotF16
	case BF16:
		return dotBF16
	case Q4_0:
		return dotQ4_0
	case Q4_1:
		return dotQ4_1
	case Q5_0:
		return dotQ5_0
	case Q5_1:
		return dotQ5_1
	case Q8_0:
		return dotQ8_0
	case Q2_K:
		return dotQ2_K
	case Q3_K:
		return dotQ3_K
	case Q4_K:
		return dotQ4_K
	case Q5_K:
		return dotQ5_K
	case Q6_K:
		return dotQ6_K
	}
	panic(fmt.Sprintf("quant: Dot: unsupported weight type %s", t))
}

func checkDot(t Type, w, a []byte, n int) {
	vt := VecDotType(t)
	ws, err := t.RowSize(n)
	if err != nil || n < 0 {
		panic(fmt.Sprintf("quant: Dot %s: bad row length %d", t, n))
	}
	as, _ := vt.RowSize(n)
	if len(w) < ws || len(a) < as {
		panic(fmt.Sprintf("quant: Dot %s: %d elements need %d weight bytes and %d %s activation bytes, have %d and %d",
			t, n, ws, as, vt, len(w), len(a)))
	}
}

// checkRow validates a row of n elements stored in nbytes bytes of type t.
func checkRow(op string, t Type, nbytes, n int) error {
	if !t.Known() {
		return fmt.Errorf("quant: %s: unsupported type %s", op, t)
	}
	need, err := t.RowSize(n)
	if err != nil {
		return fmt.Errorf("quant: %s: %w", op, err)
	}
	if nbytes != need {
		return fmt.Errorf("quant: %s %s: %d elements take %d bytes, buffer has %d", op, t, n, need, nbytes)
	}
	return nil
}

// Little-endian field readers shared by the block formats.

func u16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }

func half(b []byte, off int) float32 { return F16ToF32(u16(b, off)) }

func putHalf(b []byte, off int, f float32) {
	binary.LittleEndian.PutUint16(b[off:], F32ToF16(f))
}
